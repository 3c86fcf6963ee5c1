"""A new store brought to HEAD from a copy of a database the real revisions made, once per test process.

The suite opens about a thousand new stores (a SQLite file or a PostgreSQL schema of the test's own), and every
open of an empty one ran the 23 Alembic revisions: Alembic loading each revision file again and working out the
operations, SQLite rebuilding tables in batch mode (about 0.1 s of CPU a store). Here the revisions run once per
process and dialect, on a database of their own, and an empty store gets a copy of what they made, in the
transaction ``Store.open`` began, under the same lock. SQLite: the schema as ``sqlite_master`` holds it, then the
rows. PostgreSQL: what ``pg_dump`` says of the schema the revisions made, as one script (each table made whole, not
made and then altered 38 times: 45 ms of the server's CPU a store where the revisions' 111 statements took 150), with
each partial index as the revisions wrote it (PostgreSQL words its condition differently when it reads its own
wording back); without ``pg_dump``, the revisions' statements, run again.

Only an empty database brought to HEAD takes the copy: a database with any table (an older revision, a legacy
``schema_version``, another program's table), another target, or a test marked ``real_migrations`` (the
revisions' own tests, tests/test_migrations.py) runs the real revisions. A subprocess (``digest`` run as a
program) always does. ``test_fixture_layer.py`` holds that the copy is exactly what the revisions make.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from digest.store import migrations
from digest.store.engine import create_engine

REAL_UPGRADE = migrations.upgrade
# Off for a test marked real_migrations (conftest's pytest_runtest_setup sets it before the test's fixtures).
enabled = True


@dataclass(frozen=True)
class Image:
    """What the revisions made in an empty database: the statements that make it again, in order, with their
    parameters (SQLite: its schema as sqlite_master holds it, then each table's rows; PostgreSQL: pg_dump's script as
    one statement, or every statement the revisions ran; names unqualified, so that they make the same in the
    search_path's schema)."""

    dialect: str
    statements: tuple[tuple[str, Any], ...]

    def restore(self, conn: Connection) -> None:
        for statement, parameters in self.statements:
            conn.exec_driver_sql(statement, parameters)


_images: dict[str, Image | None] = {}


def upgrade(
    conn: Connection,
    target: str = "head",
    themes: migrations.ThemeNames | None = None,
    newsletter: str | None = None,
    first_edition: str | None = None,
) -> tuple[str | None, str]:
    """:func:`digest.store.migrations.upgrade`, but an empty database brought to HEAD gets the copy."""
    dialect = conn.dialect.name
    if not enabled or target not in ("head", migrations.HEAD) or dialect not in ("sqlite", "postgresql"):
        return REAL_UPGRADE(conn, target, themes, newsletter, first_edition)
    if dialect not in _images:  # made before the lock below: making it takes the same lock on another connection
        _images[dialect] = _sqlite_image() if dialect == "sqlite" else _postgresql_image(conn)
    image = _images[dialect]
    if image is None:  # the revisions named their own schema: they run here too
        return REAL_UPGRADE(conn, target, themes, newsletter, first_edition)
    if dialect == "postgresql":  # the real upgrade's lock: processes starting together make the schema once
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": migrations._LOCK})
    if sa.inspect(conn).get_table_names():
        return REAL_UPGRADE(conn, target, themes, newsletter, first_edition)
    image.restore(conn)
    return None, migrations.HEAD


def install() -> None:
    migrations.upgrade = upgrade  # type: ignore[assignment]  # Store.migrate looks it up at each call


def _sqlite_image() -> Image:
    folder = Path(tempfile.mkdtemp(prefix="digest-migrated-"))
    engine = create_engine(f"sqlite:///{folder / 'migrated.sqlite'}")
    try:
        with engine.begin() as conn:
            REAL_UPGRADE(conn)
        return sqlite_image(engine)
    finally:
        engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)


