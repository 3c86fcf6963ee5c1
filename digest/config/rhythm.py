"""The values of a newsletter's rhythms: an edition (:class:`Edition`), when its slots fall (:class:`SlotRule`) and
what each slot's issue covers (:class:`WindowRule`). Read by :mod:`digest.config.editions`; imports no other part of
the settings, so the schema's :class:`~digest.config.schema.Publication` can hold editions."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

DEFAULT_EDITION = "weekly"  # the one edition of a newsletter without [editions.*]
DEFAULT_CAP = 8  # a round-up's posts per theme
WindowMode = Literal["days", "week", "since-last", "hours", "month"]  # the last two: an edition's window only


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowRule:
    mode: WindowMode = "days"
    days: int = 7
    week_starts: int = 0  # Monday, as datetime.weekday() counts
    hours: int = 24  # mode "hours": exactly this many hours back from the slot


@dataclass(frozen=True, slots=True, kw_only=True)
class SlotRule:
    """When an edition's slots fall: the fields of a cron trigger, in the schedule's time zone (APScheduler's
    day expressions, "1st fri", "last", allowed in ``day``). ``text``: as the config said it, for people."""

    minute: str = "0"
    hour: str = "9"
    day: str = "*"
    month: str = "*"
    day_of_week: str = "*"
    cron: str = ""  # the crontab line, when the rule is one
    text: str = ""

    @classmethod
    def from_cron(cls, cron: str) -> SlotRule:
        minute, hour, day, month, day_of_week = cron.split()
        return cls(minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week, cron=cron, text=cron)


@dataclass(frozen=True, slots=True, kw_only=True)
class Edition:
    """One rhythm of a newsletter: its slots, the window each slot's issue covers, and how its issue reads."""

    name: str = DEFAULT_EDITION
    slot: SlotRule = SlotRule()
    window: WindowRule
    min_posts: int = 1  # fewer posts in a slot's window: the slot is skipped and recorded, no email
    roundup: bool = False  # the issue is a round-up: per theme the strongest posts, up to cap_per_theme
    cap_per_theme: int = DEFAULT_CAP
    subject: str = ""  # the title format ({name}, {date}, {start}, {end}, {month}); empty: the newsletter's
    preheader: str = ""  # empty: the newsletter's, else the automatic one
    intro: str = ""  # Markdown, above the sections when the editor's issue file has no intro of its own
    # What it takes from the newsletter's [schedule] and [window] ("slot", "window", "min_posts"): the keys its table
    # left out. The Publication fills them in from its own schedule and window whenever it is made (a test's
    # override of the window reaches the default edition as it reached the newsletter before editions).
    inherits: frozenset[str] = frozenset()

    @property
    def cron(self) -> str:
        """The crontab line of a cron edition; empty for a day-of-the-month one."""
        return self.slot.cron

    def inheriting(self, cron: str, min_posts: int, window: WindowRule) -> Edition:
        """This edition with what it inherits taken from ``cron``, ``min_posts`` and ``window``."""
        if not self.inherits:
            return self
        return replace(
            self,
            slot=SlotRule.from_cron(cron) if "slot" in self.inherits else self.slot,
            window=window if "window" in self.inherits else self.window,
            min_posts=min_posts if "min_posts" in self.inherits else self.min_posts,
        )


INHERITED = frozenset({"slot", "window", "min_posts"})


def default_edition(cron: str, min_posts: int, window: WindowRule) -> Edition:
    """The one edition of a newsletter without [editions.*]: [schedule]'s ``cron`` and ``min_posts`` and [window] as they are."""
    return Edition(window=window, inherits=INHERITED).inheriting(cron, min_posts, window)
