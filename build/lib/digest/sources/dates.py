"""Turning the many ways sources write dates into aware datetimes."""

from __future__ import annotations

import re
from datetime import date, datetime, time, tzinfo

MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}


def month_number(name: str) -> int | None:
    """January, Jan, Jan., Sept, even a misspelt "Ocotber": its first three letters decide."""
    return MONTHS.get(name[:3].lower()) if len(name) >= 3 else None


def at_midnight(day: date, zone: tzinfo) -> datetime:
    """A date-only value means the start of that day in the newsletter's time zone."""
    return datetime.combine(day, time(0, 0), tzinfo=zone)


def aware(moment: datetime, zone: tzinfo) -> datetime:
    """A naive datetime is read as local time in ``zone``."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


_NUMERIC = re.compile(r"(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})$")
_MONTH_DAY_YEAR = re.compile(r"([A-Za-z]{3,})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$")
_DAY_MONTH_YEAR = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]{3,})\.?,?\s+(\d{4})$")


def parse_day(text: str) -> date | None:
    """``2019/10/20``, ``2019-10-20``, ``October 20 2019``, ``20 Oct 2019``; None if none fits."""
    text = text.strip().replace("\u00a0", " ")
    try:
        if m := _NUMERIC.match(text):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if (m := _MONTH_DAY_YEAR.match(text)) and (month := month_number(m[1])):
            return date(int(m[3]), month, int(m[2]))
        if (m := _DAY_MONTH_YEAR.match(text)) and (month := month_number(m[2])):
            return date(int(m[3]), month, int(m[1]))
    except ValueError:
        return None
    return None


def parse_moment(value: object, zone: tzinfo) -> datetime | None:
    """A front-matter date: a YAML date or datetime, an ISO 8601 string, or a day in words."""
    if isinstance(value, datetime):
        return aware(value, zone)
    if isinstance(value, date):
        return at_midnight(value, zone)
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return aware(datetime.fromisoformat(text.replace("Z", "+00:00")), zone)
    except ValueError:
        day = parse_day(text)
        return at_midnight(day, zone) if day else None
