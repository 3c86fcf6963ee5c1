"""What came back from mailboxes: one row per bounce, complaint or mailed unsubscribe read (``mail_events``)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digest.models import ReviewState
from digest.store.engine import reads_of
from digest.store.schema import mail_events, now_utc


@dataclass(frozen=True, slots=True, kw_only=True)
class Named:
    """What a report names by itself (not by a token of ours): for a person to judge, never acted on alone."""

    addresses: tuple[str, ...] = ()
    message_ids: tuple[str, ...] = ()

    def encode(self) -> str:
        return json.dumps({"addresses": list(self.addresses), "message_ids": list(self.message_ids)}, ensure_ascii=False)

    @classmethod
    def decode(cls, stored: str | None) -> Named | None:
        try:
            value = json.loads(stored) if stored else None
        except ValueError:
            return None
        if not isinstance(value, dict):
            return None

        def strings(name: str) -> tuple[str, ...]:
            found = value.get(name)
            return tuple(item for item in found if isinstance(item, str)) if isinstance(found, list) else ()

        return cls(addresses=strings("addresses"), message_ids=strings("message_ids"))


@dataclass(frozen=True, slots=True, kw_only=True)
class MailEvent:
    key: str  # what makes it the same message when read again
    kind: str
    subscriber_id: int | None
    issue_id: str | None
    status: str | None
    diagnostic: str
    mailbox_uid: str | None = None
    received_at: datetime | None = None  # None: now
    review: ReviewState | None = None  # UNATTRIBUTED: no token of ours named the subscriber; a person decides
    named: Named | None = None
    id: int | None = None  # set once stored


class MailEvents:
    """Reads and writes of the ``mail_events`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reads = reads_of(engine)

    def seen(self, key: str) -> bool:
        with self.reads.connect() as conn:
            return conn.execute(sa.select(mail_events.c.id).where(mail_events.c.key == key)).first() is not None

    def record(self, event: MailEvent) -> int | None:
        """Store ``event``; its id, or None when a message with its key was read before (nothing is stored twice)."""
        values = {
            "key": event.key,
            "kind": event.kind,
            "subscriber_id": event.subscriber_id,
            "issue_id": event.issue_id,
            "status": event.status,
            "diagnostic": event.diagnostic[:2000],
            "mailbox_uid": event.mailbox_uid,
            "received_at": event.received_at or now_utc(),
            "review": event.review.value if event.review else None,
            "named": event.named.encode() if event.named else None,
        }
        try:
            with self.engine.begin() as conn:
                stored = conn.execute(sa.insert(mail_events).values(**values)).inserted_primary_key
        except sa.exc.IntegrityError:
            return None
        return int(stored[0]) if stored else None

    def get(self, event_id: int) -> MailEvent | None:
        with self.reads.connect() as conn:
            row = conn.execute(sa.select(mail_events).where(mail_events.c.id == event_id)).mappings().first()
        return _event_of(row) if row is not None else None

    def awaiting_review(self) -> list[MailEvent]:
        """The unattributed reports nobody has decided on yet, oldest first."""
        query = sa.select(mail_events).where(mail_events.c.review == ReviewState.UNATTRIBUTED.value).order_by(mail_events.c.id)
        with self.reads.connect() as conn:
            return [_event_of(row) for row in conn.execute(query).mappings()]

    def waiting(self, before: datetime | None = None) -> tuple[int, int | None]:
        """How many reports wait for review (only those received before ``before``, when given), and the highest id."""
        query = sa.select(sa.func.count(), sa.func.max(mail_events.c.id)).where(*self._waiting(before))
        with self.reads.connect() as conn:
            count, highest = conn.execute(query).one()
        return int(count), (int(highest) if highest is not None else None)

    def dismiss_waiting(self, up_to: int, before: datetime | None = None) -> int:
        """Dismiss every report waiting for review with an id up to ``up_to`` (those counted for the person who
        confirmed; one arriving meanwhile waits), received before ``before`` when given; how many."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                sa.update(mail_events).where(mail_events.c.id <= up_to, *self._waiting(before)).values(review=ReviewState.DISMISSED.value)
            ).rowcount
        return int(changed)

    @staticmethod
    def _waiting(before: datetime | None) -> list[sa.ColumnElement[bool]]:
        conditions = [mail_events.c.review == ReviewState.UNATTRIBUTED.value]
        return conditions + ([mail_events.c.received_at < before] if before is not None else [])

    def resolve(self, event_id: int, decision: ReviewState, subscriber_id: int | None) -> bool:
        """Record a person's decision on an unattributed report (only once: False when it was decided already)."""
        with self.engine.begin() as conn:
            changed = conn.execute(
                sa.update(mail_events)
                .where(mail_events.c.id == event_id, mail_events.c.review == ReviewState.UNATTRIBUTED.value)
                .values(review=decision.value, subscriber_id=subscriber_id)
            ).rowcount
        return bool(changed)

    def count(self, subscriber_id: int, kind: str, since: datetime) -> int:
        with self.reads.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count()).where(
                        mail_events.c.subscriber_id == subscriber_id, mail_events.c.kind == kind, mail_events.c.received_at >= since
                    )
                ).scalar_one()
            )

    def by_issue(self) -> dict[str, Counter[str]]:
        """Per issue, how many of each kind (each subscriber counted once per kind and issue)."""
        query = (
            sa.select(mail_events.c.issue_id, mail_events.c.kind, sa.func.count(sa.distinct(mail_events.c.subscriber_id)))
            .where(mail_events.c.issue_id.is_not(None))
            .group_by(mail_events.c.issue_id, mail_events.c.kind)
        )
        result: dict[str, Counter[str]] = {}
        with self.reads.connect() as conn:
            for issue_id, kind, count in conn.execute(query).all():
                result.setdefault(issue_id, Counter())[kind] = int(count)
        return result


def _event_of(row: Any) -> MailEvent:
    return MailEvent(
        id=row["id"],
        key=row["key"],
        kind=row["kind"],
        subscriber_id=row["subscriber_id"],
        issue_id=row["issue_id"],
        status=row["status"],
        diagnostic=row["diagnostic"] or "",
        mailbox_uid=row["mailbox_uid"],
        received_at=row["received_at"],
        review=ReviewState(row["review"]) if row["review"] else None,
        named=Named.decode(row["named"]),
    )
