"""Send workers on one issue (PostgreSQL): throughput with 1, 2 and 4 worker processes against raw smtplib.

Each worker is its own process (``work_on_issue``, as ``digest send --worker``
runs it) with two connections; raw smtplib gets the same total connections
from one process's threads. The figure is the sending itself: deliveries
over the span from the first ``sending`` to the last ``sent`` in the ledger,
so the workers' start-up (imports, joining) is left out, as it is for a
long-running worker. The sink is one more process on the same two cores.

    python bench/workers.py [COUNT]       # the rows, printed
    python bench/workers.py --one URL PORT CONNECTIONS ISSUE   # one worker (used by the above)
"""

from __future__ import annotations

import statistics
import subprocess
import sys

import sqlalchemy as sa

from digest.config import DeliveryOptions, SmtpOptions
from digest.mail.backends.smtp import SmtpBackend
from digest.models import RunEnd
from digest.send.delivery import compile_issue
from digest.send.workers import work_on_issue
from digest.store import Store
from digest.store.schema import deliveries

from common import ROOT, add_subscribers, postgres_engine, postgres_schema, sample_issue, sample_settings, smtp_sink
from send import raw_smtplib

PER_WORKER = 2  # connections of each worker process


def one_worker(url: str, port: int, connections: int, issue_id: str) -> None:
    store = Store.open(url)
    issue = store.issues.load(issue_id)
    assert issue is not None
    options = DeliveryOptions(backend="smtp", connections=connections, max_per_connection=1_000_000, max_wait=0, claim_timeout=10)
    backend = SmtpBackend(SmtpOptions(host="127.0.0.1", port=port, security="none"), connections)
    message = compile_issue(issue, sample_settings())
    print("ready", flush=True)  # imported and connected: the run starts when every worker is
    sys.stdin.readline()
    report = work_on_issue(store, message, backend, options)
    assert report.end is not RunEnd.FATAL, report.reason
    store.close()


def _workers(engine: sa.Engine, port: int, count: int, processes: int) -> tuple[float, int]:
    """Messages per second over the ledger's span with ``processes`` workers, and how many of them sent any."""
    with postgres_schema(engine) as (_, url):
        store = Store.open(url)
        add_subscribers(store, count)
        issue = sample_issue(sample_settings())
        store.issues.save(issue)
        store.ledger.enqueue(issue.id)  # queued before the workers start: none of them waits on another's join
        command = [sys.executable, str(ROOT / "bench" / "workers.py"), "--one", url, str(port), str(PER_WORKER), issue.id]
        running = [subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(processes)]
        for process in running:
            assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        for process in running:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        for process in running:
            if process.wait() != 0:
                raise RuntimeError(f"a bench worker exited {process.returncode}")
        with store.engine.connect() as conn:
            sent, first, last = conn.execute(
                sa.select(sa.func.count(), sa.func.min(deliveries.c.updated_at), sa.func.max(deliveries.c.sent_at)).where(
                    deliveries.c.state == "sent"
                )
            ).one()
            senders = conn.execute(sa.select(sa.func.count(sa.distinct(deliveries.c.worker)))).scalar_one()
        store.close()
    assert sent == count, (sent, count)
    # min(updated_at) of a sent row is its `sent` time; the first `sending` came one message earlier at most.
    return float(count / (last - first).total_seconds()), int(senders)


def _target(ratio: float) -> str:
    return f" (target for one worker ≥ 0.9: {'met' if ratio >= 0.9 else 'MISSED'})"


def bench_workers(rows: list[str], count: int = 4000, rounds: int = 3) -> None:
    """Each row: the median over ``rounds`` of worker runs, each followed at once by raw smtplib on the same total
    connections, and the median of those pairs' ratios (the machine drifts between runs; a pair shares its moment)."""
    engine, why = postgres_engine()
    if engine is None:
        rows.append(f"| send workers (PostgreSQL) | skipped: {why} | | |")
        return
    settings = sample_settings()
    data = compile_issue(sample_issue(settings), settings).render(1, "reader@example.org")
    with smtp_sink() as port:
        base = None
        for processes in (1, 2, 4):
            total = processes * PER_WORKER
            pairs = []
            for _ in range(rounds):
                rate, senders = _workers(engine, port, count, processes)
                pairs.append((rate, raw_smtplib(port, data, count, total), senders))
            rate = statistics.median(pair[0] for pair in pairs)
            raw = statistics.median(pair[1] for pair in pairs)
            ratio = statistics.median(pair[0] / pair[1] for pair in pairs)
            base = base or rate
            rows.append(
                f"| send workers on PostgreSQL: {processes} process(es) × {PER_WORKER} connections, {count:,} messages "
                f"({min(pair[2] for pair in pairs)} or more sent a share; median of {rounds}) | "
                f"{rate:,.0f} msg/s ({rate / base:.2f}× one worker) | raw smtplib {raw:,.0f} msg/s on {total} connections | "
                f"ratio {ratio:.2f} (each run: {', '.join(f'{pair[0] / pair[1]:.2f}' for pair in pairs)})"
                f"{_target(ratio) if processes == 1 else ''} |"
            )
    engine.dispose()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        one_worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    else:
        table: list[str] = []
        bench_workers(table, int(sys.argv[1]) if len(sys.argv) > 1 else 4000)
        print("\n".join(table))
