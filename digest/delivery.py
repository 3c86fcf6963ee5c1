"""``send_issue``: every active subscriber gets the issue exactly once, whatever fails on the way.

The ledger protocol, per recipient::

    pending ──RCPT accepted──▶ sending (committed) ──DATA, 250──▶ sent (committed)
                                   │
                                   ├── 4xx or connection lost ──▶ deferred, retried with exponential
                                   │                              backoff; failed after max_attempts
                                   └── 5xx ──▶ failed (5.1.x also marks the subscriber bounced;
                                                        5.7.x is the sender's problem: no bounce)

**Restart rule.** A run holds the issue's send lease while it works (renewed
every 15 s, expiring after 60 s: ``delivery.lease_seconds``; a holder on the
same host whose process is gone is taken over at once). Its ledger writes
are fenced (:mod:`digest.leases`): a run paused past its lease and woken
after another took over changes no row and stops at its next message. A new run that takes the lease finds any
``sending`` rows left by a dead one and puts them back to ``pending``: the message may or may not have arrived, so
it is sent again. A kill at any instant therefore loses no recipient and
repeats at most the one message in flight on each connection; the
Message-ID of the repeat is the same, so many clients show it once.

Each subscriber gets the themes they chose: the message for their choice
comes from :class:`~digest.mail.variants.Variants`, and one whose themes
have no posts this time, or who paused their subscription, is skipped with
the reason recorded (``no posts in your themes``, ``paused until …``).

A circuit breaker pauses the run after ``delivery.breaker`` consecutive
failures, and a stop request (SIGINT/SIGTERM, via ``stop``) ends it after
the messages in flight, the ledger consistent either way: ``digest send --issue ID``
resumes.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from digest.addresses import envelope_form
from digest.config import DeliveryOptions, Settings
from digest.errors import DeliveryError, StoreError
from digest.leases import Held, hold_lease
from digest.mail.backends import Backend, PermanentError, Reply, TransientError, Transport
from digest.mail.backends.base import RateLimiter
from digest.mail.message import CompiledMessage, Envelope, MessageParts
from digest.mail.variants import Variants
from digest.models import DeliveryState
from digest.store import Due, LedgerWriter, Store, StoredIssue, now_utc
from digest.tokens import ReturnPathSigner, Signer
from digest.views import Layout

log = logging.getLogger(__name__)

BATCH = 500


@dataclass
class Progress:
    """Running counts of one send, for a progress bar or log lines. Updated under a lock."""

    total: int = 0
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    bounced: int = 0
    skipped: int = 0  # by the reader's choice: no posts in their themes, paused
    started: float = field(default_factory=time.monotonic)

    @property
    def done(self) -> int:
        return self.sent + self.deferred + self.failed + self.skipped


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
    paused: str | None = None  # why the circuit breaker stopped the run
    stopped: bool = False  # a stop was requested (signal)
    fatal: str | None = None  # a problem no retry can fix (TLS trust, login)

    @property
    def complete(self) -> bool:
        """Every recipient ended sent, skipped, or failed for good with the reason recorded."""
        return self.counts[DeliveryState.PENDING] == self.counts[DeliveryState.SENDING] == self.counts[DeliveryState.DEFERRED] == 0


def compile_issue(
    issue: StoredIssue, settings: Settings, *, test: bool = False, date: datetime | None = None, mark: str = "[TEST]"
) -> CompiledMessage:
    """The issue's message, compiled once, ready to be filled in per recipient."""
    if not settings.secret_key and not test:
        raise DeliveryError("DIGEST_SECRET_KEY is not set: it signs the unsubscribe links (set it in the environment or .env)")
    parts = MessageParts(
        issue_id=issue.id,
        subject=issue.subject,
        html=issue.html,
        text=issue.text,
        sender=settings.sender,
        list_id=settings.list_id,
        list_name=settings.name,
        base_url=settings.base_url,
        unsubscribe_mailto=settings.delivery.unsubscribe_mailto or None,
        bounce_address=settings.bounces.address or None,
        unsubscribe_address=settings.bounces.unsubscribe_address or None,
        date=date or now_utc(),
    )
    signer = Signer(settings.secret_key, settings.list_id) if settings.secret_key else None
    return_paths = ReturnPathSigner(settings.secret_key, settings.list_id) if settings.secret_key and settings.bounces.address else None
    return CompiledMessage(parts, signer, test=test, mark=mark, dkim=settings.dkim, return_paths=return_paths)


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


