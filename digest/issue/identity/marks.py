"""What a post says of its event's identity (:class:`Marks`), and a figure with what it counts (:class:`Quantity`)."""

from __future__ import annotations

from dataclasses import dataclass


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
    lead_people: frozenset[str] = frozenset()  # the one the text opens with: "Councillor Dylan Rees has stepped down…"
    verdicts: frozenset[str] = frozenset()  # "decision+", "opening-"
    kinds: frozenset[str] = frozenset()  # "utility:gas", "festival:books"
    quantities: frozenset[Quantity] = frozenset()  # every figure with what it counts
    names: frozenset[str] = frozenset()  # proper names within a sentence: "kelsham", "holt"
    lead_names: frozenset[str] = frozenset()  # capitalised words that open a sentence (a name or not)
    headline_roles: frozenset[str] = frozenset()  # parts a headline speaks of without a name: "councillor"
    headline_names: frozenset[str] = frozenset()  # proper names the title says: "drumlea", "tidy", "towns"
    words: frozenset[str] = frozenset()  # every word of the post, lower case, without a possessive 's
    compounds: frozenset[str] = frozenset()  # names of two or more words, no place's or body's: "kilmacreagh meats"
    lone_names: frozenset[str] = frozenset()  # capitalised words said alone, beside no other: "kilmacreagh"
    title_words: tuple[str, ...] = ()  # the title's words in order, lower case: "quiz", "night", "at", "the"…
    stems: frozenset[str] = frozenset()  # every word's stem, and each part's of a hyphenated one: "opening" is "open"
    times: frozenset[int] = frozenset()  # times of day, in minutes after midnight: "11pm" is 1380
    ages: frozenset[tuple[int, int]] = frozenset()  # ages as spans of years: "aged 34" is (34, 34), "in her forties" (40, 49)
    towns: frozenset[str] = frozenset()  # one-word names a post says it happens in: "in Pelworthy" is "pelworthy"
    opening_people: frozenset[str] = frozenset()  # people named in full in the text's first sentence: "ken dinsdale"
    months: frozenset[str] = frozenset()  # months named, with a day or without: "march"
    scores: frozenset[tuple[int, int]] = frozenset()  # results, the larger first: "3-1" and "1-3" are (3, 1)
    ordinals: frozenset[tuple[str, int]] = frozenset()  # what an ordinal counts, and which: "third green flag" is ("flag", 3)
    day_parts: frozenset[tuple[int, int]] = frozenset()  # parts of the day named, as spans of minutes: "teatime"
    events: frozenset[str] = frozenset()  # sorts of event the title names: "fire", "theft" (identity.events)
    event_words: frozenset[str] = frozenset()  # sorts of event the post speaks of anywhere


@dataclass(frozen=True, slots=True)
class Quantity:
    """A figure and what it counts: "£", "p", "%" or the word after it ("bell", "tonne"); ``hedged`` when it is said to
    be rounded or a bound ("about 1,500", "near-5%")."""

    unit: str
    value: float
    hedged: bool = False
