"""Two posts' marks compared: what tells their events apart, what they say alike, and how telling that is."""

from __future__ import annotations

from digest.issue.identity.dates import (
    CLOCK_SLACK,
    _a_day_in_common,
    _ages_differ,
    _ages_said,
    _clock_gap,
    _scores_differ,
    _scores_said,
    _times_differ,
    _times_said,
)
from digest.issue.identity.events import _events_agree, _events_differ
from digest.issue.identity.headlines import _SAID, _of_sort, _phrases_differ, _side, _subjects_differ, _words_swapped
from digest.issue.identity.marks import Marks
from digest.issue.identity.names_compared import (
    _compounds_differ,
    _headline_names_differ,
    _name_said_short,
    _opening_people_differ,
    _people_differ,
    _said_short,
    _share_a_word,
    _towns_differ,
)
from digest.issue.identity.numbers import _agree, _quantities_differ, _quantities_said, _telling, _within
from digest.issue.identity.ordinals import _day_parts_differ, _ordinals_differ
from digest.issue.identity.said import _figures_said, _said


def conflicts(a: Marks, b: Marks) -> tuple[str, ...]:
    """What tells the events of ``a`` and ``b`` apart (nothing: they may be one event), each said for a reason."""
    found = []
    if a.numbers and b.numbers and not (_within(a.numbers, b.numbers) or _within(b.numbers, a.numbers)):
        found.append(f"different figures: {_figures_said(a.numbers)} / {_figures_said(b.numbers)}")
    if a.weekdays and b.weekdays and not a.weekdays & b.weekdays:
        found.append(f"different weekday: {_said('weekday', a.weekdays)} / {_said('weekday', b.weekdays)}")
    if a.dates and b.dates and not _a_day_in_common(a.dates, b.dates):
        found.append(f"different date: {_said('date', a.dates)} / {_said('date', b.dates)}")
    for what, these, those in (("place", a.places, b.places), ("body", a.bodies, b.bodies)):
        if (
            these
            and those
            and not these & those
            and _share_a_word(these, those)
            and not _said_short(these, those)
            and _apart(these, those, a, b)
        ):
            found.append(f"different {what}: {_said(what, these)} / {_said(what, those)}")
    found.extend(_quantities_differ(a, b))
    found.extend(_times_differ(a, b))
    found.extend(_ages_differ(a, b))
    found.extend(_scores_differ(a, b))
    found.extend(_ordinals_differ(a, b))
    found.extend(_day_parts_differ(a, b))
    found.extend(_people_differ(a, b) or _opening_people_differ(a, b))  # a titled person's name is said once
    found.extend(_towns_differ(a, b))
    found.extend(_headline_names_differ(a, b))
    found.extend(_compounds_differ(a, b))
    found.extend(_events_differ(a, b))
    for axis in sorted({verdict[:-1] for verdict in a.verdicts | b.verdicts}):
        sides = _side(a.verdicts, axis), _side(b.verdicts, axis)
        if None not in sides and sides[0] != sides[1]:
            said = _SAID[axis]
            found.append(f"different outcome: {said[sides[0] == '-']} / {said[sides[1] == '-']}")
    for sort in sorted({kind.partition(":")[0] for kind in a.kinds} & {kind.partition(":")[0] for kind in b.kinds}):
        these, those = _of_sort(a.kinds, sort), _of_sort(b.kinds, sort)
        if not these & those:
            found.append(f"different kind: {_said('kind', these)} / {_said('kind', those)}")
    # the last resort, said only when nothing more telling differs
    return tuple(found or _words_swapped(a, b) or _phrases_differ(a, b) or _subjects_differ(a, b))


def _apart(these: frozenset[str], those: frozenset[str], a: Marks, b: Marks) -> bool:
    """Whether two names sharing a word differ in words the other post never uses: "Bridge Street" / "Church
    Street" do, unless the other says "bridge" somewhere; "Morrowby Co-op" / "Sandgate Co-op" do not when the first
    post says its store is on Sandgate (one shop named by its town and by its street)."""
    return any(
        set(x.split()) & set(y.split())
        and not (set(x.split()) - set(y.split())) & b.words
        and not (set(y.split()) - set(x.split())) & a.words
        for x in these
        for y in those
    )


def shared_names(a: Marks, b: Marks, common: frozenset[str] = frozenset()) -> frozenset[str]:
    """The proper names both posts use, one of them within a sentence (a word opening both posts' sentences may be
    any word), less the ``common`` ones (a name most posts of the issue use, such as its town's, tells no event)."""
    return ((a.names & (b.names | b.lead_names)) | (b.names & a.lead_names)) - common


