"""The ledger's cost per message: the two commits a delivery makes (sending, then sent with the next), on each database.

SQLite is the embedded default (a file, WAL); PostgreSQL when one answers at
DIGEST_BENCH_POSTGRES_URL (default: the local server the tests use), in a
schema of its own, dropped after.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid

import sqlalchemy as sa

from digest.store import Store

from common import add_subscribers, sample_issue, sample_settings

POSTGRES = os.environ.get("DIGEST_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


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
    try:
        engine = sa.create_engine(POSTGRES, connect_args={"connect_timeout": 3})
        with engine.begin() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:
        rows.append(f"| ledger per message, SQLite | {sqlite:,.0f} µs | PostgreSQL skipped: not reachable ({type(exc).__name__}) | |")
        return
    timings: list[float] = []
    generic: list[float] = []
    for _ in range(3):
        schema = f"digest_bench_{uuid.uuid4().hex[:10]}"
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            url = f"{POSTGRES}?options=-csearch_path%3D{schema}"
            timings.append(_per_message(url, count))
            with engine.begin() as conn:
                conn.execute(sa.text(f'TRUNCATE "{schema}".deliveries, "{schema}".subscribers, "{schema}".issues CASCADE'))
            generic.append(_per_message(url, count, through_sqlalchemy=True))
        finally:
            with engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()
    postgres, through = statistics.median(timings), statistics.median(generic)
    rows.append(
        f"| ledger per message ({count:,} deliveries: sending, then sent) | SQLite {sqlite:,.0f} µs (sqlite3 directly, WAL); "
        f"PostgreSQL {postgres:,.0f} µs (psycopg 3 directly, prepared statements, local server) | "
        f"PostgreSQL through SQLAlchemy Core {through:,.0f} µs ({through / postgres:.1f}× the direct path) | one commit per message on all |"
    )