class _Run:
    """The shared state of one send: queue, counters, breaker, and the reasons to stop."""

    def __init__(
        self, store: Store, variants: Variants, backend: Backend, options: DeliveryOptions, stop: threading.Event, lease: Held, today: str
    ) -> None:
        self.store = store
        self.lease = lease
        self.variants = variants
        self.message = variants.full
        self.issue_id = self.message.parts.issue_id
        self.today = today
        self.backend = backend
        self.options = options
        self.stop = stop
        self.halt = threading.Event()  # stop, pause or fatal: no new messages
        self.queue: queue.Queue[Due | None] = queue.Queue(maxsize=BATCH * 2)
        self.limiter = RateLimiter(options.rate)
        self.lock = threading.Lock()
        self.progress = Progress()
        self.consecutive_failures = 0
        self.paused: str | None = None
        self.fatal: str | None = None

    # -- outcomes --------------------------------------------------------------

    def _skipped(self) -> None:
        with self.lock:
            self.progress.skipped += 1

    def _succeeded(self) -> None:
        with self.lock:
            self.progress.sent += 1
            self.consecutive_failures = 0

    def _failed(self, reply: Reply, *, deferred: bool, bounced: bool = False) -> None:
        with self.lock:
            if deferred:
                self.progress.deferred += 1
            else:
                self.progress.failed += 1
            self.progress.bounced += bounced
            self.consecutive_failures += 1
            if self.consecutive_failures >= self.options.breaker and self.paused is None:
                self.paused = f"paused after {self.consecutive_failures} consecutive failures; the last: {reply}"
                self.halt.set()

    def _fatal(self, reason: str) -> None:
        with self.lock:
            if self.fatal is None:
                self.fatal = reason
        self.halt.set()

    # -- one worker per connection ----------------------------------------------

    def worker(self, on_progress: Callable[[Progress], None] | None) -> None:
        transport: Transport | None = None
        on_this_connection = 0
        ledger = self.store.ledger.writer((self.lease.name, self.lease.fence))
        try:
            while True:
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    self._flush(ledger)  # nothing to do for now: the last 250 goes in the ledger before the wait
                    item = self.queue.get()
                try:
                    if item is None:
                        return
                    if self.halt.is_set() or self.stop.is_set():
                        continue  # drain: the row stays pending for the next run
                    message = self.variants.message_for(item.themes)
                    if message is None or (item.paused_until is not None and item.paused_until > self.today):
                        why = "no posts in your themes" if message is None else f"paused until {item.paused_until}"
                        ledger.mark_skipped(self.issue_id, item.subscriber_id, why)
                        self._skipped()
                        continue
                    if self.limiter.interval:
                        ledger.flush()  # a paced send waits between messages: no 250 waits with it
                    self.limiter.wait(self.stop)
                    if transport is None:
                        transport = self.backend.open()
                        on_this_connection = 0
                    transport = self.deliver(transport, item, ledger, message)
                    on_this_connection += 1
                    if transport is not None and on_this_connection >= self.options.max_per_connection:
                        transport.close()
                        transport = None
                except TransientError as exc:  # could not connect: nothing was sent
                    assert item is not None
                    self.defer(item, exc.reply, ledger, attempted=False)
                except (DeliveryError, StoreError) as exc:
                    self._fatal(str(exc))
                except Exception as exc:  # a bug: stop cleanly; the restart rule covers a 'sending' row
                    log.exception("unexpected error while sending %s", self.issue_id)
                    self._fatal(f"unexpected error: {exc!r}")
                finally:
                    self.queue.task_done()
                    if on_progress is not None and item is not None:
                        on_progress(self.progress)
        finally:
            if transport is not None:
                transport.close()
            self._flush(ledger)
            ledger.close()

    def _flush(self, ledger: LedgerWriter) -> None:
        """Commit a waiting ``sent``; a failure halts the run instead of killing the worker (the queue would never drain)."""
        try:
            ledger.flush()
        except Exception as exc:  # the row stays 'sending': the restart rule sends it again
            log.exception("could not write the ledger for %s", self.issue_id)
            self._fatal(f"could not write the ledger: {exc!r}")

    def deliver(self, transport: Transport, item: Due, ledger: LedgerWriter, message: CompiledMessage) -> Transport | None:
        """Send one message through ``transport``; returns the transport, or None if it must be reopened."""
        attempted = False

        def before_data() -> None:
            nonlocal attempted
            self.lease.check()  # a run paused past its lease sends nothing more (the fenced write below stops it too)
            ledger.mark_sending(self.issue_id, item.subscriber_id)
            attempted = True
            self.lease.check()  # a pause between the commit and DATA: at most this one message is repeated

        try:
            address = envelope_form(item.email)
            envelope = Envelope(
                sender=message.envelope_sender_for(item.subscriber_id),
                recipient=address,
                issue_id=self.issue_id,
                label=address,
                dot_safe=True,
            )
            data = message.render(item.subscriber_id, address, item.name)
            reply = transport.send(envelope, data, before_data)
        except (UnicodeError, ValueError) as exc:
            # This reader's address or name cannot be put on the wire: their row fails, never the run.
            # The conversation may have stopped half-way (after MAIL FROM, say): a fresh connection next.
            ledger.mark_failed(self.issue_id, item.subscriber_id, f"cannot be sent to this address: {exc}")
            self._failed(Reply(553, f"5.1.3 {exc}"), deferred=False)
            transport.close()
            return None
        except TransientError as exc:
            self.defer(item, exc.reply, ledger, attempted=attempted)
            if exc.connection_lost:
                transport.close()
                return None
            return transport
        except PermanentError as exc:
            bounce = exc.reply.is_bounce
            ledger.mark_failed(self.issue_id, item.subscriber_id, _describe(exc.reply), bounce=bounce)
            self._failed(exc.reply, deferred=False, bounced=bounce)
            return transport
        ledger.mark_sent(self.issue_id, item.subscriber_id, str(reply))
        self._succeeded()
        return transport

    def defer(self, item: Due, reply: Reply, ledger: LedgerWriter, *, attempted: bool) -> None:
        """Retry later, or give up after max_attempts. Every try counts, one that never reached DATA too
        (a refused connection): ``attempted`` says whether mark_sending counted it already."""
        extra = 0 if attempted else 1
        attempts = item.attempts + 1
        if attempts >= self.options.max_attempts:
            ledger.mark_failed(self.issue_id, item.subscriber_id, f"gave up after {attempts} attempts; last: {reply}", extra=extra)
            self._failed(reply, deferred=False)
            return
        delay = self.options.retry_base * (2 ** max(attempts - 1, 0))
        ledger.mark_deferred(self.issue_id, item.subscriber_id, str(reply), now_utc() + timedelta(seconds=delay), extra=extra)
        self._failed(reply, deferred=True)

    # -- the producer ------------------------------------------------------------

    def feed_due(self) -> None:
        """Queue every delivery due now, in batches (the list is never loaded whole)."""
        after = 0
        while not self.halt.is_set() and not self.stop.is_set():
            batch = self.store.ledger.due(self.issue_id, now_utc(), after, BATCH)
            if not batch:
                return
            for item in batch:
                while not self.halt.is_set() and not self.stop.is_set():
                    try:
                        self.queue.put(item, timeout=0.2)
                        break
                    except queue.Full:
                        continue
            after = batch[-1].subscriber_id


