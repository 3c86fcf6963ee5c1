"""Weekdays, dates, times of day and ages: read from a text, and whether two posts' differ."""

from __future__ import annotations

import re

from digest.issue.identity.marks import Marks
from digest.issue.identity.vocabulary import _MONTHS, _WEEKDAYS

_WEEKDAY = re.compile(r"\b(" + "|".join(_WEEKDAYS) + r")s?\b", re.IGNORECASE)
_MONTH = r"(January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\b\.?"
_ORDINAL = r"([12]?\d|3[01])(?:st|nd|rd|th)?"
# "14 March", "14th of March", "March 14th", "on the 14th": a day, with its month when it is said. A month alone
# ("from April") is no date: a scheme that starts in April and a vote held in April are told in one story.
_DAY_MONTH = re.compile(r"\b" + _ORDINAL + r"(?: of)? " + _MONTH)
_MONTH_DAY = re.compile(r"\b" + _MONTH + r" " + _ORDINAL + r"\b(?!,?\d)")
_THE_DAY = re.compile(
    r"\b(?:on|from|until|till|by|before|after|since) the ([12]?\d|3[01])(?:st|nd|rd|th)\b(?! (?:century|birthday|anniversary|floor|time))"
)
# A weekday said short, capitalised: Mon, Tue(s), Thu(rs), Fri always; Wed, Sat and Sun (a verb, a star) only before
# a day's number or beside another day said short ("Sat 14 March", "Sat and Sun").
_SHORT_WEEKDAY = re.compile(r"\b(Mon|Tues?|Wed|Thur?s?|Fri|Sat|Sun)\b\.?(?!['’])( \d)?")
_SHORT_ALWAYS = frozenset({"Mon", "Tue", "Tues", "Thu", "Thur", "Thurs", "Fri"})
_BESIDE = re.compile(r"\s*(?:and|&|or|-|–|to|,)\s*$")


def _short_weekdays(text: str) -> set[str]:
    found = list(_SHORT_WEEKDAY.finditer(text))
    days = set()
    for n, match in enumerate(found):
        beside = any(
            0 <= m < len(found) and _BESIDE.match(text[min(found[m].end(), match.end()) : max(found[m].start(), match.start())])
            for m in (n - 1, n + 1)
        )
        if match.group(1) in _SHORT_ALWAYS or match.group(2) or beside:
            days.add(next(day for day in _WEEKDAYS if day.startswith(match.group(1).lower()[:3])))
    return days


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
    """The weekdays ``text`` names, in full or short ("Tue 3 March", "Mon and Tue"); "the weekend" is Saturday and
    Sunday, and "Friday night" runs into Saturday (a night's storm and the next day's cancelled shows are one event)."""
    days = {day.lower() for day in _WEEKDAY.findall(text)}
    days |= _short_weekdays(text)
    if re.search(r"\bweekend\b", text, re.IGNORECASE):
        days |= {"saturday", "sunday"}
    for day in _NIGHT.findall(text):
        days.add(_WEEKDAYS[(_WEEKDAYS.index(day.lower()) + 1) % 7])
    return frozenset(days)


def _dates(text: str) -> frozenset[str]:
    found = {f"{int(day)} {_month(month)}" for day, month in _DAY_MONTH.findall(text)}
    found |= {f"{int(day)} {_month(month)}" for month, day in _MONTH_DAY.findall(text)}
    found |= {str(int(day)) for day in _THE_DAY.findall(text)}
    return frozenset(found)


# A month named as a month (capitalised: "may" is a verb), with a day or alone ("from April").
_MONTH_NAMED = re.compile(r"\b" + _MONTH)


def _months(text: str) -> frozenset[str]:
    """The months ``text`` names, in full or short ("Sept", "Dec"), said capitalised as a month is."""
    return frozenset(_month(name) for name in _MONTH_NAMED.findall(text))


def _month(name: str) -> str:
    short = name.lower().rstrip(".")[:3]
    return next(month for month in _MONTHS if month.startswith(short))


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


# A result: "3-1", "24–17", "by 24 points to 17"; not a range of days, years, times or money ("9-13 March", "18-25
# year olds", "£3-4m"), nor an age span.
_SCORE = re.compile(
    r"(?<![\d.,£$€/:-])(?<!aged )(?<!from )(?<!between )(\d{1,3}) ?[-–] ?(\d{1,3})(?![\d,%/:]|\.\d)"
    r"(?! ?(?:" + _MONTH + r"|(?:years?|weeks?|days?|hours?|minutes?|months?|miles?|metres?|meters?|km|mph|am|pm|per)\b))"
    r"|\bby (\d{1,3}) (?:points|goals|runs|votes) to (\d{1,3})\b"
)


def _scores(text: str) -> frozenset[tuple[int, int]]:
    """The results ``text`` gives, each as (larger, smaller): who won is the words' business, not the figures'."""
    found = set()
    for match in _SCORE.finditer(text):
        x, y = (int(group) for group in match.groups() if group is not None)
        found.add((max(x, y), min(x, y)))
    return frozenset(found)


def _scores_differ(a: Marks, b: Marks) -> list[str]:
    """Each post gives a result and none is the other's: a 2-1 win and a 3-0 defeat are two matches."""
    if a.scores and b.scores and not a.scores & b.scores:
        return [f"different result: {_scores_said(a.scores)} / {_scores_said(b.scores)}"]
    return []


def _scores_said(scores: frozenset[tuple[int, int]]) -> str:
    return ", ".join(f"{x}-{y}" for x, y in sorted(scores))