def sqlite_image(engine: sa.Engine) -> Image:
    """The statements of a SQLite database's schema in the order it holds them, then its tables' rows."""
    with engine.connect() as conn:
        found = conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid").all()
        # sqlite_sequence is SQLite's own (made with the first AUTOINCREMENT table); its rows are copied all the same.
        statements: list[tuple[str, Any]] = [(sql, ()) for name, sql in found if name != "sqlite_sequence"]
        tables = [name for (name,) in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid")]
        for table in tables:
            result = conn.exec_driver_sql(f'SELECT * FROM "{table}"')  # a name from sqlite_master
            rows = [tuple(row) for row in result]
            if rows:
                columns = result.keys()
                names = ", ".join(f'"{column}"' for column in columns)
                statements.append((f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(rows[0]))})', rows))
    return Image("sqlite", tuple(statements))


def _postgresql_image(conn: Connection) -> Image | None:
    """The schema the revisions make on an empty schema of their own, as ``pg_dump``'s script, or without it as every
    statement they ran (None: one named that schema)."""
    url = conn.engine.url
    schema = f"digest_migrated_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url.set(query={}))
    ran: list[tuple[str, Any]] = []
    try:
        with admin.begin() as setup:
            setup.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        engine = create_engine(url.set(query={"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False))

        @sa.event.listens_for(engine, "before_cursor_execute")
        def _record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
            ran.append((statement, parameters))

        try:
            with engine.begin() as target:
                REAL_UPGRADE(target)
        finally:
            engine.dispose()
        if any(schema in statement for statement, _ in ran):
            return None
        script = _dumped_script(url, schema, ran)
        return Image("postgresql", ((script, None),) if script and _runs(admin, script) else tuple(ran))
    finally:
        with admin.begin() as setup:
            setup.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _runs(admin: sa.Engine, script: str) -> bool:
    """Whether the server takes ``script`` (a newer pg_dump may write what an older server refuses), tried in a
    transaction rolled back, in a schema of its own."""
    with admin.connect() as conn, conn.begin() as trying:
        try:
            conn.exec_driver_sql(f'CREATE SCHEMA "digest_trying"; SET LOCAL search_path TO "digest_trying"; {script}')
        except sa.exc.DBAPIError:
            return False
        finally:
            trying.rollback()
    return True


def _dumped_script(url: sa.URL, schema: str, ran: list[tuple[str, Any]]) -> str | None:
    """``pg_dump``'s script of ``schema``, names unqualified and each partial index as the revisions wrote it (None
    without ``pg_dump``). test_fixture_layer.py holds that a schema made from it dumps as the revisions' does."""
    try:
        dump = _pg_dump(url, schema)
    except (OSError, subprocess.SubprocessError):
        return None
    written: dict[str, str] = {}  # an index's name -> the last statement of the revisions that made it
    for statement, _ in ran:
        words = statement.split()
        if words[:2] == ["CREATE", "INDEX"] or words[:3] == ["CREATE", "UNIQUE", "INDEX"]:
            written[words[words.index("INDEX") + 1].strip('"')] = statement.strip().rstrip(";")
    kept: list[str] = []
    for line in dump.splitlines():
        if not line or line.startswith(("--", "\\", "SET ", "CREATE SCHEMA ", "SELECT pg_catalog.set_config(")):
            continue
        words = line.split()
        if words[:1] == ["CREATE"] and "INDEX" in words[1:3] and " WHERE " in line:  # a partial index
            name = words[words.index("INDEX") + 1]
            line = written.get(name, line.rstrip(";")) + ";"
        kept.append(line.replace(f"{schema}.", ""))
    return "\n".join(kept)


def _pg_dump(url: sa.URL, schema: str) -> str:
    command = ["pg_dump", "--no-password", "--schema", schema, "--no-owner", "--no-privileges", "--inserts", "--dbname", url.database or ""]
    command += ["--host", url.host or "127.0.0.1", "--port", str(url.port or 5432), "--username", url.username or "postgres"]
    env = {**os.environ, "PGPASSWORD": url.password} if url.password else None
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=60, env=env).stdout


def postgresql_dump(url: sa.URL, schema: str) -> list[str]:
    """What ``pg_dump`` says of ``schema`` (its tables, sequences, indexes and rows), the schema's name as
    ``{schema}``, without its comments and psql's meta-commands (one carries a random key)."""
    dump = _pg_dump(url, schema)
    return [line.replace(schema, "{schema}") for line in dump.splitlines() if line.strip() and not line.startswith(("--", "\\"))]
