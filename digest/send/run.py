"""One run of a send, shared by the one-process send and the workers: the queue, one sender thread per
connection, the breaker, and what each reply does to the reader's row.

The protocol it keeps is drawn in :mod:`digest.send.delivery`. Each subscriber gets the themes they chose:
the message for their choice comes from :class:`~digest.send.variants.Variants`, and one whose themes have
no posts this time, or who paused their subscription, is skipped with the reason recorded (``no posts in
your themes``, ``paused until …``). A circuit breaker pauses the run after ``delivery.breaker`` consecutive
failures, and a stop request (SIGINT/SIGTERM, via ``stop``) ends it after the messages in flight, the
ledger consistent either way. Every ledger write goes through the run's :class:`Guard`: the send lease,
or a worker's claims.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from digest.config import DeliveryOptions
from digest.mail.backends import Backend, Transport
from digest.mail.backends.base import RateLimiter
from digest.mail.message import CompiledMessage, Envelope
from digest.models import GAVE_UP, WARMUP_HELD, DeliveryState, Progress, Reply, ReplyKind, RunEnd, SendReport
from digest.models.addresses import envelope_form
from digest.models.errors import DeliveryError, PermanentError, RelayError, StoreError, TransientError
from digest.send.outcomes import CONNECTION_SETTINGS, RELAYING_SETTINGS, describe, ours_reason, what_to_check
from digest.send.pacing import THROTTLE_SETTINGS, Pace, Warmup, gives_up, persist
from digest.send.variants import Variants
from digest.store import Due, LedgerWriter, Store, now_utc

log = logging.getLogger(__name__)

BATCH = 500


class Guard(Protocol):
    """What a run's ledger writes depend on: the send lease (a one-process send) or a worker's claims (digest.send.workers)."""

    def check(self) -> None:
        """Raise (a DeliveryError) when this process can no longer be sure its rows are its own: a pause, a lost lease."""

    def writer(self) -> LedgerWriter:
        """A ledger writer whose writes change nothing once the rows are no longer this process's."""


