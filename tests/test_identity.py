"""Issue 32, item 5: two posts close in meaning fold into one story only when nothing of the event's identity
conflicts: figures compared as numbers, weekdays, dates, named places and bodies, titled people, verdicts, kinds.
The pairs are the kinds the issue names (its four examples first), and one story told two ways by two outlets."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from digest.config.schema import PACKAGED_MODEL
from digest.issue.identity import agreements, conflicts, figures, marks_of, telling
from digest.issue.meaning import available
from digest.issue.stories import STORY_CLOSE, STORY_CLOSE_AGREED, fold_stories
from digest.models import Post

from factories import make_post
from support.settings import overridden

DAY = datetime(2026, 11, 16, 9, tzinfo=UTC)

# title A, excerpt A, title B, excerpt B, what differs (one of the reason's parts)
APART = [
    (
        "Jazz festival returns to the Corn Exchange",
        "Three days of jazz with bands from across the region.",
        "Folk festival comes to the Corn Exchange",
        "Three days of folk music with singers from across the region.",
        "different kind: jazz / folk",
    ),
    (
        "Gas main burst closes Bridge Street",
        "Engineers dug up the road.",
        "Water main repairs on Church Street",
        "Crews fix a leak.",
        "different place: Bridge Street / Church Street",
    ),
    (
        "Oakfield Primary rated outstanding",
        "Inspectors praised it.",
        "Oakfield Academy told to improve",
        "Inspectors found weaknesses.",
        "different outcome: rated well / told to improve",
    ),
    (
        "Blood donors wanted on Thursday",
        "Sessions at the town hall.",
        "Give blood on Saturday",
        "The leisure centre hosts donors.",
        "different weekday: Thursday / Saturday",
    ),
    ("Council meeting, 17 November", "The budget.", "Council meeting, 18 November", "The budget.", "different figures: 17 / 18"),
    (
        "Bridge Street shut for resurfacing",
        "Work starts on 14 March.",
        "Bridge Street shut for resurfacing",
        "Work starts on March 21st.",
        "different date: 14 March / 21 March",
    ),
    (
        "Councillor Jane Ayres to stand down",
        "She leaves at the May election.",
        "Councillor Mark Ibbot to stand down",
        "He leaves at the May election.",
        "different person: Councillor Ayres / Councillor Ibbot",
    ),
    (
        "Riverside Trust buys the old mill",
        "Studios planned.",
        "Harbour Trust buys the old mill",
        "Studios planned.",
        "different body: Riverside Trust / Harbour Trust",
    ),
    ("Harbour Town FC win the county cup", "", "Harbour Rovers FC lose the county cup final", "", "different outcome: wins / loses"),
    (
        "Plans for 200 homes at Mill Farm approved",
        "",
        "Plans for 200 homes at Mill Farm turned down",
        "",
        "different outcome: approved / rejected",
    ),
    ("Bus fares to rise in January", "", "Bus fares cut in January", "", "different outcome: rises / falls"),
    ("Writers' festival announces its line-up", "", "Music festival announces its line-up", "", "different kind: books / music"),
    # figures of one thing anywhere in the posts, as numbers: money, per cent, what a figure counts
    (
        "New scanner opens at the General",
        "The £1.8m machine will cut waits.",
        "General opens new scanner",
        "A scanner costing £1.1m is in use.",
        "different figures: £1,800,000 / £1,100,000",
    ),
    (
        "Church bells ring again after restoration",
        "The six bells rang on Sunday.",
        "Church bells ring again after recasting",
        "The eight bells rang on Sunday.",
        "different figures: 6 bell / 8 bell",
    ),
    (
        "Tenants face rent rise",
        "Rents go up by 3% from April.",
        "Tenants face rent rise",
        "Rents go up by seven per cent.",
        "different figures: 3% / 7%",
    ),
    # a headline's part without a name, and two people named in it
    (
        "Marbury councillor resigns her seat",
        "Cllr Peter Lang has stepped down.",
        "Marbury councillor resigns her seat",
        "Cllr Sarah Dunmore has resigned.",
        "different person: Councillor Lang / Councillor Dunmore",
    ),
    ("Flood warning for the River Wendle", "", "Flood warning for the River Tarr", "", "different place: River Wendle / River Tarr"),
    ("Otters spotted on the river", "", "Beavers released on the river", "", "different kind: otter / beaver"),
    # figures a hundredth apart are two when neither is the other rounded: two years, two bus routes
    ("Ashby picks its carnival queen for 2025", "", "Ashby picks its carnival queen for 2026", "", "different figures: 2,025 / 2,026"),
    (
        "Village bus route kept going",
        "The 312 bus will keep running.",
        "Village bus route kept going",
        "The 315 bus will keep running.",
        "different figures: 312 bus / 315 bus",
    ),
    # money in euro; counts of people said in other words
    (
        "Hurling club appeals for new stand",
        "It needs €90,000.",
        "Hurling club appeals for new stand",
        "The club is after €60,000.",
        "different figures: €90,000 / €60,000",
    ),
    (
        "Show draws huge crowds",
        "Around 3,000 people came.",
        "Show draws huge crowds",
        "About 4,200 visitors came.",
        "different figures: 3,000 people / 4,200 people",
    ),
    # two headlines, each naming a town the other post never mentions; two things of one town by name
    (
        "Dunmere pool to open on Sundays",
        "Dunmere's pool opens from June.",
        "Castlefin pool to open on Sundays",
        "Castlefin's pool opens from May.",
        "different name: Dunmere / Castlefin",
    ),
    (
        "Ardley brewery to hire 30",
        "Ardley Craft Ales is growing.",
        "Ardley bakery to hire 30",
        "Ardley Breads is growing.",
        "different name: Ardley Craft Ales / Ardley Breads",
    ),
    # a service saved or axed; two doctors, the headlines saying the part without a name
    ("Late night bus route saved", "", "Late night bus route axed", "", "different outcome: saved / axed"),
    (
        "Hexley GP retires after decades",
        "Dr Anna Pryce held her last surgery.",
        "Hexley doctor retires after decades",
        "Dr Owen Marsh has retired.",
        "different person: Doctor Pryce / Doctor Marsh",
    ),
    # times of day an hour and more apart, round midnight too; ages whose spans do not meet
    (
        "Van set alight in Hexley",
        "Crews came at 11pm.",
        "Van set alight in Hexley",
        "Crews came at about 2.15am.",
        "different time: 11pm / 2.15am",
    ),
    ("Ardley names its piper", "A 24-year-old joiner.", "Ardley names its piper", "Sam Reed, 22, a farm worker.", "different age: 24 / 22"),
    (
        "Walker rescued from cliff",
        "A man in his sixties fell.",
        "Walker rescued from cliff",
        "A woman aged 45.",
        "different age: 60–69 / 45",
    ),
    # headlines in one frame about different things; a verdict read around a name; each text opening with its person
    ("Stoats spotted on the Hexley river", "", "Hares released on the river at Hexley", "", "different subject: stoats / hares"),
    (
        "Jewellery stolen in raid on Hexley shop",
        "",
        "Phones taken as thieves raid Hexley shop",
        "",
        "different subject: jewellery / phones",
    ),
    (
        "Ardley care home praised",
        "Inspectors rated Elm House in Ardley as good.",
        "Concerns at Ardley care home",
        "Elm Lodge requires improvement.",
        "different outcome: rated well / told to improve",
    ),
    (
        "Ardley councillor steps down",
        "Councillor Tom Reed has stepped down from the council.",
        "Second resignation hits Ardley council",
        "Councillor Ann Hale has resigned from the council.",
        "different person: Councillor Reed / Councillor Hale",
    ),
    (
        "New vicar for Ardley",
        "The Rev Ann Hale was licensed on Sunday.",
        "Ardley parish welcomes new priest",
        "Father Tom Reed was installed on Sunday.",
        "different person: Minister Hale / Minister Reed",
    ),
    # each says the town it happens in; each text opens on its own person, named in full
    (
        "St Anne's school wins playground grant",
        "St Anne's Primary in Ardley gets £35,000.",
        "St Anne's playground bid turned down",
        "The council said no to our bid here in Hexley.",
        "different town: Ardley / Hexley",
    ),
    (
        "Ardley firefighter honoured for 30 years",
        "Retained firefighter Ken Dinsdale was given a medal.",
        "30 years on call, well done!",
        "Well done to Sue Pickersgill, given her long-service award.",
        "different person: Ken Dinsdale / Sue Pickersgill",
    ),
]
TOGETHER = [
    ("Factory to create 1,500 jobs", "Hiring starts in spring.", "1500 jobs coming to the town", "A new plant opens in spring."),
    ("Museum to stay open late on Thursdays", "Open until nine.", "Late openings at the city museum", "Until 9pm every Thursday."),
    ("Repairs close Bridge Street", "Diversions all week.", "Bridge Street shut for repairs", "Buses go by Church Street instead."),
    ("Tram Extension To The Hospital Approved", "The two-mile line.", "Go-ahead for tram line to the new City Hospital", "Three stops."),
    ("Tickets cost £2.50 for the ferry", "", "Ferry fare set at 2.50", ""),
    # a headline that adds a figure (the year) to the other's is no other event; "ten" is 10
    ("Factory to create 1,500 jobs by 2027", "", "1,500 jobs at new factory", ""),
    ("Number 7 bus every ten minutes", "", "Buses every 10 minutes on route 7", ""),
    # one outlet quotes a resident, the other a councillor; two reports quote two councillors: one debate
    (
        "Residents fight plan for Mill Farm homes",
        "Neighbour Mr Tom Reed said the lane floods.",
        "Mill Farm homes face opposition",
        "Councillor Jane Ayres said she shared residents' worries.",
    ),
    (
        "Budget row at the town hall",
        "Cllr Ayres called the cuts unfair.",
        "Council budget passed after long debate",
        "Councillor Mark Ibbot said there was no choice.",
    ),
    # a day said without its month agrees with that day; synonyms are one kind; a month alone is no date
    ("Bridge Street shut on the 14th", "", "Bridge Street closed on 14 March", ""),
    ("Writers' festival names its speakers", "", "Book festival reveals forty speakers", ""),
    ("Landlords must hold a licence from April", "", "Selective licensing scheme approved", "Landlords pay from 1 April."),
    ("Lido to reopen after restoration", "", "Open-air pool back in May after repairs", ""),
    # a figure rounded or hedged agrees with the precise one; figures far apart count other things of one event
    ("Council tax to rise by 4.99%", "", "Householders face near-5% rise in bills", "Bills go up by just under five per cent."),
    ("Pool reopens after £2.5m makeover", "", "Swimmers return to the baths", "Works cost 2.5 million pounds."),
    ("Road race raises £45,000", "Entry was £5.", "Hospice road race a success", "It raised forty-five thousand pounds."),
    # the weekend is Saturday and Sunday; a night's storm runs into the next day
    (
        "Kite festival called off",
        "Organisers cancelled it on Friday for this weekend.",
        "Beach kite event axed",
        "Not on Saturday and Sunday.",
    ),
    ("Theatre closed after roof leak", "Saturday's shows were cancelled.", "Storm damage at theatre", "Rain on Friday night came in."),
    # a possessive ends a place's name: Market Bridge is in Coppice Green, not another Coppice Green
    (
        "Otters in town centre river",
        "Filmed beneath Coppice Green's Market Bridge.",
        "Otters return to the river",
        "Seen near the bridge in Coppice Green.",
    ),
    # a figure rounded to its last figure agrees; people counted in other words; euro in words and signs
    ("Fair draws 1,500", "About 1,500 people came.", "Crowds flock to fair", "Some 1,512 visitors came, the gate said."),
    ("Creamery to expand", "A €6 million plan.", "Dairy co-op invests", "Six million euro on new plant."),
    # one headline names the town, the other a street or ward of it, or nothing: no two names to tell apart
    ("Gas leak on Foxton Road", "Homes in Ashby evacuated.", "Northend families wait in hall", "Ashby's Northend ward."),
    ("Ardley bridge reopens", "The old bridge at Ardley is open.", "Drivers can cross the river again", "The crossing is open."),
    # "Farm" opens the headline but is part of a name in the text; an abbreviation is no name
    ("Brackley estate approved", "Homes east of Brackley.", "Farm fields to become homes", "Houses on Lowfield Farm."),
    ("A614 shut after crash near Ashby", "", "HGV driver hurt on bypass", "The lorry left the Ashby bypass."),
    # a short name held in the long one; two people who share a first name
    (
        "Ardley creamery to expand its plant",
        "Ardley Co-operative Creamery hires.",
        "New jobs at the creamery",
        "Ardley Creamery in Ardley hires.",
    ),
    ("Pub reopens in Ardley", "Owners Tom Pascoe and friends.", "Ardley local is back", "Tom Hale of Ardley pulled the pint."),
    # one moment told twice within the hour, round midnight; one person's age said two ways; only one post says either
    ("Shop raided in Hexley", "Between 11.30pm and 1am.", "Break-in at Hexley shop", "At 12.15 a.m. on Tuesday."),
    ("Van fire in Hexley", "Crews came at 19:30.", "Van set alight on Hexley street", "Crews came at 7pm."),
    ("Walker rescued from cliff", "A man in his sixties fell.", "Walker, 64, airlifted to hospital", "Tom Reed, 64, fell."),
    # one frame, the subject of one named in the other's text
    ("Spaniel rescued from Hexley cliff", "Crews were called out.", "Dog rescued from cliff at Hexley", "The spaniel was unhurt."),
    # a school's name said short; a report opening with a councillor who speaks is one voice of a debate
    ("Ardley primary wins eco award", "Ardley Primary School pupils won.", "Green flag for Ardley pupils", "Ardley Primary won it."),
    (
        "Budget row at Ardley council",
        "Cllr Tom Reed called the cuts unfair.",
        "Ardley council budget passed",
        "Councillor Ann Hale said there was no choice.",
    ),
    ("Crash on the bypass", "At 8am a van overturned.", "Van driver taken to hospital", "The 34-year-old was taken to hospital."),
    # a headline opening with its town says where, not what; a chatty page says the town's name short
    ("Hexley church roof appeal nears target", "The roof of Hexley church.", "Nearly there with the church roof!", "Thank you all."),
    # a town said once, short; a text that opens on a person who speaks there, or on none
    ("Pub reopens in Abergwyddon", "", "Aber local is back", "Best pint in Aber."),
    ("Ardley firefighter honoured", "Ken Dinsdale was given a medal.", "A medal for our Ken", "Sue Pickersgill said he earned it."),
    ("Ardley firefighter given a medal", "Ken Dinsdale was given it.", "Medal for our firefighter", "Chief Sue Pickersgill said so."),
    ("Abergwyddon boxer crowned champion", "Abergwyddon's Carys Lloyd won.", "Aber's own champ!", "First one from Aber ever to do it."),
]


def test_figures_are_numbers() -> None:
    assert figures("1,500 jobs, £2.50, 2.0 and 007") == frozenset({"1500", "2.5", "2", "7"})
    assert figures("no figure") == frozenset()
    assert marks_of("Seven-year wait, every ten minutes", "").numbers == frozenset({"7", "10"})


def test_dates_people_and_bodies_are_read_in_their_forms() -> None:
    marks = marks_of(
        "Cllr Jane Ayres Resigns From Harbour Buses Board",
        "Councillor Ayres told the Riverside Trust on the 3rd; the vote is on 14th of March, or March 15th. Dr Priya Shah and Sam Patel MP spoke.",
    )
    assert marks.dates == frozenset({"3", "14 march", "15 march"})
    assert marks.people == frozenset({"councillor|ayres", "doctor|shah", "mp|patel"})
    assert marks.headline_people == frozenset({"councillor|jane"})  # a headline in capitals: its name's second word may be a verb
    assert marks.bodies == frozenset({"harbour buses", "riverside trust"})


@pytest.mark.parametrize(("title_a", "excerpt_a", "title_b", "excerpt_b", "said"), APART)
def test_marks_that_differ_tell_two_events_apart(title_a: str, excerpt_a: str, title_b: str, excerpt_b: str, said: str) -> None:
    found = conflicts(marks_of(title_a, excerpt_a), marks_of(title_b, excerpt_b))
    assert said in found, found


@pytest.mark.parametrize(("title_a", "excerpt_a", "title_b", "excerpt_b"), TOGETHER)
def test_one_event_told_two_ways_has_no_conflict(title_a: str, excerpt_a: str, title_b: str, excerpt_b: str) -> None:
    assert conflicts(marks_of(title_a, excerpt_a), marks_of(title_b, excerpt_b)) == ()


def test_money_in_grands_is_pounds_in_thousands() -> None:
    a, b = marks_of("Roof appeal hits £48,000", ""), marks_of("Nearly there!", "The fund is up to forty-eight grand.")
    assert "48000" in a.figures & b.figures
    assert telling(a, b) == 1
    assert conflicts(marks_of("Appeal hits £48,000", ""), marks_of("Appeal at forty grand", "")) != ()


def test_weekdays_in_the_plural_are_no_names_to_agree_on() -> None:
    """ "Sundays" is a weekday, not a proper name two posts share: it tells no event."""
    a = marks_of("Dunmere pool to open on Sundays", "From June.")
    b = marks_of("Castlefin pool to open on Sundays", "From May.")
    assert telling(a, b) == 0
    assert "sundays" not in a.names | a.lead_names | a.headline_names


def test_what_two_posts_agree_on_is_said_as_a_reader_writes_it() -> None:
    a = marks_of("Factory to create 1,500 jobs on Bridge Street", "Harbour Town FC backs it; Councillor Jane Ayres too.")
    b = marks_of("1500 jobs for Bridge Street", "Cllr Ayres and Harbour Town FC welcome the plan, approved on Monday.")
    assert agreements(a, b) == (
        "same place: Bridge Street",
        "same body: Harbour Town FC",
        "same person: Councillor Ayres",
        "same figure: 1,500",
        "same outcome: approved",
    )


def _pairs(rows: list[tuple[str, ...]]) -> list[Post]:
    posts = []
    for n, (title_a, excerpt_a, title_b, excerpt_b, *_) in enumerate(rows):
        posts.append(make_post(title_a, DAY + timedelta(minutes=2 * n), url=f"https://a.example/{n}", outlet="A", excerpt=excerpt_a))
        posts.append(make_post(title_b, DAY + timedelta(minutes=2 * n + 1), url=f"https://b.example/{n}", outlet="B", excerpt=excerpt_b))
    return posts


def test_meaning_folds_only_what_identity_allows_and_says_why() -> None:
    """With every pair as close as the closest different stories measured (0.86), only the one-event pairs fold; the
    folded post's reason names its story's post by title and what agreed, the post kept apart what differed. Issue 32:
    a one-event pair whose two tellings share nothing of the event's identity (no name, place, day, month, figure,
    time or age) is not folded by closeness alone, and not kept apart either: nothing conflicts."""
    posts = _pairs([*APART, *TOGETHER])
    pair_of = {post.id: n // 2 for n, post in enumerate(posts)}
    stories = fold_stories(posts, alike=lambda a, b: 0.86 if pair_of[a] == pair_of[b] else 0.0)
    sharing_nothing = {
        "Tram Extension To The Hospital Approved",
        "Budget row at the town hall",
        "Writers' festival names its speakers",
        "Lido to reopen after restoration",
        "Ardley bridge reopens",
        "Brackley estate approved",
        "Crash on the bypass",
        "Hexley church roof appeal nears target",
        "Ardley firefighter given a medal",
    }
    unanchored = {len(APART) + n for n, (title, *_) in enumerate(TOGETHER) if title in sharing_nothing}
    assert len(unanchored) == len(sharing_nothing)
    together = set(range(len(APART), len(APART) + len(TOGETHER)))
    assert {pair_of[excluded.post.id] for excluded in stories.folded} == together - unanchored
    reasons = {excluded.post.title: excluded.reason for excluded in stories.folded}
    assert reasons["1500 jobs coming to the town"] == (
        'same story as "Factory to create 1,500 jobs" (A), by meaning (0.86; same figure: 1,500): listed under it as Also in'
    )
    apart = {kept.post.title: kept.reason for kept in stories.kept_apart}
    assert apart["Folk festival comes to the Corn Exchange"] == (
        'not the story of "Jazz festival returns to the Corn Exchange" (A), though close in meaning (0.86; same place: Corn Exchange; '
        "same kind: music; same figure: 3): different kind: jazz / folk"  # issue 32: the weaker anchors are said too
    )
    assert [kept.post.id for kept in stories.kept_apart] == [posts[2 * n + 1].id for n in range(len(APART))]
    assert all(said in kept.reason for kept, (*_, said) in zip(stories.kept_apart, APART, strict=True))


def test_proper_names_and_figures_in_words_are_telling_agreements() -> None:
    """A name few posts of the issue use counts as a telling agreement; the issue's town, in most posts, does not."""
    a = marks_of("Councillor quits amid expenses questions", "Cllr Diane Holt has stepped down from Marbury Town Council.")
    b = marks_of(
        "By-election looms after resignation", "Voters in Marbury will go to the polls. Diane Holt said she wanted to clear her name."
    )
    assert "same name: Diane, Holt, Marbury" in agreements(a, b) and telling(a, b) == 1
    assert telling(a, b, common=frozenset({"diane", "holt", "marbury"})) == 0
    c = marks_of("Estate of 350 homes gets green light", "")
    d = marks_of("Farm fields to become new neighbourhood", "Councillors backed three hundred and fifty houses.")
    assert "same figure: 350" in agreements(c, d)


