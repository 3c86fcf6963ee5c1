"""A newsletter's editions: its rhythms, each a slot schedule and a window (``[editions.NAME]``).

Without any ``[editions.*]`` table a newsletter has one edition, ``weekly``, made of ``[schedule]`` and ``[window]``
exactly as before, so an install made before editions keeps its behaviour. With them, the first table in the file is
the default edition (what ``--edition`` means when not given, and what :class:`~digest.config.schema.Publication`'s
``schedule`` and ``window`` are). A slot, window or min_posts an edition leaves out is the first edition's, whose
own are ``[schedule]``'s and ``[window]``'s.

When, one of two forms: ``cron = "0 7 * * *"`` (a crontab line), or ``day = "first friday"`` with ``time = "09:00"``
(a day of each month: "first" … "fourth" or "last" and a weekday, a day number 1–31, or "last"). Both are read in the
schedule's time zone, so 09:00 stays 09:00 across clock changes. What it covers: ``window = "7d"`` (N local days
back from the slot, as ``[window] days``), ``"24h"`` (N hours exactly), ``"week"`` (the calendar week before,
``[window] week_starts``), ``"since-last"``, or ``"previous month"`` (the calendar month before the slot's, local
midnight to local midnight)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from digest.config.rhythm import DEFAULT_CAP, Edition, SlotRule, WindowRule, default_edition
from digest.config.validators import check_title_format

if TYPE_CHECKING:
    from digest.config.schema import ScheduleOptions
    from digest.config.table import TableReader

EDITION_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")
ORDINALS = {"first": "1st", "second": "2nd", "third": "3rd", "fourth": "4th", "last": "last"}
DAYS = {"monday": "mon", "tuesday": "tue", "wednesday": "wed", "thursday": "thu", "friday": "fri", "saturday": "sat", "sunday": "sun"}
TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
WINDOW_LENGTH = re.compile(r"([1-9]\d{0,2})\s*([dh])")
MONTH_WINDOW = "previous month"


def read_editions(top: TableReader, schedule: ScheduleOptions, window: WindowRule) -> tuple[Edition, ...]:
    """Every [editions.NAME] table, in the file's order (the first the default), each key checked with its file and
    key; without any, the default weekly of [schedule] and [window]."""
    # Read by hand rather than top.sub(): "editions" holds tables named by the user, each read as editions.NAME.
    top.seen.add("editions")
    tables = top.table.get("editions", {})
    if not isinstance(tables, dict):
        top.fail("editions", "must be tables, one per edition: [editions.weekly], [editions.monthly]…")
        return (default_edition(schedule.cron, schedule.min_posts, window),)
    found: list[Edition] = []
    for name, table in tables.items():
        if EDITION_NAME.fullmatch(name) is None:
            top.fail(f"editions.{name}", "an edition's name is lower-case letters, digits and '-', starting with a letter")
            continue
        if not isinstance(table, dict):
            top.fail(f"editions.{name}", f"must be a table ([editions.{name}]) of its slot and window keys")
            continue
        # A key left out takes the default (first) edition's, which takes [schedule]'s or [window]'s.
        base, rule = with_default_edition(schedule, window, tuple(found)) if found else (schedule, window)
        found.append(_edition(top.entry(table, top.key(f"editions.{name}.")), name, base, rule))
    return tuple(found) or (default_edition(schedule.cron, schedule.min_posts, window),)


def _edition(reader: TableReader, name: str, schedule: ScheduleOptions, window: WindowRule) -> Edition:
    slot = _slot(reader, schedule)
    rule = _window(reader, window)
    inherits = frozenset(
        key
        for key, given in (("slot", ("cron", "day")), ("window", ("window",)), ("min_posts", ("min_posts",)))
        if not set(given) & set(reader.table)
    )
    edition = Edition(
        name=name,
        slot=slot,
        window=rule,
        inherits=inherits,
        min_posts=reader.get("min_posts", int, schedule.min_posts, lambda v: None if v >= 0 else f"must be 0 or more, got {v}"),
        roundup=reader.get("roundup", bool, rule.mode == "month"),
        cap_per_theme=reader.get("cap_per_theme", int, DEFAULT_CAP, lambda v: None if v >= 1 else f"must be 1 or more, got {v}"),
        subject=reader.get("subject", str, _default_subject(rule), lambda v: check_title_format(v.replace("{month}", "")) if v else None),
        preheader=reader.get("preheader", str, ""),
        intro=reader.get("intro", str, ""),
    )
    reader.finish()
    return edition


def _default_subject(rule: WindowRule) -> str:
    """A subject that says the edition's span when its table gives none: the newsletter's title is written for its
    weekly ("… Weekly Digest – {date}"), which a monthly or a daily would carry wrongly. Empty: the newsletter's."""
    if rule.mode == "month":
        return "{name} – {month}"
    if (rule.mode == "days" and rule.days == 1) or (rule.mode == "hours" and rule.hours <= 24):
        return "{name} – {date}"
    return ""


