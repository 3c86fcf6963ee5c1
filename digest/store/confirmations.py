"""A sign-up's confirmation (double opt-in), as the subscriptions' table keeps it: when one awaits, the mail it may
be sent (one per interval), the reader's Confirm, and the sign-ups that lapse unconfirmed. A part of
:class:`digest.store.subscribers.Subscribers`, whose engine and newsletter it reads."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digest.models import EventType, SubscriberStatus
from digest.store.outbox import emit
from digest.store.people import drop_people_without_subscriptions, facts_of, select_subscribers, subscriber_event
from digest.store.schema import deliveries, now_utc, subscribers


class Confirmations:
    """The confirmation of the sign-ups of one newsletter (``mine``: its subscriptions)."""

    engine: Engine
    reads: Engine
    mine: Any  # SQL: the subscriptions of this store's newsletter

    def awaiting_since(self, subscriber_id: int) -> datetime | None:
        """When the sign-up awaiting this subscriber's confirmation was made; None when none awaits.

        A pending row from before v12 has no time: it awaits since ever."""
        with self.reads.connect() as conn:
            row = conn.execute(
                sa.select(subscribers.c.status, subscribers.c.confirming_since).where(subscribers.c.id == subscriber_id)
            ).first()
        if row is None or row[0] == SubscriberStatus.ACTIVE:
            return None
        if row[1] is not None:
            return row[1]  # type: ignore[no-any-return]
        return datetime.min.replace(tzinfo=UTC) if row[0] == SubscriberStatus.PENDING else None

    def claim_confirmation(self, subscriber_id: int, every: timedelta) -> bool:
        """May a confirmation (or "already subscribed") mail go to this subscriber now? At most one per ``every``."""
        now = now_utc()
        with self.engine.begin() as conn:
            claimed = conn.execute(
                sa.update(subscribers)
                .where(
                    subscribers.c.id == subscriber_id,
                    sa.or_(subscribers.c.confirm_sent_at.is_(None), subscribers.c.confirm_sent_at <= now - every),
                )
                .values(confirm_sent_at=now)
            ).rowcount
        return bool(claimed)

    def release_confirmation(self, subscriber_id: int) -> None:
        """The mail :meth:`claim_confirmation` allowed could not go out (our relay was down): the next sign-up may
        send one at once instead of ten minutes later."""
        with self.engine.begin() as conn:
            conn.execute(sa.update(subscribers).where(subscribers.c.id == subscriber_id).values(confirm_sent_at=None))

    def confirm(self, subscriber_id: int) -> bool:
        """The reader clicked Confirm: a pending sign-up, or a returning one, becomes active; False when no
        sign-up of theirs awaited confirmation (nothing changes)."""
        awaiting = (subscribers.c.status == SubscriberStatus.PENDING.value) | (
            subscribers.c.confirming_since.is_not(None) & (subscribers.c.status != SubscriberStatus.ACTIVE.value)
        )
        with self.engine.begin() as conn:
            changed = conn.execute(
                sa.update(subscribers)
                .where(subscribers.c.id == subscriber_id, awaiting)
                .values(
                    status=SubscriberStatus.ACTIVE.value,
                    status_reason="confirmed by the subscriber",
                    confirming_since=None,
                    updated_at=now_utc(),
                )
            ).rowcount
            if changed:
                subscriber_event(conn, EventType.SUBSCRIBER_CONFIRMED, subscriber_id)
        return bool(changed)

    def expire_pending(self, older_than: timedelta) -> int:
        """Sign-ups never confirmed within ``older_than`` lapse.

        A new address that was never proven theirs is forgotten (nothing was
        ever sent to it but the confirmation). Someone who had left keeps the
        status they had, with its reason: only the awaiting sign-up lapses, so
        an opt-out, a complaint or a hard bounce is never lost.
        """
        cutoff = now_utc() - older_than
        since = sa.func.coalesce(subscribers.c.confirming_since, subscribers.c.updated_at)
        stale = self.mine & (subscribers.c.status == SubscriberStatus.PENDING.value) & (since < cutoff)
        mailed = sa.exists().where(deliveries.c.subscriber_id == subscribers.c.id)
        with self.engine.begin() as conn:
            lapsed = conn.execute(select_subscribers().where(stale, ~mailed)).mappings().all()
            for row in lapsed:  # their row goes: the event says so with what it held, the sign-up lapsed
                facts = facts_of(row)
                facts = replace(facts, status=SubscriberStatus.UNSUBSCRIBED, reason="sign-up never confirmed")
                emit(conn, EventType.SUBSCRIBER_UNSUBSCRIBED, facts)
            gone = conn.execute(sa.delete(subscribers).where(stale, ~mailed)).rowcount
            drop_people_without_subscriptions(conn, {int(row["person_id"]) for row in lapsed})
            # A row left pending by an earlier version after someone who had left signed up again: back to having left.
            back = [row[0] for row in conn.execute(sa.select(subscribers.c.id).where(stale, mailed)).all()]
            gone += conn.execute(
                sa.update(subscribers)
                .where(stale, mailed)
                .values(
                    status=SubscriberStatus.UNSUBSCRIBED.value,
                    status_reason="signed up again, never confirmed",
                    confirming_since=None,
                    updated_at=now_utc(),
                )
            ).rowcount
            for subscriber_id in back:
                subscriber_event(conn, EventType.SUBSCRIBER_UNSUBSCRIBED, subscriber_id)
            gone += conn.execute(
                sa.update(subscribers)
                .where(
                    self.mine,
                    subscribers.c.status != SubscriberStatus.PENDING.value,
                    subscribers.c.confirming_since.is_not(None),
                    subscribers.c.confirming_since < cutoff,
                )
                .values(confirming_since=None)
            ).rowcount
        return int(gone or 0)
