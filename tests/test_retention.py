"""[retention]: delivered webhook events and the API's audit log pruned by age, by `digest schedule`'s daily pass
and by `digest db prune`; an event still to deliver, failing, or written once (issue.sent) is never pruned. Real
SQLite files (and PostgreSQL when it runs), real rows written by the store's own methods."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from digest.config import Scope
from digest.models import AuditEntry, EventType
from digest.store import Store
from digest.store.schema import api_audit, webhook_deliveries, webhook_events

from conftest import write
from support.cli import cli
from support.project import make_config

NOW = datetime(2026, 12, 6, 22, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def aged(store: Store, event_id: int, made: datetime, delivered: datetime | None, failing: bool = False) -> None:
    """Give an event (written by the store) its age, and its one delivery its outcome."""
    with store.engine.begin() as conn:
        conn.execute(sa.update(webhook_events).where(webhook_events.c.id == event_id).values(created_at=made))
        outcome: dict[str, Any] = {"delivered_at": delivered}
        if failing:
            outcome |= {"attempts": 9, "last_error": "HTTP 503", "next_attempt_at": NOW + DAY}
        conn.execute(sa.update(webhook_deliveries).where(webhook_deliveries.c.event_id == event_id).values(**outcome))


def fill(store: Store) -> dict[str, int]:
    """Events of each kind of fate, and audit lines old and new; the id of each event by its fate."""
    store.webhooks.add("https://crm.example.org/hook", [EventType.SUBSCRIBER_CREATED, EventType.SUBSCRIBER_UNSUBSCRIBED], b"k" * 24, NOW)
    fates = {}
    for fate in ("delivered-long-ago", "failing", "undelivered", "delivered-yesterday", "recent", "unwanted"):
        person, _ = store.subscribers.add(f"{fate}@example.org")
        if fate == "unwanted":  # a kind no endpoint asked for (subscriber.updated): nothing to deliver
            store.subscribers.rename(person.id, "Someone")
        fates[fate] = max(event_id for event_id, _, _ in store.webhooks.events(person.id))
    aged(store, fates["delivered-long-ago"], NOW - 100 * DAY, NOW - 99 * DAY)
    aged(store, fates["failing"], NOW - 100 * DAY, None, failing=True)
    aged(store, fates["undelivered"], NOW - 400 * DAY, None)
    aged(store, fates["delivered-yesterday"], NOW - 100 * DAY, NOW - DAY)  # its endpoint was down for months
    aged(store, fates["recent"], NOW - 10 * DAY, NOW - 10 * DAY)
    aged(store, fates["unwanted"], NOW - 100 * DAY, None)
    for age in (400, 10):
        store.api.record(AuditEntry(at=NOW - age * DAY, token="crm", method="GET", operation="listSubscribers", status=200))
    return fates


def left(store: Store) -> tuple[set[int], list[datetime]]:
    with store.engine.connect() as conn:
        events = {int(row[0]) for row in conn.execute(sa.select(webhook_events.c.id))}
        audit = [row[0] for row in conn.execute(sa.select(api_audit.c.at))]
    return events, audit


def test_the_schedulers_daily_pass_prunes_delivered_events_and_old_audit_lines_only(
    make_settings: Callable[..., Scope], database_url: str, zone: Any
) -> None:
    from digest.app.scheduling import Scheduler

    settings = make_settings(database_url=database_url, nameservers=(zone.nameserver,))
    store = Store.open(database_url)
    fates = fill(store)
    before, _ = left(store)
    Scheduler(settings, store).check_setup(NOW)
    events, audit = left(store)
    gone = {fate for fate, event_id in fates.items() if event_id not in events}
    assert gone == {"delivered-long-ago", "unwanted"}, gone
    assert before - events == {fates["delivered-long-ago"], fates["unwanted"]}  # the newer events of each person stay
    assert [at.astimezone(UTC) for at in audit] == [NOW - 10 * DAY]
    with store.engine.connect() as conn:  # no delivery row left behind without its event
        orphans = conn.execute(sa.select(webhook_deliveries.c.event_id).where(webhook_deliveries.c.event_id.not_in(list(events)))).all()
    assert orphans == []
    store.close()


def test_db_prune_keeps_what_the_config_says_and_zero_keeps_for_ever(tmp_path: Path) -> None:
    config = make_config(tmp_path, None)
    write(config, config.read_text(encoding="utf-8") + "\n[retention]\nwebhook_events_days = 0\naudit_days = 5\n")
    store = Store.open(f"sqlite:///{tmp_path / 'digest.sqlite'}")
    fill(store)
    before, _ = left(store)
    done = cli(config, "db", "prune")
    assert done.returncode == 0, done.stderr
    assert "0 delivered event(s) pruned (kept for ever" in done.stdout and "2 line(s) pruned (older than 5 days)" in done.stdout
    assert left(store) == (before, [])
    store.close()


@pytest.mark.parametrize("value", ["-1", '"90"', "36501"])
def test_a_retention_that_is_no_number_of_days_is_refused(tmp_path: Path, value: str) -> None:
    config = make_config(tmp_path, None)
    write(config, config.read_text(encoding="utf-8") + f"\n[retention]\nwebhook_events_days = {value}\n")
    done = cli(config, "db", "prune")
    assert done.returncode != 0 and "webhook_events_days" in done.stdout + done.stderr
