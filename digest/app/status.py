"""What an operator asks "how does it stand?": one typed answer that ``digest status``, ``/metrics`` and
``/healthz`` each render in their own form (text and JSON, Prometheus, a load balancer's status).

Everything is read from the database at the moment of asking, so every replica of the web app and every
host answers the same.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from digest.config import Settings
from digest.issue.slots import make_trigger, next_fire_times
from digest.models import DeliveryState, SubscriberStatus
from digest.store import ScheduleRun, Store

SCHEDULER_LEASE = "scheduler"  # the lease `digest schedule` holds while it runs


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulerStatus:
    """The schedule as configured and as running: its next slot, its last run, who holds its lease until when."""

    cron: str
    timezone: str
    next_run: datetime | None
    last_run: ScheduleRun | None
    lease_owner: str | None  # host:pid:nonce of the running scheduler; None when none runs
    lease_expires_at: datetime | None

    @property
    def running(self) -> bool:
        return self.lease_owner is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class Overview:
    """Totals over every issue: what /metrics reports."""

    deliveries: dict[DeliveryState, int]
    subscribers: dict[SubscriberStatus, int]
    returned: dict[str, int]  # bounces, complaints, mailed unsubscribes read, by kind (digest.mail.bounces.EventKind)
    last_run: ScheduleRun | None
    workers_alive: int
    workers_silent: int  # silent past delivery.claim_timeout while their issue has deliveries left
    scheduler: tuple[str, datetime] | None  # the lease: (owner, expires at)


@dataclass(frozen=True, slots=True)
class Health:
    """What /healthz reports: the database answers (at this schema revision), and who runs the schedule."""

    schema: str | None
    scheduler: tuple[str, datetime] | None  # the lease: (owner, expires at)


def health(store: Store) -> Health:
    """Asks the database; raises StoreError (or the driver's own error) when it does not answer."""
    return Health(schema=store.version(), scheduler=store.leases.holder(SCHEDULER_LEASE))


def scheduler_status(settings: Settings, store: Store, now: datetime) -> SchedulerStatus:
    runs = store.runs.recent(1)
    holder = store.leases.holder(SCHEDULER_LEASE)
    live = holder is not None and holder[1] > now
    return SchedulerStatus(
        cron=settings.schedule.cron,
        timezone=str(settings.schedule_zone),
        next_run=next(iter(next_fire_times(make_trigger(settings), now, 1)), None),
        last_run=runs[0] if runs else None,
        lease_owner=holder[0] if live and holder else None,
        lease_expires_at=holder[1] if live and holder else None,
    )


def overview(store: Store, claim_timeout: float) -> Overview:
    returned: Counter[str] = Counter()
    for counts in store.events.by_issue().values():
        returned.update(counts)
    runs = store.runs.recent(1)
    alive, silent = store.workers.running(claim_timeout)
    return Overview(
        deliveries=store.ledger.totals(),
        subscribers=store.subscribers.counts(),
        returned=dict(sorted(returned.items())),
        last_run=runs[0] if runs else None,
        workers_alive=alive,
        workers_silent=silent,
        scheduler=store.leases.holder(SCHEDULER_LEASE),
    )
