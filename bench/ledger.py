"""The ledger's cost per message: the two commits a delivery makes (sending, then sent with the next), on each database.

SQLite is the embedded default (a file, WAL); PostgreSQL when one answers at
DIGEST_BENCH_POSTGRES_URL (default: the local server the tests use), in a
schema of its own, dropped after.
"""

from __future__ import annotations

import statistics
import tempfile
import time

import sqlalchemy as sa

from digest.store import Store

from common import add_subscribers, postgres_engine, postgres_schema, sample_issue, sample_settings


def _per_message(url: str, count: int, *, through_sqlalchemy: bool = False) -> float:
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
    generic: list[float] = []
    for _ in range(3):
        with postgres_schema(engine) as (schema, url):
            timings.append(_per_message(url, count))
            with engine.begin() as conn:
                conn.execute(sa.text(f'TRUNCATE "{schema}".deliveries, "{schema}".subscribers, "{schema}".issues CASCADE'))
            generic.append(_per_message(url, count, through_sqlalchemy=True))
    engine.dispose()
    postgres, through = statistics.median(timings), statistics.median(generic)
    rows.append(
        f"| ledger per message ({count:,} deliveries: sending, then sent) | SQLite {sqlite:,.0f} µs (sqlite3 directly, WAL); "
        f"PostgreSQL {postgres:,.0f} µs (psycopg 3 directly, prepared statements, local server) | "
        f"PostgreSQL through SQLAlchemy Core {through:,.0f} µs ({through / postgres:.1f}× the direct path) | one commit per message on all |"
    )