def _describe(reply: Reply) -> str:
    if reply.is_sender_problem:
        return f"{reply} (refused by policy: a sender-side problem, the address was not bounced)"
    if reply.is_bounce:
        return f"{reply} (address rejected: subscriber marked bounced)"
    return str(reply)


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

    ``layout`` (the frozen issue's, :class:`digest.views.Layout`) gives each
    reader the themes they chose; without it everyone gets ``message``.
    ``today`` (the newsletter's day, for pauses) defaults to UTC's.

    Takes the issue's send lease (raises LeaseHeldError if a live run has it),
    resolves a dead run's ``sending`` rows by the restart rule, queues new
    subscribers, and sends with ``backend.parallel`` connections. Deferred
    deliveries are retried in the same run while they come due within
    ``options.max_wait`` seconds. Returns the report; never raises for a
    recipient's failure.
    """
    stop = stop or threading.Event()
    issue_id = message.parts.issue_id
    lost = threading.Event()
    with hold_lease(store, f"send:{issue_id}", lost, f"a send of {issue_id}", ttl=options.lease_seconds) as lease:
        recovered = store.ledger.recover_sending(issue_id)
        if recovered:
            log.warning("%s: %d delivery(ies) were in flight when a previous run stopped; sending them again", issue_id, recovered)
        skipped = store.ledger.skip_inactive(issue_id)
        enqueued = store.ledger.enqueue(issue_id)
        variants = Variants(message, layout)
        run = _Run(store, variants, backend, options, stop, lease, (today or now_utc().date()).isoformat())
        counts = store.ledger.status([issue_id])[0].counts
        run.progress.total = counts[DeliveryState.PENDING] + counts[DeliveryState.DEFERRED]

        # A lost lease means another run may be sending: halt as if stopped.
        def watch_lease() -> None:
            # Waits on halt, not on lost: the end of the run (halt is always set) wakes it at once,
            # where a wait on lost kept every send open for up to half a second more.
            while not run.halt.wait(0.5) and not stop.is_set():
                if lost.is_set():
                    run._fatal("the send lease was lost to another run")
                    return

        workers = [
            threading.Thread(target=run.worker, args=(on_progress,), name=f"send-{n}", daemon=True) for n in range(max(1, backend.parallel))
        ]
        watcher = threading.Thread(target=watch_lease, name="lease-watch", daemon=True)
        for thread in (*workers, watcher):
            thread.start()
        deadline = time.monotonic() + options.max_wait
        try:
            while True:
                run.feed_due()
                run.queue.join()
                if run.halt.is_set() or stop.is_set():
                    break
                next_at = store.ledger.next_retry_at(issue_id)
                if next_at is None:
                    break
                wait = max(0.0, (next_at - now_utc()).total_seconds())
                if time.monotonic() + wait > deadline:
                    log.info("%s: the next retry is due at %s, past delivery.max_wait; leaving it for the next run", issue_id, next_at)
                    break
                if stop.wait(wait):
                    break
        finally:
            run.halt.set()
            for _ in workers:
                run.queue.put(None)
            for thread in workers:
                thread.join()
            watcher.join()
        final = store.ledger.status([issue_id])[0].counts
    return SendReport(
        issue_id=issue_id,
        counts=final,
        enqueued=enqueued,
        recovered=recovered,
        skipped=skipped + run.progress.skipped,
        variants=variants.compiled,
        sent=run.progress.sent,
        deferred=run.progress.deferred,
        failed=run.progress.failed,
        bounced=run.progress.bounced,
        paused=run.paused,
        stopped=stop.is_set(),
        fatal=run.fatal,
    )
