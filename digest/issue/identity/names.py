"""Names read from a post: places and bodies by their kind word, people by their title, towns, proper names within a
sentence and in the headline, compound and lone names."""

from __future__ import annotations

import re

from digest.issue.identity.vocabulary import (
    _BODY_KINDS,
    _CAPITALISED,
    _KIND_WORDS,
    _MONTHS,
    _NOT_NAMES,
    _NOT_PROPER,
    _PLACE_KINDS,
    _ROLES,
    _SENTENCE,
    _WEEKDAYS,
)

_NAME_WORDS = r"((?:[A-Z][a-z'’]+(?:-[A-Z][a-z'’]+)? ){1,3})"
_PLACE = re.compile(r"\b" + _NAME_WORDS + r"(" + _PLACE_KINDS + r")\b")
_BODY = re.compile(r"\b" + _NAME_WORDS + r"(" + _BODY_KINDS + r")\b")
_PERSON = re.compile(
    r"\b(Councillor|Cllr|Coun|Mayor|Dr|Doctor|Prof|Professor|Judge|PC|Sgt|Sergeant|Inspector|Det|Detective|"
    r"Superintendent|Supt|Rev|Revd|Reverend|Canon|Bishop|Father|Fr|Headteacher|Principal)\.? ((?:[A-Z][a-z'’]+(?:-[A-Z][a-z'’]+)? ?){1,2})"
)
# Verbs that make the person before them a voice in a story rather than its subject.
_SPEAKS = re.compile(
    r"[\s,]*(?:[A-Z][a-z'’]+\s+)?(?:said|says|told|tells|called|calls|warned|warns|argued|argues|claimed|claims|added|adds|"
    r"described|describes|urged|urges|insisted|insists|welcomed|welcomes|praised|praises|criticised|criticises)\b"
)
_MP = re.compile(r"\b([A-Z][a-z'’]+) MP\b")
# A part said without a name in a headline ("Marbury councillor resigns"): two such headlines whose posts name two
# different people in that part tell of two people.
_ROLE_WORDS = {
    "councillor": "councillor",
    "mayor": "mayor",
    "mp": "mp",
    "judge": "judge",
    "headteacher": "head teacher",
    "gp": "doctor",
    "doctor": "doctor",
    "vicar": "minister",
    "rector": "minister",
}
_RIVER = re.compile(r"\bRiver ((?:[A-Z][a-z'’]+))")
# "in Pelworthy", "here in Lanhallow": a town said as where it happens, a name of one word (not "in Harbour Street").
_IN_TOWN = re.compile(r"\bin ([A-Z][a-z'’-]+)\b(?!['’]s\b)(?! [A-Z])")
# "St Mary's Primary, Inchcarron", "Fish Quay, Portcraig": a named place followed by its town.
_PLACE_TOWN = re.compile(r"\b(?:" + _PLACE_KINDS + r"), ([A-Z][a-z'’-]+)\b(?!['’]s\b)(?! [A-Z])")


def _towns(text: str) -> frozenset[str]:
    """The one-word proper names ``text`` says something happens in ("in Pelworthy", "Fish Quay, Portcraig"): a month,
    a kind or a calendar word is none."""
    said = [*_IN_TOWN.findall(text), *_PLACE_TOWN.findall(text)]
    return frozenset(name for word in said if (name := word.lower()) not in _NOT_PROPER)


def _opening_people(excerpt: str) -> frozenset[str]:
    """People named in full (two capitalised words, neither a kind, title or calendar word) in the text's first
    sentence, unless speaking there: whom a report is about ("Retained firefighter Ken Dinsdale was presented…",
    "Massive well done to Sue Pickersgill…"), where one quoted further on may be anyone."""
    first = _SENTENCE.split(excerpt.strip(), maxsplit=1)[0] if excerpt.strip() else ""
    found = set()
    for match in _CAPITALISED_RUN.finditer(first):
        words = [re.sub(r"['’]s$", "", word).lower() for word in match.group().split()]
        while words and (words[0] in _NOT_PROPER or words[0] in _ROLES):
            words = words[1:]
        if (
            len(words) == 2
            and not any(word in _NOT_PROPER or word in _KIND_WORDS for word in words)
            and not _SPEAKS.match(first[match.end() :])
        ):
            found.add(" ".join(words))
    return frozenset(found)


def _proper_names(title: str, excerpt: str) -> tuple[frozenset[str], frozenset[str]]:
    """Capitalised words within a sentence (names: "Kelsham", "Holt"), and those opening one (a name or any word);
    a headline in capitals gives neither. Kinds, titles and calendar words are no names."""
    names: set[str] = set()
    opening: set[str] = set()
    for sentence in ([] if _title_case(title) else [title]) + _SENTENCE.split(excerpt):
        for n, word in enumerate(_CAPITALISED.findall(sentence)):
            if not word[0].isupper():
                continue
            name = re.sub(r"['’]s$", "", word).lower()
            if name in _NOT_PROPER or len(name) < 2:
                continue
            (opening if n == 0 else names).add(name)
    return frozenset(names), frozenset(opening - names)


