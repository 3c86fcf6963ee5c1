"""What makes two posts the same event, beyond their topic: the marks an event's telling cannot change.

Closeness of meaning measures topic, not event (design notes: one story told two ways ran 0.37–0.72, different
stories in similar words 0.32–0.86). What tells events apart is what differs: the day it happens on, the street or
the named place, the people, the verdict. So two posts whose meaning is close fold into one story only when none of
these conflict (:func:`conflicts`), and the reason names what matched (:func:`agreements`) and what differed.

The marks are read by careful rules, English words only (a newsletter in another language gets no such marks, and so
folds as it did before). Rules rather than a model: spaCy's trained pipelines are not on PyPI and a model fetched
from a hub cannot be loaded here, and the marks wanted are few and mostly announced by a word (Street, Councillor,
Ltd, a month's name), which a rule reads as well and explains better. Each rule is written so that it says nothing
rather than a wrong conflict: one story told by two outlets must still fold.

- **figures**, as numbers: "1,500" and "1500" are one figure, "£2.50" and "2.50" too, "ten" is 10; two headlines
  conflict when each has a figure the other lacks (a council meeting on the 17th and one on the 18th; a headline
  that adds a year to the other's figures does not);
- **weekdays** and **dates** ("14 March", "March 14th", "on the 14th"): a conflict when both give one and none is
  common (a date without its month agrees with any date on that day);
- **named places** and **named bodies**: capitalised names ending in a word that says what they are (Bridge Street,
  Oakfield Primary; Harbour Buses, Riverside Trust, Harbour Town FC): two posts that each name such places (or
  bodies), none in common, and one name sharing a word with the other's, are about two places (or two bodies);
- **people** with a title that says their part (Councillor Jane Ayres, Cllr Ayres, Dr Shah, the Mayor Tom Hill):
  two posts naming people of one part and none in common, one of them in a headline. A resident quoted by one outlet
  and a councillor by the other is one story; so are two councillors quoted in the text of two reports of one
  debate, which is why the headline must name one;
- **outcomes**: opposite verdicts (approved / rejected, outstanding / told to improve; and in the headlines, where
  the words are less ambiguous: opens / closes, wins / loses, rises / falls): one post saying only one, the other
  only the other;
- **kinds**: headlines naming different kinds of one thing (jazz / folk, gas / water, football / rugby, a book
  festival / a music festival), from a small table of siblings whose synonyms count as one kind (writers', book,
  literary), so that a word that merely differs does not part one story told in other words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# "1,500", "1500", "2.50", "£2.50", "20mph": a figure, its thousands separators and currency aside.
_FIGURE = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?")
# Number words a headline writes instead of figures ("every ten minutes", "seven-year wait"); "one" is left out,
# being as often a pronoun ("one of", "the one").
_NUMBER_WORDS = dict(
    zip(
        ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen"),
        range(2, 15),
        strict=True,
    )
) | {
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
}
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = re.compile(r"\b(" + "|".join(_WEEKDAYS) + r")s?\b", re.IGNORECASE)
_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTH = r"(January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\b\.?"
_ORDINAL = r"([12]?\d|3[01])(?:st|nd|rd|th)?"
# "14 March", "14th of March", "March 14th", "on the 14th": a day, with its month when it is said. A month alone
# ("from April") is no date: a scheme that starts in April and a vote held in April are told in one story.
_DAY_MONTH = re.compile(r"\b" + _ORDINAL + r"(?: of)? " + _MONTH)
_MONTH_DAY = re.compile(r"\b" + _MONTH + r" " + _ORDINAL + r"\b(?!,?\d)")
_THE_DAY = re.compile(
    r"\b(?:on|from|until|till|by|before|after|since) the ([12]?\d|3[01])(?:st|nd|rd|th)\b(?! (?:century|birthday|anniversary|floor|time))"
)
# The words that end a place's name and say what it is.
_PLACE_KINDS = (
    "Street|Road|Lane|Avenue|Way|Drive|Close|Crescent|Terrace|Square|Place|Row|Hill|Green|Park|Bridge|Quay|Wharf|"
    "Primary|Academy|School|College|University|Hospital|Surgery|Library|Church|Chapel|Hall|Centre|Center|Market|"
    "Station|Theatre|Museum|Stadium|Exchange|Estate|Pool|Lido"
)
# And a body's: a council, a company, a club.
_BODY_KINDS = (
    "Council|Trust|Club|Society|Association|Group|Ltd|Limited|Buses|Coaches|Railway|Railways|Trains|Ferries|"
    "Partnership|Foundation|Federation|Union|Company|Authority|Board|Police|Constabulary|Brewery|Orchestra|Choir|"
    "Charity|Alliance|Cooperative|Co-op|FC|AFC|RFC|CIC|plc|PLC"
)
_NAME_WORDS = r"((?:[A-Z][a-z'’]+(?:-[A-Z][a-z'’]+)? ){1,3})"
_PLACE = re.compile(r"\b" + _NAME_WORDS + r"(" + _PLACE_KINDS + r")\b")
_BODY = re.compile(r"\b" + _NAME_WORDS + r"(" + _BODY_KINDS + r")\b")
# Capitalised in a title or at a sentence's start, never part of a name.
_NOT_NAMES = frozenset(
    ["the", "a", "an", "at", "on", "in", "to", "of", "for", "from", "by", "with", "and", "or", "new", "old", "our", "its", "their"]
)
# Titles that say a person's part in an event, each spelling with the part it stands for. Mr, Mrs, Ms and Miss say
# none (a resident, a councillor and a head teacher are all Mr or Ms somebody), so they are not here.
_ROLES = {
    "councillor": "councillor",
    "cllr": "councillor",
    "coun": "councillor",
    "mayor": "mayor",
    "dr": "doctor",
    "doctor": "doctor",
    "prof": "professor",
    "professor": "professor",
    "judge": "judge",
    "pc": "police officer",
    "sgt": "police officer",
    "sergeant": "police officer",
    "inspector": "police officer",
    "det": "police officer",
    "detective": "police officer",
    "superintendent": "police officer",
    "supt": "police officer",
    "rev": "minister",
    "revd": "minister",
    "reverend": "minister",
    "canon": "minister",
    "bishop": "minister",
    "headteacher": "head teacher",
    "principal": "head teacher",
}
_PERSON = re.compile(
    r"\b(Councillor|Cllr|Coun|Mayor|Dr|Doctor|Prof|Professor|Judge|PC|Sgt|Sergeant|Inspector|Det|Detective|"
    r"Superintendent|Supt|Rev|Revd|Reverend|Canon|Bishop|Headteacher|Principal)\.? ((?:[A-Z][a-z'’]+(?:-[A-Z][a-z'’]+)? ?){1,2})"
)
_MP = re.compile(r"\b([A-Z][a-z'’]+) MP\b")
# Verdicts, each axis with its two sides. Those read anywhere in a post are hard to say otherwise; those read in
# headlines only are words with other senses in running text ("a close vote", "the cut-off", "falls to").
_VERDICTS_ANYWHERE = {
    "decision": (
        r"approved|approves|approve|granted|grants|backed|backs|go-ahead|green light|given the nod|agreed|wins approval",
        r"rejected|rejects|reject|refused|refuses|turned down|turns down|thrown out|throws out|blocked|blocks|vetoed|scrapped|scraps",
    ),
    "inspection": (
        r"outstanding|rated good|judged good|good rating",
        r"inadequate|requires improvement|told to improve|special measures|failing",
    ),
}
_VERDICTS_IN_HEADLINES = {
    "opening": (
        r"(?:re)?open(?:s|ed|ing|ings)?(?!-)",
        r"close(?:s|d)?(?! to\b)|closing|closures?|shut(?:s|ting)?",
    ),
    "result": (r"wins?|won|victory", r"loses|lose|lost|defeat(?:ed)?"),
    "change": (
        r"rises?|rising|risen|rose|increases?|increased|hikes?|higher",
        r"falls?|falling|fell|drops?|dropped|(?<!power )cuts?|lower(?:ed)?|decreases?|decreased|reduced|cheaper",
    ),
}
_SAID = {
    "decision": ("approved", "rejected"),
    "inspection": ("rated well", "told to improve"),
    "opening": ("opens", "closes"),
    "result": ("wins", "loses"),
    "change": ("rises", "falls"),
}
# Kinds of one thing, each kind with its synonyms (a writers' festival and a book festival are one kind): two
# headlines naming kinds of one sort, none in common, name two events.
_SIBLINGS = {
    sort: {word: kinds.split("/")[0] for kinds in table.split() for word in kinds.split("/")}
    for sort, table in {
        "music": "jazz folk rock blues classical opera pop country soul reggae punk choral",
        "festival": "music/jazz/folk/rock/blues/opera books/writers/writers'/book/literary/literature/poetry film/films/cinema "
        "food drink/beer/cider/wine comedy science dance",
        "utility": "gas water electricity/power sewage/sewer broadband",
        "sport": "football rugby cricket tennis hockey netball basketball golf athletics swimming cycling boxing darts bowls rowing",
        "transport": "bus/buses tram/trams train/trains/rail ferry/ferries",
    }.items()
}
# Which sorts a headline's word must sit beside to count: "festival" for festival kinds (a food bank is no food
# festival), "main", "supply", "bill"… for utilities; music and sports genres, and transport, stand alone.
_SORT_CONTEXT = {
    "festival": re.compile(r"\bfestivals?\b", re.IGNORECASE),
    "utility": re.compile(r"\b(?:mains?|supply|supplies|bills?|pipes?|leak|leaks|burst|outage|cut|prices?|meters?|works)\b", re.IGNORECASE),
}


_ACRONYMS = {"fc": "FC", "afc": "AFC", "rfc": "RFC", "cic": "CIC", "plc": "plc"}


@dataclass(frozen=True, slots=True)
class Marks:
    """What a post says of its event's identity, each set in a normal form (lower case, numbers without separators)."""

    numbers: frozenset[str]  # the title's figures
    weekdays: frozenset[str]
    places: frozenset[str]  # "bridge street", "oakfield primary"
    figures: frozenset[str] = frozenset()  # every figure in the post
    dates: frozenset[str] = frozenset()  # "14 march"; "14" when no month is said
    bodies: frozenset[str] = frozenset()  # "harbour buses", "riverside trust"
    people: frozenset[str] = frozenset()  # "councillor|ayres"
    headline_people: frozenset[str] = frozenset()  # those the title names
    verdicts: frozenset[str] = frozenset()  # "decision+", "opening-"
    kinds: frozenset[str] = frozenset()  # "utility:gas", "festival:books"


