"""The sort of event two posts tell (digest.issue.identity.events): a conflict when the headlines name sorts the other
post never speaks of, agreement as evidence of one event across voices."""

from __future__ import annotations

import pytest

from digest.issue.identity import conflicts, marks_of


@pytest.mark.parametrize(
    ("title_a", "excerpt_a", "title_b", "excerpt_b", "differ"),
    [
        # one village, one evening, two events: a fire and the quiz
        (
            "Barn fire at Askby",
            "Crews were called to a barn fire at Low Ings Farm, Askby, on Wednesday evening.",
            "What a night at the Askby quiz!",
            "Thanks to everyone who came to the village hall on Wednesday, we raised £412 for the playground.",
            "different event: fire / gathering",
        ),
        # one post office: a break-in and a new postmaster
        (
            "Burglary at Crannock Green post office",
            "Cash was taken in a break-in at Crannock Green Post Office overnight on Tuesday.",
            "Crannock Green post office gets new postmaster",
            "Janet Helm will take over as postmaster at Crannock Green Post Office from Tuesday.",
            "different event: theft / appointment",
        ),
    ],
)
def test_headlines_of_two_sorts_of_event_conflict(title_a: str, excerpt_a: str, title_b: str, excerpt_b: str, differ: str) -> None:
    assert differ in conflicts(marks_of(title_a, excerpt_a), marks_of(title_b, excerpt_b))


@pytest.mark.parametrize(
    ("title_a", "excerpt_a", "title_b", "excerpt_b"),
    [
        # synonyms: a blaze is a fire, a break-in a theft
        ("Blaze destroys Askby barn", "The hay was lost.", "Thank you to our fire crews", "What a night up at the farm."),
        ("Thieves raid Askby jewellers", "Rings were taken.", "Police appeal after overnight break-in", "At a family shop."),
        # a cause and what followed: a crash shuts a road; a burst main leaves homes without water
        ("A684 closed at Tarnbeck", "For five hours on Tuesday.", "Lorry on its side at Tarnbeck", "The driver was unhurt."),
        ("Main bursts in Askby", "Engineers are on site.", "Askby homes without water", "Since Tuesday."),
        # a headline that names no sort says nothing either way
        ("Barn fire at Askby", "On Wednesday.", "Mindless", "Someone has done this on purpose, the police say."),
    ],
)
def test_one_event_in_other_words_is_no_event_conflict(title_a: str, excerpt_a: str, title_b: str, excerpt_b: str) -> None:
    assert not [c for c in conflicts(marks_of(title_a, excerpt_a), marks_of(title_b, excerpt_b)) if c.startswith("different event")]