def _headline_names(title: str, excerpt: str, names: frozenset[str], text: str) -> frozenset[str]:
    """The proper names a headline says, those of its named places, bodies and people too ("Oxenthwaite" of
    Oxenthwaite Village Hall: a grant to it and one to Morrowby's scouts are two grants). Within a headline in
    sentence case, its capitalised words; its first word (capitalised whatever it is) only when the text starts a name with it too and never writes it in lower case ("Drumlea library to open…",
    "Drumlea's library will…"; not "Farm fields…" beside "Lowfield Farm"). A headline in capitals says only the
    names its text says within a sentence. Abbreviations (HGV, GP, NHS) are as often things as names."""
    lower = set(re.findall(r"[a-z][\w'’-]*", text))
    starts = _name_starts(excerpt)
    found = set()
    for n, word in enumerate(_CAPITALISED.findall(title)):
        name = re.sub(r"['’]s$", "", word).lower()
        if not word[0].isupper() or word.isupper() or name in _NOT_PROPER or len(name) < 2 or name in lower:
            continue
        if (n > 0 and not _title_case(title)) or (name in starts and (name in names or not _title_case(title))):
            found.add(name)
    return frozenset(found)


def _name_starts(text: str) -> frozenset[str]:
    """The capitalised words of ``text`` that follow no other capitalised word: those that may start a name."""
    found = set()
    before = ""
    for match in re.finditer(r"\S+", text):
        word = match.group().strip("\"'‘’“”()[],.;:!?")
        if word[:1].isupper() and not before[:1].isupper():
            found.add(re.sub(r"['’]s$", "", word).lower())
        before = word if not re.search(r"[,.;:!?)]$", match.group()) else ""
    return frozenset(found)


# A run of capitalised words: "Kilmacreagh Co-operative Creamery", "Scottish Borders Council".
_CAPITALISED_RUN = re.compile(r"(?:[A-Z][\w'’-]*\s+)*[A-Z][\w'’-]*")


def _runs(title: str, excerpt: str) -> list[list[str]]:
    """The runs of capitalised words in a headline in sentence case and in the text, lower case, without the
    words before a name that are no part of it ("The", "Cllr", "Monday")."""
    runs = []
    for sentence in ([] if _title_case(title) else [title]) + _SENTENCE.split(excerpt):
        for match in _CAPITALISED_RUN.finditer(sentence):
            words = [re.sub(r"['’]s$", "", word).lower() for word in match.group().split()]
            while words and (words[0] in _NOT_NAMES or words[0] in _ROLES or words[0] in _WEEKDAYS or words[0] in _MONTHS):
                words = words[1:]
            runs.append(words)
    return runs


def _compound_names(title: str, excerpt: str) -> frozenset[str]:
    """Names of two or more words that end in no kind of place or body (those have rules of their own) and name no
    person by a title: "Kilmacreagh Meats", "Lower Tilsworth"."""
    return frozenset(" ".join(run) for run in _runs(title, excerpt) if len(run) >= 2 and run[-1] not in _KIND_WORDS)


def _lone_names(title: str, excerpt: str) -> frozenset[str]:
    """Capitalised words said beside no other (a town's name: "Kilmacreagh creamery", "in Kilmacreagh")."""
    return frozenset(run[0] for run in _runs(title, excerpt) if len(run) == 1 and run[0] not in _NOT_PROPER)


def _all_words(text: str) -> frozenset[str]:
    return frozenset(re.sub(r"['’]s$", "", word).lower() for word in _CAPITALISED.findall(text))


def _names(pattern: re.Pattern[str], text: str) -> frozenset[str]:
    return frozenset(place for name, kind in pattern.findall(text) if (place := _place(name, kind)))


def _place(name: str, kind: str) -> str | None:
    """ "Bridge Street" as "bridge street": the capitalised words just before the kind, back to the first that is no
    part of a name ("On Bridge Street", a title's "Extension To The Hospital": no name)."""
    kept: list[str] = []
    words = name.lower().split()
    for at in range(len(words) - 1, -1, -1):
        word = words[at]
        if word in _NOT_NAMES or word in _WEEKDAYS or word in _MONTHS:
            break
        if kept and re.search(r"['’]s$", word) and (at == 0 or words[at - 1] not in ("st", "saint")):
            break  # "Coppice Green's Market Bridge" is Market Bridge (in Coppice Green); "St Mark's Church" is one name
        kept.insert(0, word)
    return " ".join([*kept, kind.lower()]) if kept else None


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


def _lead_people(excerpt: str) -> frozenset[str]:
    """The titled person a text opens with ("The Rev Helen Ashby was licensed…", "Councillor Dylan Rees has…"):
    whom it is about, where a person quoted further on may be anyone."""
    opening = re.sub(r"^(?:The|the)\s+", "", excerpt.lstrip())
    found = _PERSON.match(opening)
    if found is None or _SPEAKS.match(opening[found.end() :]):
        return frozenset()  # "Cllr Ayres called the cuts unfair": one voice in a story, maybe of many
    return _people(found.group())


def _title_case(text: str) -> bool:
    words = [word for word in re.findall(r"[A-Za-z][\w'’-]*", text) if word.lower() not in _NOT_NAMES]
    return len(words) >= 3 and sum(word[0].isupper() for word in words) > 0.8 * len(words)
