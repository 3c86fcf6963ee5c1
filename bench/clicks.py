"""What reader signal costs (issue 25): the click redirect under load, and the report over a year of a large list.

- The redirect: ``/r/<token>`` of a tracked issue served by the public app in a process of its own (uvicorn,
  as ``digest serve`` runs it, access log off), 50 clients on keep-alive connections, each request as a new
  reader; alone, then with a send to the SMTP sink writing its ledger in the same database at the same time.
  SQLite, and PostgreSQL when one answers.
- The report: 52 issues sent to 50,000 readers (2.6 million deliveries, their bounces and complaints, clicks on
  every link, a list whose members came and went), ``digest report --last 52`` computed from the store.

    python bench/clicks.py serve DATABASE_URL PORT      # the server process the redirect bench starts
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from digest.app.clicks import reader_copy
from digest.app.issues import frozen_form
from digest.app.report import report
from digest.config import DeliveryOptions, Scope, SmtpOptions
from digest.issue.assembly import build_issue
from digest.issue.links import tracked_links
from digest.issue.selection import window_for
from digest.mail.backends.smtp import SmtpBackend
from digest.models import ClickTracking, StoredIssue
from digest.models.tokens import LinkSigner
from digest.render import render_issue
from digest.send.delivery import compile_issue, send_issue
from digest.store import Store
from digest.store.schema import deliveries, mail_events, people, subscribers

from common import ROOT, SAMPLE_AS_OF, add_subscribers, free_port, overridden, postgres_engine, postgres_schema, sample_settings, smtp_sink

CLIENTS = 50


def tracked_settings(url: str = "sqlite://") -> Scope:
    return overridden(sample_settings(), clicks=ClickTracking.AGGREGATE, database_url=url)


def tracked_issue(settings: Scope, issue_id: str | None = None, shift: timedelta = timedelta(0)) -> StoredIssue:
    """The sample issue frozen with its links counted (the redirect's destinations), optionally under another id
    and window (a year of issues)."""
    digest = build_issue(settings, window_for(SAMPLE_AS_OF, settings.newsletter.window, settings.newsletter.timezone), SAMPLE_AS_OF)
    if issue_id is not None:
        window = dataclasses.replace(digest.window, start=digest.window.start - shift, end=digest.window.end - shift)
        digest = dataclasses.replace(digest, issue_id=issue_id, window=window)
    issue = frozen_form(digest, render_issue(digest, settings, reader_copy(settings)), SAMPLE_AS_OF - shift, tracked_links(digest))
    return issue


# -- the redirect -----------------------------------------------------------------------------------------


def serve(url: str, port: int) -> None:
    import uvicorn

    from digest.web.public import create_public_app

    settings = tracked_settings(url)
    store = Store.open(url)
    print("ready", flush=True)
    uvicorn.run(create_public_app(settings, store), host="127.0.0.1", port=port, log_level="warning", access_log=False)


@contextmanager
def server(url: str) -> Iterator[int]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "clicks.py"), "serve", url, str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                asyncio.run(_one(port, "/healthz"))
                break
            except OSError:
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


async def _one(port: int, path: str) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    await reader.read()
    writer.close()


async def _load(port: int, paths: list[str], seconds: float) -> tuple[int, list[float]]:
    """``CLIENTS`` keep-alive clients asking for the paths in turn for ``seconds``; (requests, latencies in s)."""
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def client(number: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        n = 0
        while time.perf_counter() < stop_at:
            path = paths[(number + n) % len(paths)]
            agent = f"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0 reader-{number}-{n}"  # a new reader each time
            started = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {agent}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
            if length:
                await reader.readexactly(length)
            assert head.startswith(b"HTTP/1.1 302"), head[:40]
            latencies.append(time.perf_counter() - started)
            n += 1
        writer.close()

    await asyncio.gather(*(client(number) for number in range(CLIENTS)))
    return len(latencies), latencies


def _sending(store: Store, settings: Scope, issue: StoredIssue, port: int, stop: threading.Event, sent: list[int]) -> threading.Thread:
    """A send of ``issue`` to the sink in a thread of this process, its ledger in the server's database."""

    def run() -> None:
        options = DeliveryOptions(backend="smtp", connections=2, max_per_connection=10**9, max_wait=0)
        backend = SmtpBackend(SmtpOptions(host="127.0.0.1", port=port, security="none"), 2)
        result = send_issue(store, compile_issue(issue, settings), backend, options, stop=stop)
        sent.append(result.sent)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def redirect_row(url: str, label: str, seconds: float, readers: int) -> str:
    settings = tracked_settings(url)
    store = Store.open(url)
    try:
        issue = tracked_issue(settings)
        store.issues.save(issue)
        add_subscribers(store, readers)
        signer = LinkSigner("bench", settings.newsletter.list_id)
        paths = [f"/r/{signer.token(issue.id, link.number)}" for link in issue.links]
        with server(url) as port:
            asyncio.run(_load(port, paths, 1.0))  # warm: connections, caches, the first imports
            alone, quiet = asyncio.run(_load(port, paths, seconds))
            with smtp_sink() as sink:
                stop = threading.Event()
                sent: list[int] = []
                thread = _sending(store, settings, issue, sink, stop, sent)
                time.sleep(0.5)  # the send under way
                begun = store.ledger.outstanding(issue.id).done
                loaded, busy = asyncio.run(_load(port, paths, seconds))
                mailed = sum(store.ledger.outstanding(issue.id).done.values()) - sum(begun.values())
                stop.set()
                thread.join(timeout=60)
    finally:
        store.close()
    p50, p99 = _quantiles(busy)
    q50, q99 = _quantiles(quiet)
    return (
        f"| redirect /r/<token>, {label}, {CLIENTS} clients | {loaded / seconds:,.0f} req/s, p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
        f"while a send wrote its ledger ({mailed / seconds:,.0f} msg/s) | alone: {alone / seconds:,.0f} req/s, p50 {q50 * 1000:.1f} ms, "
        f"p99 {q99 * 1000:.1f} ms | one uvicorn process, access log off; each request a new reader (counted as a click) |"
    )


def _quantiles(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def on_each_database(rows: list[str], what: str, measure: Callable[[str, str, Callable[[], None] | None], str]) -> None:
    """``measure(url, label, vacuum)`` on a SQLite file, then on a PostgreSQL schema of its own (``vacuum``: what
    autovacuum does to a live database) when a server answers; a row saying why not otherwise."""
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(measure(f"sqlite:///{tmp}/bench.sqlite", "SQLite", None))
    engine, why = postgres_engine()
    if engine is None:
        rows.append(f"| {what}, PostgreSQL | skipped: {why} | | |")
        return
    with postgres_schema(engine) as (schema, url):

        def vacuum() -> None:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                for table in ("deliveries", "subscribers", "mail_events", "links"):
                    conn.execute(sa.text(f'VACUUM ANALYZE "{schema}"."{table}"'))

        rows.append(measure(url, "PostgreSQL", vacuum))
    engine.dispose()


def bench_redirect(rows: list[str], seconds: float = 5.0, readers: int = 50_000) -> None:
    on_each_database(rows, "redirect /r/<token>", lambda url, label, _: redirect_row(url, label, seconds, readers))


# -- the report -------------------------------------------------------------------------------------------


def year_of_sends(store: Store, settings: Scope, issues: int, readers: int, seed: int = 20261203) -> list[str]:
    """``issues`` weekly issues sent to ``readers`` readers, as a year of a real list leaves the store."""
    rng = random.Random(seed)
    add_subscribers(store, readers)
    start = SAMPLE_AS_OF
    with store.engine.begin() as conn:  # members who came during the year, and some who went
        for first in range(0, readers, 5_000):
            rows = []
            for n in range(first, min(first + 5_000, readers)):
                joined = start - timedelta(days=rng.randrange(0, 7 * issues + 60))
                left = joined + timedelta(days=rng.randrange(1, 400))
                status = "unsubscribed" if rng.random() < 0.08 and left < start else "bounced" if rng.random() < 0.01 else "active"
                rows.append(
                    {"key": f"r{n}@example.org", "added": joined, "changed": left if status != "active" else joined, "status": status}
                )
            conn.execute(
                sa.update(subscribers)
                .where(subscribers.c.person_id == sa.select(people.c.id).where(people.c.email_key == sa.bindparam("key")).scalar_subquery())
                .values(created_at=sa.bindparam("added"), updated_at=sa.bindparam("changed"), status=sa.bindparam("status")),
                rows,
            )
    with store.reads.connect() as conn:
        ids = [row[0] for row in conn.execute(sa.select(subscribers.c.id)).all()]
    issue_ids = []
    for week in range(issues):
        issue = tracked_issue(settings, f"2025-{week // 4 + 1:02d}-{week % 4 + 1:02d}-w{week:03d}", timedelta(days=7 * (issues - week)))
        store.issues.save(issue)
        issue_ids.append(issue.id)
        sent_at = issue.created_at
        with store.engine.begin() as conn:
            for first in range(0, len(ids), 25_000):
                conn.execute(
                    deliveries.insert(),
                    [
                        {
                            "issue_id": issue.id,
                            "subscriber_id": s,
                            "state": "sent",
                            "attempts": 1,
                            "created_at": sent_at,
                            "updated_at": sent_at,
                            "sent_at": sent_at,
                        }
                        for s in ids[first : first + 25_000]
                    ],
                )
            conn.execute(
                mail_events.insert(),
                [
                    {
                        "key": f"{issue.id}-{n}",
                        "kind": "hard" if n % 4 else "complaint",
                        "subscriber_id": rng.choice(ids),
                        "issue_id": issue.id,
                        "diagnostic": "",
                        "received_at": sent_at,
                    }
                    for n in range(rng.randrange(20, 200))
                ],
            )
        store.links.add(
            {(issue.id, link.number): (rng.randrange(0, 400), rng.randrange(0, 900), rng.randrange(0, 60)) for link in issue.links}
        )
    return issue_ids


def _timed_reports(store: Store, settings: Scope, issues: int, readers: int) -> list[float]:
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        seen = report(store, SAMPLE_AS_OF.date(), key_of=settings.newsletter.key_of, last=issues)
        timings.append(time.perf_counter() - started)
        assert seen is not None and len(seen.issues) == issues and seen.issues[0].delivered == readers
    return timings


def report_row(url: str, label: str, issues: int, readers: int, vacuum: Callable[[], None] | None = None) -> str:
    """The report's time over a year of sends; ``vacuum``: what autovacuum does to a live PostgreSQL database
    (rows bulk-loaded a second ago are not yet marked visible, so each count visits the table: measured too)."""
    settings = tracked_settings(url)
    store = Store.open(url)
    try:
        started = time.perf_counter()
        year_of_sends(store, settings, issues, readers)
        filled = time.perf_counter() - started
        loaded = _timed_reports(store, settings, issues, readers)
        if vacuum is not None:
            vacuum()
        timings = _timed_reports(store, settings, issues, readers) if vacuum is not None else loaded
        seen = report(store, SAMPLE_AS_OF.date(), key_of=settings.newsletter.key_of, last=issues)
        payload = len(json.dumps(seen.to_json())) if seen is not None else 0
    finally:
        store.close()
    median = statistics.median(timings)
    fresh = f"; straight after loading, before any vacuum: {statistics.median(loaded) * 1000:,.0f} ms" if vacuum is not None else ""
    return (
        f"| report, {issues} issues × {readers:,} readers ({issues * readers / 1e6:.1f} M deliveries), {label} | {median * 1000:,.0f} ms "
        f"(slowest of 3: {max(timings) * 1000:,.0f} ms){' after VACUUM ANALYZE' if vacuum is not None else ''} | "
        f"target < 1 s: {'met' if max(timings) < 1 else 'MISSED'}{fresh} | digest report --last {issues}: "
        f"{payload / 1024:,.0f} KB of JSON; filling the store took {filled:,.0f} s |"
    )


def bench_report(rows: list[str], issues: int = 52, readers: int = 50_000) -> None:
    on_each_database(rows, "report", lambda url, label, vacuum: report_row(url, label, issues, readers, vacuum))


if __name__ == "__main__" and sys.argv[1:2] == ["serve"]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    serve(sys.argv[2], int(sys.argv[3]))
