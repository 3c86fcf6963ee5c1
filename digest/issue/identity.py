"""What makes two posts the same event, beyond their topic: the marks an event's telling cannot change.

Closeness of meaning measures topic, not event (design notes: one story told two ways ran 0.37–0.72, different
stories in similar words 0.32–0.86). What tells events apart is what differs: the day it happens on, the street or
the named place, the figures. So two posts whose meaning is close still fold into one story only when none of these
conflict (:func:`conflicts`), and the reason names what differed.

The marks are read by careful rules, English words only (a newsletter in another language gets no weekday or place
conflict, and so folds as it did before):

- **numbers**, as numbers: "1,500" and "1500" are one figure, "£2.50" and "2.50" too; a title's numbers stand for
  the event's (a council meeting on the 17th and one on the 18th);
- **weekdays** named anywhere in the post ("Thursday at the town hall" against "Saturday at the leisure centre");
- **named places and bodies**: capitalised names ending in a word that says what they are (Bridge Street, Church
  Street, Oakfield Primary, Oakfield Academy, the Corn Exchange Hall): two posts that each name such places, none
  in common, and one name sharing a word with the other's, are about two places.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# "1,500", "1500", "2.50", "£2.50", "20mph": a figure, its thousands separators and currency aside.
_FIGURE = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = re.compile(r"\b(" + "|".join(_WEEKDAYS) + r")s?\b", re.IGNORECASE)
# The words that end a place's or a body's name and say what it is.
_KINDS = (
    "Street|Road|Lane|Avenue|Way|Drive|Close|Crescent|Terrace|Square|Place|Row|Hill|Green|Park|Bridge|Quay|Wharf|"
    "Primary|Academy|School|College|University|Hospital|Surgery|Library|Church|Chapel|Hall|Centre|Center|Market|"
    "Station|Theatre|Museum|Stadium|Exchange|Council|Trust|Club"
)
_PLACE = re.compile(r"\b((?:[A-Z][a-z'’]+ ){1,3})(" + _KINDS + r")\b")
# Capitalised in a title or at a sentence's start, never part of a name.
_NOT_NAMES = frozenset(
    ["the", "a", "an", "at", "on", "in", "to", "of", "for", "from", "by", "with", "and", "or", "new", "old", "our", "its", "their"]
)


@dataclass(frozen=True, slots=True)
class Marks:
    """What a post says of its event's identity, each set in a normal form (lower case, numbers without separators)."""

    numbers: frozenset[str]  # the title's figures
    weekdays: frozenset[str]
    places: frozenset[str]  # "bridge street", "oakfield primary"


def figures(text: str) -> frozenset[str]:
    """The figures of ``text`` as numbers: "1,500" and "1500" are one; "2.50" keeps its decimals, "2.0" is "2"."""
    found = set()
    for whole, decimals in _FIGURE.findall(text):
        number = whole.replace(",", "").lstrip("0") or "0"
        fraction = decimals.rstrip("0")
        found.add(f"{number}.{fraction}" if fraction else number)
    return frozenset(found)


def marks_of(title: str, excerpt: str) -> Marks:
    text = f"{title}. {excerpt}"
    return Marks(
        numbers=figures(title),
        weekdays=frozenset(day.lower() for day in _WEEKDAY.findall(text)),
        places=frozenset(place for name, kind in _PLACE.findall(text) if (place := _place(name, kind))),
    )


def _place(name: str, kind: str) -> str | None:
    """ "Bridge Street" as "bridge street": the capitalised words just before the kind, back to the first that is no
    part of a name ("On Bridge Street", a title's "Extension To The Hospital": no name)."""
    kept: list[str] = []
    for word in reversed(name.lower().split()):
        if word in _NOT_NAMES:
            break
        kept.insert(0, word)
    return " ".join([*kept, kind.lower()]) if kept else None


def conflicts(a: Marks, b: Marks) -> tuple[str, ...]:
    """What tells the events of ``a`` and ``b`` apart (nothing: they may be one event), each said for a reason."""
    found = []
    if a.numbers and b.numbers and a.numbers != b.numbers:
        found.append(f"figures {_said(a.numbers)} / {_said(b.numbers)}")
    if a.weekdays and b.weekdays and not a.weekdays & b.weekdays:
        found.append(f"{_said(a.weekdays)} / {_said(b.weekdays)}")
    if a.places and b.places and not a.places & b.places and _share_a_word(a.places, b.places):
        found.append(f"{_said(a.places)} / {_said(b.places)}")
    return tuple(found)


def _share_a_word(these: frozenset[str], those: frozenset[str]) -> bool:
    """Whether a name of one shares a word with a name of the other: Bridge Street and Church Street name two
    streets; a post naming the Corn Exchange and another naming Market Square may tell one event from two ends."""
    words = {word for name in these for word in name.split()}
    return any(word in words for name in those for word in name.split())


def _said(values: frozenset[str]) -> str:
    return ", ".join(sorted(values))


__all__ = ["Marks", "conflicts", "figures", "marks_of"]
