from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from digest.config import SelectionRules, WindowRule
from digest.issue.selection import select_posts, window_between, window_for
from digest.models import Window

from conftest import LONDON
from factories import make_post

NEW_YORK = ZoneInfo("America/New_York")
RULES = SelectionRules(
    exclude_titles=(re.compile("weekly digest", re.IGNORECASE),), exclude_outlets=("spam daily",), exclude_tags=("draft",)
)


def test_window_is_half_open() -> None:
    window = Window(start=datetime(2026, 11, 13, 9, tzinfo=LONDON), end=datetime(2026, 11, 20, 9, tzinfo=LONDON))
    at_start = make_post("At start", window.start)
    at_end = make_post("At end", window.end)
    just_before_end = make_post("Just before end", window.end - timedelta(microseconds=1))
    just_before_start = make_post("Just before start", window.start - timedelta(seconds=1))
    result = select_posts([at_start, at_end, just_before_end, just_before_start], window, RULES)
    assert [p.title for p in result.selected] == ["At start", "Just before end"]
    reasons = {e.post.title: e.reason for e in result.excluded}
    assert reasons["At end"].endswith("after the window")
    assert reasons["Just before start"].endswith("before the window")


def test_a_window_needs_aware_ordered_bounds() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Window(start=datetime(2026, 1, 1), end=datetime(2026, 1, 2))
    with pytest.raises(ValueError, match="not before"):
        Window(start=datetime(2026, 1, 2, tzinfo=UTC), end=datetime(2026, 1, 1, tzinfo=UTC))


def test_days_window_ends_at_the_run_time() -> None:
    now = datetime(2026, 11, 20, 9, 0, tzinfo=LONDON)
    window = window_for(now, WindowRule(mode="days", days=7), LONDON)
    assert (window.start, window.end) == (datetime(2026, 11, 13, 9, 0, tzinfo=LONDON), now)


@pytest.mark.parametrize(
    ("zone", "friday", "hours"),
    [
        (LONDON, date(2026, 4, 3), 167),  # window spans the spring change (29 March): an hour shorter
        (LONDON, date(2026, 10, 30), 169),  # spans the autumn change (25 October): an hour longer
        (NEW_YORK, date(2026, 3, 13), 167),  # 8 March
        (NEW_YORK, date(2026, 11, 6), 169),  # 1 November
    ],
)
def test_days_window_keeps_local_time_across_clock_changes(zone: ZoneInfo, friday: date, hours: int) -> None:
    now = datetime(friday.year, friday.month, friday.day, 9, 0, tzinfo=zone)
    window = window_for(now.astimezone(UTC), WindowRule(mode="days", days=7), zone)
    start = window.start.astimezone(zone)
    assert (start.date(), start.hour, start.minute) == (friday - timedelta(days=7), 9, 0)
    assert window.end - window.start == timedelta(hours=hours)


@pytest.mark.parametrize(
    ("now", "start", "end"),
    [
        # Week starting Monday, run on Wednesday 28 October 2026 (after the autumn change).
        (datetime(2026, 10, 28, 12, tzinfo=LONDON), datetime(2026, 10, 19, tzinfo=LONDON), datetime(2026, 10, 26, tzinfo=LONDON)),
        # Run exactly at the start of a week: the previous full week.
        (datetime(2026, 10, 26, 0, tzinfo=LONDON), datetime(2026, 10, 19, tzinfo=LONDON), datetime(2026, 10, 26, tzinfo=LONDON)),
        # The week holding the spring change is 167 hours long.
        (datetime(2026, 3, 31, 8, tzinfo=LONDON), datetime(2026, 3, 23, tzinfo=LONDON), datetime(2026, 3, 30, tzinfo=LONDON)),
    ],
)
def test_week_window_is_the_previous_calendar_week(now: datetime, start: datetime, end: datetime) -> None:
    window = window_for(now.astimezone(UTC), WindowRule(mode="week", week_starts=0), LONDON)
    assert (window.start, window.end) == (start, end)
    assert window.start.astimezone(LONDON).hour == 0 and window.end.astimezone(LONDON).hour == 0


def test_week_window_with_another_first_day() -> None:
    window = window_for(datetime(2026, 11, 23, 10, tzinfo=LONDON), WindowRule(mode="week", week_starts=4), LONDON)  # Fridays
    assert (window.start, window.end) == (datetime(2026, 11, 13, tzinfo=LONDON), datetime(2026, 11, 20, tzinfo=LONDON))


def test_since_last_window() -> None:
    now = datetime(2026, 11, 20, 9, tzinfo=LONDON)
    last = datetime(2026, 11, 10, 9, tzinfo=LONDON)
    rule = WindowRule(mode="since-last", days=7)
    assert window_for(now, rule, LONDON, last) == Window(start=last, end=now)
    assert window_for(now, rule, LONDON, None).start == datetime(2026, 11, 13, 9, tzinfo=LONDON)  # no last issue yet


def test_explicit_window_dates_are_local_midnight_and_until_exclusive() -> None:
    window = window_between(date(2019, 10, 12), date(2019, 10, 19), LONDON)
    assert window.start == datetime(2019, 10, 12, tzinfo=LONDON)
    assert window.end == datetime(2019, 10, 19, tzinfo=LONDON)
    assert window.start.utcoffset() == timedelta(hours=1)  # BST


def test_exclusion_rules_keep_their_reasons() -> None:
    window = Window(start=datetime(2026, 11, 1, tzinfo=UTC), end=datetime(2026, 12, 1, tzinfo=UTC))
    day = datetime(2026, 11, 10, tzinfo=UTC)
    posts = [
        make_post("Iran Interlink Weekly Digest – October 18, 2019", day),
        make_post("Buy now", day, outlet="Spam Daily"),
        make_post("Half written", day, tags=("Draft",)),
        make_post("Kept", day),
    ]
    result = select_posts(posts, window, RULES)
    assert [p.title for p in result.selected] == ["Kept"]
    assert [e.reason for e in result.excluded] == [
        'title matches exclusion rule "weekly digest"',
        'outlet "Spam Daily" is excluded',
        'tag "Draft" is excluded',
    ]


def test_duplicates_across_sources_by_url_or_title_and_outlet() -> None:
    window = Window(start=datetime(2026, 11, 1, tzinfo=UTC), end=datetime(2026, 12, 1, tzinfo=UTC))
    early, late = datetime(2026, 11, 10, tzinfo=UTC), datetime(2026, 11, 11, tzinfo=UTC)
    posts = [
        make_post("Bus lanes all day", late, url="https://www.example.org/bus/", source="feed:x", outlet="Radio"),
        make_post("Bus lanes all day", early, url="https://example.org/bus", source="markdown:a", outlet="Gazette"),
        make_post("Café opens — at last!", early, outlet="Gazette", source="archive:z"),
        make_post("cafe opens at last", late, outlet="gazette", source="feed:y"),
        make_post("Cafe opens at last", late, outlet="Other paper", source="feed:y"),
    ]
    result = select_posts(posts, window, RULES)
    assert [(p.title, p.source) for p in result.selected] == [
        ("Bus lanes all day", "markdown:a"),
        ("Café opens — at last!", "archive:z"),
        ("Cafe opens at last", "feed:y"),
    ]
    assert sorted(e.reason for e in result.excluded) == [
        'duplicate of "Bus lanes all day" from markdown:a',
        'duplicate of "Café opens — at last!" from archive:z',
    ]
