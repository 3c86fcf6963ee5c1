"""Issue 32, item 5, round 4: one story = one event. Two posts close in meaning fold only when they share an anchor of
the event's identity (a name, place, day, month, figure, time, age) and nothing of it conflicts; each rule here is
shown blocking a fold when its marks differ and letting one through when they agree, in words of its own (Wetherby
Cross, an invented town; not the bench's pairs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from digest.issue.identity import anchors, conflicts, marks_of, telling
from digest.issue.stories import STORY_CLOSE, fold_stories

from factories import make_post

DAY = datetime(2026, 11, 16, 9, tzinfo=UTC)


def _fold(title_a: str, excerpt_a: str, title_b: str, excerpt_b: str, closeness: float = 0.9) -> tuple[bool, str]:
    """Whether two outlets' posts fold at ``closeness``, and the reason given for the second post."""
    a = make_post(title_a, DAY, url="https://a.example/1", outlet="Cross Courier", excerpt=excerpt_a)
    b = make_post(title_b, DAY + timedelta(hours=1), url="https://b.example/1", outlet="Cross Chat", excerpt=excerpt_b)
    stories = fold_stories([a, b], alike=lambda x, y: closeness if x != y else 1.0)
    if stories.folded:
        return True, stories.folded[0].reason
    return False, stories.kept_apart[0].reason if stories.kept_apart else ""


# Two events in like words, one rule each: what the reason says differed.
CONFLICTS = [
    # weekdays, in full or said short; a date and a date
    (
        "Blood donors sought at the Corn Hall",
        "Session on Tue 3 March.",
        "Blood donors wanted this week",
        "At the Corn Hall on Friday.",
        "weekday",
    ),
    ("Quiz at the Fleece", "On Mon, 7.30pm.", "Quiz night at the Fleece", "Tuesday from 7.30pm.", "weekday"),
    ("Bypass shut for resurfacing work", "Closed on 9 March.", "Bypass closed overnight for works", "Closed on 16 March.", "date"),
    # streets, schools, bodies, people, towns
    (
        "Burst main floods Tanner Street",
        "Homes hit on Friday.",
        "Burst main floods road",
        "Water poured down Mill Street on Friday.",
        "place",
    ),
    ("Wetherby Cross Primary rated good", "A report out this week.", "Wetherby Cross Academy inspected", "Report out this week.", "place"),
    (
        "Town chooses its new mayor",
        "Councillor Ann Pike was elected on Thursday.",
        "New mayor for the town",
        "Councillor Joe Rudd was elected on Thursday.",
        "person",
    ),
    (
        "Eco flag for St Anne's pupils",
        "St Anne's Primary, Holme, won it.",
        "Eco flag for St Anne's",
        "St Anne's Primary in Lydd won.",
        "town",
    ),
    # outcomes, in opposite pairs
    ("Plan for 40 flats on Kiln Row", "Rejected on Tuesday.", "Kiln Row flats plan", "The 40 flats were approved on Tuesday.", "outcome"),
    ("Cross Rovers win at Holme", "On Saturday.", "Cross Rovers lose at Holme", "On Saturday at the Lane.", "outcome"),
    ("Man charged after Wetherby Cross assault", "He is due at court.", "Man jailed over Wetherby Cross assault", "Two years.", "outcome"),
    (
        "Wetherby Cross pool closes",
        "For the winter, said the trust.",
        "Wetherby Cross pool opens",
        "For the summer, said the trust.",
        "outcome",
    ),
    ("Plans for 30 homes at Holme submitted", "Off Moss Lane.", "Holme housing plan approved", "30 homes off Moss Lane.", "outcome"),
    (
        "Runner sets new fell race record",
        "Jo Marr won on Saturday.",
        "Marr retains fell race title",
        "Her record from 2025 stood.",
        "outcome",
    ),
    # figures as numbers, with what they count; results
    ("Gala raises £6,200", "A record for Wetherby Cross.", "Wetherby Cross gala total", "It raised £4,850 this year.", "figures"),
    (
        "Plan for lodges at Holme refused",
        "40 holiday lodges by the links.",
        "Holme links lodges turned down",
        "The 24 lodges were refused.",
        "figures",
    ),
    (
        "Cross Rovers in cup",
        "They won 2-1 at the Lane on Saturday.",
        "Cross Rovers cup tie",
        "A 3-0 result at the Lane, Saturday.",
        "result",
    ),
    # kinds of one thing, and a thing's different modifiers
    ("Jazz night at the Corn Hall", "On Friday.", "Folk night at the Corn Hall", "On Friday, doors at 7.", "kind"),
    ("Gas main repair shuts road", "Tanner Street, Friday.", "Water main repair shuts road", "Tanner Street, Friday.", "kind"),
    # ordinals with what they count; parts of the day; a headline's town of a named hall
    (
        "Eco award for St Anne's pupils",
        "The school's first green flag.",
        "Green flag for St Anne's",
        "Its third green flag, we hear.",
        "count",
    ),
    (
        "Car hits wall on Tanner Street",
        "In the early hours.",
        "Driver hurt as car hits wall",
        "On Tanner Street at teatime.",
        "part of the day",
    ),
    ("£8,000 from the trust for Holme scouts", "For the hut.", "Trust gives £8,000 to Lydd hall", "Lydd Village Hall gets it.", "name"),
    ("Car fire at Holme Lane flats", "Crews on Friday.", "Crews called to van fire outside flats", "Holme Lane, Friday.", "thing"),
]


