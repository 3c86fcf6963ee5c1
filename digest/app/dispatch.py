"""A send started from the HTTP API, with the safety of ``digest send``: the same plan (its refusals: an overlap,
error-level checks, a failed source, no key, private links, no postal address), the same approval gate, the slot's
issue or a stored one by id (never a window of the caller's), a dry run that stores nothing, and the ledger's
exactly-once: a second start mails nobody twice, and another process sending the issue holds its lease.

The send itself runs on a thread of this process (an HTTP request does not wait for a list to be mailed); one at a
time here. Its progress is the ledger's, which every process shares, and this process's last run of it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from digest.app.approval import gated
from digest.app.issues import Newsletter, SendPlan, WindowRequest, no_such_issue, of_issue
from digest.config import Scope
from digest.models import DeliveryState, SendReport
from digest.models.errors import DigestError, RefusedError
from digest.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Started:
    plan: SendPlan
    started: bool  # a send began on this process's thread
    note: str  # what happened, in words
    busy: bool = False  # not started: this process is sending an issue already


@dataclass(frozen=True, slots=True, kw_only=True)
class SendState:
    """Where a send of one issue stands: the ledger's counts, and this process's last run of it."""

    issue_id: str
    counts: dict[DeliveryState, int]
    running: bool
    report: SendReport | None
    problem: str | None

    @property
    def complete(self) -> bool:
        c = self.counts
        return sum(c.values()) > 0 and c[DeliveryState.PENDING] == c[DeliveryState.SENDING] == c[DeliveryState.DEFERRED] == 0


class Dispatch:
    """The sends of one process's API: plans, one running send at a time, progress."""

    def __init__(self, settings: Scope, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.running_issue: str | None = None
        self.reports: dict[str, SendReport | None] = {}
        self.problems: dict[str, str] = {}

    def plan(self, issue_id: str | None, now: datetime, by: str) -> SendPlan:
        """The plan of a send of the stored issue ``issue_id`` (None: the latest schedule slot's, as ``digest send``
        with no window): built and compared, gated by approval, nothing stored. Raises RefusedError for an unknown id,
        WindowError for a schedule with no slot."""
        if issue_id is not None:
            newsletter = of_issue(self.settings, self.store, issue_id)  # of its own edition
            if (refusal := no_such_issue(newsletter.store, [issue_id])) is not None:  # another newsletter's is never sent as this one's
                raise RefusedError(refusal)
            plan = newsletter.plan_stored(issue_id, now)
        else:
            newsletter = Newsletter(self.settings, self.store)
            plan = newsletter.plan_send(newsletter.target(WindowRequest(), now), now)
        return gated(newsletter, plan, by=by)

    def start(self, plan: SendPlan, now: datetime) -> Started:
        """Send ``plan`` on a thread of its own (its refusal, if any, raised as RefusedError first)."""
        if plan.refusal is not None:
            raise RefusedError(plan.refusal)
        if plan.outstanding.to_send == 0:
            return Started(plan=plan, started=False, note=f"nothing to send: {plan.why_nothing_to_send()}")
        with self.lock:
            if self.thread is not None and self.thread.is_alive():
                busy = f"a send of {self.running_issue} is under way on this server: wait for it (its progress says when)"
                return Started(plan=plan, started=False, note=busy, busy=True)
            self.running_issue = plan.issue.id
            self.problems.pop(plan.issue.id, None)
            self.thread = threading.Thread(target=self._send, args=(plan, now), name=f"api-send-{plan.issue.id}", daemon=True)
            self.thread.start()
        return Started(plan=plan, started=True, note=f"sending to {plan.outstanding.to_send} subscriber(s)")

    def _send(self, plan: SendPlan, now: datetime) -> None:
        try:
            self.reports[plan.issue.id] = of_issue(self.settings, self.store, plan.issue.id).send(plan, now)
        except DigestError as exc:  # another process holds the lease, the relay cannot be used: said in the progress
            log.error("API send of %s stopped: %s", plan.issue.id, exc)
            self.problems[plan.issue.id] = str(exc)
        except Exception as exc:  # the thread's end is the only place left to say it: logged, and in the progress
            log.exception("API send of %s failed", plan.issue.id)
            self.problems[plan.issue.id] = f"the send failed: {type(exc).__name__}"

    def state(self, issue_id: str) -> SendState | None:
        """Where a send of ``issue_id`` stands; None when no such issue is stored."""
        store = of_issue(self.settings, self.store, issue_id).store  # its edition's
        if no_such_issue(store, [issue_id]) is not None:  # none, or another newsletter's
            return None
        found = store.ledger.status([issue_id])
        counts = found[0].counts if found else dict.fromkeys(DeliveryState, 0)
        running = self.thread is not None and self.thread.is_alive() and self.running_issue == issue_id
        return SendState(
            issue_id=issue_id, counts=counts, running=running, report=self.reports.get(issue_id), problem=self.problems.get(issue_id)
        )
