"""The ledger's cost per message: the two commits a delivery makes (sending, then sent with the next), on each database.

SQLite is the embedded default (a file, WAL); PostgreSQL when one answers at
DIGEST_BENCH_POSTGRES_URL (default: the local server the tests use), in a
schema of its own, dropped after.
"""

from __future__ import annotations

import statistics
import tempfile
import time

from digest.store import Store

from common import add_subscribers, postgres_engine, postgres_schema, sample_issue, sample_settings

DURABLE = "SET synchronous_commit TO ON"  # each commit waits for the WAL on disk, as before issue 26


def _per_message(url: str, count: int, *, through_sqlalchemy: bool = False, durable: bool = False) -> float:
    store = Store.open(url)
    try:
        add_subscribers(store, count)
        issue = sample_issue(sample_settings())
        store.issues.save(issue)
        store.ledger.enqueue(issue.id)
        ids = [due.subscriber_id for due in store.ledger.due(issue.id, issue.created_at.replace(year=2100), 0, count)]
        writer = store.ledger.writer()
        if through_sqlalchemy:
            writer.driver = None  # the generic path every other database takes: SQLAlchemy Core on the connection
        elif durable and writer.driver is not None:
            writer.driver.db.execute(DURABLE)  # the writer's own connection (autocommit), closed with it
        start = time.perf_counter()
        for subscriber_id in ids:
            writer.mark_sending(issue.id, subscriber_id)
            writer.mark_sent(issue.id, subscriber_id, "250 ok")
        writer.close()
        return (time.perf_counter() - start) / len(ids) * 1e6
    finally:
        store.close()


def bench_ledger(rows: list[str], count: int = 2000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = statistics.median(_per_message(f"sqlite:///{tmp}/ledger{n}.sqlite", count) for n in range(3))
    engine, why = postgres_engine()
    if engine is None:
        rows.append(f"| ledger per message, SQLite | {sqlite:,.0f} µs | PostgreSQL skipped: {why} | |")
        return
    timings: list[float] = []
    durable: list[float] = []
    generic: list[float] = []
    for _ in range(3):  # interleaved, so that the machine's drift touches each alike
        for kind, into in ((dict(), timings), (dict(durable=True), durable), (dict(through_sqlalchemy=True), generic)):
            with postgres_schema(engine) as (_, url):
                into.append(_per_message(url, count, **kind))
    engine.dispose()
    postgres, waited, through = statistics.median(timings), statistics.median(durable), statistics.median(generic)
    rows.append(
        f"| ledger per message ({count:,} deliveries: sending, then sent) | SQLite {sqlite:,.0f} µs (sqlite3 directly, WAL); "
        f"PostgreSQL {postgres:,.0f} µs (psycopg 3 directly, prepared statements, local server, commits not waiting for the disk) | "
        f"PostgreSQL durable commits {waited:,.0f} µs ({waited / postgres:.2f}× not waiting); through SQLAlchemy Core {through:,.0f} µs | "
        "one commit per message on all; synchronous_commit off on PostgreSQL's ledger commits only (issue 26) |"
    )