@pytest.mark.parametrize(("title_a", "excerpt_a", "title_b", "excerpt_b", "what"), CONFLICTS)
def test_a_conflict_of_each_kind_blocks_the_fold(title_a: str, excerpt_a: str, title_b: str, excerpt_b: str, what: str) -> None:
    folded, reason = _fold(title_a, excerpt_a, title_b, excerpt_b)
    assert not folded, reason
    assert f"different {what}" in reason, reason
    assert reason.startswith(f'not the story of "{title_a}" (Cross Courier), though close in meaning (0.90')


# One event told two ways: different words, one telling leaving out what the other says.
AGREEING = [
    ("Blood donors sought at the Corn Hall", "Session on Tue 3 March.", "Give blood on Tuesday", "At the Corn Hall.", "same weekday"),
    ("1,500 homes without water", "Tanner Street main burst.", "1500 households have dry taps", "Near Tanner Street.", "same figure"),
    ("Ferry fare set at £2.50", "From May.", "Ferry to cost 2.50 pounds", "Fares rise from May.", "same figure"),
    ("Harbour wall repair costs £500,000", "Work starts in autumn.", "Wall fix finally happening", "Half a million quid.", "same figure"),
    ("Council tax up 4.99%", "Approved on Tuesday.", "Household bills set to rise", "Councillors backed a near-5% rise.", "same figure"),
    (
        "Cross Rovers win the cup",
        "A 2-1 win.",
        "Cup comes home!",
        "Two goals to one, what a night down at the Lane, and the cup is ours at last: 2–1.",
        "same result",
    ),
    ("Councillors approve Kiln Row flats", "Forty flats.", "Kiln Row scheme gets go-ahead", "The council backed it.", "same place"),
    (
        "Walker rescued on Holme Fell",
        "A man in his sixties fell.",
        "Walker, 64, airlifted to hospital",
        "Tom Reed, 64, fell on the fell above Holme.",
        "same age",
    ),
]


@pytest.mark.parametrize(("title_a", "excerpt_a", "title_b", "excerpt_b", "agreed"), AGREEING)
def test_agreement_folds_and_the_reason_names_the_story_and_what_matched(
    title_a: str, excerpt_a: str, title_b: str, excerpt_b: str, agreed: str
) -> None:
    folded, reason = _fold(title_a, excerpt_a, title_b, excerpt_b)
    assert folded, reason
    assert reason.startswith(f'same story as "{title_a}" (Cross Courier), by meaning (0.90; ')
    assert agreed in reason, reason
    assert conflicts(marks_of(title_a, excerpt_a), marks_of(title_b, excerpt_b)) == ()


