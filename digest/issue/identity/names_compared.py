"""Whether two posts' names tell two events: people of one part, towns, the people a text opens on, headline names,
two things of one town; and a name said short."""

from __future__ import annotations

from digest.issue.identity.marks import Marks
from digest.issue.identity.said import _said
from digest.issue.identity.vocabulary import _KIND_WORDS, _NOT_PROPER

# A name said short is at least this many letters ("Aber" for "Abergwyddon"): fewer is a syllable many names begin with.
SHORT_NAME = 4


def _people_differ(a: Marks, b: Marks) -> list[str]:
    found = []
    for part in sorted({person.partition("|")[0] for person in a.people} & {person.partition("|")[0] for person in b.people}):
        these, those = _of_part(a.people, part), _of_part(b.people, part)
        named_in_headline = bool(_of_part(a.headline_people, part) or _of_part(b.headline_people, part))
        named_in_headline = named_in_headline or (part in a.headline_roles and part in b.headline_roles)
        # or each text opens with its person of this part: whom it is about ("Councillor Rees has stepped down…")
        opened = bool(_of_part(a.lead_people, part) and _of_part(b.lead_people, part))
        if not these & those and (named_in_headline or opened):
            found.append(f"different person: {_said('person', these)} / {_said('person', those)}")
    return found


def _towns_differ(a: Marks, b: Marks) -> list[str]:
    """Each post says where it happens ("in Pelworthy" / "here in Lanhallow") and never mentions the other's town:
    two schools' bids, two villages' fires. One outlet naming the town and the other only a street, or nothing, is
    no conflict, and a town said short ("Aber") is the town."""
    these = {town for town in a.towns - b.words if not _name_said_short(town, b)}
    those = {town for town in b.towns - a.words if not _name_said_short(town, a)}
    if these and those and these == a.towns and those == b.towns:
        return [f"different town: {_said('name', these)} / {_said('name', those)}"]
    return []


def _opening_people_differ(a: Marks, b: Marks) -> list[str]:
    """Each text opens on a person named in full whom the other post never mentions (no word of the name): a report
    opens on whom it is about, so "Retained firefighter Ken Dinsdale was presented…" and "Well done to Sue
    Pickersgill, given her long-service award…" are two people honoured. One text naming nobody in its first
    sentence, or a person who speaks there, is no conflict."""
    these = {person for person in a.opening_people if not set(person.split()) & b.words}
    those = {person for person in b.opening_people if not set(person.split()) & a.words}
    if these and those and these == a.opening_people and those == b.opening_people:
        return [f"different person: {_said('name', these)} / {_said('name', those)}"]
    return []


def _headline_names_differ(a: Marks, b: Marks) -> list[str]:
    """Each headline names a place, body or person the other post never mentions: "Drumlea library to open on
    Sundays" and "Ballykerrin library to open on Sundays" are two libraries. One outlet naming the town and the
    other only a street is no conflict: the first's headline names nothing the second lacks, or the reverse."""
    these = {name for name in a.headline_names - b.words if not _name_said_short(name, b)}
    those = {name for name in b.headline_names - a.words if not _name_said_short(name, a)}
    if these and those:
        return [f"different name: {_said('name', these)} / {_said('name', those)}"]
    return []


def _name_said_short(name: str, other: Marks) -> bool:
    """Whether ``other`` writes ``name`` short, or ``name`` is its name said short: a proper name of one starts the
    other's, and is no mere syllable ("Aber" for "Abergwyddon", as a chatty page calls the town)."""
    said = other.names | other.lead_names | other.headline_names | other.lone_names
    return any(min(len(name), len(word)) >= SHORT_NAME and (name.startswith(word) or word.startswith(name)) for word in said)


def _compounds_differ(a: Marks, b: Marks) -> list[str]:
    """Two things of one town by name: each post names something "Kilmacreagh …", neither name holding the other
    ("Kilmacreagh Co-operative Creamery" / "Kilmacreagh Meats"; "Kilmacreagh Creamery" would be the first said
    short). The shared word must be said alone in a post too, as a town's name is: two people who share a first
    name are left to the rule for people."""
    found = []
    for word in sorted({w for name in a.compounds for w in name.split()} & {w for name in b.compounds for w in name.split()}):
        if word in _NOT_PROPER or word not in a.lone_names | b.lone_names:
            continue
        these = [name for name in a.compounds if word in name.split()]
        those = [name for name in b.compounds if word in name.split()]
        if not any(set(x.split()) <= set(y.split()) or set(y.split()) <= set(x.split()) for x in these for y in those):
            found.append(f"different name: {_said('name', these)} / {_said('name', those)}")
    return found


def _of_part(people: frozenset[str], part: str) -> frozenset[str]:
    return frozenset(person for person in people if person.partition("|")[0] == part)


def _said_short(these: frozenset[str], those: frozenset[str]) -> bool:
    """Whether a name of one is a name of the other said without its last kind words ("Killyreagh Primary" and
    "Killyreagh Primary School" are one school), or with a word before it ("Kiln Row" in a headline opening "Revised
    Kiln Row plan…": a capitalised first word may be any word)."""
    for x in these:
        for y in those:
            short, long = sorted((x.split(), y.split()), key=len)
            if long[: len(short)] == short and all(word in _KIND_WORDS for word in long[len(short) :]):
                return True
            if len(short) >= 2 and long[-len(short) :] == short:
                return True
    return False


def _share_a_word(these: frozenset[str], those: frozenset[str]) -> bool:
    """Whether a name of one shares a word with a name of the other: Bridge Street and Church Street name two
    streets; a post naming the Corn Exchange and another naming Market Square may tell one event from two ends."""
    words = {word for name in these for word in name.split()}
    return any(word in words for name in those for word in name.split())