def figures(text: str) -> frozenset[str]:
    """The figures of ``text`` as numbers: "1,500" and "1500" are one; "2.50" keeps its decimals, "2.0" is "2"."""
    found = set()
    for whole, decimals in _FIGURE.findall(text):
        number = whole.replace(",", "").lstrip("0") or "0"
        fraction = decimals.rstrip("0")
        found.add(f"{number}.{fraction}" if fraction else number)
    return frozenset(found)


def _numbers(text: str) -> frozenset[str]:
    """:func:`figures`, and the numbers written as words ("ten minutes", "seven-year")."""
    return figures(text) | {str(_NUMBER_WORDS[word.lower()]) for word in _NUMBER_WORD.findall(text)}


def marks_of(title: str, excerpt: str) -> Marks:
    text = f"{title}. {excerpt}"
    people = _people(text)
    return Marks(
        numbers=_numbers(title),
        weekdays=frozenset(day.lower() for day in _WEEKDAY.findall(text)),
        places=_names(_PLACE, text),
        figures=_numbers(text),
        dates=_dates(text),
        bodies=_names(_BODY, text),
        people=people,
        headline_people=_people(title),
        verdicts=_verdicts(title, text),
        kinds=_kinds(title),
    )


def _names(pattern: re.Pattern[str], text: str) -> frozenset[str]:
    return frozenset(place for name, kind in pattern.findall(text) if (place := _place(name, kind)))


