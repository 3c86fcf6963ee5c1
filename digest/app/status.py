"""What an operator asks "how does it stand?": one typed answer that ``digest status``, ``/metrics`` and
``/healthz`` each render in their own form (text and JSON, Prometheus, a load balancer's status).

Everything is read from the database at the moment of asking, so every replica of the web app and every
host answers the same.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from digest.app.bounces import EventKind, Returned
from digest.app.health import source_health
from digest.app.lost_choices import LostChoice, lost_choices
from digest.config import Publication, Scope
from digest.issue.slots import make_trigger, next_fire_times
from digest.models import (
    Delivery,
    DeliveryState,
    IssueStatus,
    RelayPace,
    ScheduleRun,
    SetupReport,
    SourceHealth,
    SubscriberStatus,
    WarmupDay,
    WorkerRecord,
)
from digest.send.pacing import warmup_day
from digest.store import Store

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
    clicks: dict[tuple[str, str], tuple[int, int, int]]  # (issue, theme) → (clicks, scanned, repeated): the latest tracked issues


METRIC_ISSUES = 10  # the issues whose clicks /metrics reports: one label set per issue and theme, so a bounded few


@dataclass(frozen=True, slots=True)
class Health:
    """What /healthz reports: the database answers (at this schema revision), and who runs the schedule."""

    schema: str | None
    scheduler: tuple[str, datetime] | None  # the lease: (owner, expires at)


def health(store: Store) -> Health:
    """Asks the database; raises StoreError (or the driver's own error) when it does not answer."""
    return Health(schema=store.version(), scheduler=store.leases.holder(SCHEDULER_LEASE))


def scheduler_status(newsletter: Publication, store: Store, now: datetime) -> SchedulerStatus:
    runs = store.runs.recent(1)  # the store's edition's runs
    holder = store.leases.holder(SCHEDULER_LEASE)
    live = holder is not None and holder[1] > now
    edition = newsletter.edition(store.edition if any(e.name == store.edition for e in newsletter.editions) else None)
    return SchedulerStatus(
        cron=edition.slot.cron or edition.slot.text,  # the edition's rule: a crontab line, or a day of each month
        timezone=str(newsletter.schedule_zone),
        next_run=next(iter(next_fire_times(make_trigger(newsletter, edition), now, 1)), None),
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
        clicks=store.links.by_theme(METRIC_ISSUES),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueReport:
    """One issue as ``digest status`` shows it: the ledger's counts and problems, what came back, its workers."""

    status: IssueStatus
    returned: Returned
    workers: tuple[WorkerRecord, ...]
    waiting: tuple[tuple[Delivery, str], ...]  # who has not got it yet, by address (only when asked for)

    @property
    def issue_id(self) -> str:
        return self.status.issue_id

    @property
    def left(self) -> int:
        """Deliveries not done: pending, in flight or deferred."""
        c = self.status.counts
        return c[DeliveryState.PENDING] + c[DeliveryState.SENDING] + c[DeliveryState.DEFERRED]


@dataclass(frozen=True, slots=True, kw_only=True)
class Status:
    """What ``digest status`` shows, read once: the schedule, the list, and each issue."""

    scheduler: SchedulerStatus
    subscribers: dict[SubscriberStatus, int]
    issues: tuple[IssueReport, ...]
    emails: dict[int, str]  # the addresses of the subscribers in the issues' problems
    lost: tuple[LostChoice, ...] = ()  # theme keys readers chose that no theme has any more
    sources: tuple[SourceHealth, ...] = ()  # the sources failing or stale (digest.app.health), with why
    setup: SetupReport | None = None  # what `digest doctor` (or the scheduler's daily run) found last
    paces: tuple[RelayPace, ...] = ()  # each relay's pace as the last send left it: slowed by a receiver, and why
    warmup: WarmupDay | None = None  # [delivery.warmup] on: the ramp's day today, its cap, what was sent
    edition: str = ""  # the edition whose issues and runs these are
    others: tuple[tuple[str, int], ...] = ()  # the newsletter's other editions, each with its stored issues


def status(settings: Scope, store: Store, now: datetime, issue_ids: tuple[str, ...] = (), *, pending: bool = False) -> Status:
    """The status of the stored issues (or of ``issue_ids``); ``pending`` adds who is waiting for each."""
    found = store.ledger.status(list(issue_ids) or None)
    events = store.events.by_issue()
    workers = store.workers.of([item.issue_id for item in found], settings.install.delivery.claim_timeout)
    issues = tuple(
        IssueReport(
            status=item,
            returned=returned_of(item, events.get(item.issue_id, Counter())),
            workers=tuple(workers.get(item.issue_id, [])),
            waiting=tuple(store.ledger.waiting(item.issue_id)) if pending else (),
        )
        for item in found
    )
    return Status(
        scheduler=scheduler_status(settings.newsletter, store, now),
        subscribers=store.subscribers.counts(),
        issues=issues,
        emails=store.subscribers.emails_of([d.subscriber_id for item in found for d in item.problems]),
        lost=lost_choices(settings, store),
        sources=tuple(item for item in source_health(settings.newsletter.sources, store, now) if item.worrying),
        setup=store.checks.latest(),
        paces=tuple(store.pacing.paces()),
        warmup=warmup_now(settings, store, now),
        edition=store.edition,
        others=tuple(
            (edition.name, len(store.of_edition(edition.name).issues.summaries()))
            for edition in settings.newsletter.editions
            if edition.name != store.edition
        ),
    )


def warmup_now(settings: Scope, store: Store, now: datetime) -> WarmupDay | None:
    """Where the warm-up stands on the newsletter's day of ``now`` (None: off)."""
    options = settings.install.delivery.warmup
    if not options.enabled:
        return None
    today = now.astimezone(settings.newsletter.timezone).date()
    first, sent = store.pacing.warmup(today)
    return warmup_day(options, today, first, sent)


def returned_of(item: IssueStatus, events: Counter[str]) -> Returned:
    """What came back of one issue, against what was attempted."""
    c = item.counts
    return Returned(
        attempted=c[DeliveryState.SENT] + c[DeliveryState.FAILED],
        rejected=c[DeliveryState.FAILED] - item.not_theirs,  # a failure that was not the address's is no sign of a bad list
        hard=events[EventKind.HARD.value],
        complaints=events[EventKind.COMPLAINT.value],
        unsubscribed_by_mail=events[EventKind.UNSUBSCRIBE.value],
    )