def _slot(reader: TableReader, schedule: ScheduleOptions) -> SlotRule:
    """The slot rule: ``cron``, or ``day`` and ``time``; neither: [schedule]'s cron."""
    from apscheduler.triggers.cron import CronTrigger

    cron = reader.get("cron", str, "")
    day = reader.get("day", str, "")
    at = reader.get("time", str, "", lambda v: None if TIME.fullmatch(v) else f'must be a time of day such as "09:00", got "{v}"')
    if cron and (day or at):
        reader.fail("cron", "give either cron, or day and time, not both")
        return SlotRule.from_cron(schedule.cron)
    if cron:
        try:
            CronTrigger.from_crontab(cron)
        except ValueError as exc:
            reader.fail("cron", f'not a valid crontab expression "{cron}": {exc}')
            return SlotRule.from_cron(schedule.cron)
        return SlotRule.from_cron(cron)
    if not day:
        if at:
            reader.fail("time", 'goes with day (such as day = "first friday"); a cron line has its own time')
        return SlotRule.from_cron(schedule.cron)
    expression = month_day(day)
    if expression is None:
        reader.fail(
            "day", f'must be a day of each month: "first friday" … "fourth friday", "last friday", a day number 1–31 or "last", got "{day}"'
        )
        return SlotRule.from_cron(schedule.cron)
    hour, minute = _time_of(at) if at else weekly_time(schedule.cron)
    return SlotRule(minute=str(minute), hour=str(hour), day=expression, text=f"{day.strip().lower()} {hour:02d}:{minute:02d}")


def month_day(day: str) -> str | None:
    """A day of each month as people write it ("first friday", "last", "15") in APScheduler's day expression
    ("1st fri", "last", "15"); None when it is none of them."""
    words = day.strip().lower().split()
    if len(words) == 1 and words[0] == "last":
        return "last"
    if len(words) == 1 and words[0].isdigit() and 1 <= int(words[0]) <= 31:
        return str(int(words[0]))
    if len(words) == 2 and words[0] in ORDINALS and words[1] in DAYS:
        return f"{ORDINALS[words[0]]} {DAYS[words[1]]}"
    return None


def _time_of(text: str) -> tuple[int, int]:
    hour, minute = text.split(":")
    return int(hour), int(minute)


def weekly_time(cron: str) -> tuple[int, int]:
    """The hour and minute of a crontab line that fires at one time of day; 09:00 for one that fires at several."""
    minute, hour = cron.split()[:2]
    return (int(hour), int(minute)) if hour.isdigit() and minute.isdigit() else (9, 0)


def _window(reader: TableReader, window: WindowRule) -> WindowRule:
    """``window``: "7d", "24h", "week", "since-last" or "previous month"; absent: [window]'s rule."""
    text = reader.get("window", str, "")
    if not text:
        return window
    said = " ".join(text.strip().lower().split())
    if said in ("week", "since-last"):
        return replace(window, mode=said)  # type: ignore[arg-type]
    if said == MONTH_WINDOW:
        return replace(window, mode="month")
    if (length := WINDOW_LENGTH.fullmatch(said)) is not None:
        count, unit = int(length.group(1)), length.group(2)
        return replace(window, mode="days", days=count) if unit == "d" else replace(window, mode="hours", hours=count)
    reader.fail("window", f'must be a length such as "7d" or "24h", "week", "since-last" or "previous month", got "{text}"')
    return window


def with_default_edition(
    schedule: ScheduleOptions, window: WindowRule, editions: tuple[Edition, ...]
) -> tuple[ScheduleOptions, WindowRule]:
    """[schedule] and [window] as the rest of the program reads them: the default (first) edition's cron, min_posts
    and window in place of the sections' own."""
    first = editions[0]
    return replace(schedule, cron=first.cron or schedule.cron, min_posts=first.min_posts), first.window
