"""The schema's revisions (Alembic): a new database, and an upgrade from one an earlier release made, on both stores."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from digest.models import DeliveryState, SubscriberStatus
from digest.models.errors import StoreError
from digest.store import Store
from digest.store.migrations import HEAD
from digest.store.schema import metadata

from conftest import FIXTURES, postgres_schema
from support.cli import cli

LEGACY = FIXTURES / "legacy"
# These tests are about the revisions: every new store here runs them (the rest of the suite starts from a copy).
pytestmark = pytest.mark.real_migrations


def test_the_revisions_end_at_head_and_make_the_schema_the_code_uses(database_url: str) -> None:
    """A new database gets every revision, and what they make is exactly digest.store.schema: no table, column,
    index or type of one that the other lacks."""
    config = Config()
    config.set_main_option("script_location", str(Path(__import__("digest.store.migrations").store.migrations.__file__).parent))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD
    store = Store.open(database_url)
    try:
        assert store.version() == HEAD
        with store.engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
        assert differences == []
        assert store.migrate() == (HEAD, HEAD)  # at head: nothing to do
    finally:
        store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def legacy_v2(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database at schema v2 as the release of 2026-11-23 made it (tests/fixtures/legacy/README)."""
    if request.param == "sqlite":
        copy = shutil.copy(LEGACY / "v2.sqlite", tmp_path / "digest.sqlite")
        yield f"sqlite:///{copy}"
        return
    with postgres_schema() as url:
        schema = url.rpartition("%3D")[2]
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            for statement in (LEGACY / "v2-postgresql.sql").read_text(encoding="utf-8").split(";\n"):
                lines = [line for line in statement.splitlines() if not line.startswith("--")]
                if "".join(lines).strip():
                    conn.exec_driver_sql("\n".join(lines).replace("{schema}", f'"{schema}"'))
        engine.dispose()
        yield url


def test_a_database_from_the_v2_release_is_upgraded_keeping_everything(legacy_v2: str, tmp_path: Path) -> None:
    config = _config(tmp_path, legacy_v2)
    before = cli(config, "db", "current")
    assert before.returncode == 0, before.stderr
    assert "revision v02; this program upgrades it to " + HEAD in before.stdout
    upgraded = cli(config, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"upgraded from v02 to revision {HEAD}" in upgraded.stdout
    again = cli(config, "db", "upgrade")
    assert f"already at revision {HEAD}; nothing to do" in again.stdout
    assert "(up to date)" in cli(config, "db", "current").stdout

    store = Store.open(legacy_v2)
    try:
        assert store.version() == HEAD
        with store.engine.connect() as conn:
            assert not sa.inspect(conn).has_table("schema_version")
            assert compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata) == []
        ada = store.subscribers.get("ada@example.org")
        bo = store.subscribers.get("bo@example.org")
        assert ada is not None and ada.status == SubscriberStatus.ACTIVE and ada.name == "Ada"
        assert bo is not None and bo.status == SubscriberStatus.UNSUBSCRIBED
        issue = store.issues.load("2025-03-02-0e7ceb")
        assert issue is not None and issue.subject == "Weekly Digest" and issue.post_ids == ("p1", "p2")
        assert issue.window_end == datetime(2025, 3, 3, tzinfo=UTC)
        [delivery] = store.ledger.of("2025-03-02-0e7ceb")
        assert delivery.subscriber_id == ada.id and delivery.state == DeliveryState.SENT
        assert store.runs.get(datetime(2025, 3, 3, 9, tzinfo=UTC)) is not None
        # The upgraded store works: a new subscriber gets the next id, and a send of the issue mails only them.
        carol, _ = store.subscribers.add("carol@example.org")
        assert carol.id == 3
        assert store.ledger.outstanding("2025-03-02-0e7ceb").new == 1
    finally:
        store.close()
    status = cli(config, "status", "--issue", "2025-03-02-0e7ceb")
    assert status.returncode == 0, status.stderr
    assert "1 sent" in status.stdout


def test_a_database_newer_than_the_program_is_refused_in_one_line(database_url: str, tmp_path: Path) -> None:
    store = Store.open(database_url)
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'v99'"))
    store.close()
    with pytest.raises(StoreError, match="revision v99, which this program does not know"):
        Store.open(database_url)
    result = cli(_config(tmp_path, database_url), "status")
    assert result.returncode != 0 and "v99" in result.stderr and "Traceback" not in result.stderr


def test_processes_opening_a_new_database_together_create_it_once(database_url: str) -> None:
    problems: list[BaseException] = []

    def open_it() -> None:
        try:
            Store.open(database_url).close()
        except BaseException as exc:
            problems.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
    store = Store.open(database_url)
    assert store.version() == HEAD
    store.close()


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "digest.toml"
    path.write_text(f'[store]\nurl = "{url}"\n', encoding="utf-8")
    return path
