"""Several senders on one issue: ``digest send --worker`` on any number of hosts (PostgreSQL).

A one-process send holds the issue's send lease for its whole run. A worker
holds it only for a moment, to join: under the lease it puts back the rows a
dead one-process send left in flight, skips readers who left, queues new
ones, and registers itself in ``send_workers``. From then on it works by
claims (:mod:`digest.store.workers`): it takes batches of due deliveries with
``FOR UPDATE SKIP LOCKED``, sends them on ``delivery.connections``
connections, and keeps a heartbeat. Every ledger write is conditional on the
row still being claimed by this worker.

A worker killed at any instant leaves at most one message in flight per
connection; after ``delivery.claim_timeout`` without its heartbeat (at once,
for a worker joining on the same host, which sees the process is gone),
another worker claims its rows and sends those again under the same Message-ID.
Nobody is lost, and the duplicates are bounded by kills × connections, as
with one process. A worker paused past the timeout (SIGSTOP, a suspended VM)
checks its heartbeat's age before and after each ``sending`` commit, and its
writes change nothing once its rows were claimed by another: it stops.

A worker leaves when nothing is left that it could ever take: no free rows,
no rows held by other workers (alive, or dead and soon reclaimed), no retry
due within ``delivery.max_wait``. So a worker started after the send is
complete sends nothing. The lease keeps the two kinds apart: a one-process
send refuses while workers are alive, and a worker refuses to join a
one-process send (the lease stays taken for longer than a join takes).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from digest.config import DeliveryOptions
from digest.mail.backends import Backend
from digest.mail.message import CompiledMessage
from digest.models import Layout, Progress, SendReport
from digest.models.errors import LeaseHeldError, LeaseLostError, SoloSendRunningError, WorkersNeedPostgresError
from digest.send.leases import TRUSTED_PART, boot_clock, hold_lease, holder_is_dead, lease_owner
from digest.send.pacing import Warmup
from digest.send.run import Run
from digest.send.variants import Variants
from digest.store import LedgerWriter, Store, now_utc

log = logging.getLogger(__name__)

JOIN_WAIT = 15.0  # seconds a worker retries the send lease: another worker holds it only for a moment


@dataclass
class Heartbeat:
    """This worker's claim on its rows: alive while its heartbeat is fresh. The run's :class:`~digest.send.run.Guard`."""

    store: Store
    worker: str
    timeout: float
    confirmed: float  # boot_clock() at the last heartbeat written
    lost: bool = False

    def check(self) -> None:
        age = boot_clock() - self.confirmed
        if self.lost or age >= self.timeout * TRUSTED_PART:
            raise LeaseLostError(
                f"this worker's heartbeat was last written {age:.0f} s ago (delivery.claim_timeout is {self.timeout:g} s): "
                "its rows may have gone to another worker; stopping"
            )

    def writer(self) -> LedgerWriter:
        return self.store.ledger.writer(worker=self.worker)

    def beat_until(self, done: threading.Event) -> None:
        """Write the heartbeat every quarter of the timeout until ``done``."""
        while not done.wait(self.timeout / 4):
            try:
                alive = self.store.workers.beat(self.worker)
            except Exception as exc:  # the database is away: the check above stops sending before the claims expire
                log.warning("could not write the heartbeat of %s: %s", self.worker, exc)
                continue
            if not alive:
                self.lost = True
                return
            self.confirmed = boot_clock()


# Rows claimed at a time, per connection: each claim is a synchronous transaction (it must be: two workers may never
# hold one row), so a larger batch pays for fewer of them; a smaller one leaves less for the others to wait on when
# a worker dies (its unsent claims go to them after delivery.claim_timeout) and evens out the last rows. Measured
# (one worker, 2 connections, 3,000 messages, six interleaved runs each): 8 a connection, median 445 msg/s; 32, 570.
# Again once the ledger took one statement a message and SMTP was pipelined (4,000 messages, interleaved pairs):
# 32, 1,526 and 1,487 msg/s; 96, 1,699 and 1,643. The run's queue holds one claim, so the next is taken while it is sent.
CLAIM_PER_CONNECTION = 96


def claim_size(connections: int, rate: float) -> int:
    """Rows a worker claims at a time. Paced by ``delivery.rate``, no more than about a second's worth: rows claimed
    ahead wait in this worker's queue, and a worker that joins later finds none of them to share."""
    size = CLAIM_PER_CONNECTION * connections
    return max(connections, min(size, math.ceil(rate))) if rate > 0 else size