def test_closeness_alone_never_folds_two_posts_sharing_nothing_of_their_event() -> None:
    """However close in meaning, two posts sharing no name, place, day, month, figure, time or age are not folded (one
    topic, maybe two events), and not kept apart either: nothing conflicts."""
    title_a, excerpt_a = "Library to open later", "Evening hours for readers."
    title_b, excerpt_b = "Later opening at the library", "Readers can stay into the evening."
    assert anchors(marks_of(title_a, excerpt_a), marks_of(title_b, excerpt_b)) == ()
    assert telling(marks_of(title_a, excerpt_a), marks_of(title_b, excerpt_b)) == 0
    assert _fold(title_a, excerpt_a, title_b, excerpt_b, closeness=0.99) == (False, "")
    # a weekday both say is an anchor: at the plain closeness it folds, below it not
    assert _fold(title_a, f"{excerpt_a} On Thursdays.", title_b, f"{excerpt_b} Every Thursday.", closeness=STORY_CLOSE)[0]
    assert not _fold(title_a, f"{excerpt_a} On Thursdays.", title_b, f"{excerpt_b} Every Thursday.", closeness=STORY_CLOSE - 0.01)[0]


def test_number_forms_compare_equal() -> None:
    pairs = [
        ("1,500 jobs", "1500 jobs"),
        ("£2.50 a ticket", "2.50 pounds a ticket"),
        ("£250,000 grant", "a quarter of a million pound grant"),
        ("£250k grant", "£250,000 grant"),
        ("£500,000 repair", "half a million quid repair"),
        ("4.99% rise", "near-5% rise"),
    ]
    for one, other in pairs:
        a, b = marks_of(one, ""), marks_of(other, "")
        assert conflicts(a, b) == (), (one, other)
        assert telling(a, b) or anchors(a, b), (one, other)
    assert conflicts(marks_of("Fund hits £48,000", ""), marks_of("Fund hits £41,000", "")) != ()


def test_wordings_that_differ_are_no_conflict() -> None:
    """A council and its councillors, a weekday in full and short, a date and its weekday, a title and a text that
    leave out the other's details: absence is not conflict."""
    same = [
        ("Council approves budget", "Agreed on Tue.", "Councillors back the budget", "The vote was on Tuesday 3 March."),
        ("Bypass closed two nights", "Mon and Tue.", "Bypass to close overnight", "On Monday 9 and Tuesday 10 March."),
        ("Corn Hall gig sold out", "", "Tickets gone for Friday's jazz at the Corn Hall", "All 300 went."),
        # an evening's leak made safe just after midnight; a verdict's word inside a street's name
        ("Gas leak forces evacuation of street", "On Wednesday evening.", "Families back home after gas scare", "Just after midnight."),
        ("Car hits wall on Fell Street", "A driver was hurt.", "Driver hurt in Fell Street crash", "The car rose onto the kerb."),
    ]
    for title_a, excerpt_a, title_b, excerpt_b in same:
        assert conflicts(marks_of(title_a, excerpt_a), marks_of(title_b, excerpt_b)) == (), title_a


def test_a_headlines_one_verdict_outweighs_its_texts_background() -> None:
    """ "Revised plan approved", whose text says the first plan was rejected, is an approval: it conflicts with a refusal
    and agrees with an approval."""
    approved = marks_of("Revised Kiln Row plan approved", "A year after the first plan was rejected.")
    assert conflicts(approved, marks_of("Kiln Row plan rejected", "Councillors said no.")) != ()
    assert conflicts(approved, marks_of("Kiln Row plan backed", "Councillors said yes.")) == ()


def test_a_short_title_folds_on_what_its_text_says() -> None:
    """ "Pool's back!" says little, but its text names the figure and the place: one story with the wire's report."""
    folded, reason = _fold(
        "Wetherby Cross pool reopens after £1.5m refit",
        "The pool at the leisure centre reopened on Monday.",
        "Pool's back!",
        "After nine months of work the leisure centre pool opened again on Monday, after a 1.5 million pound refit.",
        closeness=0.7,
    )
    assert folded and "same figure: 1,500,000" in reason, reason


def test_a_telling_mark_and_a_weaker_anchor_count_as_two() -> None:
    """£2,300 alone needs the telling closeness; with Saturday besides, a step less (as two telling marks would)."""
    from digest.issue.stories import STORY_CLOSE_AGREED, STORY_CLOSE_STEP

    between = STORY_CLOSE_AGREED - STORY_CLOSE_STEP / 2
    title_a, title_b = "Village fete raises £2,300 for the roof", "Thank you all so much!"
    excerpt_b = "What a lovely afternoon at the fete. We made £2,300 for the roof fund, our best ever total."
    assert not _fold(title_a, "The fete made it.", title_b, excerpt_b, closeness=between)[0]
    assert _fold(title_a, "The fete on Saturday made it.", title_b, f"{excerpt_b} Saturday was sunny.", closeness=between)[0]
