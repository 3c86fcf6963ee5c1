"""What came back from mailboxes: one row per bounce, complaint or mailed unsubscribe read (``mail_events``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digest.store.schema import mail_events, now_utc, reads_of


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


class MailEvents:
    """Reads and writes of the ``mail_events`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reads = reads_of(engine)

    def seen(self, key: str) -> bool:
        with self.reads.connect() as conn:
            return conn.execute(sa.select(mail_events.c.id).where(mail_events.c.key == key)).first() is not None

    def record(self, event: MailEvent) -> bool:
        """Store ``event``; False when a message with its key was read before (nothing is stored twice)."""
        values = {
            "key": event.key,
            "kind": event.kind,
            "subscriber_id": event.subscriber_id,
            "issue_id": event.issue_id,
            "status": event.status,
            "diagnostic": event.diagnostic[:2000],
            "mailbox_uid": event.mailbox_uid,
            "received_at": event.received_at or now_utc(),
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.insert(mail_events).values(**values))
        except sa.exc.IntegrityError:
            return False
        return True

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