def _place(name: str, kind: str) -> str | None:
    """ "Bridge Street" as "bridge street": the capitalised words just before the kind, back to the first that is no
    part of a name ("On Bridge Street", a title's "Extension To The Hospital": no name)."""
    kept: list[str] = []
    for word in reversed(name.lower().split()):
        if word in _NOT_NAMES or word in _WEEKDAYS or word in _MONTHS:
            break
        kept.insert(0, word)
    return " ".join([*kept, kind.lower()]) if kept else None


def _dates(text: str) -> frozenset[str]:
    found = {f"{int(day)} {_month(month)}" for day, month in _DAY_MONTH.findall(text)}
    found |= {f"{int(day)} {_month(month)}" for month, day in _MONTH_DAY.findall(text)}
    found |= {str(int(day)) for day in _THE_DAY.findall(text)}
    return frozenset(found)


def _month(name: str) -> str:
    short = name.lower().rstrip(".")[:3]
    return next(month for month in _MONTHS if month.startswith(short))


def _people(text: str) -> frozenset[str]:
    """People with a title saying their part, as "part|surname": "Councillor Jane Ayres" and "Cllr Ayres" are one.
    In a headline set in capitals ("Cllr Ayres Resigns") the word after the name is no surname: a name's second word
    counts only when the text around is in lower case."""
    found = set()
    for title, name in _PERSON.findall(text):
        words = name.split()
        if len(words) == 2 and _title_case(text):
            words = words[:1]
        found.add(f"{_ROLES[title.lower()]}|{words[-1].lower()}")
    found |= {f"mp|{surname.lower()}" for surname in _MP.findall(text)}
    return frozenset(found)


