"""The subscriber list: addresses (validated before they get here), names and statuses."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digest.models import SubscriberStatus
from digest.store.schema import from_row, now_utc, reads_of, subscribers


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscriber:
    id: int
    email: str
    name: str | None
    status: SubscriberStatus
    status_reason: str | None = None


class Subscribers:
    """Reads and writes of the ``subscribers`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reads = reads_of(engine)  # transactions that only read take no write lock

    def add(
        self, email: str, name: str | None = None, *, reactivate: bool = False, status: SubscriberStatus = SubscriberStatus.ACTIVE
    ) -> tuple[Subscriber, bool]:
        """Add an address (already validated); returns it and whether it was new.

        An existing address keeps its status unless ``reactivate`` (an explicit
        re-subscribe) is given: an import never re-subscribes someone who left.
        ``status`` is the status of a new row (an import of someone who left
        elsewhere keeps them on file, never mailed).
        """
        now = now_utc()
        key = email.casefold()
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(subscribers).where(subscribers.c.email_key == key)).mappings().first()
            if row is None:
                reason = None if status is SubscriberStatus.ACTIVE else "imported as " + status.value
                new_id = conn.execute(
                    sa.insert(subscribers).values(
                        email=email, email_key=key, name=name, status=status.value, status_reason=reason, created_at=now, updated_at=now
                    )
                ).inserted_primary_key
                if new_id is None:  # pragma: no cover (every dialect we run returns it)
                    raise RuntimeError("the database returned no id for a new subscriber")
                return Subscriber(id=int(new_id[0]), email=email, name=name, status=status, status_reason=reason), True
            if reactivate and row["status"] != SubscriberStatus.ACTIVE:
                conn.execute(
                    sa.update(subscribers)
                    .where(subscribers.c.id == row["id"])
                    .values(status=SubscriberStatus.ACTIVE.value, status_reason=None, updated_at=now)
                )
                return Subscriber(id=row["id"], email=row["email"], name=row["name"], status=SubscriberStatus.ACTIVE), False
            return subscriber_of(row), False

    def get(self, email: str | None = None, *, subscriber_id: int | None = None) -> Subscriber | None:
        query = sa.select(subscribers)
        query = (
            query.where(subscribers.c.id == subscriber_id)
            if subscriber_id is not None
            else query.where(subscribers.c.email_key == (email or "").casefold())
        )
        with self.reads.connect() as conn:
            row = conn.execute(query).mappings().first()
        return subscriber_of(row) if row is not None else None

    def set_status(self, subscriber_id: int, status: SubscriberStatus, reason: str) -> bool:
        """Change a subscriber's status; returns whether anything changed (idempotent)."""
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(subscribers)
                .where(subscribers.c.id == subscriber_id, subscribers.c.status != status.value)
                .values(status=status.value, status_reason=reason, updated_at=now_utc())
            )
        return result.rowcount > 0

    def iter(self, status: SubscriberStatus | None = None, batch: int = 1000) -> Iterator[Subscriber]:
        """Every subscriber in id order, read in batches so a large list is never held whole."""
        last = 0
        while True:
            query = sa.select(subscribers).where(subscribers.c.id > last).order_by(subscribers.c.id).limit(batch)
            if status is not None:
                query = query.where(subscribers.c.status == status.value)
            with self.reads.connect() as conn:
                rows = conn.execute(query).mappings().all()
            if not rows:
                return
            for row in rows:
                yield subscriber_of(row)
            last = rows[-1]["id"]

    def emails_of(self, subscriber_ids: Sequence[int]) -> dict[int, str]:
        """The addresses of a few subscribers (for reports), by id."""
        if not subscriber_ids:
            return {}
        with self.reads.connect() as conn:
            rows = conn.execute(sa.select(subscribers.c.id, subscribers.c.email).where(subscribers.c.id.in_(list(subscriber_ids)))).all()
        return {int(r[0]): str(r[1]) for r in rows}

    def counts(self) -> dict[SubscriberStatus, int]:
        """How many subscribers have each status (every status present, zero when none)."""
        found = dict.fromkeys(SubscriberStatus, 0)
        with self.reads.connect() as conn:
            for status, count in conn.execute(sa.select(subscribers.c.status, sa.func.count()).group_by(subscribers.c.status)).all():
                found[SubscriberStatus(status)] = int(count)
        return found


def subscriber_of(row: Any) -> Subscriber:
    return from_row(Subscriber, ("id", "email", "name", "status", "status_reason"), row, status=SubscriberStatus)
