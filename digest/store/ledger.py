"""The delivery ledger: one row per (issue, subscriber), the heart of exactly-once sending.

See :mod:`digest.send.delivery` for the protocol (pending → sending → sent, with
deferred and failed on the way). This module owns the rows: queueing,
the restart rule, what is due, the counts that ``status`` and a send's plan
report, and a per-worker writer (:class:`digest.store.writer.LedgerWriter`) for each sender.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digest.models import (
    GAVE_UP,
    OUTSTANDING_STATES,
    SENDER_SIDE,
    Delivery,
    DeliveryState,
    EventType,
    IssueStatus,
    Outstanding,
    SubscriberStatus,
)
from digest.store.engine import reads_of
from digest.store.issues import DEFAULT_EDITION, EditionScope, facts_of_stored
from digest.store.outbox import emit
from digest.store.people import JOINED, stored_day, theme_choice
from digest.store.schema import UTCDateTime, deliveries, from_row, issues, now_utc, people, subscribers
from digest.store.writer import Fence, LedgerWriter

# A failed delivery that may be sent again: its cause was not the reader's address (models.GAVE_UP, SENDER_SIDE).
RETRIABLE = (deliveries.c.state == DeliveryState.FAILED.value) & (
    deliveries.c.last_reply.startswith(GAVE_UP, autoescape=True) | deliveries.c.last_reply.contains(SENDER_SIDE, autoescape=True)
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Due:
    """A delivery to attempt now, with what the message needs of its subscriber."""

    subscriber_id: int
    email: str
    name: str | None
    attempts: int
    themes: frozenset[str] | None = None  # the themes the subscriber chose (None: every theme)
    paused_until: date | None = None  # no issue before this day
    link_salt: str | None = None  # in the MAC of their links (digest.models.tokens)
    covered_until: datetime | None = None  # what their last delivered issue covered: their copy leaves out what came before


class Ledger:
    """Reads and writes of the ``deliveries`` table: keyed by issue id (unique across newsletters); a send mails the
    subscribers of its issue's newsletter, and what lists every issue lists ``newsletter``'s (a slug)."""

    def __init__(self, engine: Engine, newsletter: str, edition: EditionScope | None = None) -> None:
        self.engine = engine
        self.newsletter = newsletter
        self.edition = edition or EditionScope(DEFAULT_EDITION, DEFAULT_EDITION)
        self.reads = reads_of(engine)  # transactions that only read take no write lock

    def has_started(self, issue_id: str) -> bool:
        """Whether any delivery of the issue has been attempted (anything beyond pending)."""
        return self._any(issue_id, deliveries.c.state != DeliveryState.PENDING)

    def is_queued(self, issue_id: str) -> bool:
        """Whether a send of the issue has begun: any delivery of it is in the ledger, in any state."""
        return self._any(issue_id)

    def _any(self, issue_id: str, *where: Any) -> bool:
        with self.reads.connect() as conn:
            found = conn.execute(sa.select(deliveries.c.subscriber_id).where(deliveries.c.issue_id == issue_id, *where).limit(1)).first()
        return found is not None

    def outstanding(self, issue_id: str) -> Outstanding:
        """What a send of ``issue_id`` would do now, counted the way the send itself selects rows.

        Only active subscribers are mailed: a queued delivery of someone who
        has since left is skipped by the send, so it is not counted here.
        """
        active = subscribers.c.status == SubscriberStatus.ACTIVE
        with self.reads.connect() as conn:
            new = conn.execute(
                sa.select(sa.func.count())
                .select_from(subscribers)
                .where(
                    active,
                    readers_of(issue_id, self.newsletter, self.edition),
                    ~sa.exists().where(deliveries.c.issue_id == issue_id, deliveries.c.subscriber_id == subscribers.c.id),
                )
            ).scalar_one()
            by_state = dict.fromkeys(DeliveryState, 0)
            rows = conn.execute(
                sa.select(deliveries.c.state, sa.func.count())
                .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
                .where(deliveries.c.issue_id == issue_id, active)
                .group_by(deliveries.c.state)
            ).all()
            for state, count in rows:
                by_state[DeliveryState(state)] = int(count)
            retriable = conn.execute(
                sa.select(sa.func.count())
                .select_from(deliveries.join(subscribers, subscribers.c.id == deliveries.c.subscriber_id))
                .where(deliveries.c.issue_id == issue_id, active, RETRIABLE)
            ).scalar_one()
        return Outstanding(
            new=int(new),
            pending=by_state[DeliveryState.PENDING] + by_state[DeliveryState.SENDING],
            deferred=by_state[DeliveryState.DEFERRED],
            done={state: by_state[state] for state in (DeliveryState.SENT, DeliveryState.FAILED, DeliveryState.SKIPPED)},
            retriable=int(retriable),
        )

    def retry_failed(self, issue_id: str) -> int:
        """Put back to pending, with their attempts reset, the issue's failed deliveries whose cause was not the
        reader's address (models.GAVE_UP, SENDER_SIDE) for subscribers still active; how many."""
        active = sa.select(subscribers.c.id).where(subscribers.c.status == SubscriberStatus.ACTIVE)
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(deliveries)
                .where(deliveries.c.issue_id == issue_id, RETRIABLE, deliveries.c.subscriber_id.in_(active))
                .values(
                    state=DeliveryState.PENDING.value,
                    attempts=0,
                    last_reply=sa.literal("retried on request; before: ") + deliveries.c.last_reply,
                    next_attempt_at=None,
                    worker=None,
                    updated_at=now_utc(),
                )
            )
        return int(result.rowcount or 0)

    def choices(self, issue_id: str) -> list[tuple[frozenset[str] | None, date | None, datetime | None, int]]:
        """(theme choice, pause end, where their copy is cut, how many) over the subscribers a send of ``issue_id``
        would mail now: what the send's workers will decide from (:func:`select_due`'s columns)."""
        cut = self._cut_from(issue_id)
        query = (
            sa.select(subscribers.c.themes, subscribers.c.paused_until, cut, sa.func.count())
            .where(self._would_mail(issue_id))
            .group_by(subscribers.c.themes, subscribers.c.paused_until, cut)
        )
        with self.reads.connect() as conn:
            return [(theme_choice(row[0]), stored_day(row[1]), row[2], int(row[3])) for row in conn.execute(query).all()]

    def would_mail(self, issue_id: str) -> list[tuple[str, frozenset[str] | None, date | None, datetime | None]]:
        """(address, theme choice, pause end, where their copy is cut) of each subscriber a send of ``issue_id`` would
        mail now, by address: what ``send --dry-run --recipients`` lists."""
        query = (
            sa.select(people.c.email, subscribers.c.themes, subscribers.c.paused_until, self._cut_from(issue_id))
            .select_from(JOINED)
            .where(self._would_mail(issue_id))
            .order_by(people.c.email_key)
        )
        with self.reads.connect() as conn:
            return [(str(row[0]), theme_choice(row[1]), stored_day(row[2]), row[3]) for row in conn.execute(query).all()]

    def _cut_from(self, issue_id: str) -> sa.ColumnElement[datetime | None]:
        """Where a send of ``issue_id`` cuts a subscriber's copy, as the send decides it (:data:`_CUT_FROM`); for an
        issue not stored yet (a plan before the freeze), an issue of the ledger's edition."""
        stored = sa.select(issues.c.edition).where(issues.c.id == issue_id).scalar_subquery()
        return cut_from(sa.func.coalesce(stored, self.edition.name))

    def _would_mail(self, issue_id: str) -> Any:
        """Active subscribers of the issue's newsletter with no delivery of ``issue_id`` yet, or one not done."""
        delivery = sa.select(deliveries.c.state).where(deliveries.c.issue_id == issue_id, deliveries.c.subscriber_id == subscribers.c.id)
        waiting = [state.value for state in OUTSTANDING_STATES]
        return (
            (subscribers.c.status == SubscriberStatus.ACTIVE)
            & readers_of(issue_id, self.newsletter, self.edition)
            & sa.or_(~delivery.exists(), delivery.scalar_subquery().in_(waiting))
        )

    def enqueue(self, issue_id: str) -> int:
        """A pending delivery for every active subscriber of the issue's newsletter who has none for this issue yet."""
        now = now_utc()
        missing = (
            sa.select(
                sa.literal(issue_id),
                subscribers.c.id,
                sa.literal(DeliveryState.PENDING.value),
                sa.literal(0),
                sa.literal(now, UTCDateTime),
                sa.literal(now, UTCDateTime),
            )
            .where(subscribers.c.status == SubscriberStatus.ACTIVE, readers_of(issue_id, self.newsletter, self.edition))
            .where(~sa.exists().where(deliveries.c.issue_id == issue_id, deliveries.c.subscriber_id == subscribers.c.id))
        )
        insert = sa.insert(deliveries).from_select(["issue_id", "subscriber_id", "state", "attempts", "created_at", "updated_at"], missing)
        with self.engine.begin() as conn:
            # RETURNING, not rowcount: SQLAlchemy reports -1 for INSERT … SELECT on PostgreSQL.
            return len(conn.execute(insert.returning(deliveries.c.subscriber_id)).all())

    def recover_sending(self, issue_id: str, *, unclaimed_only: bool = False) -> int:
        """The restart rule: a ``sending`` row left by a dead run goes back to ``pending``.

        The message may or may not have reached the server before the crash, so
        it is sent again: a crash repeats at most the message in flight on each
        connection, and never loses one. Call only while holding the issue's
        send lease, so that no live run's in-flight rows are touched;
        ``unclaimed_only`` leaves the rows of send workers alone.
        """
        in_flight = (deliveries.c.issue_id == issue_id) & (deliveries.c.state == DeliveryState.SENDING)
        if unclaimed_only:  # a worker joining: rows claimed by workers are theirs (or reclaimed by a claim)
            in_flight = in_flight & deliveries.c.worker.is_(None)
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(deliveries)
                .where(in_flight)
                .values(
                    state=DeliveryState.PENDING.value,
                    last_reply="resent after an interrupted run (was in flight)",
                    worker=None,
                    updated_at=now_utc(),
                )
            )
        return int(result.rowcount or 0)

    def skip_inactive(self, issue_id: str) -> int:
        """Queued deliveries whose subscriber has since left are skipped, never sent."""
        inactive = sa.select(subscribers.c.id).where(subscribers.c.status != SubscriberStatus.ACTIVE)
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(deliveries)
                .where(
                    deliveries.c.issue_id == issue_id,
                    deliveries.c.state.in_((DeliveryState.PENDING, DeliveryState.DEFERRED)),
                    deliveries.c.subscriber_id.in_(inactive),
                )
                .values(state=DeliveryState.SKIPPED.value, last_reply="subscriber no longer active", updated_at=now_utc())
            )
        return int(result.rowcount or 0)

    def due(self, issue_id: str, at: datetime, after: int = 0, limit: int = 500) -> list[Due]:
        """The next deliveries to attempt: pending, or deferred and due, for active subscribers."""
        query = (
            select_due()
            .where(deliveries.c.issue_id == issue_id, deliveries.c.subscriber_id > after, subscribers.c.status == SubscriberStatus.ACTIVE)
            .where(
                sa.or_(
                    deliveries.c.state == DeliveryState.PENDING,
                    sa.and_(deliveries.c.state == DeliveryState.DEFERRED, deliveries.c.next_attempt_at <= at),
                )
            )
            .order_by(deliveries.c.subscriber_id)
            .limit(limit)
        )
        with self.reads.connect() as conn:
            return [due_of(row) for row in conn.execute(query).all()]

    def next_retry_at(self, issue_id: str) -> datetime | None:
        with self.reads.connect() as conn:
            value = conn.execute(
                sa.select(sa.func.min(deliveries.c.next_attempt_at)).where(
                    deliveries.c.issue_id == issue_id, deliveries.c.state == DeliveryState.DEFERRED
                )
            ).scalar()
        return value if isinstance(value, datetime) else None

    def writer(self, fence: Fence | None = None, *, worker: str | None = None) -> LedgerWriter:
        """A writer for one send connection: its own connection, statements built once.

        With ``fence`` (the send lease's name and the fencing number this run
        got), every write changes nothing once another run has taken the lease;
        with ``worker`` (a send worker's id), once the row is no longer claimed by it.
        """
        return LedgerWriter(self.engine, fence, worker=worker)

    def mark_sending(self, issue_id: str, subscriber_id: int) -> None:
        with self.writer() as writer:
            writer.mark_sending(issue_id, subscriber_id)

    def mark_sent(self, issue_id: str, subscriber_id: int, reply: str) -> None:
        with self.writer() as writer:
            writer.mark_sent(issue_id, subscriber_id, reply)

    def mark_deferred(self, issue_id: str, subscriber_id: int, reply: str, retry_at: datetime) -> None:
        with self.writer() as writer:
            writer.mark_deferred(issue_id, subscriber_id, reply, retry_at)

    def mark_failed(self, issue_id: str, subscriber_id: int, reply: str, *, bounce: bool = False) -> None:
        with self.writer() as writer:
            writer.mark_failed(issue_id, subscriber_id, reply, bounce=bounce)

    def last_sent_at(self, issue_id: str) -> datetime | None:
        """When the relay last accepted a copy of ``issue_id`` (None: never)."""
        with self.reads.connect() as conn:
            found = conn.execute(sa.select(sa.func.max(deliveries.c.sent_at)).where(deliveries.c.issue_id == issue_id)).scalar()
        return found if isinstance(found, datetime) else None

    def of(self, issue_id: str) -> list[Delivery]:
        with self.reads.connect() as conn:
            rows = conn.execute(
                sa.select(deliveries).where(deliveries.c.issue_id == issue_id).order_by(deliveries.c.subscriber_id)
            ).mappings()
            return [delivery_of(row) for row in rows]

    def waiting(self, issue_id: str) -> list[tuple[Delivery, str]]:
        """The deliveries of ``issue_id`` not done yet (pending, sending, deferred), with each address, by address."""
        query = (
            sa.select(deliveries, people.c.email)
            .select_from(deliveries.join(JOINED, subscribers.c.id == deliveries.c.subscriber_id))
            .where(deliveries.c.issue_id == issue_id, deliveries.c.state.in_([s.value for s in OUTSTANDING_STATES]))
            .order_by(people.c.email_key)
        )
        with self.reads.connect() as conn:
            return [(delivery_of(row), str(row["email"])) for row in conn.execute(query).mappings()]

    def totals(self) -> dict[DeliveryState, int]:
        """Deliveries of every issue by state (every state, zero when none), in one query: what /metrics reports."""
        counts = dict.fromkeys(DeliveryState, 0)
        with self.reads.connect() as conn:
            for state, count in conn.execute(sa.select(deliveries.c.state, sa.func.count()).group_by(deliveries.c.state)).all():
                counts[DeliveryState(state)] = int(count)
        return counts

    def finish(self, issue_id: str) -> bool:
        """The send's end in the outbox: when nothing of the issue is left to send, its ``issue.sent`` with the final
        counts, written once whoever asks (each worker of a send, a resumed send finding nothing left); whether it was
        written now. Asked after each run that ends complete, so a crash between the last delivery and this call is
        made good by the next run of the issue."""
        try:
            return self._finish(issue_id)
        except sa.exc.IntegrityError:  # another worker wrote it between our look and our write (PostgreSQL): once it is
            return False

    def _finish(self, issue_id: str) -> bool:
        with self.engine.begin() as conn:
            counts = {
                DeliveryState(state).value: int(count)
                for state, count in conn.execute(
                    sa.select(deliveries.c.state, sa.func.count()).where(deliveries.c.issue_id == issue_id).group_by(deliveries.c.state)
                ).all()
            }
            if not counts or any(counts.get(state.value) for state in OUTSTANDING_STATES):
                return False
            facts = facts_of_stored(conn, issue_id, counts=counts)
            return emit(conn, EventType.ISSUE_SENT, facts, once=f"{EventType.ISSUE_SENT.value}:{issue_id}") is not None

    def status(self, issue_ids: Sequence[str] | None = None) -> list[IssueStatus]:
        """Per issue, newest first: counts by state, and the failed and deferred with their replies."""
        result: list[IssueStatus] = []
        with self.reads.connect() as conn:
            listing = sa.select(issues.c.id, issues.c.subject, issues.c.created_at).order_by(issues.c.window_end.desc())
            if issue_ids is not None:
                listing = listing.where(issues.c.id.in_(list(issue_ids)))
            else:  # every issue: this newsletter's edition's
                listing = listing.where(issues.c.newsletter == self.newsletter, issues.c.edition == self.edition.name)
            for issue_id, subject, created_at in conn.execute(listing).all():
                counts = dict.fromkeys(DeliveryState, 0)
                for state, count in conn.execute(
                    sa.select(deliveries.c.state, sa.func.count()).where(deliveries.c.issue_id == issue_id).group_by(deliveries.c.state)
                ).all():
                    counts[DeliveryState(state)] = int(count)
                not_theirs = conn.execute(
                    sa.select(sa.func.count()).select_from(deliveries).where(deliveries.c.issue_id == issue_id, RETRIABLE)
                ).scalar_one()
                problems = conn.execute(
                    sa.select(deliveries)
                    .where(deliveries.c.issue_id == issue_id, deliveries.c.state.in_((DeliveryState.FAILED, DeliveryState.DEFERRED)))
                    .order_by(deliveries.c.subscriber_id)
                    .limit(100)
                ).mappings()
                result.append(
                    IssueStatus(
                        issue_id=issue_id,
                        subject=subject,
                        created_at=created_at,
                        counts=counts,
                        problems=tuple(delivery_of(row) for row in problems),
                        not_theirs=int(not_theirs),
                    )
                )
        return result


