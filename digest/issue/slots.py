"""Schedule slots: the fire times of an edition's slot rule, which name the issues, and the window each covers.

An issue's window ends at a slot (``window_for(slot, …)``), so the issue of
a slot is the same whoever builds it and whenever: the scheduler on time,
the scheduler late, or an operator's ``digest send``. Each edition of a
newsletter (:mod:`digest.config.editions`) has its own slots and windows:
:func:`edition_slots` and :func:`edition_window` are pure functions of the
edition, the zone and the moment asked about.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import cast

from apscheduler.triggers.cron import CronTrigger

from digest.config import Edition, Publication
from digest.issue.selection import window_for
from digest.models import Window

LOOKBACK = timedelta(days=400)  # far enough back for a yearly cron


def make_trigger(newsletter: Publication, edition: Edition | None = None) -> CronTrigger:
    """The trigger of ``edition``'s slots (None: the newsletter's default edition) in the schedule's zone."""
    return edition_trigger(edition or newsletter.edition(), newsletter.schedule_zone)


def edition_trigger(edition: Edition, zone: tzinfo) -> CronTrigger:
    """The cron trigger of an edition's slot rule, in local time of ``zone`` (09:00 stays 09:00 across clock changes;
    "1st fri" is the first Friday of each month)."""
    rule = edition.slot
    return CronTrigger(minute=rule.minute, hour=rule.hour, day=rule.day, month=rule.month, day_of_week=rule.day_of_week, timezone=zone)


def edition_slots(edition: Edition, zone: tzinfo, now: datetime, count: int = 5) -> list[datetime]:
    """The edition's next ``count`` slots at or after ``now``."""
    return next_fire_times(edition_trigger(edition, zone), now, count)


def edition_window(edition: Edition, slot: datetime, zone: tzinfo, last_end: datetime | None = None) -> Window:
    """The window the issue of ``edition``'s ``slot`` covers (``last_end``: where the edition's last issue ended, for
    a "since-last" window)."""
    return window_for(slot, edition.window, zone, last_end)


def next_fire_times(trigger: CronTrigger, now: datetime, count: int = 5) -> list[datetime]:
    """The next ``count`` fire times at or after ``now``."""
    times: list[datetime] = []
    moment = trigger.get_next_fire_time(None, now)
    while moment is not None and len(times) < count:
        times.append(moment)
        moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
    return times


def latest_slot(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The most recent fire time at or before ``now`` (None if the cron has none in the last 400 days).

    Looks back a little first, then further, so that a cron firing every
    minute costs as little as a weekly one.
    """
    for back in (timedelta(hours=1), timedelta(days=1), timedelta(days=8), timedelta(days=62), LOOKBACK):
        latest = None
        moment = trigger.get_next_fire_time(None, now - back)
        while moment is not None and moment <= now:
            latest = moment
            moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
        if latest is not None:
            return cast(datetime, latest)
    return None


def next_slot(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The first fire time after ``now``: the slot of the coming issue."""
    moment = trigger.get_next_fire_time(None, now + timedelta(microseconds=1))
    return cast(datetime | None, moment)
