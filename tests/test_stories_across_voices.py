"""One event told by a wire and by a chatty post (issue 32, round 4b): their meaning runs 0.2-0.5 close, so a telling
mark of the event agreed together with the sort of event (a raid and a break-in; a lorry overturned and one on its
side) folds them at a lower closeness, down to STORY_CLOSE_EVENT_LEAST; a conflict still keeps them apart, and the
sort of event without a telling mark does nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from digest.issue.stories import STORY_CLOSE_AGREED, STORY_CLOSE_EVENT_LEAST, STORY_CLOSE_LEAST, fold_stories
from digest.models import Post

from factories import make_post

DAY = datetime(2026, 12, 7, 9, tzinfo=UTC)
WIRE = (
    "Thieves raid Greyhithe jewellers",
    "Rings worth about £40,000 were taken when burglars broke into Cole and Daughter on Greyhithe High Street in the early hours of Tuesday.",
)
CHATTY = (
    "Gutted for Sue and Pete",
    "Someone broke in at the jewellery shop on Greyhithe High Street overnight Tuesday. Police want to hear from anyone with a doorbell camera.",
)


def _two(first: tuple[str, str], second: tuple[str, str]) -> list[Post]:
    return [
        make_post(first[0], DAY, url="https://a.example/1", outlet="Wire", excerpt=first[1]),
        make_post(second[0], DAY.replace(hour=10), url="https://b.example/1", outlet="Residents", excerpt=second[1]),
    ]


def test_a_telling_mark_and_the_sort_of_event_fold_far_below_the_usual_closeness() -> None:
    """A place, a weekday and a theft agreed: folded at 0.3, and the reason says the event's sort that matched."""
    closeness = STORY_CLOSE_EVENT_LEAST + 0.05
    assert closeness < STORY_CLOSE_LEAST
    stories = fold_stories(_two(WIRE, CHATTY), alike=lambda a, b: closeness)
    assert [excluded.post.title for excluded in stories.folded] == ["Gutted for Sue and Pete"]
    reason = stories.folded[0].reason
    assert "same place: Greyhithe High Street" in reason and "same weekday: Tuesday" in reason and "same event: theft" in reason, reason


def test_one_telling_mark_and_the_sort_of_event_fold_a_step_below_one_mark() -> None:
    """A name and the sort of event (a lorry overturned / on its side), no weekday: a step below STORY_CLOSE_AGREED."""
    wire = ("A684 closed after lorry overturns at Tarnbeck", "The A684 was closed for five hours after a lorry carrying timber overturned.")
    chatty = ("Road shut!!", "Timber wagon on its side at the Tarnbeck bends, police have closed the road. Go round.")
    closeness = STORY_CLOSE_AGREED - 0.05
    stories = fold_stories(_two(wire, chatty), alike=lambda a, b: closeness)
    assert len(stories.folded) == 1 and "same event: crash" in stories.folded[0].reason, stories
    far = STORY_CLOSE_EVENT_LEAST + 0.05  # one mark and the sort: not that far
    assert not fold_stories(_two(wire, chatty), alike=lambda a, b: far).folded


def test_the_same_anchors_with_a_conflict_stay_apart() -> None:
    """Another theft on the same street, on another day: the same place and the sort of event (close enough for those two
    marks to fold), but the weekday differs."""
    other_day = (
        "Another break-in on Greyhithe High Street",
        "Thieves got into the phone shop on Greyhithe High Street on Saturday night.",
    )
    closeness = STORY_CLOSE_AGREED - 0.05
    stories = fold_stories(_two(WIRE, other_day), alike=lambda a, b: closeness)
    assert not stories.folded
    assert stories.kept_apart and "different weekday" in stories.kept_apart[0].reason


def test_one_place_and_day_but_another_sort_of_event_stay_apart() -> None:
    """A theft and a shop's opening on one street and day: the sorts of event differ, so no fold at any closeness."""
    opening = (
        "New florist opens on Greyhithe High Street",
        "Petals opened its doors on Tuesday with free roses for the first fifty customers.",
    )
    stories = fold_stories(_two(WIRE, opening), alike=lambda a, b: 0.9)
    assert not stories.folded
    assert "different event: theft / opening" in stories.kept_apart[0].reason


def test_the_sort_of_event_without_a_telling_mark_folds_nothing() -> None:
    """Two thefts somewhere, a weekday alike, nothing named in common: the sort of event alone is no mark of identity."""
    first = ("Thieves raid jewellers", "Rings were taken in the early hours of Tuesday.")
    second = ("Break-in at family shop", "Burglars took cash on Tuesday night.")
    assert not fold_stories(_two(first, second), alike=lambda a, b: STORY_CLOSE_AGREED).folded
