"""Schedule slots: the fire times of the configured cron, which name the issues.

An issue's window ends at a slot (``window_for(slot, …)``), so the issue of
a slot is the same whoever builds it and whenever: the scheduler on time,
the scheduler late, or an operator's ``digest send``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from apscheduler.triggers.cron import CronTrigger

from digest.config import Publication

LOOKBACK = timedelta(days=400)  # far enough back for a yearly cron


def make_trigger(newsletter: Publication) -> CronTrigger:
    return CronTrigger.from_crontab(newsletter.schedule.cron, timezone=newsletter.schedule_zone)


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
