"""Every enum's words once (issue 33, item 4): each table holds every member of its enum, so a member added later
without its words fails here, not in front of an operator or a reader."""

from __future__ import annotations

from datetime import date

from digest.models import SUBSCRIBER_STATUS_WORDS, VIEW_WORDS, SubscriberStatus, ViewKind


def test_every_subscriber_status_has_its_word() -> None:
    assert set(SUBSCRIBER_STATUS_WORDS) == set(SubscriberStatus)
    words = list(SUBSCRIBER_STATUS_WORDS.values())
    assert all(words) and len(set(words)) == len(words)  # told apart when parsed back (`subscribers list --status`)
    assert next(iter(SUBSCRIBER_STATUS_WORDS)) is SubscriberStatus.ACTIVE  # the list is shown active first


def test_every_view_kind_has_its_words() -> None:
    assert set(VIEW_WORDS) == set(ViewKind)
    for kind in ViewKind:
        assert kind.words.reader, kind
        skipped = kind in (ViewKind.NO_POSTS, ViewKind.PAUSED)
        assert bool(kind.words.recorded) == skipped, kind  # the ledger gives a reason for each reader it skips
        assert bool(kind.words.counted) == (kind is not ViewKind.EVERY_THEME), kind  # the dry run counts all but the whole issue
    back = date(2027, 1, 31)
    assert ViewKind.PAUSED.words.of_reader((), back) == "skipped: paused until 2027-01-31"
    assert ViewKind.PAUSED.words.recorded_for(back) == "paused until 2027-01-31"
    assert ViewKind.SOME_THEMES.words.of_reader(["Arts", "Food"]) == "gets Arts, Food"
