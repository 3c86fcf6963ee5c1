"""``send_issue``: every active subscriber gets the issue exactly once, whatever fails on the way.

The ledger protocol, per recipient::

    pending ──RCPT accepted──▶ sending (committed) ──DATA, 250──▶ sent (committed)
                                   │
                                   ├── 4xx or connection lost ──▶ deferred, retried with exponential
                                   │                              backoff; failed after max_attempts
                                   └── 5xx ──▶ failed (5.1.x also marks the subscriber bounced;
                                                        5.7.x is the sender's problem: no bounce)

MAIL FROM refused, even with a 5xx, is digest's own address refused: deferred like a 4xx, never failed
or bounced (``TransientError.at_sender``).

With a server that offers PIPELINING, ``sending`` is committed while MAIL,
RCPT and DATA, written at once, are on their way; a recipient refused then
goes from ``sending`` to failed or deferred. Either way the commit comes before
any byte of the message (:mod:`digest.mail.backends.smtp`).

**Restart rule.** A run holds the issue's send lease while it works (renewed
every 15 s, expiring after 60 s: ``delivery.lease_seconds``; a holder on the
same host whose process is gone is taken over at once). Its ledger writes
are fenced (:mod:`digest.send.leases`): a run paused past its lease and woken
after another took over changes no row and stops at its next message. A new run that takes the lease finds any
``sending`` rows left by a dead one and puts them back to ``pending``: the message may or may not have arrived, so
it is sent again. A kill at any instant therefore loses no recipient and
repeats at most the one message in flight on each connection; the
Message-ID of the repeat is the same, so many clients show it once.

The run itself (the queue, the connections, the breaker, each reply's effect on the row) is
:mod:`digest.send.run`, shared with the workers (:mod:`digest.send.workers`); what it counts and reports
are values of :mod:`digest.models` (Progress, SendReport). Here: the one-process send under the issue's lease, and the message compiled
once per issue (and its test copy). A stopped or paused run resumes with ``digest send --issue ID``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from digest.config import DeliveryOptions, Scope
from digest.mail.backends import Backend
from digest.mail.message import CompiledMessage, Envelope, MessageParts
from digest.models import Layout, Progress, Reply, SendReport, StoredIssue
from digest.models.errors import WorkersAtWorkError
from digest.models.tokens import ReturnPathSigner, Signer
from digest.send.leases import Held, hold_lease, holder_is_dead
from digest.send.pacing import Warmup
from digest.send.run import Run
from digest.send.variants import Variants
from digest.store import LedgerWriter, Store, now_utc

log = logging.getLogger(__name__)

KEY_USE_LINKS = "it signs the unsubscribe links"  # what the secret key is for here, in refusals


def compile_issue(
    issue: StoredIssue, settings: Scope, *, test: bool = False, date: datetime | None = None, mark: str = "[TEST]"
) -> CompiledMessage:
    """The issue's message, compiled once, ready to be filled in per recipient."""
    if not test:
        settings.install.require_secret(KEY_USE_LINKS)
    parts = MessageParts(
        issue_id=issue.id,
        subject=issue.subject,
        html=issue.html,
        text=issue.text,
        sender=settings.newsletter.sender,
        list_id=settings.newsletter.list_id,
        list_name=settings.newsletter.name,
        base_url=settings.base_url,
        unsubscribe_mailto=settings.install.delivery.unsubscribe_mailto or None,
        bounce_address=settings.install.bounces.address or None,
        unsubscribe_address=settings.install.bounces.unsubscribe_address or None,
        date=date or now_utc(),
    )
    signer = Signer(settings.install.secret_key, settings.newsletter.list_id) if settings.install.secret_key else None
    return_paths = (
        ReturnPathSigner(settings.install.secret_key, settings.newsletter.list_id)
        if settings.install.secret_key and settings.install.bounces.address
        else None
    )
    return CompiledMessage(parts, signer, test=test, mark=mark, dkim=settings.newsletter.dkim, return_paths=return_paths)


def send_test(message: CompiledMessage, backend: Backend, address: str) -> Reply:
    """One copy to ``address``, marked [TEST], through the configured backend; not in the ledger."""
    transport = backend.open()
    try:
        envelope = Envelope(
            sender=message.envelope_sender, recipient=address, issue_id=message.parts.issue_id, label=f"test-{address}", dot_safe=True
        )
        return transport.send(envelope, message.render(0, address), lambda: None)
    finally:
        transport.close()


@dataclass(frozen=True, slots=True)
class _LeaseGuard:
    store: Store
    held: Held

    def check(self) -> None:
        self.held.check()

    def writer(self) -> LedgerWriter:
        return self.store.ledger.writer((self.held.name, self.held.fence))


def send_issue(
    store: Store,
    message: CompiledMessage,
    backend: Backend,
    options: DeliveryOptions,
    *,
    stop: threading.Event | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    layout: Layout | None = None,
    today: date | None = None,
) -> SendReport:
    """Send the issue to every active subscriber who does not have it yet, through the ledger.

    ``layout`` (the frozen issue's, :class:`digest.models.Layout`) gives each
    reader the themes they chose; without it everyone gets ``message``.
    ``today`` (the newsletter's day, for pauses) defaults to UTC's.

    Takes the issue's send lease (raises LeaseHeldError if a live run has it,
    WorkersAtWorkError if send workers are at work on the issue), resolves a dead run's
    ``sending`` rows by the restart rule, queues new subscribers, and sends
    with ``backend.parallel`` connections. Deferred deliveries are retried in
    the same run while they come due within ``options.max_wait`` seconds.
    Returns the report; never raises for a recipient's failure.
    """
    stop = stop or threading.Event()
    issue_id = message.parts.issue_id
    lost = threading.Event()
    with hold_lease(store, f"send:{issue_id}", lost, f"a send of {issue_id}", ttl=options.lease_seconds) as lease:
        # Workers (digest.send.workers) hold claims, not this lease: while any is alive, a one-process send
        # would resend their rows in flight. It joins them instead.
        working = [] if store.is_sqlite else store.workers.live(issue_id, options.claim_timeout)
        if working := [worker for worker in working if not holder_is_dead(worker)]:
            raise WorkersAtWorkError(issue_id, working)
        recovered = store.ledger.recover_sending(issue_id)
        if recovered:
            log.warning("%s: %d delivery(ies) were in flight when a previous run stopped; sending them again", issue_id, recovered)
        skipped = store.ledger.skip_inactive(issue_id)
        enqueued = store.ledger.enqueue(issue_id)
        run = Run(store, Variants(message, layout, today), backend, options, stop, _LeaseGuard(store, lease))
        run.warmup = Warmup.start(store, options.warmup, today or now_utc().date())

        def watch() -> str | None:
            return "the send lease was lost to another run" if lost.is_set() else None

        def feed() -> None:
            deadline = time.monotonic() + options.max_wait
            while True:
                run.feed_due()
                run.queue.join()
                if run.halt.is_set() or stop.is_set():
                    return
                next_at = store.ledger.next_retry_at(issue_id)
                if next_at is None or not run.wait_for(next_at, deadline, on_progress):
                    return

        run.drive(feed, watch, on_progress)
    return run.report(enqueued=enqueued, recovered=recovered, skipped=skipped)
