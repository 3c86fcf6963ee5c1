"""The engine the store runs on: SQLite set up for a ledger (WAL, a busy timeout, writes that lock at BEGIN, reads
that never wait), or PostgreSQL through psycopg 3; and the read-only view of an engine."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

_READ = "digest_read_only"


def reads_of(engine: Engine) -> Engine:
    """The same engine (and pool) for transactions that only read: on SQLite they take no write lock."""
    return engine.execution_options(**{_READ: True})


def create_engine(url: str) -> Engine:
    """An engine with SQLite set up for a ledger: WAL, a busy timeout, foreign keys on.

    WAL with ``synchronous=NORMAL``: a committed row survives the process
    being killed, which is the failure the ledger is built for.
    """
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS}, pool_pre_ping=False)

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            _into_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # A write takes the lock at BEGIN (IMMEDIATE), so two writers queue instead of deadlocking.
            # A read (reads_of) begins deferred: in WAL mode it never waits for a writer, so a page or
            # a report is never held up by a send committing its ledger.
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(_READ) else "BEGIN IMMEDIATE")

        return engine
    return sa.create_engine(driver_url(url), pool_pre_ping=True)


# How long a connection to an SQLite file waits for another's lock before "database is locked".
SQLITE_BUSY_SECONDS = 30


def _into_wal(cursor: sqlite3.Cursor) -> None:
    """Put the file in WAL mode unless it is there already (WAL is kept in the file: the first switch serves every
    later connection). Switching answers "database is locked" at once, without waiting the busy timeout, while another
    connection holds the new file (seen: 2 of 60 openings of a new database by four processes at once, on a loaded
    machine; the store failed to open): so the switch is tried again, a little later each time, for as long as the
    busy timeout would have waited."""
    deadline = time.monotonic() + SQLITE_BUSY_SECONDS
    pause = 0.005
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


def driver_url(url: str) -> str:
    """``postgresql://`` (as hosts and DATABASE_URL give it) with the driver digest ships: psycopg 3."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url
