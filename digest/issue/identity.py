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
  that adds a year to the other's figures does not). A figure agrees with another only when equal, or one is the
  other rounded to its last figure (4.99 and 5, 1,512 and 1,500), or, said to be rounded, within a tenth: the years
  2024 and 2025, or the 428 and the 431 bus, are two;
- **weekdays** and **dates** ("14 March", "March 14th", "on the 14th"): a conflict when both give one and none is
  common (a date without its month agrees with any date on that day);
- **named places** and **named bodies**: capitalised names ending in a word that says what they are (Bridge Street,
  Oakfield Primary; Harbour Buses, Riverside Trust, Harbour Town FC): two posts that each name such places (or
  bodies), none in common, and one name sharing a word with the other's, are about two places (or two bodies);
- **people** with a title that says their part (Councillor Jane Ayres, Cllr Ayres, Dr Shah, the Mayor Tom Hill):
  two posts naming people of one part and none in common, one of them in a headline, or each text opening with its
  own ("Councillor Dylan Rees has stepped down…" / "Councillor Sian Parri has resigned…"). A resident quoted by one
  outlet and a councillor by the other is one story; so are two councillors quoted in the text of two reports of one
  debate, which is why a text opening with a person who speaks ("Cllr Ayres said…") says only a voice. A name said
  short is the long one ("Killyreagh Primary" / "Killyreagh Primary School"). And people named in full without a
  title: each text opening on its own, whom the other never mentions ("Retained firefighter Ken Dinsdale was
  presented…" / "Well done to Sue Pickersgill…"), unless speaking there;
- **towns**: each post saying what it happens in ("in Pelworthy" / "here in Lanhallow"), neither mentioning the
  other's; a town said short ("Aber" for "Abergwyddon") is the town, here and in the headline names;
- **outcomes**: opposite verdicts (approved / rejected, outstanding / told to improve; and in the headlines, where
  the words are less ambiguous: opens / closes, wins / loses, rises / falls, saved / axed): one post saying only
  one, the other only the other;
- **headline names**: each headline names a place or body (a capitalised word; its first word only when the text
  starts a name with it) that the other post never mentions at all: "Drumlea library to open on Sundays" and
  "Ballykerrin library…". One outlet naming the town and the other a street, or nothing, is no conflict;
- **names of one town's two things**: "Kilmacreagh Co-operative Creamery" and "Kilmacreagh Meats", names without a
  kind word the place and body rules know, sharing the town's word (said alone in the posts too) and neither
  holding the other;
- **kinds**: headlines naming different kinds of one thing (jazz / folk, gas / water, football / rugby, a book
  festival / a music festival), from a small table of siblings whose synonyms count as one kind (writers', book,
  literary), so that a word that merely differs does not part one story told in other words;
- **figures with what they count** anywhere in a post ("£1.8m" / "£1.1m", "€80,000" / "€50,000", "six bells" /
  "eight bells", "3%" / "7%", 5,000 people / 6,500 visitors: words that count people are one unit):
  a conflict when none of one's agrees with the other's and the nearest are within a factor of three (a £5 ticket
  and £45,000 raised are one event's figures); "4.99%" and "near-5%" agree (a rounded or hedged figure), and
  "forty-eight grand" is £48,000;
- **times of day** ("11pm", "4.15pm", "19:30") and **ages** ("a 24-year-old", "aged 34", "Tom Aske, 27,", "in her
  forties"), anywhere in a post: a conflict when both give one and none of one's is within an hour of the other's
  (times) or meets the other's span (ages): a car set alight at 11pm and one at 2am, a man in his sixties rescued and
  a woman in her forties. Only one post saying either is no conflict;
- **a word swapped in one headline pattern**, the last resort: headlines alike in half their words, in order, with
  a word in one's place the other post never uses ("Quiz night at the Ship Inn…" / "Comedy night at the Ship
  Inn…"; man / woman; GAA / rugby club). It needs no table, so it reaches siblings no table lists; a headline's
  generic verbs (returns / comes), one verdict's two words and one kind's synonyms are no swap; and headlines in one
  frame, less alike, whose subjects (first telling words) the other post never uses ("Jazz quartet to headline…" /
  "Folk evening returns to…"; "Gas main repair shuts…" / "Water main work closes…");
- **proper names** within a sentence (Kelsham, Holt): not a conflict, but each kind of telling mark two posts share
  (place, body, person, name few of the issue's posts use, date, figure) lowers the closeness needed to fold.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

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
    "father": "minister",
    "fr": "minister",
    "bishop": "minister",
    "headteacher": "head teacher",
    "principal": "head teacher",
}
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
_NIGHT = re.compile(r"\b(" + "|".join(_WEEKDAYS) + r")(?:['’]s)? (?:night|evening)\b", re.IGNORECASE)
# Times of day: "11pm", "4.15pm", "10 a.m.", "19:30", "noon", "midnight".
_CLOCK = re.compile(
    r"\b(1[0-2]|0?[1-9])(?:[.:]([0-5]\d))?\s?([ap])\.?m\b\.?|\b([01]?\d|2[0-3]):([0-5]\d)\b|\b(noon|midday|midnight)\b", re.IGNORECASE
)
# Times said this near (in minutes) may be one moment told twice: "about 2am" and "2.30am".
CLOCK_SLACK = 60
# Ages: "a 24-year-old joiner", "aged 34", "Tom Aske, 27,", "a man in his sixties" (a span of years).
_AGE = re.compile(
    r"\b(\d{1,3})[- ]years?[- ]old\b|\baged (\d{1,3})\b|\b[A-Z][a-z'’]+ [A-Z][a-z'’-]+, (\d{1,3}),"
    r"|\bin (?:his|her|their) (?:early |mid-|late )?(teens|twenties|thirties|forties|fifties|sixties|seventies|eighties|nineties)\b"
)
_DECADES = {
    "teens": 13,
    "twenties": 20,
    "thirties": 30,
    "forties": 40,
    "fifties": 50,
    "sixties": 60,
    "seventies": 70,
    "eighties": 80,
    "nineties": 90,
}
# Verdicts, each axis with its two sides. Those read anywhere in a post are hard to say otherwise; those read in
# headlines only are words with other senses in running text ("a close vote", "the cut-off", "falls to").
_VERDICTS_ANYWHERE = {
    "decision": (
        r"approved|approves|approve|granted|grants|backed|backs|go-ahead|green light|given the nod|agreed|wins approval",
        r"rejected|rejects|reject|refused|refuses|turned down|turns down|thrown out|throws out|blocked|blocks|vetoed|scrapped|scraps",
    ),
    "inspection": (
        r"outstanding|rated good|judged good|good rating|rated (?:[\w'’]+ ){1,5}?as good",
        r"inadequate|requires improvement|told to improve|special measures|failing|rated (?:[\w'’]+ ){1,5}?as inadequate",
    ),
}
_VERDICTS_IN_HEADLINES = {
    "opening": (
        r"(?:re)?open(?:s|ed|ing|ings)?(?!-)",
        r"close(?:s|d)?(?! to\b)|closing|closures?|shut(?:s|ting)?",
    ),
    "result": (r"wins?|won|victory", r"loses|lose|lost|defeat(?:ed)?"),
    # a service kept or ended: "Rural bus route saved" / "Rural bus route to be withdrawn"
    "future": (r"saved|secured|rescued|reprieved?|spared", r"axed|axes|withdrawn|withdraws|scrapped|scraps|to end|to go"),
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
    "future": ("saved", "axed"),
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
        "wildlife": "otter/otters beaver/beavers seal/seals badger/badgers fox/foxes owl/owls swan/swans heron/herons "
        "kingfisher/kingfishers dolphin/dolphins whale/whales hedgehog/hedgehogs deer eagle/eagles osprey/ospreys",
        "scanner": "mri ct x-ray/xray pet ultrasound",
    }.items()
}
# Which sorts a headline's word must sit beside to count: "festival" for festival kinds (a food bank is no food
# festival), "main", "supply", "bill"… for utilities; music and sports genres, and transport, stand alone.
_SORT_CONTEXT = {
    "festival": re.compile(r"\bfestivals?\b", re.IGNORECASE),
    "scanner": re.compile(r"\b(?:scanners?|scans?)\b", re.IGNORECASE),
    "utility": re.compile(r"\b(?:mains?|supply|supplies|bills?|pipes?|leak|leaks|burst|outage|cut|prices?|meters?|works)\b", re.IGNORECASE),
}


_ACRONYMS = {"fc": "FC", "afc": "AFC", "rfc": "RFC", "cic": "CIC", "plc": "plc"}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Figures with what they count, read from running text: "£2.5m" and "2.5 million pounds", "4.99%" and "five per
# cent", "six bells", "three hundred and fifty houses". A figure's unit is £, p, % or the word after it, so two
# posts' figures are compared only when they count one thing.
_QUANTITY_TOKEN = re.compile(
    r"[£€$]|%|(?<![\w.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?:m|bn|k|p)?(?!\w)|(?<![\w.,])\d+(?:\.\d+)?(?:m|bn|k|p)?(?!\w)|[A-Za-z][A-Za-z'’]*"
)
_DIGITS = re.compile(r"([\d,]+(?:\.\d+)?)(m|bn|k|p)?")
_SMALL = _NUMBER_WORDS | {"one": 1, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_LARGE = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
# "Forty-eight grand": pounds, in thousands, as a chatty page writes money.
_GRAND = "grand"
_SUFFIXES = {"m": 1_000_000, "bn": 1_000_000_000, "k": 1_000}
# Money in any currency, by its sign or its name after the figure ("£2.5m", "six million euro").
_CURRENCY_WORDS = {"pound": "£", "pounds": "£", "euro": "€", "euros": "€", "dollar": "$", "dollars": "$"}
# Words that count people at an event: a crowd of 5,000 people and one of 6,500 visitors are two counts of one
# thing (a festival's two years), and 450 runners told as 450 people agree.
_PEOPLE_COUNTED = frozenset({"people", "person", "visitor", "spectator", "fan", "attendee", "guest", "reveller", "crowd"})
# A figure said to be rounded or a bound ("about 1,500", "near-5%", "more than 40") agrees with one within a tenth.
_HEDGES = frozenset({"about", "around", "some", "nearly", "almost", "roughly", "approximately", "near", "over", "under", "circa"})
_HEDGE_PAIRS = frozenset({("up", "to"), ("more", "than"), ("less", "than"), ("fewer", "than")})
# Words after a figure that say nothing of what it counts.
_NO_UNIT = frozenset(
    {*_NOT_NAMES, *_MONTHS, *_WEEKDAYS}
    | _words("per than as is are was were will has have had after before more less times am pm but who which that and or year years old")
)
# Capitalised words that name no one place, body or person: kinds, titles, calendar words.
_NOT_PROPER = frozenset(
    {
        *_NOT_NAMES,
        *_WEEKDAYS,
        *(f"{day}s" for day in _WEEKDAYS),
        *_MONTHS,
        *_PLACE_KINDS.lower().split("|"),
        *_BODY_KINDS.lower().split("|"),
        *_ROLES,
    }
    | _words(
        "st saint mr mrs ms miss mp i town city county river christmas easter north south east west upper lower great little high "
        "this that it he she they we but after as if when more most"
    )
)
# Headlines alike in at least this share of their words (difflib's ratio, in order) are written to one pattern; one
# event's two headlines, in other words, ran up to 0.33 (bench/data/stories.txt, story-pairs.txt), two events' from
# 0.43 up.
SWAPPED_ALIKE = 0.5
# Headlines alike in at least this share of their words whose subjects (their first telling words) differ, each one
# the other post never uses, tell of two things: one event's two headlines with such subjects were alike in at most
# 0.2 of their words ("Spaniel rescued…" / "Dog owner thanks…"), two events' from 0.31 ("Gas main repair shuts…" /
# "Water main work closes…", "Moorland Buses cuts…" / "Dalesway Coaches axes…").
SUBJECT_ALIKE = 0.3
# A name said short is at least this many letters ("Aber" for "Abergwyddon"): fewer is a syllable many names begin with.
SHORT_NAME = 4
_TITLE_WORD = re.compile(r"[\w£€$][\w'’.,£€$%-]*[\w%]|[\w£€$%]")
_ENDINGS = ("ings", "ing", "ers", "ies", "ed", "es", "s", "er")
_NOT_SWAPPED = frozenset(
    {*_NOT_NAMES, *_WEEKDAYS, *(f"{day}s" for day in _WEEKDAYS), *_MONTHS, *_SMALL, *_LARGE, "weekend"}
    | _words("is are be been being was were will has have had as after over this that these his her it into up out off")
    | _words("more than but not no its their all every")
    # a headline's verbs that say what news it is, not which event: one outlet's "returns" is another's "comes"
    | _words("comes come returns return announces announced reveals revealed names named unveils unveiled launches launched")
    | _words("gets get sees see set sets marks hosts holds plans says calls takes welcomes celebrates")
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'‘“])")
_CAPITALISED = re.compile(r"[A-Za-z][\w'’-]*")


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


@dataclass(frozen=True, slots=True)
class Quantity:
    """A figure and what it counts: "£", "p", "%" or the word after it ("bell", "tonne"); ``hedged`` when it is said to
    be rounded or a bound ("about 1,500", "near-5%")."""

    unit: str
    value: float
    hedged: bool = False


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


@lru_cache(maxsize=8192)  # a pure function of its text, asked by the common names and by each fold alike
def marks_of(title: str, excerpt: str) -> Marks:
    text = f"{title}. {excerpt}"
    people = _people(text)
    quantities = _quantities(text)
    names, lead_names = _proper_names(title, excerpt)
    places = _names(_PLACE, text) | {f"river {name.lower()}" for name in _RIVER.findall(text)}
    bodies = _names(_BODY, text)
    named = {word for mark in places | bodies for word in mark.split()} | {
        word.lower() for _, name in _PERSON.findall(text) for word in name.split()
    }
    return Marks(
        numbers=_numbers(title),
        weekdays=_weekdays(text),
        places=places,
        figures=_numbers(text) | {_number_said(quantity.value) for quantity in quantities},
        dates=_dates(text),
        bodies=bodies,
        people=people,
        headline_people=_people(title),
        lead_people=_lead_people(excerpt),
        verdicts=_verdicts(title, text),
        kinds=_kinds(title),
        quantities=quantities,
        names=names,
        lead_names=lead_names,
        headline_roles=frozenset(_ROLE_WORDS[word] for word in re.findall(r"[a-z]+", title.lower()) if word in _ROLE_WORDS),
        headline_names=_headline_names(title, excerpt, names, text, frozenset(named)),
        words=_all_words(text),
        compounds=_compound_names(title, excerpt),
        lone_names=_lone_names(title, excerpt),
        title_words=tuple(word.lower() for word in _TITLE_WORD.findall(title)),
        stems=frozenset(_stem(part) for word in _TITLE_WORD.findall(text) for part in re.split(r"[-'’]", word) if part),
        times=_times(text),
        ages=_ages(text),
        towns=_towns(text),
        opening_people=_opening_people(excerpt),
    )


# "in Pelworthy", "here in Lanhallow": a town said as where it happens, a name of one word (not "in Harbour Street").
_IN_TOWN = re.compile(r"\bin ([A-Z][a-z'’-]+)\b(?!['’]s\b)(?! [A-Z])")


def _towns(text: str) -> frozenset[str]:
    """The one-word proper names ``text`` says something happens in ("in Pelworthy"): a month, a kind or a
    calendar word is none."""
    return frozenset(name for word in _IN_TOWN.findall(text) if (name := word.lower()) not in _NOT_PROPER)


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


def _times(text: str) -> frozenset[int]:
    """The times of day ``text`` gives, in minutes after midnight."""
    found = set()
    for hour, minute, half, hour_24, minute_24, word in _CLOCK.findall(text):
        if word:
            found.add(0 if word.lower() == "midnight" else 12 * 60)
        elif hour_24:
            found.add(int(hour_24) * 60 + int(minute_24))
        else:
            found.add((int(hour) % 12 + 12 * (half.lower() == "p")) * 60 + int(minute or 0))
    return frozenset(found)


def _ages(text: str) -> frozenset[tuple[int, int]]:
    """The ages ``text`` gives, each as the span of years it may be: one year, or a decade ("in his sixties")."""
    found = set()
    for *years, decade in _AGE.findall(text):
        if decade:
            start = _DECADES[decade.lower()]
            found.add((start, start + 6 if decade.lower() == "teens" else start + 9))
        else:
            age = int(next(year for year in years if year))
            found.add((age, age))
    return frozenset(found)


def _weekdays(text: str) -> frozenset[str]:
    """The weekdays ``text`` names; "the weekend" is Saturday and Sunday, and "Friday night" runs into Saturday (a
    night's storm and the next day's cancelled shows are one event)."""
    days = {day.lower() for day in _WEEKDAY.findall(text)}
    if re.search(r"\bweekend\b", text, re.IGNORECASE):
        days |= {"saturday", "sunday"}
    for day in _NIGHT.findall(text):
        days.add(_WEEKDAYS[(_WEEKDAYS.index(day.lower()) + 1) % 7])
    return frozenset(days)


def _number_said(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def _quantities(text: str) -> frozenset[Quantity]:
    """Every figure of ``text`` with what it counts (:class:`Quantity`); a figure followed by nothing it counts is
    left out."""
    tokens = _QUANTITY_TOKEN.findall(text)
    found = set()
    at = 0
    while at < len(tokens):
        currency = tokens[at] if tokens[at] in ("£", "€", "$") else None
        value, end, suffix = _read_number(tokens, at + bool(currency))
        if value is None:
            at += 1
            continue
        before = tuple(token.lower() for token in tokens[max(0, at - 2) : at])
        hedged = bool(before) and (before[-1] in _HEDGES or before[-2:] in _HEDGE_PAIRS)
        unit, end = _unit(tokens, end, currency, suffix)
        if unit is not None:
            found.add(Quantity(unit=unit, value=value, hedged=hedged))
        at = max(end, at + 1)
    return frozenset(found)


def _read_number(tokens: list[str], at: int) -> tuple[float | None, int, str]:
    """The number written from ``tokens[at]`` ("1,500", "£2.5m", "forty-five thousand", "three hundred and fifty"),
    the index after it and its suffix ("m", "p"…); None when no number starts there."""
    total, current, suffix = 0.0, None, ""
    while at < len(tokens):
        word = tokens[at].lower()
        digits = _DIGITS.fullmatch(word)
        if digits and current is None and not total:
            current = float(digits.group(1).replace(",", "")) * _SUFFIXES.get(digits.group(2) or "", 1)
            suffix = digits.group(2) or ""
        elif word in _SMALL and not digits and (current is None or _adds(current, _SMALL[word])):
            current = (current or 0) + _SMALL[word]
        elif word == "hundred" and current is not None and current < 100:
            current *= 100
        elif word in _LARGE and current is not None:
            total, current = total + current * _LARGE[word], None
        elif word == _GRAND and current is not None and not suffix:
            total, current, suffix = total + current * 1_000, None, _GRAND
            at += 1
            break
        elif word == "and" and current is not None and current >= 100 and at + 1 < len(tokens) and tokens[at + 1].lower() in _SMALL:
            pass
        else:
            break
        at += 1
    if current is None and not total:
        return None, at, suffix
    return total + (current or 0), at, suffix


def _adds(current: float, word: float) -> bool:
    """Whether a number word continues a figure: "forty" then "five", "three hundred and" then "fifty"."""
    return (current % 100 == 0 and current >= 100) or (20 <= current < 100 and current % 10 == 0 and word < 10)


def _unit(tokens: list[str], at: int, currency: str | None, suffix: str) -> tuple[str | None, int]:
    """What the figure ending before ``tokens[at]`` counts (``currency``: the sign before it), and the index after
    what said so."""
    following = [token.lower() for token in tokens[at : at + 2]]
    if currency is not None:
        return currency, at
    if following[:1] and following[0] in _CURRENCY_WORDS:
        return _CURRENCY_WORDS[following[0]], at + 1
    if suffix == _GRAND:
        return "£", at
    if suffix == "p" or following[:1] == ["pence"]:
        return "p", at + (suffix != "p")
    if suffix in ("m", "bn", "k"):
        return None, at
    if following == ["per", "cent"]:
        return "%", at + 2
    if following[:1] in (["%"], ["percent"]):
        return "%", at + 1
    if following and tokens[at][0].islower() and following[0] not in _NO_UNIT and following[0].isalpha():
        word = following[0]
        word = word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word
        return ("people" if word in _PEOPLE_COUNTED else word), at
    return None, at


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


def _headline_names(title: str, excerpt: str, names: frozenset[str], text: str, named: frozenset[str]) -> frozenset[str]:
    """The proper names a headline says that no named place, body or person of the post (``named``: their words)
    holds. Within a headline in sentence case, its capitalised words; its first word (capitalised whatever it is)
    only when the text starts a name with it too and never writes it in lower case ("Drumlea library to open…",
    "Drumlea's library will…"; not "Farm fields…" beside "Lowfield Farm"). A headline in capitals says only the
    names its text says within a sentence. Abbreviations (HGV, GP, NHS) are as often things as names."""
    lower = set(re.findall(r"[a-z][\w'’-]*", text))
    starts = _name_starts(excerpt)
    found = set()
    for n, word in enumerate(_CAPITALISED.findall(title)):
        name = re.sub(r"['’]s$", "", word).lower()
        if not word[0].isupper() or word.isupper() or name in _NOT_PROPER or len(name) < 2 or name in lower or name in named:
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
_KIND_WORDS = frozenset({*_PLACE_KINDS.lower().split("|"), *_BODY_KINDS.lower().split("|")})


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
    if a.numbers and b.numbers and not (_within(a.numbers, b.numbers) or _within(b.numbers, a.numbers)):
        found.append(f"different figures: {_figures_said(a.numbers)} / {_figures_said(b.numbers)}")
    if a.weekdays and b.weekdays and not a.weekdays & b.weekdays:
        found.append(f"different weekday: {_said('weekday', a.weekdays)} / {_said('weekday', b.weekdays)}")
    if a.dates and b.dates and not _a_day_in_common(a.dates, b.dates):
        found.append(f"different date: {_said('date', a.dates)} / {_said('date', b.dates)}")
    for what, these, those in (("place", a.places, b.places), ("body", a.bodies, b.bodies)):
        if these and those and not these & those and _share_a_word(these, those) and not _said_short(these, those):
            found.append(f"different {what}: {_said(what, these)} / {_said(what, those)}")
    found.extend(_quantities_differ(a, b))
    found.extend(_times_differ(a, b))
    found.extend(_ages_differ(a, b))
    found.extend(_people_differ(a, b) or _opening_people_differ(a, b))  # a titled person's name is said once
    found.extend(_towns_differ(a, b))
    found.extend(_headline_names_differ(a, b))
    found.extend(_compounds_differ(a, b))
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
    return tuple(found or _words_swapped(a, b) or _subjects_differ(a, b))


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
    ):
        if common_marks:
            found.append(f"same {what}: {_said(what, common_marks)}")
    return tuple(found)


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


def _telling(figure: str) -> bool:
    """A figure that names an event's own quantity (1,500 jobs, £2.50), not one any two posts may share (four days)."""
    return "." in figure or int(figure) >= 100


def _a_day_in_common(these: frozenset[str], those: frozenset[str]) -> bool:
    """Whether a date of one is a date of the other; a day said without its month agrees with that day in any month."""
    return any(x == y or (x.split()[0] == y.split()[0] and (" " not in x or " " not in y)) for x in these for y in those)


def _times_differ(a: Marks, b: Marks) -> list[str]:
    """Each post gives a time of day and none is within :data:`CLOCK_SLACK` of one of the other's: a car set alight
    at 11pm and one at 2am are two fires, whatever else they share."""
    if a.times and b.times and not any(_clock_gap(x, y) <= CLOCK_SLACK for x in a.times for y in b.times):
        return [f"different time: {_times_said(a.times)} / {_times_said(b.times)}"]
    return []


def _clock_gap(x: int, y: int) -> int:
    """Minutes between two times of day, round midnight if that is shorter (11.30pm and 12.15am are 45 apart)."""
    return min(abs(x - y), 24 * 60 - abs(x - y))


def _times_said(times: frozenset[int]) -> str:
    return ", ".join(f"{(t // 60) % 12 or 12}{f'.{t % 60:02d}' if t % 60 else ''}{'pm' if t >= 12 * 60 else 'am'}" for t in sorted(times))


def _ages_differ(a: Marks, b: Marks) -> list[str]:
    """Each post gives someone's (or something's) age and none of one's spans meets one of the other's: a
    24-year-old chosen and a 22-year-old chosen, a man in his sixties rescued and a woman in her forties."""
    if a.ages and b.ages and not any(x[0] <= y[1] and y[0] <= x[1] for x in a.ages for y in b.ages):
        return [f"different age: {_ages_said(a.ages)} / {_ages_said(b.ages)}"]
    return []


def _ages_said(ages: frozenset[tuple[int, int]]) -> str:
    return ", ".join(str(low) if low == high else f"{low}–{high}" for low, high in sorted(ages))


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


def _words_swapped(a: Marks, b: Marks) -> list[str]:
    """Two headlines written to one pattern with a word put in another's place, each word one the other post never
    uses: "Quiz night at the Ship Inn…" / "Comedy night at the Ship Inn…", "GAA club…" / "rugby club…", "Man
    rescued…" / "Woman rescued…". Written blind, pairs of two events were mostly told so, and the word swapped is
    what tells them apart, whatever kind of word it is, so no table of siblings can list them all. One event told by
    two outlets is told in other words, not in one pattern (the headlines alike in less than
    :data:`SWAPPED_ALIKE` of their words), or its swapped word is in the other's text ("Lido…" / "…pool", the text
    saying "lido"). Figures, days and verdicts have rules of their own; a swap of one verdict for its synonym
    ("approved" / "backed") is none."""
    words_a, words_b = [_stem(word) for word in a.title_words], [_stem(word) for word in b.title_words]
    matcher = SequenceMatcher(None, words_a, words_b, autojunk=False)
    if matcher.ratio() < SWAPPED_ALIKE:
        return []
    found = []
    for op, a_from, a_to, b_from, b_to in matcher.get_opcodes():
        if op != "replace":
            continue
        these = _unsaid(a.title_words[a_from:a_to], b.stems)
        those = _unsaid(b.title_words[b_from:b_to], a.stems)
        if these and those and not _same_verdict(" ".join(these), " ".join(those)) and not _kinds_agree(these, those):
            found.append(f"different word: {' '.join(these)} / {' '.join(those)}")
    return found


def _subjects_differ(a: Marks, b: Marks) -> list[str]:
    """Two headlines in one frame about different things: each one's subject, its first telling word, is a word the
    other post never uses ("Jazz quartet to headline the Corn Exchange" / "Folk evening returns to the Corn
    Exchange"; "Otters spotted…" / "Beavers released…"). Less alike than a swap in one pattern
    (:data:`SUBJECT_ALIKE`), so only the subject is asked; one event told in other words rarely shares a frame, and
    when it does its subject is named in the other's text."""
    words_a, words_b = [_stem(word) for word in a.title_words], [_stem(word) for word in b.title_words]
    if SequenceMatcher(None, words_a, words_b, autojunk=False).ratio() < SUBJECT_ALIKE:
        return []
    this, that = _subject(a.title_words), _subject(b.title_words)
    if this is None or that is None or _stem(this) == _stem(that) or _a_name(this, a) or _a_name(that, b):
        return []
    if _unsaid([this], b.stems) and _unsaid([that], a.stems) and not _same_verdict(this, that) and not _kinds_agree([this], [that]):
        return [f"different subject: {this} / {that}"]
    return []


def _subject(words: Iterable[str]) -> str | None:
    """A headline's first telling word (no little word, number, day or generic verb): most often what it is about."""
    return next((word for word in words if word not in _NOT_SWAPPED and not any(character.isdigit() for character in word)), None)


def _a_name(word: str, marks: Marks) -> bool:
    """Whether a headline's word is a proper name of its post: a headline opening with its town ("Kettlesgill church
    roof appeal…") says where, not what, and one outlet naming the town where the other names none is the headline
    names' question (no conflict), not a subject's."""
    return re.sub(r"['’]s$", "", word) in marks.names | marks.headline_names


def _unsaid(words: Iterable[str], stems: frozenset[str]) -> list[str]:
    """The words that tell something (no little word, number, day or month) whose stem, or a hyphenated part's, is
    none of ``stems``."""
    return [
        word
        for word in words
        if word not in _NOT_SWAPPED
        and not any(character.isdigit() for character in word)
        and _stem(word) not in stems
        and not any(_stem(part) in stems for part in re.split(r"[-'’]", word) if part)
    ]


def _same_verdict(these: str, those: str) -> bool:
    found = _verdicts(these, these)
    return bool(found) and found == _verdicts(those, those)


def _kinds_agree(these: list[str], those: list[str]) -> bool:
    """Whether the two swaps name one kind of a sort (writers / book: a festival's synonyms)."""
    kinds = {kind for sort in _SIBLINGS.values() for word, kind in sort.items() if word in these}
    return bool(kinds) and kinds == {kind for sort in _SIBLINGS.values() for word, kind in sort.items() if word in those}


@lru_cache(maxsize=65_536)
def _stem(word: str) -> str:
    """A word without its possessive and up to two endings ("openings" and "opened" are "open"): crude, but one
    word's forms meet, and that is all a swapped word is asked."""
    word = re.sub(r"['’]s?$", "", word.lower())
    for _ in range(2):
        for ending in _ENDINGS:
            if len(word) > len(ending) + 2 and word.endswith(ending):
                word = word[: -len(ending)]
                break
    return word


def _within(these: frozenset[str], those: frozenset[str]) -> bool:
    """Whether each figure of ``these`` is one of ``those``, or that figure rounded: "near-5%" and "4.99%"."""
    return all(any(_agree(float(x), float(y), hedged=False) for y in those) for x in these)


def _agree(x: float, y: float, *, hedged: bool) -> bool:
    """Whether two figures may be one told twice: equal; one being said to be rounded, within a tenth; or one the
    other rounded to its last figure, within a hundredth ("5%" and "4.99%", "1,500" and "1,512"). Two exact figures
    a hundredth apart are not one rounded: the years 2024 and 2025, the 428 and the 431 bus."""
    if x == y:
        return True
    if hedged:
        return abs(x - y) <= 0.1 * max(abs(x), abs(y))
    return abs(x - y) <= 0.01 * max(abs(x), abs(y)) and (_rounds_to(x, y) or _rounds_to(y, x))


def _rounds_to(exact: float, rounded: float) -> bool:
    """Whether ``rounded`` is ``exact`` written to ``rounded``'s last figure: 4.99 to 5, 1,512 to 1,500."""
    digits = f"{rounded:.12g}"
    if "." in digits:
        step = 10.0 ** -len(digits.partition(".")[2])
    else:
        step = 10.0 ** (len(digits) - len(digits.rstrip("0"))) if rounded else 1.0
    return abs(exact - rounded) <= step / 2 + 1e-9


def _quantities_differ(a: Marks, b: Marks) -> list[str]:
    """Figures of one thing (£, %, bells, homes) that none of the other's agrees with, the nearest within a factor of
    three: £1.8m and £1.1m are two scanners' prices, but £45,000 raised and a £5 ticket may be one event's."""
    found = []
    for unit in sorted({q.unit for q in a.quantities} & {q.unit for q in b.quantities}):
        these = [q for q in a.quantities if q.unit == unit]
        those = [q for q in b.quantities if q.unit == unit]
        if any(_agree(x.value, y.value, hedged=x.hedged or y.hedged) for x in these for y in those):
            continue
        if any(min(x.value, y.value) * 3 >= max(x.value, y.value) > 0 for x in these for y in those):
            found.append(f"different figures: {_quantities_said(these)} / {_quantities_said(those)}")
    return found


def _quantities_said(quantities: Iterable[Quantity]) -> str:
    return ", ".join(_quantity_said(q) for q in sorted(quantities, key=lambda q: q.value))


def _quantity_said(quantity: Quantity) -> str:
    figure = _shown("figure", _number_said(quantity.value))
    if quantity.unit in ("£", "€", "$"):
        return f"{quantity.unit}{figure}"
    if quantity.unit in ("%", "p"):
        return f"{figure}{quantity.unit}"
    return f"{figure} {quantity.unit}"


def _of_part(people: frozenset[str], part: str) -> frozenset[str]:
    return frozenset(person for person in people if person.partition("|")[0] == part)


def _of_sort(kinds: frozenset[str], sort: str) -> frozenset[str]:
    return frozenset(kind.partition(":")[2] for kind in kinds if kind.partition(":")[0] == sort)


def _side(verdicts: frozenset[str], axis: str) -> str | None:
    """The one side a post takes on ``axis``; None when it takes none, or both (then it says nothing clear)."""
    sides = {verdict[-1] for verdict in verdicts if verdict[:-1] == axis}
    return sides.pop() if len(sides) == 1 else None


def _said_short(these: frozenset[str], those: frozenset[str]) -> bool:
    """Whether a name of one is a name of the other said without its last kind words: "Killyreagh Primary" and
    "Killyreagh Primary School" are one school."""
    for x in these:
        for y in those:
            short, long = sorted((x.split(), y.split()), key=len)
            if long[: len(short)] == short and all(word in _KIND_WORDS for word in long[len(short) :]):
                return True
    return False


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
    if what in ("place", "body", "date", "weekday", "name"):
        return " ".join(_ACRONYMS.get(word, word if word in _NOT_NAMES else word.capitalize()) for word in value.split())
    return value


def _said(what: str, values: Iterable[str]) -> str:
    return ", ".join(sorted(_shown(what, value) for value in values))


def _figures_said(values: frozenset[str]) -> str:
    return ", ".join(_shown("figure", value) for value in sorted(values, key=float))


__all__ = ["Marks", "Quantity", "agreements", "conflicts", "figures", "marks_of", "shared_names", "telling"]
