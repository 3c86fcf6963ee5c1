"""Sending: a plan carried out through the ledger (the issue frozen as its first delivery is attempted),
and one test copy recorded nowhere."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from digest.app.issues.freeze import Freezing
from digest.app.issues.plan import SendPlan
from digest.mail.backends import Backend, get_backend
from digest.models import Layout, Progress, Reply, RunEnd, SendReport, StoredIssue
from digest.models.errors import RefusedError
from digest.send.delivery import compile_issue, send_issue, send_test

log = logging.getLogger(__name__)


class Sending(Freezing):
    """The use case that sends: the plan's refusal raised, so no caller can skip it."""

    def send(
        self,
        plan: SendPlan,
        now: datetime,
        *,
        backend: Backend | None = None,
        stop: threading.Event | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        worker: bool = False,
    ) -> SendReport | None:
        """Carry out ``plan``: freeze the issue if it is not yet, and send it through the ledger.

        ``worker`` (or ``delivery.workers_may_join``) sends as one of several
        workers on the issue (:mod:`digest.send.workers`, PostgreSQL). Returns None when nobody is left to mail (nothing is frozen then).
        Raises RefusedError with the plan's refusal, so no caller can skip it;
        LeaseHeldError if another run is sending the issue.
        """
        if plan.refusal is not None:
            raise RefusedError(plan.refusal)
        if plan.outstanding.to_send == 0:
            self.store.ledger.finish(plan.issue.id)  # a run that died after its last delivery: its issue.sent now
            return None
        if plan.retry_failed and (retried := self.store.ledger.retry_failed(plan.issue.id)):
            log.info("%s: %d failed delivery(ies) not the readers' fault put back to send again", plan.issue.id, retried)
        if plan.approval is not None and plan.approval.overridden_by:
            log.warning("issue %s sent without approval, as %s asked: %s", plan.issue.id, plan.approval.overridden_by, plan.approval.reason)
        issue = plan.issue
        if plan.rebuild:
            self._replace(issue)
        elif not plan.frozen:
            # Frozen as its first delivery is about to be attempted. Two sends started together may
            # both get here: the copy stored first is the one that goes out.
            issue = self.store.issues.add_once(issue)
        message = compile_issue(issue, self.settings, date=now)
        sender = send_issue
        if worker or self.settings.install.delivery.workers_may_join:
            from digest.send.workers import work_on_issue as sender
        report = sender(
            self.store,
            message,
            backend or get_backend(self.settings.install),
            self.settings.install.delivery,
            stop=stop,
            on_progress=on_progress,
            layout=Layout.load(issue.layout, self.settings.newsletter.key_of),
            today=now.astimezone(self.settings.newsletter.timezone).date(),
        )
        if report.end is RunEnd.COMPLETE:
            self.store.ledger.finish(issue.id)  # its issue.sent, once, whichever run or worker ends it
        return report

    def send_begun(self, wanted: str) -> bool:
        """Whether a send of the issue has begun (its deliveries are in the ledger): what a joining worker waits for."""
        return self.store.ledger.is_queued(wanted)

    def backend(self) -> Backend:
        """Where this configuration's mail goes (delivery.backend, DIGEST_BACKEND)."""
        return get_backend(self.settings.install)

    def send_test(self, issue: StoredIssue, address: str, now: datetime, backend: Backend | None = None) -> Reply:
        """One ``[TEST]`` copy of ``issue`` to ``address``; recorded nowhere."""
        message = compile_issue(issue, self.settings, test=True, date=now)
        return send_test(message, backend or get_backend(self.settings.install), address)