def test_each_further_telling_agreement_lowers_the_closeness_needed() -> None:
    """Two telling marks (a place and a name) fold a pair a step below one; a town most posts name counts for none."""
    lower = STORY_CLOSE_AGREED - 0.05
    pair: list[tuple[str, ...]] = [
        (
            "Thieves raid Greyhithe jewellers",
            "Burglars hit Cole's on Greyhithe High Street.",
            "Police appeal after break-in",
            "Police said Cole's on Greyhithe High Street was burgled.",
        ),
        # one telling mark alone (the second post says nothing of a theft: the sort of event agreed would be another
        # mark, issue 32 round 4b)
        (
            "Thieves raid Kelsham jewellers",
            "Burglars hit a shop in Kelsham.",
            "Police appeal after Kelsham incident",
            "A shop in Kelsham was hit.",
        ),
    ]
    posts = _pairs(pair)
    pair_of = {post.id: n // 2 for n, post in enumerate(posts)}
    folded = fold_stories(posts, alike=lambda a, b: lower if pair_of[a] == pair_of[b] else 0.0).folded
    assert [excluded.post.title for excluded in folded] == ["Police appeal after break-in"]
    assert "same place: Greyhithe High Street; same name: Cole" in folded[0].reason
    town = [make_post(f"Kelsham notes {n}", DAY, url=f"https://c.example/{n}", outlet="C", excerpt="News from Kelsham.") for n in range(4)]
    assert [
        excluded.post.title
        for excluded in fold_stories(posts + town, alike=lambda a, b: lower if pair_of.get(a, -1) == pair_of.get(b, -2) else 0.0).folded
    ] == ["Police appeal after break-in"]


def test_a_telling_agreement_folds_from_a_lower_closeness() -> None:
    """Between the two closenesses, posts fold only when they agree on a mark few events share (here a named place)."""
    middle = (STORY_CLOSE + STORY_CLOSE_AGREED) / 2
    posts = _pairs(
        [
            ("Man charged after Market Square crash", "", "Driver in court over collision in Market Square", ""),
            ("Man charged after a crash in town", "", "Driver in court over a town centre collision", ""),
        ]
    )
    pair_of = {post.id: n // 2 for n, post in enumerate(posts)}
    stories = fold_stories(posts, alike=lambda a, b: middle if pair_of[a] == pair_of[b] else 0.0)
    assert [excluded.post.title for excluded in stories.folded] == ["Driver in court over collision in Market Square"]
    assert "same place: Market Square" in stories.folded[0].reason and not stories.kept_apart


def test_alike_titles_never_fold_across_a_conflict() -> None:
    """Without meaning too: the titles' words are all but one alike, their verdicts opposite."""
    posts = _pairs(
        [
            ("Bus fares to rise in January", "", "Bus fares cut in January", ""),
            ("Bus lanes kept on London Road", "", "London Road bus lanes kept", ""),
        ]
    )
    assert [excluded.post.title for excluded in fold_stories(posts).folded] == ["London Road bus lanes kept"]


@pytest.mark.skipif(
    available() is not None or any(importlib.util.find_spec(name) is None for name in PACKAGED_MODEL),
    reason="the packaged meaning model is not installed",
)
def test_the_issues_examples_stay_apart_with_the_packaged_model(tmp_path: Path) -> None:
    """The issue's four different-story examples, measured by the real model (0.52–0.82 here; the reviewers saw
    0.63–0.86), stay apart, each for what differs; one story told two ways, naming one place, folds."""

    from digest.config import load_settings
    from digest.issue.meaning import meaning_of

    from conftest import REPO

    settings = load_settings(REPO / "config" / "digest.toml", environ={})
    meaning = meaning_of(overridden(settings, cache_dir=tmp_path))
    assert meaning is not None
    examples = [
        ("Jazz festival returns to the Corn Exchange", APART[0][1], "Folk festival comes to the Corn Exchange", APART[0][3]),
        (
            "Gas main burst closes Bridge Street",
            "Engineers dug up the road after a leak.",
            "Water main repairs on Church Street",
            "Crews fix a leak under the road.",
        ),
        (
            "Oakfield Primary rated outstanding",
            "Inspectors praised the school's teaching.",
            "Oakfield Academy told to improve",
            "Inspectors found weaknesses in the school's teaching.",
        ),
        (
            "Blood donors wanted on Thursday at the town hall",
            "Give blood at a session at the town hall.",
            "Blood donors needed on Saturday at the leisure centre",
            "Give blood at a session at the leisure centre.",
        ),
    ]
    one = (
        "Man charged after Market Square crash",
        "A 34-year-old will appear before magistrates on Friday.",
        "Driver in court over town centre collision",
        "Police said a man had been charged after a car hit a bench in Market Square.",
    )
    for n, (title_a, excerpt_a, title_b, excerpt_b) in enumerate([*examples, one]):
        a = make_post(title_a, DAY, url=f"https://a.example/{n}", outlet="A", excerpt=excerpt_a)
        b = make_post(title_b, DAY + timedelta(hours=1), url=f"https://b.example/{n}", outlet="B", excerpt=excerpt_b)
        stories = fold_stories([a, b], alike=meaning.alike([a, b]))
        if n < len(examples):
            assert not stories.folded, stories.folded[0].reason
        else:
            assert len(stories.folded) == 1 and "same place: Market Square" in stories.folded[0].reason


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


@pytest.mark.parametrize(
    ("title_a", "excerpt_a", "title_b", "excerpt_b", "said"),
    [
        (
            "Quiz night at the Anchor raises money for the hospice",
            "Twelve teams took part.",
            "Bingo night at the Anchor raises money for the hospice",
            "A full room played.",
            "different word: quiz / bingo",
        ),
        (
            "Boy rescued from the harbour wall",
            "Crews were called in the afternoon.",
            "Girl rescued from the harbour wall",
            "Crews were called in the evening.",
            "different word: boy / girl",
        ),
        (
            "Angling club opens new clubhouse",
            "Members cut the ribbon.",
            "Chess club opens new clubhouse",
            "Members cut the ribbon.",
            "different word: angling / chess",
        ),
    ],
)
def test_a_word_swapped_in_one_headline_pattern_tells_two_events(
    title_a: str, excerpt_a: str, title_b: str, excerpt_b: str, said: str
) -> None:
    assert said in conflicts(marks_of(title_a, excerpt_a), marks_of(title_b, excerpt_b))


@pytest.mark.parametrize(
    ("title_a", "excerpt_a", "title_b", "excerpt_b"),
    [
        # the swapped word is in the other's text: one pool, one event
        (
            "Lido reopens after repairs",
            "The old pool is open again.",
            "Pool reopens after repairs",
            "The town's lido welcomes swimmers back.",
        ),
        # a headline's verb says what news it is, not which event
        ("Jazz festival returns to the quay", "Bands play all weekend.", "Jazz festival comes to the quay", "Bands play all weekend."),
        # one verdict in two words
        ("Skate park plan approved by councillors", "Work starts soon.", "Skate park plan backed by councillors", "Work starts soon."),
        # headlines in other words, not one pattern
        (
            "Lido to reopen after restoration",
            "Swimmers return in May.",
            "Open-air pool back in May after repairs",
            "The art deco lido is ready.",
        ),
    ],
)
def test_one_event_in_one_pattern_or_in_other_words_is_no_swap(title_a: str, excerpt_a: str, title_b: str, excerpt_b: str) -> None:
    assert conflicts(marks_of(title_a, excerpt_a), marks_of(title_b, excerpt_b)) == ()


def test_a_swap_is_said_only_when_nothing_more_telling_differs() -> None:
    said = conflicts(marks_of("Jazz night at the Corn Exchange", "On Friday."), marks_of("Folk night at the Corn Exchange", "On Saturday."))
    assert not any(reason.startswith("different word") for reason in said) and said
