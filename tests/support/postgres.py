"""The suite's PostgreSQL server: a schema of its own for each test that asks (``conftest.postgres_schema``), made and
dropped on one connection the test process keeps, and the server's catalogs kept clean of what the dropped schemas
left.

Each test's schema is made and dropped whole: about 35 tables, their columns, types, indexes and constraints, rows in
PostgreSQL's own catalogs (pg_class, pg_attribute, pg_depend, …) that a DROP leaves behind as dead rows until a
VACUUM. Where autovacuum is off (as on the machines the suite runs on) they pile up: about 250,000 dead rows of
pg_attribute a run, run after run, and every new connection (four or five a test) reads its tables' entries through
them. Measured on test_delivery's 73 PostgreSQL tests after three runs (768,000 dead rows of pg_attribute): 15.4 s of
the server's CPU; after a VACUUM of the catalogs (1.4 s), 11.0 s. So a test process VACUUMs them once it has made its
first schema (a run of SQLite tests alone pays nothing; a server that never answers costs one timeout, not two), and
again every :data:`VACUUM_EVERY` schemas.
"""

from __future__ import annotations

import atexit
import gc
import os
import uuid

import sqlalchemy as sa

URL = os.environ.get("DIGEST_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# What making and dropping a schema of tables churns (FOREIGN KEYs add triggers; SERIAL columns sequences).
CATALOGS = (
    "pg_class",
    "pg_attribute",
    "pg_type",
    "pg_depend",
    "pg_index",
    "pg_constraint",
    "pg_attrdef",
    "pg_trigger",
    "pg_sequence",
    "pg_namespace",
)
VACUUM_EVERY = 40  # schemas made by one process between VACUUMs: about 25,000 dead rows of pg_attribute
CROWDED = 40  # connections to the server past which a process that drops a schema collects its garbage

_admin: sa.Engine | None = None
_made = 0


def admin() -> sa.Engine:
    """The engine that makes and drops the test schemas: one connection for the whole process, not two new ones a test."""
    global _admin
    if _admin is None:
        _admin = sa.create_engine(URL, connect_args={"connect_timeout": 3}, pool_size=1, max_overflow=0, pool_pre_ping=True)
        atexit.register(_admin.dispose)
    return _admin


def make_schema() -> str:
    """A new schema's name, made now (then the catalogs VACUUMed, when it is time). Raises what connecting raised."""
    global _made
    name = f"digest_test_{uuid.uuid4().hex[:12]}"
    with admin().begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    if _made % VACUUM_EVERY == 0:
        vacuum_catalogs()
    _made += 1
    return name


def drop_schema(name: str) -> None:
    """Drop the schema; then, if the server holds many connections, collect this process's garbage: a store a test
    left open (an engine no one disposed) keeps its connections until the collector frees it, and the server takes
    a hundred (conftest's pytest_collection_finish makes the collector's passes rarer)."""
    with admin().begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
        crowded = conn.execute(
            sa.text("SELECT count(*) > :many FROM pg_stat_activity WHERE backend_type = 'client backend'"), {"many": CROWDED}
        )
        if crowded.scalar_one():
            gc.collect()


def vacuum_catalogs() -> None:
    """VACUUM the catalogs the test schemas churn, each unless another process is vacuuming it (SKIP_LOCKED: the
    workers start together). Best effort: for a user who may not vacuum them (not their owner) PostgreSQL skips them
    (its warning is not shown), and a server that cannot be reached is the tests' to report, not this."""
    try:
        with admin().connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM (SKIP_LOCKED) " + ", ".join(f"pg_catalog.{table}" for table in CATALOGS)
            )
    except sa.exc.SQLAlchemyError:
        pass
