"""Issue 32, item 5 (a first step): two posts close in meaning fold into one story only when nothing of the event's
identity conflicts: figures compared as numbers, weekdays, named places. The pairs are the kinds the issue names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from digest.issue.identity import conflicts, figures, marks_of
from digest.issue.stories import fold_stories

from factories import make_post

DAY = datetime(2026, 11, 16, 9, tzinfo=UTC)

APART = [
    (
        "Gas main burst closes Bridge Street",
        "Engineers dug up the road.",
        "Water main repairs on Church Street",
        "Crews fix a leak.",
        "bridge street / church street",
    ),
    (
        "Blood donors wanted on Thursday",
        "Sessions at the town hall.",
        "Give blood on Saturday",
        "The leisure centre hosts donors.",
        "thursday / saturday",
    ),
    (
        "Oakfield Primary rated outstanding",
        "Inspectors praised it.",
        "Oakfield Academy told to improve",
        "Inspectors found weaknesses.",
        "oakfield primary / oakfield academy",
    ),
    ("Council meeting, 17 November", "The budget.", "Council meeting, 18 November", "The budget.", "figures 17 / 18"),
]
TOGETHER = [
    ("Factory to create 1,500 jobs", "Hiring starts in spring.", "1500 jobs coming to the town", "A new plant opens in spring."),
    ("Museum to stay open late on Thursdays", "Open until nine.", "Late openings at the city museum", "Until 9pm every Thursday."),
    ("Repairs close Bridge Street", "Diversions all week.", "Bridge Street shut for repairs", "Buses go by Church Street instead."),
    ("Tram Extension To The Hospital Approved", "The two-mile line.", "Go-ahead for tram line to the new City Hospital", "Three stops."),
    ("Tickets cost £2.50 for the ferry", "", "Ferry fare set at 2.50", ""),
]


def test_figures_are_numbers() -> None:
    assert figures("1,500 jobs, £2.50, 2.0 and 007") == frozenset({"1500", "2.5", "2", "7"})
    assert figures("no figure") == frozenset()


@pytest.mark.parametrize(("title_a", "excerpt_a", "title_b", "excerpt_b", "said"), APART)
def test_marks_that_differ_tell_two_events_apart(title_a: str, excerpt_a: str, title_b: str, excerpt_b: str, said: str) -> None:
    found = conflicts(marks_of(title_a, excerpt_a), marks_of(title_b, excerpt_b))
    assert said in found, found


@pytest.mark.parametrize(("title_a", "excerpt_a", "title_b", "excerpt_b"), TOGETHER)
def test_one_event_told_two_ways_has_no_conflict(title_a: str, excerpt_a: str, title_b: str, excerpt_b: str) -> None:
    assert conflicts(marks_of(title_a, excerpt_a), marks_of(title_b, excerpt_b)) == ()


def test_meaning_folds_only_what_identity_allows() -> None:
    """With every pair as close as the closest different stories measured (0.86), only the one-event pairs fold."""
    posts = []
    for n, (title_a, excerpt_a, title_b, excerpt_b, *_) in enumerate([*APART, *TOGETHER]):
        posts.append(make_post(title_a, DAY + timedelta(minutes=2 * n), url=f"https://a.example/{n}", outlet="A", excerpt=excerpt_a))
        posts.append(make_post(title_b, DAY + timedelta(minutes=2 * n + 1), url=f"https://b.example/{n}", outlet="B", excerpt=excerpt_b))
    pair_of = {post.id: n // 2 for n, post in enumerate(posts)}
    stories = fold_stories(posts, alike=lambda a, b: 0.86 if pair_of[a] == pair_of[b] else 0.0)
    folded = {pair_of[excluded.post.id] for excluded in stories.folded}
    assert folded == set(range(len(APART), len(APART) + len(TOGETHER)))


def test_a_placements_reason_never_says_minus_nought_nor_below_what_it_equals() -> None:
    """Issue 32, item 6 (a first step): the reason said "-0.00", and "closest to Culture, 0.15 … below 0.15"."""
    from digest.config import Theme
    from digest.issue.grouping import place_by_meaning

    themes = (Theme(name="Culture", keywords=()), Theme(name="Sport", keywords=()))
    post = make_post("A quiet week", DAY)
    near = place_by_meaning(post, themes, "Other news", (0.1484, -0.0004), 0.15)
    assert near.theme == "Other news" and near.reason == "closest to Culture, 0.148; next Sport, 0.000: below 0.150, so no theme"
    far = place_by_meaning(post, themes, "Other news", (0.05, -0.001), 0.15)
    assert "-0.00" not in far.reason and far.reason == "closest to Culture, 0.05; next Sport, 0.00: below 0.15, so no theme"
