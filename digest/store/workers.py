"""Send workers and their claims: several processes sending one issue (PostgreSQL).

A worker registers a row in ``send_workers`` and keeps its heartbeat fresh.
It claims batches of due deliveries with ``SELECT … FOR UPDATE SKIP LOCKED``
(two workers never wait for, nor take, the same rows) by writing its id into
``deliveries.worker``; every later write of the row is conditional on that id
(:class:`~digest.store.ledger.LedgerWriter` with ``worker=``). A worker whose
heartbeat is older than the claim timeout is dead: its claimed rows are free
again, and its ``sending`` rows (in flight when it died) go back to
``pending`` and are sent again under the same Message-ID, which is the
restart rule of a one-process send, per worker. A dead worker that was only
paused finds on waking that its rows carry another id, and stops.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from digest.models import OUTSTANDING_STATES, DeliveryState, SubscriberStatus, WorkerRecord
from digest.store.engine import reads_of
from digest.store.ledger import Due, due_of, select_due
from digest.store.schema import deliveries, now_utc, people, send_workers, subscribers


@dataclass(frozen=True, slots=True, kw_only=True)
class Claimed:
    """A batch of deliveries this worker now holds, and how many of them a dead worker had in flight."""

    due: list[Due]
    reclaimed: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Remaining:
    """What is left of an issue for the workers, to tell whether a worker with nothing claimable should wait."""

    held: int  # pending or in flight, claimed by a worker (perhaps a dead one, reclaimed after the timeout)
    free: int  # pending and claimed by nobody (the next claim takes them)
    next_retry_at: datetime | None  # the earliest deferred delivery


class Workers:
    """Reads and writes of ``send_workers``, and the claims those workers make on ``deliveries``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reads = reads_of(engine)

    def register(self, worker: str, issue_id: str) -> None:
        with self.engine.begin() as conn:
            now = database_now(conn)
            conn.execute(sa.insert(send_workers).values(id=worker, issue_id=issue_id, started_at=now, heartbeat_at=now))

    def beat(self, worker: str) -> bool:
        """Renew the heartbeat; False once the row is stopped or gone (nothing this worker holds is safe)."""
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(send_workers)
                .where(send_workers.c.id == worker, send_workers.c.stopped_at.is_(None))
                .values(heartbeat_at=database_now(conn))
            )
        return bool(result.rowcount)

    def stop(self, worker: str) -> int:
        """The worker leaves: its claimed rows not yet attempted are free again at once. Returns how many."""
        now = now_utc()
        with self.engine.begin() as conn:
            released = conn.execute(
                sa.update(deliveries)
                .where(deliveries.c.worker == worker, deliveries.c.state == DeliveryState.PENDING.value)
                .values(worker=None, updated_at=now)
            ).rowcount
            conn.execute(sa.update(send_workers).where(send_workers.c.id == worker).values(stopped_at=now))
        return int(released or 0)

    def signed_on(self, issue_id: str) -> list[tuple[str, float]]:
        """The workers of ``issue_id`` not signed off, each with its heartbeat's age in seconds (the database's clock)."""
        with self.reads.connect() as conn:
            now = database_now(conn)
            rows = conn.execute(
                sa.select(send_workers.c.id, send_workers.c.heartbeat_at).where(
                    send_workers.c.issue_id == issue_id, send_workers.c.stopped_at.is_(None)
                )
            ).all()
        return [(worker, (now - beat).total_seconds()) for worker, beat in rows]

    def live(self, issue_id: str, timeout: float) -> list[str]:
        """The workers of ``issue_id`` whose heartbeat is younger than ``timeout`` seconds."""
        return [worker for worker, age in self.signed_on(issue_id) if age < timeout]

    def running(self, timeout: float) -> tuple[int, int]:
        """Workers not signed off, of any issue: (alive, silent longer than ``timeout``), for /metrics. A silent
        one counts only while its issue has deliveries waiting or in flight: of a finished issue it holds nothing."""
        unfinished = sa.exists().where(
            deliveries.c.issue_id == send_workers.c.issue_id,
            deliveries.c.state.in_((DeliveryState.PENDING.value, DeliveryState.SENDING.value)),
        )
        with self.reads.connect() as conn:
            cutoff = database_now(conn) - timedelta(seconds=timeout)
            alive, silent = conn.execute(
                sa.select(
                    sa.func.count().filter(send_workers.c.heartbeat_at > cutoff),
                    sa.func.count().filter((send_workers.c.heartbeat_at <= cutoff) & unfinished),
                ).where(send_workers.c.stopped_at.is_(None))
            ).one()
        return int(alive), int(silent)

    def of(self, issue_ids: list[str], timeout: float) -> dict[str, list[WorkerRecord]]:
        """The workers of each issue that had any (one-process sends have none), oldest first."""
        if not issue_ids:
            return {}
        sent = (
            sa.select(deliveries.c.worker, sa.func.count().label("sent"))
            .where(deliveries.c.issue_id.in_(issue_ids), deliveries.c.state == DeliveryState.SENT.value)
            .group_by(deliveries.c.worker)
            .subquery()
        )
        query = (
            sa.select(send_workers, sa.func.coalesce(sent.c.sent, 0))
            .outerjoin(sent, sent.c.worker == send_workers.c.id)
            .where(send_workers.c.issue_id.in_(issue_ids))
            .order_by(send_workers.c.started_at)
        )
        found: dict[str, list[WorkerRecord]] = {}
        with self.reads.connect() as conn:
            now = database_now(conn)
            for row in conn.execute(query).all():
                age = (now - row.heartbeat_at).total_seconds()
                stopped = row.stopped_at is not None
                found.setdefault(row.issue_id, []).append(
                    WorkerRecord(id=row.id, alive=not stopped and age < timeout, heartbeat_age=age, stopped=stopped, sent=int(row[-1]))
                )
        return found

    def claim(self, issue_id: str, worker: str, timeout: float, limit: int) -> Claimed:
        """Up to ``limit`` due deliveries for ``worker``: pending, deferred and due, or left by a dead worker.

        One transaction: the rows are chosen with FOR UPDATE SKIP LOCKED, so a
        row another worker is claiming this instant is passed over, never
        waited for nor taken twice.
        """
        with self.engine.begin() as conn:
            now = database_now(conn)  # the database's clock: every worker, on any host, reads the same one
            live = sa.select(send_workers.c.id).where(_alive(issue_id, now, timeout))
            candidate = deliveries.alias("candidate")  # not correlated with the UPDATE's own table: chosen once, not per row
            unclaimed = candidate.c.worker.is_(None) | candidate.c.worker.not_in(live)
            chosen = (
                sa.select(candidate.c.subscriber_id)
                .join(subscribers, subscribers.c.id == candidate.c.subscriber_id)
                .where(candidate.c.issue_id == issue_id, subscribers.c.status == SubscriberStatus.ACTIVE.value, unclaimed)
                # Implied by the next condition, and said so that the planner walks the index of rows still to send
                # (schema.TO_SEND), not every row of the issue.
                .where(candidate.c.state.in_([state.value for state in OUTSTANDING_STATES]))
                .where(
                    (candidate.c.state == DeliveryState.PENDING.value)
                    # In flight with a dead worker. (In flight with no worker is a dead one-process send's:
                    # the restart rule puts it back under the send lease, never a claim.)
                    | ((candidate.c.state == DeliveryState.SENDING.value) & candidate.c.worker.is_not(None))
                    | ((candidate.c.state == DeliveryState.DEFERRED.value) & (candidate.c.next_attempt_at <= now))
                )
                .order_by(candidate.c.subscriber_id)
                .limit(limit)
                .with_for_update(skip_locked=True, of=candidate)
                # A CTE, evaluated once: as an IN (subquery) the planner may rescan it per row and claim far more than limit.
                .cte("chosen")
                .prefix_with("MATERIALIZED")
            )
            in_flight = deliveries.c.state == DeliveryState.SENDING.value
            resent = "resent: its worker stopped while it was in flight"
            rows = conn.execute(
                sa.update(deliveries)
                .where(
                    deliveries.c.issue_id == issue_id,
                    deliveries.c.subscriber_id == chosen.c.subscriber_id,
                    subscribers.c.id == deliveries.c.subscriber_id,  # what a message needs comes back with the claim
                    people.c.id == subscribers.c.person_id,
                )
                .values(
                    worker=worker,
                    updated_at=now,
                    # In flight when its worker died: it may or may not have arrived, so it is sent again.
                    state=sa.case((in_flight, DeliveryState.PENDING.value), else_=deliveries.c.state),
                    last_reply=sa.case((in_flight, resent), else_=deliveries.c.last_reply),
                )
                .returning(*select_due().selected_columns, deliveries.c.last_reply)
            ).all()
            reclaimed = sum(1 for row in rows if row[-1] == resent)
            return Claimed(due=sorted((due_of(row) for row in rows), key=lambda due: due.subscriber_id), reclaimed=reclaimed)

    def remaining(self, issue_id: str) -> Remaining:
        """Pending, in-flight and deferred deliveries of active subscribers, by whether a worker holds them."""
        active = subscribers.c.status == SubscriberStatus.ACTIVE.value
        waiting = (deliveries.c.state == DeliveryState.PENDING.value) | (deliveries.c.state == DeliveryState.SENDING.value)
        with self.reads.connect() as conn:
            held, free = conn.execute(
                sa.select(
                    sa.func.count().filter(deliveries.c.worker.is_not(None)),
                    sa.func.count().filter(deliveries.c.worker.is_(None)),
                )
                .select_from(deliveries.join(subscribers, subscribers.c.id == deliveries.c.subscriber_id))
                .where(deliveries.c.issue_id == issue_id, active, waiting)
            ).one()
            retry = conn.execute(
                sa.select(sa.func.min(deliveries.c.next_attempt_at))
                .select_from(deliveries.join(subscribers, subscribers.c.id == deliveries.c.subscriber_id))
                .where(deliveries.c.issue_id == issue_id, active, deliveries.c.state == DeliveryState.DEFERRED.value)
            ).scalar()
        return Remaining(held=int(held), free=int(free), next_retry_at=retry if isinstance(retry, datetime) else None)


def database_now(conn: Connection) -> datetime:
    """Now on the database server's clock (UTC): heartbeats and their ages are judged on one clock, so workers on
    hosts whose clocks differ do not take each other for dead. SQLite is on this host: its clock is ours."""
    if conn.dialect.name == "postgresql":
        value = conn.execute(sa.text("SELECT clock_timestamp()")).scalar_one()
        assert isinstance(value, datetime)
        return value.astimezone(UTC)
    return now_utc()


def _alive(issue_id: str, now: datetime, timeout: float) -> sa.ColumnElement[bool]:
    cutoff = now - timedelta(seconds=timeout)
    return (send_workers.c.issue_id == issue_id) & send_workers.c.stopped_at.is_(None) & (send_workers.c.heartbeat_at > cutoff)