# Where a reader's copy is cut (issue 35): what their last delivered issue covered, when it was of another edition
# (they switched); an issue of the same edition as their last starts where it ended, or overlaps it because an operator
# said so (--allow-overlap): then nothing is cut.
def cut_from(edition: sa.ColumnElement[Any]) -> sa.ColumnElement[datetime | None]:
    """SQL: where the copy of an issue of ``edition`` is cut for a subscriber (None: nothing cut)."""
    return sa.type_coerce(
        sa.case((subscribers.c.covered_edition == edition, sa.null()), else_=subscribers.c.covered_until),
        subscribers.c.covered_until.type,
    )


_ISSUE_EDITION = sa.select(issues.c.edition).where(issues.c.id == deliveries.c.issue_id).correlate(deliveries).scalar_subquery()
_CUT_FROM = cut_from(_ISSUE_EDITION)


def select_due() -> sa.Select[Any]:
    """Deliveries joined with what a message needs of their subscribers; rows for :func:`due_of`."""
    return sa.select(
        deliveries.c.subscriber_id,
        people.c.email,
        people.c.name,
        deliveries.c.attempts,
        subscribers.c.themes,
        subscribers.c.paused_until,
        subscribers.c.link_salt,
        _CUT_FROM,
    ).select_from(deliveries.join(JOINED, subscribers.c.id == deliveries.c.subscriber_id))


def readers_of(issue_id: str, newsletter: str, edition: EditionScope) -> sa.ColumnElement[bool]:
    """SQL: the subscription is on the newsletter and edition of the issue ``issue_id`` (a send mails its own
    newsletter's readers of its edition, a subscription naming none the first's); for an issue not stored yet (a plan
    before the freeze), on ``newsletter`` and ``edition``, the ledger's."""
    stored = sa.select(issues.c.newsletter).where(issues.c.id == issue_id).scalar_subquery()
    stored_edition = sa.select(issues.c.edition).where(issues.c.id == issue_id).scalar_subquery()
    return (subscribers.c.newsletter == sa.func.coalesce(stored, newsletter)) & (
        edition.of_subscription() == sa.func.coalesce(stored_edition, edition.name)
    )


def due_of(row: Any) -> Due:
    return Due(
        subscriber_id=row[0],
        email=row[1],
        name=row[2],
        attempts=row[3],
        themes=theme_choice(row[4]),
        paused_until=stored_day(row[5]),
        link_salt=row[6],
        covered_until=row[7],
    )


def delivery_of(row: Any) -> Delivery:
    return from_row(Delivery, ("issue_id", "subscriber_id", "state", "attempts", "last_reply"), row, state=DeliveryState)