def agreements(a: Marks, b: Marks, common: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """What ``a`` and ``b`` say alike of their event, for a reason: "same place: Bridge Street", "same figure: 1,500"."""
    found = []
    for what, common_marks in (
        ("place", a.places & b.places),
        ("body", a.bodies & b.bodies),
        ("person", a.people & b.people),
        ("name", _names_beyond(a, b, common)),
        ("date", a.dates & b.dates),
        ("weekday", a.weekdays & b.weekdays),
        ("figure", {figure for figure in a.figures & b.figures if _telling(figure)}),
        (
            "outcome",
            {_SAID[v[:-1]][v[-1] == "-"] for v in a.verdicts & b.verdicts if _side(a.verdicts, v[:-1]) and _side(b.verdicts, v[:-1])},
        ),
        ("kind", {kind.partition(":")[2] for kind in a.kinds & b.kinds}),
        ("event", events_agree(a, b)),
    ):
        if common_marks:
            found.append(f"same {what}: {_said(what, common_marks)}")
    return tuple(found)


def events_agree(a: Marks, b: Marks) -> frozenset[str]:
    """The sorts of event (a fire, a theft, a crash: :mod:`digest.issue.identity.events`) one headline names and the
    other post speaks of, synonyms counting as one (a blaze is a fire, a break-in a theft); none too common in local
    news to tell one event (a meeting, money, a closure). Evidence of one event across voices, weaker than a mark of
    its identity: it counts only beside one (:mod:`digest.issue.stories`)."""
    return _events_agree(a, b)


def _names_beyond(a: Marks, b: Marks, common: frozenset[str]) -> frozenset[str]:
    """The shared names that no agreed place, body or person already says."""
    said = {word for mark in a.places & b.places | a.bodies & b.bodies for word in mark.split()}
    said |= {person.partition("|")[2] for person in a.people & b.people}
    return frozenset(name for name in shared_names(a, b, common) if name not in said)


def telling(a: Marks, b: Marks, common: frozenset[str] = frozenset()) -> int:
    """How many marks that few other events share ``a`` and ``b`` agree on (0: none): a named place, body or person,
    a proper name few posts of the issue use (not in ``common``), a date with its month, a figure such as 1,500 or
    £2.50. A weekday, a verdict or a kind is shared by too many events to count alone."""
    return sum(
        (
            bool(a.places & b.places),
            bool(a.bodies & b.bodies),
            bool(a.people & b.people),
            bool(_names_beyond(a, b, common)),
            bool({date for date in a.dates & b.dates if " " in date}),
            any(_telling(figure) for figure in a.figures & b.figures),
        )
    )


def anchors(a: Marks, b: Marks, common: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """What ``a`` and ``b`` share of their event that many events share too, for a reason: a weekday, a month, a
    small figure (the 7 bus, three wards), a time of day, a figure of one thing told two ways (4.99% and near-5%), an
    age, a name said short (Aber, Abergwyddon), a name most posts of the issue use (its town: ``common``). Not telling enough to lower the closeness needed, but an
    anchor all the same: two posts sharing nothing of their event's identity are never one story by meaning alone
    (issue 32: closeness measures topic, not event)."""
    found = []
    if town := shared_names(a, b) & common:
        found.append(f"same name: {_said('name', town)}")
    if a.scores & b.scores:
        found.append(f"same result: {_scores_said(a.scores & b.scores)}")
    if a.weekdays & b.weekdays:
        found.append(f"same weekday: {_said('weekday', a.weekdays & b.weekdays)}")
    if months := {month for month in a.months & b.months if not any(date.endswith(month) for date in a.dates & b.dates)}:
        found.append(f"same month: {_said('date', months)}")
    if small := {figure for figure in a.figures & b.figures if not _telling(figure)}:
        found.append(f"same figure: {_figures_said(frozenset(small))}")
    if times := {x for x in a.times for y in b.times if _clock_gap(x, y) <= CLOCK_SLACK}:
        found.append(f"same time: {_times_said(frozenset(times))}")
    if not a.figures & b.figures and (
        counts := [
            x for x in a.quantities for y in b.quantities if x.unit == y.unit and _agree(x.value, y.value, hedged=x.hedged or y.hedged)
        ]
    ):
        found.append(f"same figure: {_quantities_said(counts[:1])}")
    if ages := sorted(
        (x for x in a.ages | b.ages for y in a.ages | b.ages if x[0] <= y[1] and y[0] <= x[1] and x != y), key=lambda x: x[1] - x[0]
    ):
        found.append(f"same age: {_ages_said(frozenset(ages[:1]))}")
    if short := sorted(name for name in a.names | a.headline_names | a.lone_names if name not in b.words and _name_said_short(name, b)):
        found.append(f"same name said short: {_said('name', short)}")
    return tuple(found)
