"""The scheduler's jobs: what APScheduler calls at each fire time and tick.

APScheduler stores a job by a textual reference to a module-level callable
(``digest.cli.jobs:fire``; ``digest.schedule:fire`` before the house's second
pass: ``digest schedule`` stores its jobs again at each start, and removes the
ones it no longer runs by id), so these names stay put; each hands over to the
:class:`~digest.app.scheduling.Scheduler` that ``digest schedule`` registers
with :func:`activate` before it starts.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from digest.app.scheduling import Scheduler

log = logging.getLogger(__name__)
JOB_ID = "weekly-digest"
_active: Scheduler | None = None


def fire() -> None:
    """The weekly job: catch up on the latest slot, which at fire time is this one."""
    if _active is None:
        log.error("fired with no scheduler registered")
        return
    _active.catch_up(datetime.now(UTC))


def draft_tick() -> None:
    """Makes the coming slot's draft when it is due (approval required only)."""
    if _active is not None:
        _active.draft_due(datetime.now(UTC))


def retry_tick() -> None:
    """Tries again a slot our side held up (the relay down), while within its grace period."""
    if _active is not None:
        _active.retry_waiting(datetime.now(UTC))


def bounce_tick() -> None:
    """Reads the bounce mailbox (every bounces.poll_minutes, when IMAP_HOST is set)."""
    if _active is not None:
        _active.fetch_bounces()


def doctor_tick() -> None:
    """Runs the doctor's checks (DNS, the public app, the mailbox) once a day and stores what they found."""
    if _active is not None:
        _active.check_setup(datetime.now(UTC))


def webhooks_tick() -> None:
    """Delivers the webhooks that are due (every minute): the outbox's events, retried with backoff."""
    if _active is not None:
        _active.deliver_webhooks(datetime.now(UTC))


def activate(scheduler: Scheduler | None) -> None:
    global _active
    _active = scheduler
