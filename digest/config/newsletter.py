"""The sections about the newsletter and its issues: [newsletter] (name, slug, sender, time zone, URLs), [window],
[selection], [output], [editorial], [tracking] and [schedule]."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from email.headerregistry import Address
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from digest.config.rhythm import WindowRule
from digest.config.schema import (
    DEFAULT_CRON,
    WEEKDAYS,
    ScheduleOptions,
    SelectionRules,
    theme_key_problem,
)
from digest.config.table import TableReader
from digest.config.validators import (
    UTC_NAMES,
    check_base_url,
    check_language,
    check_title_format,
    choice,
    fixed_offset,
    list_id_problem,
    nonempty,
    positive,
    rate,
)
from digest.models import ClickTracking


def read_newsletter(top: TableReader, env: Mapping[str, str], warnings: list[str]) -> dict[str, Any]:
    news = top.sub("newsletter")
    name = news.get("name", str, "Newsletter", nonempty)
    own_rate = news.get("rate", float, 0.0, rate)
    found = {
        "name": name,
        "slug": news.get("slug", str, "", lambda v: theme_key_problem(v) if v else None),
        "title_format": news.get("title", str, "{name} Weekly Digest – {date}", check_title_format),
        "preheader": news.get("preheader", str, ""),
        "address": " ".join(news.get("address", str, "").split()),
        "editors": _addresses(news, "editors"),
        "language": news.get("language", str, "en", check_language),
        "timezone": _zone(news, env.get("DIGEST_TIMEZONE"), warnings),
        "sender": _sender(news, name),
        "base_url": news.get("base_url", str, "http://127.0.0.1:8080", check_base_url).rstrip("/"),
        "archive_url": news.get("archive_url", str, "", lambda v: None if not v else check_base_url(v)).rstrip("/"),
        "path": news.get("path", str, "/", path_problem).rstrip("/") or "/",
        "relay": news.get("relay", str, ""),
        # The List-Id keys every signed link of the newsletter's mail: pinned here, a later change of sender or slug
        # keeps the links of mail already sent working (``newsletters add`` writes it).
        "configured_list_id": news.get("list_id", str, "", list_id_problem),
        # Absent: the install's delivery.rate (0 here would mean "no limit", overriding it).
        "rate": own_rate if "rate" in news.table else None,
    }
    news.finish()
    return found


PATH = re.compile(r"/|(/[a-z0-9][a-z0-9_-]*)+/?")


def path_problem(value: str) -> str | None:
    """What is wrong with a newsletter's base path ([newsletter] path), or None."""
    if PATH.fullmatch(value) is None:
        return f'must be "/" or a path of lower-case words such as "/culture" or "/towns/hove", got "{value}"'
    return None


def _zone(news: TableReader, override: str | None, warnings: list[str]) -> ZoneInfo:
    """The newsletter's time zone; from DIGEST_TIMEZONE (named as such in a message) when set."""
    name = news.get("timezone", str, "UTC")
    where = f"{news.file}: {news.key('timezone')}"
    if override:
        name, where = override, "environment: DIGEST_TIMEZONE"
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        news.problems.append(f'{where}: unknown time zone "{name}" (use an IANA name like "Europe/London")')
        return ZoneInfo("UTC")
    if name.upper() not in UTC_NAMES and fixed_offset(zone):
        offset = datetime(2026, 1, 1, tzinfo=zone).strftime("%z")
        warnings.append(
            f'{where}: "{name}" is a fixed offset (UTC{offset[:3]}:{offset[3:]} all year, no daylight saving); '
            'for local time use a place name like "America/New_York" or "Europe/London"'
        )
    return zone


def _sender(news: TableReader, name: str) -> Address:
    raw = news.get("sender", str, f"{name} <digest@localhost>")
    display, addr = parseaddr(raw)
    user, at, domain = addr.rpartition("@")
    if not at or not user or not domain or any(c in raw for c in "\r\n"):
        news.fail("sender", f'must be an address like "Name <digest@example.org>", got "{raw}"')
        return Address(name, "digest", "localhost")
    return Address(display or name, user, domain)


def _addresses(reader: TableReader, name: str) -> tuple[str, ...]:
    """A list of email addresses, each checked as subscriber addresses are."""
    from digest.models.addresses import normalise_address

    found = []
    for raw in reader.strings(name):
        try:
            found.append(normalise_address(raw))
        except ValueError as exc:
            reader.fail(name, f"{raw!r} is not an address: {exc}")
    return tuple(found)


