"""A reader's choices, the rules the app keeps once (digest.app.choices) for every page and command that sets them:
over a real SQLite file, through Membership as the public app's pages call it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from digest.app.choices import LONGEST_PAUSE, ChoiceProblem, reader_today
from digest.app.subscribers import Membership
from digest.config import Scope
from digest.models import Subscriber, SubscriberStatus
from digest.store import Store


@pytest.fixture
def members(make_settings: Callable[..., Scope], tmp_path: Path) -> Iterator[tuple[Membership, Store, Subscriber]]:
    settings = make_settings(database_url=f"sqlite:///{tmp_path / 'list.db'}", secret_key="a-secret-key-for-the-choices-0123456789")
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    reader, _ = store.subscribers.add("ada@example.org", "Ada")
    yield Membership(settings, store), store, reader
    store.close()


def test_only_configured_themes_count_and_every_theme_is_stored_as_every(members: tuple[Membership, Store, Subscriber]) -> None:
    membership, store, reader = members
    keys = list(membership.settings.newsletter.theme_keys)
    names = list(membership.settings.newsletter.theme_keys.values())
    # A key, a name in another case (older embedded forms post names), and what is no theme: the last is dropped.
    choice = membership.choice_of([keys[2], names[0].upper(), "not-a-theme", 7])
    assert choice.keys == (keys[0], keys[2]) and not choice.every  # in the config's order, whatever the form's
    assert membership.set_preferences(reader, choice, None) is None
    assert store.subscribers.preferences_of(reader.id) == ((keys[0], keys[2]), None)
    everything = membership.choice_of([*keys, "not-a-theme"])
    assert everything.every and everything.stored is None
    assert membership.set_preferences(reader, everything, None) is None
    assert store.subscribers.preferences_of(reader.id) == (None, None)  # a theme added later reaches them too
    shown = membership.preferences_of(reader)
    assert shown.themes.keys == tuple(keys) and shown.themes.every and shown.paused_until is None


def test_at_least_one_theme(members: tuple[Membership, Store, Subscriber]) -> None:
    membership, store, reader = members
    nothing = membership.choice_of(["not-a-theme"])
    assert membership.problem_of(nothing) is ChoiceProblem.NO_THEME
    later = reader_today(membership.settings.newsletter) + timedelta(days=3)
    assert membership.set_preferences(reader, nothing, later) is ChoiceProblem.NO_THEME  # the themes first, then the pause
    assert store.subscribers.preferences_of(reader.id) == (None, None)  # nothing changed


def test_a_pause_ends_after_today_and_within_a_year(members: tuple[Membership, Store, Subscriber]) -> None:
    membership, store, reader = members
    some = membership.choice_of(list(membership.settings.newsletter.theme_keys)[:1])
    today = reader_today(membership.settings.newsletter)
    for wrong in (today, today - timedelta(days=1), today + LONGEST_PAUSE + timedelta(days=1)):
        assert membership.set_preferences(reader, some, wrong) is ChoiceProblem.PAUSE_OUT_OF_RANGE, wrong
    assert store.subscribers.preferences_of(reader.id) == (None, None)
    for right in (today + timedelta(days=1), today + LONGEST_PAUSE):
        assert membership.set_preferences(reader, some, right) is None, right
        assert store.subscribers.preferences_of(reader.id) == (some.keys, right)
        assert membership.preferences_of(reader).paused_until == right
    shown = membership.preferences_of(reader)
    assert (shown.pause_range.first, shown.pause_range.last) == (today + timedelta(days=1), today + LONGEST_PAUSE)


def test_a_pause_that_ended_is_no_pause_and_a_lost_key_is_not_shown(members: tuple[Membership, Store, Subscriber]) -> None:
    membership, store, reader = members
    first = next(iter(membership.settings.newsletter.theme_keys))
    store.subscribers.set_preferences(reader.id, [first, "a-theme-since-removed"], date(2020, 1, 31))
    shown = membership.preferences_of(reader)
    assert shown.paused_until is None and shown.themes.keys == (first,)


def test_nothing_is_set_for_someone_who_left(members: tuple[Membership, Store, Subscriber]) -> None:
    membership, store, reader = members
    assert membership.may_choose(reader)
    store.subscribers.set_status(reader.id, SubscriberStatus.UNSUBSCRIBED, "left")
    gone = store.subscribers.get(subscriber_id=reader.id)
    assert gone is not None and not membership.may_choose(gone)  # their page says so, and changes nothing
    some = membership.choice_of(list(membership.settings.newsletter.theme_keys)[:1])
    assert membership.set_preferences(reader, some, None) is ChoiceProblem.NOT_SUBSCRIBED
    assert store.subscribers.preferences_of(reader.id) == (None, None)
