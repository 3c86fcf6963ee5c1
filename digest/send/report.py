"""What a send reports: its running counts as it goes (:class:`Progress`), and how it ended (:class:`SendReport`).

Values of their own, so the one-process send (:mod:`digest.send.delivery`), the workers
(:mod:`digest.send.workers`) and the run they share (:mod:`digest.send.run`) all speak them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from digest.models import DeliveryState, RunEnd


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

    @property
    def complete(self) -> bool:
        """Every recipient ended sent, skipped, or failed for good with the reason recorded (whoever sent them:
        a run stopped by a problem can find the issue finished by another)."""
        return self.counts[DeliveryState.PENDING] == self.counts[DeliveryState.SENDING] == self.counts[DeliveryState.DEFERRED] == 0
