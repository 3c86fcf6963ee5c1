"""Editions in the store (issue 35, step 2): v25 over a database of before, issue ids per edition, a reader's
edition set by command and by import (one event naming it), and the scheduler's jobs and slots per edition."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from digest.config import load_settings
from digest.models import Window, issue_id
from digest.store import Store
from digest.store.schema import webhook_events

from conftest import write
from support.cli import cli
from support.newsletters import OLD_ISSUES, old_database

CONFIG = """root = ".."
[newsletter]
name = "Harbour Notes"
timezone = "Europe/London"
[store]
url = "sqlite:///{db}"
[editions.weekly]
cron = "0 9 * * fri"
window = "7d"
[editions.monthly]
day = "first friday"
time = "09:00"
window = "previous month"
"""


def test_issues_and_runs_made_before_become_the_first_editions(database_url: str) -> None:
    rows = old_database(database_url, "v23")  # filled as before several newsletters, then up through v24 and v25
    store = Store.open(database_url, newsletter="town", first_edition="daily")
    try:
        # The opening newsletter's first edition here is "daily": what was stored before is its.
        assert store.of_edition("weekly").issues.summaries() == [] and store.edition == "daily"  # opened for its first
        assert [s.id for s in store.of_edition("daily").issues.summaries()] == list(reversed(OLD_ISSUES))
        for issue in OLD_ISSUES:
            assert store.of_edition("daily").runs.get(rows.windows[issue][1]) is not None
            assert store.of_edition("weekly").runs.get(rows.windows[issue][1]) is None
        # A reader of before names no edition (the first's) and has had no cut recorded.
        record = store.subscribers.record_of(next(iter(rows.subscribers.values())))
        assert record["subscriber"]["edition"] is None and record["subscriber"]["covered_until"] is None
    finally:
        store.close()


def test_the_first_editions_ids_are_as_before_and_another_editions_differ() -> None:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Europe/London")
    window = Window(start=datetime(2026, 11, 1, tzinfo=zone), end=datetime(2026, 12, 1, tzinfo=zone))
    first = issue_id(window, zone, "harbour-notes")
    assert issue_id(window, zone, "harbour-notes", None) == first
    monthly = issue_id(window, zone, "harbour-notes", "monthly")
    assert monthly != first and monthly[:10] == first[:10] == "2026-11-30"


def test_set_edition_and_the_import_column_each_write_one_event(tmp_path: Path) -> None:
    config = write(tmp_path / "config" / "digest.toml", CONFIG.format(db=tmp_path / "digest.sqlite"))
    assert cli(config, "subscribers", "add", "ann@example.org").returncode == 0
    listed = write(tmp_path / "list.csv", "email,name,edition\nbo@example.org,Bo,Monthly\ncy@example.org,Cy,yearly\ndee@example.org,Dee,\n")
    imported = cli(config, "subscribers", "import", str(listed))
    assert "yearly" in imported.stdout + imported.stderr and "weekly, monthly" in imported.stdout + imported.stderr
    first = cli(config, "subscribers", "set-edition", "ann@example.org", "monthly")
    again = cli(config, "subscribers", "set-edition", "ann@example.org", "monthly")
    assert first.returncode == again.returncode == 0 and "edition already" in again.stdout
    refused = cli(config, "subscribers", "set-edition", "ann@example.org", "yearly")
    assert refused.returncode == 2 and "weekly, monthly" in refused.stderr
    assert cli(config, "subscribers", "set-edition", "nobody@example.org", "monthly").returncode == 1
    settings = load_settings(config, environ={})
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    try:
        editions = {
            address: store.subscribers.record_of(store.subscribers.get(address).id)["subscriber"]["edition"]  # type: ignore[union-attr]
            for address in ("ann@example.org", "bo@example.org", "dee@example.org")
        }
        assert editions == {"ann@example.org": "monthly", "bo@example.org": "monthly", "dee@example.org": None}
        assert store.subscribers.get("cy@example.org") is None  # a bad row: not imported
        with store.engine.connect() as conn:
            bodies = [
                json.loads(body)
                for (body,) in conn.execute(sa.select(webhook_events.c.body).where(webhook_events.c.kind == "subscriber.updated"))
            ]
        # One event per change: set-edition once (the second changed nothing), the import's Bo once.
        assert len(bodies) == 2 and all(body["data"]["changed"] == ["edition"] for body in bodies)
    finally:
        store.close()
    shown = cli(config, "subscribers", "show", "dee@example.org")
    assert "edition          weekly" in shown.stdout  # none chosen: the first


def test_schedule_lists_each_editions_rule_and_slots(tmp_path: Path) -> None:
    config = write(tmp_path / "config" / "digest.toml", CONFIG.format(db=tmp_path / "digest.sqlite"))
    listed = cli(config, "schedule", "--list", "--as-of", "2026-11-20T10:00")
    assert listed.returncode == 0, listed.stderr
    assert "harbour-notes: cron '0 9 * * fri' in Europe/London" in listed.stdout
    assert "harbour-notes:monthly: 'first friday 09:00' in Europe/London" in listed.stdout
    assert "Fri 2026-12-04 09:00 GMT" in listed.stdout and "Fri 2027-01-01 09:00 GMT" in listed.stdout


def test_job_ids_keep_the_first_editions_and_name_the_others(tmp_path: Path) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    from digest.app.scheduling import Scheduler
    from digest.cli.schedule import _add_jobs

    config = write(tmp_path / "config" / "digest.toml", CONFIG.format(db=tmp_path / "digest.sqlite"))
    settings = load_settings(config, environ={})
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    try:
        runners = [Scheduler(settings, store, edition=edition.name) for edition in settings.newsletter.editions]
        scheduler = BackgroundScheduler(timezone=UTC)
        _add_jobs(scheduler, runners)
        ids = {job.id for job in scheduler.get_jobs()}
        assert {"harbour-notes:weekly", "harbour-notes:retry", "harbour-notes:doctor"} <= ids
        assert {"harbour-notes:monthly:weekly", "harbour-notes:monthly:retry"} <= ids and "harbour-notes:monthly:doctor" not in ids
        monthly = next(job for job in scheduler.get_jobs() if job.id == "harbour-notes:monthly:weekly")
        assert monthly.args == ("harbour-notes:monthly",)
    finally:
        store.close()


def test_an_export_keeps_each_reader_s_edition_and_reads_back_as_it_was(tmp_path: Path) -> None:
    """A journey: `subscribers export` wrote email,name,status only, so an export imported again put every monthly or
    daily reader back on the weekly."""
    config = write(tmp_path / "config" / "digest.toml", CONFIG.format(db=tmp_path / "digest.sqlite"))
    for address in ("w@example.org", "m@example.org"):
        assert cli(config, "subscribers", "add", address).returncode == 0
    assert cli(config, "subscribers", "set-edition", "m@example.org", "monthly").returncode == 0
    exported = cli(config, "subscribers", "export")
    assert exported.stdout.splitlines() == ["email,name,status,edition", "w@example.org,,active,weekly", "m@example.org,,active,monthly"]
    other = tmp_path / "other"
    again = write(other / "config" / "digest.toml", CONFIG.format(db=other / "digest.sqlite"))
    listing = write(other / "list.csv", exported.stdout)
    imported = cli(again, "subscribers", "import", str(listing))
    assert imported.returncode == 0, imported.stderr
    assert cli(again, "subscribers", "export").stdout == exported.stdout
