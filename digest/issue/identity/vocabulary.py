"""The words the identity rules share: weekdays, months, the kind words that end a place's or a body's name,
titles that say a person's part, and the capitalised words that are no name."""

from __future__ import annotations

import re

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
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
# Capitalised in a title or at a sentence's start, never part of a name.
_NOT_NAMES = frozenset(
    [
        *("the", "a", "an", "at", "on", "in", "to", "of", "for", "from", "by", "with", "and", "or", "new", "old", "our", "its"),
        "their",
        # and prepositions that open a sentence before a name ("Near Tanner Street", "Outside the Corn Hall")
        *("near", "off", "outside", "behind", "beside", "opposite", "along", "past", "via", "into", "onto", "towards"),
        *("through", "across", "around", "round", "between", "under", "above", "below", "beyond", "inside"),
    ]
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


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


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
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'‘“])")
_CAPITALISED = re.compile(r"[A-Za-z][\w'’-]*")
_KIND_WORDS = frozenset({*_PLACE_KINDS.lower().split("|"), *_BODY_KINDS.lower().split("|")})