def _title_case(text: str) -> bool:
    words = [word for word in re.findall(r"[A-Za-z][\w'’-]*", text) if word.lower() not in _NOT_NAMES]
    return len(words) >= 3 and sum(word[0].isupper() for word in words) > 0.8 * len(words)


def _verdicts(title: str, text: str) -> frozenset[str]:
    found = set()
    for where, axes in ((text, _VERDICTS_ANYWHERE), (title, _VERDICTS_IN_HEADLINES)):
        for axis, (yes, no) in axes.items():
            for side, words in (("+", yes), ("-", no)):
                if re.search(r"\b(?:" + words + r")\b", where, re.IGNORECASE):
                    found.add(axis + side)
    return frozenset(found)


def _kinds(title: str) -> frozenset[str]:
    found = set()
    for sort, kinds in _SIBLINGS.items():
        context = _SORT_CONTEXT.get(sort)
        if context is not None and not context.search(title):
            continue
        for word, kind in kinds.items():
            if re.search(r"\b" + re.escape(word) + r"(?![\w-])", title, re.IGNORECASE):
                found.add(f"{sort}:{kind}")
    return frozenset(found)


def conflicts(a: Marks, b: Marks) -> tuple[str, ...]:
    """What tells the events of ``a`` and ``b`` apart (nothing: they may be one event), each said for a reason."""
    found = []
    if a.numbers and b.numbers and not (a.numbers <= b.numbers or b.numbers <= a.numbers):
        found.append(f"different figures: {_figures_said(a.numbers)} / {_figures_said(b.numbers)}")
    if a.weekdays and b.weekdays and not a.weekdays & b.weekdays:
        found.append(f"different weekday: {_said('weekday', a.weekdays)} / {_said('weekday', b.weekdays)}")
    if a.dates and b.dates and not _a_day_in_common(a.dates, b.dates):
        found.append(f"different date: {_said('date', a.dates)} / {_said('date', b.dates)}")
    for what, these, those in (("place", a.places, b.places), ("body", a.bodies, b.bodies)):
        if these and those and not these & those and _share_a_word(these, those):
            found.append(f"different {what}: {_said(what, these)} / {_said(what, those)}")
    found.extend(_people_differ(a, b))
    for axis in sorted({verdict[:-1] for verdict in a.verdicts | b.verdicts}):
        sides = _side(a.verdicts, axis), _side(b.verdicts, axis)
        if None not in sides and sides[0] != sides[1]:
            said = _SAID[axis]
            found.append(f"different outcome: {said[sides[0] == '-']} / {said[sides[1] == '-']}")
    for sort in sorted({kind.partition(":")[0] for kind in a.kinds} & {kind.partition(":")[0] for kind in b.kinds}):
        these, those = _of_sort(a.kinds, sort), _of_sort(b.kinds, sort)
        if not these & those:
            found.append(f"different kind: {_said('kind', these)} / {_said('kind', those)}")
    return tuple(found)


