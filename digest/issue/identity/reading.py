"""All of a post's marks, read at once (:func:`marks_of`)."""

from __future__ import annotations

import re
from functools import lru_cache

from digest.issue.identity.dates import _ages, _dates, _months, _scores, _times, _weekdays
from digest.issue.identity.events import _sorts
from digest.issue.identity.headlines import _TITLE_WORD, _kinds, _stem, _verdicts
from digest.issue.identity.marks import Marks
from digest.issue.identity.names import (
    _BODY,
    _PLACE,
    _RIVER,
    _ROLE_WORDS,
    _all_words,
    _compound_names,
    _headline_names,
    _lead_people,
    _lone_names,
    _names,
    _opening_people,
    _people,
    _proper_names,
    _towns,
)
from digest.issue.identity.numbers import _number_said, _numbers, _quantities
from digest.issue.identity.ordinals import _day_parts, _ordinals

# A rubric before a headline, in capitals: "UPDATE:", "SHOUT!", "CALL-OUT 41:", "MATCH REPORT:". It says what kind of
# post it is, not what it is about, so the headline's words are read after it.
_RUBRIC = re.compile(r"^\s*(?=[^:!]*[A-Z]{3})[A-Z][A-Z0-9 '’&.-]{1,30}[:!]\s+(?=\S)")


@lru_cache(maxsize=8192)  # a pure function of its text, asked by the common names and by each fold alike
def marks_of(title: str, excerpt: str) -> Marks:
    text = f"{title}. {excerpt}"
    people = _people(text)
    quantities = _quantities(text)
    names, lead_names = _proper_names(title, excerpt)
    places = _names(_PLACE, text) | {f"river {name.lower()}" for name in _RIVER.findall(text)}
    bodies = _names(_BODY, text)
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
        headline_names=_headline_names(title, excerpt, names, text),
        words=_all_words(text),
        compounds=_compound_names(title, excerpt),
        lone_names=_lone_names(title, excerpt),
        title_words=tuple(word.lower() for word in _TITLE_WORD.findall(_RUBRIC.sub("", title))),
        stems=frozenset(_stem(part) for word in _TITLE_WORD.findall(text) for part in re.split(r"[-'’]", word) if part),
        times=_times(text),
        ages=_ages(text),
        towns=_towns(text),
        opening_people=_opening_people(excerpt),
        months=_months(text),
        scores=_scores(text),
        ordinals=_ordinals(text),
        day_parts=_day_parts(text),
        events=_sorts(_RUBRIC.sub("", title)),
        event_words=_sorts(text),
    )