def read_window(top: TableReader) -> WindowRule:
    win = top.sub("window")
    mode = win.get(
        "mode", str, "days", lambda v: None if v in ("days", "week", "since-last") else f'must be "days", "week" or "since-last", got "{v}"'
    )
    days = win.get("days", int, 7, positive)
    week_starts = win.get("week_starts", str, "monday", lambda v: None if v.lower() in WEEKDAYS else f'must be a weekday name, got "{v}"')
    win.finish()
    return WindowRule(mode=mode, days=days, week_starts=WEEKDAYS.index(week_starts.lower()))  # type: ignore[arg-type]


def read_selection(top: TableReader) -> SelectionRules:
    sel = top.sub("selection")
    patterns: list[re.Pattern[str]] = []
    for index, pattern in enumerate(sel.strings("exclude_titles")):
        try:
            patterns.append(re.compile(pattern, re.IGNORECASE))
        except re.error as exc:
            sel.fail(f"exclude_titles[{index}]", f"not a valid regular expression: {exc}")
    selection = SelectionRules(
        exclude_titles=tuple(patterns),
        exclude_outlets=tuple(o.casefold() for o in sel.strings("exclude_outlets")),
        exclude_tags=tuple(t.casefold() for t in sel.strings("exclude_tags")),
    )
    sel.finish()
    return selection


def read_output(top: TableReader, root: Path) -> dict[str, Any]:
    out = top.sub("output")
    output_dir = out.get("dir", str, "out", nonempty)
    templates = out.get("templates", str, "")
    found = {
        "output_dir": root / output_dir,
        "templates_dir": (root / templates) if templates else None,
        "excerpt_words": out.get("excerpt_words", int, 60, positive),
        "images": out.get("images", str, "thumbnail", choice(("thumbnail", "none"))),
    }
    out.finish()
    return found


def read_editorial(top: TableReader, root: Path) -> dict[str, Any]:
    editorial = top.sub("editorial")
    editorial_dir = editorial.get("dir", str, "content/issues", nonempty)
    editorial.finish()
    return {"editorial_dir": root / editorial_dir}


def read_tracking(top: TableReader) -> ClickTracking:
    tracking = top.sub("tracking")
    clicks = ClickTracking(tracking.get("clicks", str, ClickTracking.OFF.value, choice(tuple(kind.value for kind in ClickTracking))))
    tracking.finish()
    return clicks


def read_schedule(top: TableReader) -> ScheduleOptions:
    from apscheduler.triggers.cron import CronTrigger

    reader = top.sub("schedule")
    cron = reader.get("cron", str, "")
    fields = {name: reader.get(name, str, "") for name in ("day_of_week", "hour", "minute")}
    zone_name = reader.get("timezone", str, "")
    zone: ZoneInfo | None = None
    if zone_name:
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            reader.fail("timezone", f'unknown time zone "{zone_name}"')
    if cron and any(fields.values()):
        reader.fail("cron", "give either cron or day_of_week/hour/minute, not both")
    elif any(fields.values()):
        cron = f"{fields['minute'] or '0'} {fields['hour'] or '9'} * * {fields['day_of_week'] or 'fri'}"
    cron = cron or DEFAULT_CRON
    try:
        CronTrigger.from_crontab(cron)
    except ValueError as exc:
        reader.fail("cron", f'not a valid crontab expression "{cron}": {exc}')
        cron = DEFAULT_CRON
    hours = reader.get("misfire_grace_hours", float, 6.0, lambda v: None if v >= 0 else f"must be 0 or more, got {v}")
    options = ScheduleOptions(
        cron=cron,
        timezone=zone,
        misfire_grace=hours * 3600,
        min_posts=reader.get("min_posts", int, 1, lambda v: None if v >= 0 else f"must be 0 or more, got {v}"),
        approval=reader.get("approval", str, "none", choice(("none", "required"))),  # type: ignore[arg-type]
        draft_hours=reader.get(
            "draft_hours", float, 24.0, lambda v: None if 0 < v <= 24 * 14 else f"must be more than 0 and at most 336, got {v}"
        ),
        preview_url=reader.get("preview_url", str, "http://127.0.0.1:8000", check_base_url).rstrip("/"),
    )
    reader.finish()
    return options