def work_on_issue(
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
    """Send the issue as one of several workers; returns this worker's report (the counts are the whole issue's)."""
    if store.is_sqlite:
        raise WorkersNeedPostgresError
    stop = stop or threading.Event()
    issue_id = message.parts.issue_id
    worker = lease_owner()
    recovered, skipped, enqueued = _join(store, issue_id, worker, options, stop)
    heartbeat = Heartbeat(store, worker, options.claim_timeout, boot_clock())
    done = threading.Event()
    beating = threading.Thread(target=heartbeat.beat_until, args=(done,), name="heartbeat", daemon=True)
    beating.start()
    connections = max(1, backend.parallel)
    batch = claim_size(connections, options.rate)
    run = Run(store, Variants(message, layout, today), backend, options, stop, heartbeat, queue_size=batch)
    run.warmup = Warmup.start(store, options.warmup, today or now_utc().date())  # one cap for all: claimed from the store
    reclaimed = 0

    def watch() -> str | None:
        return "this worker's heartbeat row was stopped or removed" if heartbeat.lost else None

    def feed() -> None:
        nonlocal reclaimed
        deadline = time.monotonic() + options.max_wait
        while not run.halt.is_set() and not stop.is_set() and not run.done_for_today:
            heartbeat.check()  # a worker woken from a pause claims nothing more
            claimed = store.workers.claim(issue_id, worker, options.claim_timeout, batch)
            if claimed.reclaimed:
                log.warning("%s: %d delivery(ies) were in flight at a worker that stopped; sending them again", issue_id, claimed.reclaimed)
            reclaimed += claimed.reclaimed
            if claimed.due:
                if not all(run.put(item) for item in claimed.due):
                    return
                continue
            run.queue.join()  # this worker's own rows are done before it asks what is left
            retire_dead(store, issue_id, options.claim_timeout, worker)
            left = store.workers.remaining(issue_id)
            if left.held or left.free:  # others at work; a dead one's rows become claimable after the timeout
                stop.wait(min(1.0, options.claim_timeout / 4))
            elif left.next_retry_at is None or not run.wait_for(left.next_retry_at, deadline, on_progress):
                return

    try:
        run.drive(feed, watch, on_progress)
    except LeaseLostError as exc:
        run.halt_with(str(exc))
    finally:
        done.set()
        beating.join()
        try:
            released = store.workers.stop(worker)
        except Exception as exc:  # its claims expire with its heartbeat: the other workers take them
            log.warning("could not sign off %s: %s", worker, exc)
        else:
            if released:
                log.info("%s: %d claimed delivery(ies) handed back for the other workers", issue_id, released)
    return run.report(enqueued=enqueued, recovered=recovered + reclaimed, skipped=skipped)


def retire_dead(store: Store, issue_id: str, timeout: float, me: str | None = None) -> None:
    """Sign off the issue's workers known to be dead: silent past ``timeout``, or of this host with their process gone
    (killed, crashed: taken at once, as a dead lease holder is). Their unsent rows are free for the others at once,
    and they stop counting as silent workers in /metrics."""
    for other, age in store.workers.signed_on(issue_id):
        if other != me and (age >= timeout or holder_is_dead(other)):
            log.warning("%s: worker %s is no longer running; its deliveries go to the others", issue_id, other)
            store.workers.stop(other)


def _join(store: Store, issue_id: str, worker: str, options: DeliveryOptions, stop: threading.Event) -> tuple[int, int, int]:
    """Register ``worker`` under the send lease; returns (recovered, skipped, enqueued) of the set-up."""
    lost = threading.Event()
    deadline = time.monotonic() + JOIN_WAIT
    while True:
        try:
            with hold_lease(store, f"send:{issue_id}", lost, f"a send of {issue_id}", ttl=options.lease_seconds):
                retire_dead(store, issue_id, options.claim_timeout)
                recovered = store.ledger.recover_sending(issue_id, unclaimed_only=True)
                skipped = store.ledger.skip_inactive(issue_id)
                enqueued = store.ledger.enqueue(issue_id)
                store.workers.register(worker, issue_id)
                return recovered, skipped, enqueued
        except LeaseHeldError as exc:
            if time.monotonic() > deadline or stop.wait(0.2):
                raise SoloSendRunningError(issue_id, str(exc)) from exc