def agreements(a: Marks, b: Marks) -> tuple[str, ...]:
    """What ``a`` and ``b`` say alike of their event, for a reason: "same place: Bridge Street", "same figure: 1,500"."""
    found = []
    for what, common in (
        ("place", a.places & b.places),
        ("body", a.bodies & b.bodies),
        ("person", a.people & b.people),
        ("date", a.dates & b.dates),
        ("weekday", a.weekdays & b.weekdays),
        ("figure", {figure for figure in a.figures & b.figures if _telling(figure)}),
        (
            "outcome",
            {_SAID[v[:-1]][v[-1] == "-"] for v in a.verdicts & b.verdicts if _side(a.verdicts, v[:-1]) and _side(b.verdicts, v[:-1])},
        ),
        ("kind", {kind.partition(":")[2] for kind in a.kinds & b.kinds}),
    ):
        if common:
            found.append(f"same {what}: {_said(what, common)}")
    return tuple(found)


def telling(a: Marks, b: Marks) -> bool:
    """Whether ``a`` and ``b`` agree on a mark that few other events share: a named place, body or person, a date with
    its month, a figure such as 1,500 or £2.50. A weekday, a verdict or a kind is shared by too many events."""
    return bool(
        a.places & b.places
        or a.bodies & b.bodies
        or a.people & b.people
        or {date for date in a.dates & b.dates if " " in date}
        or any(_telling(figure) for figure in a.figures & b.figures)
    )


def _telling(figure: str) -> bool:
    """A figure that names an event's own quantity (1,500 jobs, £2.50), not one any two posts may share (four days)."""
    return "." in figure or int(figure) >= 100


def _a_day_in_common(these: frozenset[str], those: frozenset[str]) -> bool:
    """Whether a date of one is a date of the other; a day said without its month agrees with that day in any month."""
    return any(x == y or (x.split()[0] == y.split()[0] and (" " not in x or " " not in y)) for x in these for y in those)


def _people_differ(a: Marks, b: Marks) -> list[str]:
    found = []
    for part in sorted({person.partition("|")[0] for person in a.people} & {person.partition("|")[0] for person in b.people}):
        these, those = _of_part(a.people, part), _of_part(b.people, part)
        named_in_headline = _of_part(a.headline_people, part) or _of_part(b.headline_people, part)
        if not these & those and named_in_headline:
            found.append(f"different person: {_said('person', these)} / {_said('person', those)}")
    return found


def _of_part(people: frozenset[str], part: str) -> frozenset[str]:
    return frozenset(person for person in people if person.partition("|")[0] == part)


def _of_sort(kinds: frozenset[str], sort: str) -> frozenset[str]:
    return frozenset(kind.partition(":")[2] for kind in kinds if kind.partition(":")[0] == sort)


def _side(verdicts: frozenset[str], axis: str) -> str | None:
    """The one side a post takes on ``axis``; None when it takes none, or both (then it says nothing clear)."""
    sides = {verdict[-1] for verdict in verdicts if verdict[:-1] == axis}
    return sides.pop() if len(sides) == 1 else None


def _share_a_word(these: frozenset[str], those: frozenset[str]) -> bool:
    """Whether a name of one shares a word with a name of the other: Bridge Street and Church Street name two
    streets; a post naming the Corn Exchange and another naming Market Square may tell one event from two ends."""
    words = {word for name in these for word in name.split()}
    return any(word in words for name in those for word in name.split())


def _shown(what: str, value: str) -> str:
    """A mark as a reader writes it: "Bridge Street", "1,500", "Councillor Ayres", "14 March"."""
    if what == "figure":
        whole, dot, fraction = value.partition(".")
        return f"{int(whole):,}{dot}{fraction}"
    if what == "person":
        part, _, surname = value.partition("|")
        return f"{part.capitalize()} {surname.capitalize()}".strip() if surname else part
    if what in ("place", "body", "date", "weekday"):
        return " ".join(_ACRONYMS.get(word, word if word in _NOT_NAMES else word.capitalize()) for word in value.split())
    return value


def _said(what: str, values: Iterable[str]) -> str:
    return ", ".join(sorted(_shown(what, value) for value in values))


def _figures_said(values: frozenset[str]) -> str:
    return ", ".join(_shown("figure", value) for value in sorted(values, key=float))


__all__ = ["Marks", "agreements", "conflicts", "figures", "marks_of", "telling"]