class Run:
    """The shared state of one send: queue, counters, breaker, and the reasons to stop."""

    def __init__(
        self,
        store: Store,
        variants: Variants,
        backend: Backend,
        options: DeliveryOptions,
        stop: threading.Event,
        guard: Guard,
        *,
        queue_size: int = BATCH * 2,
    ) -> None:
        self.store = store
        self.guard = guard
        self.variants = variants
        self.message = variants.full
        self.issue_id = self.message.parts.issue_id
        self.backend = backend
        self.options = options
        self.stop = stop
        self.halt = threading.Event()  # stop, pause or fatal: no new messages
        self.queue: queue.Queue[Due | None] = queue.Queue(maxsize=queue_size)
        self.limiter = RateLimiter(options.rate)
        # The configured pace until a receiver's rate limit slows it (digest.send.pacing); whole again, it is exactly that.
        self.pace = Pace(backend.name, self.limiter, options.rate, backend.parallel, options.throttle, options.retry_base)
        if self.pace.resume(store.pacing.pace(backend.name), now_utc()):
            log.warning(
                "%s: %s was slowed by a receiver when the last send ended (%s): starting at %s",
                self.issue_id,
                backend.name,
                self.pace.reason,
                self.pace,
            )
        self.throttled = 0  # copies deferred because a receiver asked us to slow down
        self.warmup: Warmup | None = None  # [delivery.warmup]: what is left of today's cap (None: no cap)
        self.lock = threading.Lock()
        self.progress = Progress()
        self.consecutive_failures = 0
        self.consecutive_ours = 0  # of those, how many in a row were our relay's (a lost connection)
        self.connected: set[int] = set()  # the sender threads that hold an open connection now, or are opening one
        self.deferred_ids: set[int] = set()  # the recipients this run deferred and has not settled since
        self.paused: str | None = None
        self.ours: str | None = None  # our side failed (the relay, our login or sender): see pause_ours
        self.fatal: str | None = None

    # -- outcomes --------------------------------------------------------------

    def _settled(self, subscriber_id: int) -> None:
        """A recipient this run had deferred is being tried again: it no longer waits (called under the lock)."""
        if subscriber_id in self.deferred_ids:
            self.deferred_ids.discard(subscriber_id)
            self.progress.deferred -= 1

    def _skipped(self, subscriber_id: int) -> None:
        with self.lock:
            self._settled(subscriber_id)
            self.progress.skipped += 1

    def _succeeded(self, subscriber_id: int) -> None:
        with self.lock:
            self._settled(subscriber_id)
            self.progress.sent += 1
            self.consecutive_failures = 0

    def _failed(
        self, subscriber_id: int, reply: Reply, *, deferred: bool, bounced: bool = False, ours: bool = False, throttled: bool = False
    ) -> None:
        with self.lock:
            self._settled(subscriber_id)
            if deferred:
                self.deferred_ids.add(subscriber_id)
                self.progress.deferred += 1
                self.progress.deferrals += 1
                if self.warmup is not None:  # not handed over: it does not count against today's warm-up cap
                    self.warmup.give_back()
            else:
                self.progress.failed += 1
            self.progress.bounced += bounced
            if throttled:  # a receiver asked us to slow down, and we did: no reason to pause the run
                self.throttled += 1
            else:
                self._count_failure(reply, ours=ours)

    def _count_failure(self, reply: Reply, *, ours: bool) -> None:
        """The breaker: ``delivery.breaker`` failures in a row pause the run (called under the lock); when every one
        of them was our relay's (connections lost on it), the run ends as ours (RunEnd.OURS), naming what to check."""
        self.consecutive_failures += 1
        self.consecutive_ours = self.consecutive_ours + 1 if ours else 0
        if self.consecutive_failures < self.options.breaker or self.paused is not None or self.ours is not None:
            return
        last = f"{self.consecutive_failures} consecutive failures; the last: {reply}"
        if self.consecutive_ours == self.consecutive_failures:
            self.ours = ours_reason(f"paused after {last}", CONNECTION_SETTINGS)
        else:
            self.paused = f"paused after {last}"
        self.halt.set()

    def pause_ours(self, why: str, check: str) -> None:
        """Our side failed in a way every copy would meet (no connection to the relay, our TLS, login or envelope
        sender refused, relaying denied): stop now, whatever the list's size, blaming no reader."""
        with self.lock:
            if self.ours is None:
                self.ours = ours_reason(why, check)
        self.halt.set()

    def retire(self, item: Due, problem: TransientError) -> bool:
        """A connection the relay would not open while others of this run are open or opening (a relay that takes
        fewer at once): this sender stops, its reader goes back in the queue for the others; False when no other is
        (the last one to fail then pauses the run)."""
        with self.lock:
            others = len(self.connected - {threading.get_ident()})
        if not others:
            return False
        log.warning(
            "%s: a connection could not be opened (%s) while %d of this run's are open or opening: going on with "
            "those (if the relay takes fewer at once, lower delivery.connections to its limit)",
            self.issue_id,
            problem.reply,
            others,
        )
        self.queue.put(item)
        return True

    def halt_with(self, reason: str) -> None:
        with self.lock:
            if self.fatal is None:
                self.fatal = reason
        self.halt.set()

    # -- one worker per connection ----------------------------------------------

    def sender(self, on_progress: Callable[[Progress], None] | None, slot: int = 0) -> None:
        transport: Transport | None = None
        on_this_connection = 0
        ledger = self.guard.writer()
        try:
            while True:
                if slot >= self.pace.connections:  # a receiver's rate limit took this connection away for now
                    if transport is not None:
                        transport.close()
                        transport = None
                        self._holds(connection=False)
                    self._flush(ledger)
                    self.pace.wait_for_room(slot, self.halt)
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
                    view, message = self.variants.reader(item.themes, item.paused_until, item.covered_until)
                    if message is None:
                        why = view.kind.words.recorded_for(item.paused_until)
                        ledger.mark_skipped(self.issue_id, item.subscriber_id, why)
                        self._skipped(item.subscriber_id)
                        continue
                    if self.limiter.interval:
                        ledger.flush()  # a paced send waits between messages: no 250 waits with it
                    self.limiter.wait(self.stop)
                    if transport is None:
                        self._holds(connection=True)  # opening counts: connections started together see each other
                        transport = self.backend.open()
                        on_this_connection = 0
                        if self.halt.is_set() or self.stop.is_set():
                            continue  # a stop came while it opened: this reader stays pending for the next run
                    if self.warmup is not None and not self.warmup.spend():
                        continue  # today's warm-up cap is reached: the row stays as it is, for the next day
                    transport = self.deliver(transport, item, ledger, message)
                    on_this_connection += 1
                    if transport is not None and on_this_connection >= self.options.max_per_connection:
                        transport.close()
                        transport = None
                    if transport is None:
                        self._holds(connection=False)
                except TransientError as exc:  # could not connect: nothing was sent, the row is as it was
                    transport = None
                    self._holds(connection=False)
                    assert item is not None
                    if self.retire(item, exc):
                        return
                    self.pause_ours(str(exc.reply), CONNECTION_SETTINGS)
                except RelayError as exc:  # our TLS or login: nothing was sent, the row stays as it was
                    self.pause_ours(str(exc), exc.check)
                except (DeliveryError, StoreError) as exc:
                    self.halt_with(str(exc))
                except Exception as exc:  # a bug: stop cleanly; the restart rule covers a 'sending' row
                    log.exception("unexpected error while sending %s", self.issue_id)
                    self.halt_with(f"unexpected error: {exc!r}")
                finally:
                    self.queue.task_done()
                    if on_progress is not None and item is not None:
                        on_progress(self.progress)
        finally:
            if transport is not None:
                transport.close()
            self._holds(connection=False)
            self._flush(ledger)
            ledger.close()

    def _holds(self, *, connection: bool) -> None:
        with self.lock:
            (self.connected.add if connection else self.connected.discard)(threading.get_ident())

    def _flush(self, ledger: LedgerWriter) -> None:
        """Commit a waiting ``sent``; a failure halts the run instead of killing the worker (the queue would never drain)."""
        try:
            ledger.flush()
        except Exception as exc:  # the row stays 'sending': the restart rule sends it again
            log.exception("could not write the ledger for %s", self.issue_id)
            self.halt_with(f"could not write the ledger: {exc!r}")

    def deliver(self, transport: Transport, item: Due, ledger: LedgerWriter, message: CompiledMessage) -> Transport | None:
        """Send one message through ``transport``; returns the transport, or None if it must be reopened."""
        attempted = False
        epoch = self.pace.epoch  # a rate limit answering this copy slows the pace only if no other did since it left

        def before_data() -> None:
            nonlocal attempted
            self.guard.check()  # a run paused past its lease sends nothing more (the fenced write below stops it too)
            ledger.mark_sending(self.issue_id, item.subscriber_id)
            attempted = True
            self.guard.check()  # a pause between the commit and DATA: at most this one message is repeated

        try:
            address = envelope_form(item.email)
            envelope = Envelope(
                sender=message.envelope_sender_for(item.subscriber_id),
                recipient=address,
                issue_id=self.issue_id,
                label=address,
                dot_safe=True,
            )
            data = message.render(item.subscriber_id, address, item.name, item.link_salt)
            reply = transport.send(envelope, data, before_data)
        except (UnicodeError, ValueError) as exc:
            # This reader's address or name cannot be put on the wire: their row fails, never the run.
            # The conversation may have stopped half-way (after MAIL FROM, say): a fresh connection next.
            ledger.mark_failed(self.issue_id, item.subscriber_id, f"cannot be sent to this address: {exc}")
            self._failed(item.subscriber_id, Reply(553, f"5.1.3 {exc}"), deferred=False)
            transport.close()
            return None
        except TransientError as exc:
            if exc.at_connect:  # reconnecting inside the send: the row goes back, the sender decides (retire or pause)
                self.release(item, exc, ledger, attempted=attempted)
                transport.close()
                raise
            if exc.stops_the_run or exc.reply.refuses_relaying:  # every copy would meet it: the run pauses
                if exc.message_sent:  # the relay may have this copy: counted, so copies stay bounded by max_attempts
                    self.defer(item, exc, ledger, attempted=attempted)
                else:
                    self.release(item, exc, ledger, attempted=attempted)
                self.pause_ours(*what_to_check(exc))
            elif exc.reply.kind is ReplyKind.THROTTLE and not exc.message_sent:
                self.slow_down(item, exc, ledger, attempted=attempted, epoch=epoch)
            else:
                self.defer(item, exc, ledger, attempted=attempted)
            if exc.connection_lost:
                transport.close()
                return None
            return transport
        except RelayError as exc:  # a reconnect inside the send met our TLS or login: the row goes back as it was
            self.release(item, exc, ledger, attempted=attempted)
            self.pause_ours(str(exc), exc.check)
            transport.close()
            return None
        except PermanentError as exc:
            if exc.reply.refuses_relaying:  # our setup, said of whatever address came first: the row goes back
                self.release(item, exc, ledger, attempted=attempted)
                self.pause_ours(f"relaying refused: {exc.reply}", RELAYING_SETTINGS)
                return transport
            # After the message their RCPT had been accepted: only an explicit 5.1.x there says the address is gone.
            bounce = exc.reply.is_bounce and not (exc.after_data and exc.reply.enhanced is None)
            # The refused try counts as defer's do: one by one, a refusal at RCPT came before mark_sending counted it.
            extra = 0 if attempted else 1
            ledger.mark_failed(self.issue_id, item.subscriber_id, describe(exc.reply, bounce), bounce=bounce, extra=extra)
            self._failed(item.subscriber_id, exc.reply, deferred=False, bounced=bounce)
            return transport
        ledger.mark_sent(self.issue_id, item.subscriber_id, str(reply))
        self._succeeded(item.subscriber_id)
        if self.pace.share < 1.0:
            self.pace.accepted()
        return transport

    def slow_down(self, item: Due, problem: TransientError, ledger: LedgerWriter, *, attempted: bool, epoch: int) -> None:
        """A receiver's rate limit answered this copy: the pace slows (digest.send.pacing) and the copy waits the time
        the server asked, or the backoff; the attempt is taken back and the breaker does not count it: it is nobody's
        failure, and the run goes on, slower."""
        wait = self.pace.slowed(problem.reply, epoch, self.progress.sent / max(time.monotonic() - self.progress.started, 1e-3))
        log.warning("%s: %s; retried in %.3g s, %s slowed to %s", self.issue_id, problem.reply, wait, self.pace.relay, str(self.pace))
        ledger.mark_deferred(
            self.issue_id, item.subscriber_id, problem.why, now_utc() + timedelta(seconds=wait), extra=-1 if attempted else 0
        )
        self._failed(item.subscriber_id, problem.reply, deferred=True, ours=True, throttled=True)
        if why := gives_up(self.pace, self.options.throttle, lambda: self.store.ledger.last_sent_at(self.issue_id), now_utc()):
            self.pause_ours(why, THROTTLE_SETTINGS)  # never clearing: stopped as ours, the copies queued for a later run

    def defer(self, item: Due, problem: TransientError, ledger: LedgerWriter, *, attempted: bool) -> None:
        """Retry later. A reader's own trouble (a 4xx to their RCPT or their message) counts as a try, one that
        never reached mark_sending too (``attempted`` says whether it counted already), and gives up after
        max_attempts. Our relay's trouble (:attr:`TransientError.ours`: a lost connection, a 421, a garbled reply)
        is retried after ``retry_base`` with the attempt taken back, so no reader ever fails or bounces by it; the
        breaker counts both."""
        if problem.ours and not problem.message_sent:
            retry_at = now_utc() + timedelta(seconds=self.options.retry_base)
            ledger.mark_deferred(self.issue_id, item.subscriber_id, problem.why, retry_at, extra=-1 if attempted else 0)
            self._failed(item.subscriber_id, problem.reply, deferred=True, ours=True)
            return
        # A reader's own trouble, or ours once the message was written (the relay may have it: each such try is
        # counted, so a relay that keeps the copies and loses its replies gets at most max_attempts of them).
        extra = 0 if attempted else 1
        attempts = item.attempts + 1
        if attempts >= self.options.max_attempts:
            ledger.mark_failed(self.issue_id, item.subscriber_id, f"{GAVE_UP} {attempts} attempts; last: {problem.why}", extra=extra)
            self._failed(item.subscriber_id, problem.reply, deferred=False, ours=problem.ours)
            return
        delay = self.options.retry_base * (2 ** max(attempts - 1, 0))
        ledger.mark_deferred(self.issue_id, item.subscriber_id, problem.why, now_utc() + timedelta(seconds=delay), extra=extra)
        self._failed(item.subscriber_id, problem.reply, deferred=True, ours=problem.ours)

    def release(self, item: Due, problem: DeliveryError, ledger: LedgerWriter, *, attempted: bool) -> None:
        """The run pauses for our side's failure: this reader's row goes back to pending as it was before the try
        (the attempt mark_sending counted taken back); a row never marked sending is as it was already."""
        if self.warmup is not None:  # not handed over: it does not count against today's warm-up cap
            self.warmup.give_back()
        if attempted:
            why = problem.why if isinstance(problem, TransientError) else str(problem)
            ledger.mark_released(self.issue_id, item.subscriber_id, f"not sent: {why}", extra=-1)

    # -- the run as a whole --------------------------------------------------------

    def drive(self, feed: Callable[[], None], watch: Callable[[], str | None], on_progress: Callable[[Progress], None] | None) -> None:
        """Start one thread per connection, run ``feed`` (which queues the work and waits for it), then stop them.

        ``watch`` is asked twice a second for a reason to halt (a lost lease, a
        stopped heartbeat): another process may be sending these rows now.
        """
        counts = self.store.ledger.status([self.issue_id])[0].counts
        self.progress.total = counts[DeliveryState.PENDING] + counts[DeliveryState.DEFERRED] + counts[DeliveryState.SENDING]

        def watcher() -> None:
            # Waits on halt: the end of the run (halt is always set) wakes it at once.
            while not self.halt.wait(0.5) and not self.stop.is_set():
                persist(self.store, self.pace, self.warmup)
                if (reason := watch()) is not None:
                    self.halt_with(reason)
                    return

        workers = [
            threading.Thread(target=self.sender, args=(on_progress, n), name=f"send-{n}", daemon=True)
            for n in range(max(1, self.backend.parallel))
        ]
        watching = threading.Thread(target=watcher, name="send-watch", daemon=True)
        for thread in (*workers, watching):
            thread.start()
        try:
            feed()
        finally:
            self.halt.set()
            for _ in workers:
                self.queue.put(None)
            for thread in workers:
                thread.join()
            watching.join()
            persist(self.store, self.pace, self.warmup, final=True)

    def wait_for(self, when: datetime, deadline: float, on_progress: Callable[[Progress], None] | None) -> bool:
        """Wait until ``when`` (a retry comes due), saying so; False when that is past ``deadline`` (monotonic) or a stop came."""
        wait = max(0.0, (when - now_utc()).total_seconds())
        if self.done_for_today:
            return False
        if time.monotonic() + wait > deadline:
            log.info("%s: the next retry is due at %s, past delivery.max_wait; leaving it for the next run", self.issue_id, when)
            return False
        log.info("%s: waiting %.0f s for %d deferred delivery(ies) to come due at %s", self.issue_id, wait, self.progress.deferred, when)
        self.progress.waiting_until = when
        if on_progress is not None:
            on_progress(self.progress)
        try:
            return not self.stop.wait(wait)
        finally:
            self.progress.waiting_until = None

    def put(self, item: Due) -> bool:
        """Queue ``item`` for a connection; False when the run halts first."""
        while not self.halt.is_set() and not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def report(self, *, enqueued: int, recovered: int, skipped: int) -> SendReport:
        counts = self.store.ledger.status([self.issue_id])[0].counts
        left = counts[DeliveryState.PENDING] + counts[DeliveryState.SENDING] + counts[DeliveryState.DEFERRED]
        if self.fatal is not None:
            end, reason = RunEnd.FATAL, self.fatal
        elif self.ours is not None:
            end, reason = RunEnd.OURS, self.ours
        elif self.paused is not None:
            end, reason = RunEnd.PAUSED, self.paused
        elif self.stop.is_set() and left:
            end, reason = RunEnd.STOPPED, None
        elif self.warmup is not None and self.warmup.held and left:
            end, reason = RunEnd.DEFERRED, f"{self.warmup.day}: {WARMUP_HELD}; {left} copies wait for the next day's run"
        else:
            end, reason = (RunEnd.DEFERRED if left else RunEnd.COMPLETE), None
        return SendReport(
            issue_id=self.issue_id,
            counts=counts,
            enqueued=enqueued,
            recovered=recovered,
            skipped=skipped + self.progress.skipped,
            variants=self.variants.compiled,
            sent=self.progress.sent,
            deferred=self.progress.deferrals,
            failed=self.progress.failed,
            bounced=self.progress.bounced,
            end=end,
            reason=reason,
            throttled=self.throttled,
            pace=self.pace.snapshot() if self.pace.slowdowns or self.pace.resumed else None,
            warmup=self.warmup.day if self.warmup is not None else None,
            held=left if self.warmup is not None and self.warmup.held else 0,
        )

    # -- the producer ------------------------------------------------------------

    @property
    def done_for_today(self) -> bool:
        """The warm-up's cap for today is reached: nothing more to queue or wait for."""
        return self.warmup is not None and self.warmup.held > 0

    def feed_due(self) -> None:
        """Queue every delivery due now, in batches (the list is never loaded whole)."""
        after = 0
        while not self.halt.is_set() and not self.stop.is_set() and not self.done_for_today:
            batch = self.store.ledger.due(self.issue_id, now_utc(), after, BATCH)
            if not batch:
                return
            for item in batch:
                if not self.put(item):
                    return
            after = batch[-1].subscriber_id
