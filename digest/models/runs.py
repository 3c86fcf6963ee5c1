"""A send run and a scheduled slot: how a run went and ended, its workers, and what became of a slot."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from digest.models.delivery import DeliveryState


class RunEnd(StrEnum):
    """How one send run ended (``SendReport.end``); the ledger says what is left either way."""

    COMPLETE = "complete"  # every recipient ended sent, skipped, or failed for good with the reason recorded
    DEFERRED = "deferred"  # some recipients were deferred past the run's wait: the next run retries them
    STOPPED = "stopped"  # a stop was asked for (a signal, the scheduler stopping): the next run resumes
    PAUSED = "paused"  # the circuit breaker stopped it after consecutive failures (reason: the last reply)
    # Our side failed (the relay cannot be reached or garbles its replies, refuses our TLS, login or envelope sender):
    # no reader blamed, every reader not sent still pending; the next run resumes (reason: what, and the settings to check).
    OURS = "ours"
    FATAL = "fatal"  # the run could not go on: the ledger could not be written, an unexpected error (reason: what)


@dataclass
class Progress:
    """Running counts of one send, by recipient (never by attempt), for a progress bar or log lines. Updated under a lock.

    ``done`` counts the recipients this run settled (sent, failed, skipped), so it never passes ``total``;
    ``deferred`` is how many wait for a retry now (a retried one leaves it). While the run waits for a retry to
    come due, ``waiting_until`` says until when.
    """

    total: int = 0
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    bounced: int = 0
    skipped: int = 0  # by the reader's choice: no posts in your themes, paused
    deferrals: int = 0  # every deferral of this run (a recipient deferred twice counts twice): the report's figure
    started: float = field(default_factory=time.monotonic)
    waiting_until: datetime | None = None

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.skipped


@dataclass(frozen=True, slots=True, kw_only=True)
class SendReport:
    issue_id: str
    counts: dict[DeliveryState, int]  # the ledger's final state counts for the issue
    enqueued: int
    recovered: int
    skipped: int  # left the list after being queued, or skipped by their choice (themes, pause)
    sent: int
    deferred: int
    failed: int
    bounced: int
    variants: int = 0  # theme views compiled for the readers who chose some themes
    end: RunEnd = RunEnd.COMPLETE  # how the run ended
    reason: str | None = None  # PAUSED: the breaker's last reply; FATAL: what no retry can fix
    throttled: int = 0  # of the deferrals, those a receiver's rate limit asked for (never counted against a reader)
    pace: RelayPace | None = None  # the relay's pace at the end, when a receiver slowed it during the run
    warmup: WarmupDay | None = None  # the warm-up's day, when one is on
    held: int = 0  # copies left for the next day: the warm-up's cap for today was reached (not failed, not tried)

    @property
    def complete(self) -> bool:
        """Every recipient ended sent, skipped, or failed for good with the reason recorded (whoever sent them:
        a run stopped by a problem can find the issue finished by another)."""
        return self.counts[DeliveryState.PENDING] == self.counts[DeliveryState.SENDING] == self.counts[DeliveryState.DEFERRED] == 0


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerRecord:
    """One worker of an issue, for ``digest status``: whether it is alive, and what it sent."""

    id: str
    alive: bool
    heartbeat_age: float  # seconds since its last heartbeat, on the database's clock
    stopped: bool
    sent: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RelayPace:
    """How fast digest sends through a relay now, and why (``digest status``): the configured pace, unless a
    receiver's rate limit slowed it (:mod:`digest.send.pacing`); it climbs back to the configured pace, never above."""

    relay: str
    rate: float  # messages per second now, over all connections; 0: no limit (as configured)
    connections: int
    configured_rate: float  # delivery.rate (0: no limit)
    configured_connections: int  # delivery.connections
    throttled: bool  # below the configured pace now
    share: float  # of the configured pace (1.0: all of it)
    reason: str | None  # the last reply that slowed it (kept once recovered, to say what happened)
    since: datetime | None  # when that reply came
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class WarmupDay:
    """Where a new sending domain or address stands on the warm-up's ramp ([delivery.warmup]): a daily cap that grows."""

    day: int  # the ramp's day, 1 on the first day anything was sent under it
    days: int  # the ramp's length: from the day after it, no cap
    cap: int | None  # copies allowed this day; None: past the ramp
    sent: int  # copies sent this day so far

    @property
    def left(self) -> int | None:
        return None if self.cap is None else max(0, self.cap - self.sent)

    def __str__(self) -> str:
        if self.cap is None:
            return f"warm-up over (day {self.day}, the ramp is {self.days} days): no daily cap"
        return f"warm-up day {self.day} of {self.days}: {self.sent} of today's {self.cap} copies sent"


# The words a run's reason has when the warm-up's cap for the day held copies back: the scheduler keeps such a slot
# waiting past its grace period, and its retry tick sends the rest on the next day (digest.app.scheduling).
WARMUP_HELD = "today's cap reached"


class SlotState(StrEnum):
    """What became of one scheduled slot."""

    RUNNING = "running"
    SENT = "sent"
    PARTIAL = "partial"  # some recipients deferred, or the run was stopped: resumed within grace
    SKIPPED = "skipped"  # fewer posts than schedule.min_posts
    MISSED = "missed"  # never run within the grace period
    FAILED = "failed"  # refused (checks, overlap) or an error
    ABANDONED = "abandoned"  # partial and past the grace period: left for an operator
    NOT_APPROVED = "not-approved"  # schedule.approval = "required" and no valid approval at the slot: the editors were told
    # Our side failed (the relay down, our login refused: RunEnd.OURS), every reader still pending: `digest schedule`
    # tries the slot again at each retry tick while within its grace period, then records it failed for that reason.
    WAITING = "waiting"


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleRun:
    slot: datetime
    issue_id: str | None
    state: SlotState
    reason: str | None
    started_at: datetime
    finished_at: datetime | None
