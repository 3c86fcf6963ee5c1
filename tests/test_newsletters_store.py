"""Several newsletters in one store (schema v24): one person, a subscription per newsletter; issues, schedule runs and
the list scoped by newsletter; a hard bounce or complaint about the address, an unsubscribe about one subscription;
and a database of an earlier release upgraded with every row, id and link kept. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from digest.app.bounces import apply
from digest.app.issues import Newsletter
from digest.app.issues.target import WindowRequest
from digest.app.subscribers import Membership, Roster
from digest.config import Scope
from digest.mail.bounces import EventKind
from digest.models import DeliveryState, SlotState, SubscriberStatus, Window, issue_id
from digest.store import Store
from digest.store.migrations import HEAD

from factories import make_stored_issue
from support.newsletters import OLD_ISSUES, READERS, T0, old_database

SECRET = "a-secret-key-for-the-newsletters-0123456789"


@pytest.fixture
def town(database_url: str) -> Iterator[Store]:
    """The store opened for the newsletter "town"; ``town.scoped("culture")`` is the same database for "culture"."""
    store = Store.open(database_url, newsletter="town")
    yield store
    store.close()


@pytest.fixture
def scopes(make_settings: Callable[..., Scope], database_url: str) -> Callable[[str], Scope]:
    def make(slug: str) -> Scope:
        return make_settings(database_url=database_url, secret_key=SECRET, slug=slug)

    return make


def test_one_address_on_two_newsletters_is_one_person_with_two_subscriptions(town: Store) -> None:
    culture = town.scoped("culture")
    ada, new = town.subscribers.add("ada@example.org", "Ada")
    again, new_again = culture.subscribers.add("ADA@example.org")
    assert new and new_again and again.id != ada.id and again.person_id == ada.person_id
    assert (ada.newsletter, again.newsletter) == ("town", "culture")
    assert again.name == "Ada" and again.email == "ada@example.org"  # the person's, kept as first given
    assert town.subscribers.get("ada@example.org") == ada and culture.subscribers.get("ada@example.org") == again
    culture.subscribers.add("bo@example.org")
    assert town.subscribers.counts()[SubscriberStatus.ACTIVE] == 1 and culture.subscribers.counts()[SubscriberStatus.ACTIVE] == 2
    assert [s.email for s in town.subscribers.iter()] == ["ada@example.org"]
    assert town.subscribers.get("bo@example.org") is None and town.subscribers.get(subscriber_id=again.id) == again  # by id: any
    with town.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM people")).scalar_one() == 2
    record = town.subscribers.record_of(ada.id)
    assert record["subscriber"]["status"] == "active" and record["subscriber"]["email"] == "ada@example.org"
    assert [(sub["newsletter"], sub["status"]) for sub in record["subscriptions"]] == [("culture", "active"), ("town", "active")]


def test_the_same_window_makes_two_issue_ids_and_a_send_mails_its_own_list(town: Store) -> None:
    culture = town.scoped("culture")
    window = Window(start=T0 - timedelta(days=7), end=T0)
    ids = {slug: issue_id(window, UTC, slug) for slug in ("town", "culture")}
    assert ids["town"] != ids["culture"] and all(len(value) == len("2026-11-01-abcdef") for value in ids.values())
    ada, _ = town.subscribers.add("ada@example.org")
    culture.subscribers.add("ada@example.org")
    culture.subscribers.add("bo@example.org")
    for store, slug in ((town, "town"), (culture, "culture")):
        store.issues.save(_issue(ids[slug], window))
    assert town.ledger.enqueue(ids["town"]) == 1 and culture.ledger.enqueue(ids["culture"]) == 2
    assert [d.subscriber_id for d in town.ledger.of(ids["town"])] == [ada.id]
    assert [s.id for s in town.issues.summaries()] == [ids["town"]] and [s.id for s in culture.issues.summaries()] == [ids["culture"]]
    assert [status.issue_id for status in town.ledger.status()] == [ids["town"]]


def test_the_overlap_rule_and_the_schedule_stay_within_one_newsletter(town: Store) -> None:
    culture = town.scoped("culture")
    window = Window(start=T0 - timedelta(days=7), end=T0)
    ada, _ = town.subscribers.add("ada@example.org")
    town.issues.save(_issue("2026-11-01-aaaaaa", window))
    town.ledger.enqueue("2026-11-01-aaaaaa")
    town.ledger.mark_sent("2026-11-01-aaaaaa", ada.id, "250 ok")
    assert [s.id for s in town.issues.overlapping(window.start, window.end, excluding="other")] == ["2026-11-01-aaaaaa"]
    assert culture.issues.overlapping(window.start, window.end, excluding="other") == []
    assert culture.issues.last_window_end(T0 + timedelta(days=1)) is None and town.issues.last_window_end(T0 + timedelta(days=1)) == T0
    town.runs.record(T0, SlotState.SENT, issue_id="2026-11-01-aaaaaa")
    culture.runs.record(T0, SlotState.SKIPPED, reason="nothing new")
    town_run, culture_run = town.runs.get(T0), culture.runs.get(T0)
    assert town_run is not None and town_run.state is SlotState.SENT and town_run.issue_id == "2026-11-01-aaaaaa"
    assert culture_run is not None and culture_run.state is SlotState.SKIPPED and [r.slot for r in culture.runs.recent()] == [T0]


def test_a_one_click_unsubscribe_ends_one_subscription_and_a_hard_bounce_both(town: Store, scopes: Callable[[str], Scope]) -> None:
    culture = town.scoped("culture")
    ada, _ = town.subscribers.add("ada@example.org")
    ada_culture, _ = culture.subscribers.add("ada@example.org")
    members = Membership(scopes("town"), town)
    reader = members.reader_of(members.link_token(ada))  # what POST /u/<token> does, through the same calls
    assert reader is not None and members.unsubscribe(reader)
    assert _status(town, ada.id) is SubscriberStatus.UNSUBSCRIBED and _status(town, ada_culture.id) is SubscriberStatus.ACTIVE

    bo, _ = town.subscribers.add("bo@example.org")
    bo_culture, _ = culture.subscribers.add("bo@example.org")
    effect = apply(EventKind.HARD, "5.1.1", "no such user", bo_culture.id, None, scopes("culture").install, culture)
    assert effect == "marked bounced on culture; also stopped on town"
    assert _status(town, bo.id) is SubscriberStatus.BOUNCED and _status(town, bo_culture.id) is SubscriberStatus.BOUNCED
    # The send's own bounce (a 5xx at RCPT) is about the address too.
    cy, _ = town.subscribers.add("cy@example.org")
    cy_culture, _ = culture.subscribers.add("cy@example.org")
    window = Window(start=T0 - timedelta(days=7), end=T0)
    town.issues.save(_issue("2026-11-01-cccccc", window))
    town.ledger.enqueue("2026-11-01-cccccc")
    town.ledger.mark_failed("2026-11-01-cccccc", cy.id, "550 5.1.1 no such user", bounce=True)
    assert _status(town, cy.id) is SubscriberStatus.BOUNCED and _status(town, cy_culture.id) is SubscriberStatus.BOUNCED
    bounced = [json.loads(body)["data"] for _, kind, body in town.webhooks.events() if kind.value == "subscriber.bounced"]
    assert sorted((data["newsletter"], data["email"]) for data in bounced) == [
        ("culture", "bo@example.org"),
        ("culture", "cy@example.org"),
        ("town", "bo@example.org"),
        ("town", "cy@example.org"),
    ]
    # One person, two subscriptions: each event names its subscription and the person both share (the API's id).
    by_person = {(data["email"], data["person_id"]) for data in bounced}
    assert by_person == {("bo@example.org", bo.person_id), ("cy@example.org", cy.person_id)} and bo.person_id != cy.person_id
    assert {data["id"] for data in bounced} == {bo.id, bo_culture.id, cy.id, cy_culture.id}


def test_a_complaint_stops_every_newsletter_and_forget_erases_the_person(town: Store, scopes: Callable[[str], Scope]) -> None:
    culture = town.scoped("culture")
    ada, _ = town.subscribers.add("ada@example.org")
    culture.subscribers.add("ada@example.org")
    effect = apply(EventKind.COMPLAINT, None, "abuse report", ada.id, None, scopes("town").install, town)
    assert effect == "unsubscribed (complained) on town; also stopped on culture"
    theirs = town.subscribers.subscriptions_of(ada.id)
    assert [(s.newsletter, s.status) for s in theirs] == [
        ("culture", SubscriberStatus.UNSUBSCRIBED),
        ("town", SubscriberStatus.UNSUBSCRIBED),
    ]
    ended = Roster(scopes("town"), town).forget(ada)
    assert ended == ["town", "culture"]
    forgotten = [json.loads(body)["data"] for _, kind, body in town.webhooks.events() if kind.value == "subscriber.forgotten"]
    assert [(data["newsletter"], data["person_id"]) for data in forgotten] == [("town", ada.person_id), ("culture", ada.person_id)]
    assert town.subscribers.get("ada@example.org") is None and culture.subscribers.get("ada@example.org") is None
    with town.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM people")).scalar_one() == 0
    assert town.subscribers.suppressions() == 1


@pytest.mark.parametrize("revision", ["v16", "v23"])
def test_an_older_database_upgrades_keeping_every_row_id_and_link(database_url: str, revision: str) -> None:
    rows = old_database(database_url, revision)
    store = Store.open(database_url, newsletter="town")
    try:
        assert store.version() == HEAD
        for address, subscriber_id in rows.subscribers.items():
            found = store.subscribers.get(address)
            assert found is not None and found.id == subscriber_id and found.email == address and found.newsletter == "town"
            assert found.person_id == subscriber_id and found.link_salt is not None  # signed links keep naming the row
        assert store.subscribers.counts()[SubscriberStatus.ACTIVE] == 2
        assert store.subscribers.themes_of(rows.subscribers[READERS[0]]) == ("harbour",)
        assert [s.id for s in store.issues.summaries()] == list(reversed(OLD_ISSUES))
        for issue in OLD_ISSUES:
            assert [(d.subscriber_id, d.state) for d in store.ledger.of(issue)] == [
                (rows.subscribers[address], DeliveryState.SENT) for address in READERS[:2]
            ]
            assert store.links.destination(issue, 1) is not None
            run = store.runs.get(rows.windows[issue][1])
            assert run is not None and run.issue_id == issue
        record = store.subscribers.record_of(rows.subscribers[READERS[1]])
        assert len(record["bounces_and_complaints"]) == 1 and len(record["deliveries"]) == 2
        assert store.scoped("culture").issues.summaries() == [] and store.scoped("culture").subscribers.get(READERS[0]) is None
        new, _ = store.subscribers.add("dee@example.org")
        assert new.id == max(rows.subscribers.values()) + 1 and new.person_id == new.id  # ids go on, never reused
    finally:
        store.close()


def test_an_issue_frozen_before_keeps_its_id_for_its_window(database_url: str, scopes: Callable[[str], Scope]) -> None:
    rows = old_database(database_url, "v23")
    settings = scopes("town")
    store = Store.open(database_url, newsletter="town")
    try:
        newsletter = Newsletter(settings, store)
        for issue in OLD_ISSUES:
            start, end = rows.windows[issue]
            target = newsletter.target(WindowRequest(since=start.isoformat(), until=end.isoformat()), T0)
            assert target.issue_id == issue  # the stored one's, not the one the slug would make now
        later = Window(start=T0 + timedelta(days=7), end=T0 + timedelta(days=14))  # after both stored ones
        fresh = newsletter.target(WindowRequest(since=later.start.isoformat(), until=later.end.isoformat()), T0)
        assert fresh.issue_id == issue_id(fresh.window, settings.newsletter.timezone, "town") not in OLD_ISSUES
    finally:
        store.close()


def _issue(issue: str, window: Window):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(make_stored_issue(issue), window_start=window.start, window_end=window.end, created_at=datetime.now(UTC))


def _status(store: Store, subscriber_id: int) -> SubscriberStatus:
    found = store.subscribers.get(subscriber_id=subscriber_id)
    assert found is not None
    return found.status
