"""Webhook endpoints and the deliveries of the outbox's events to them: what is due, claimed, done or retried.

A delivery is claimed by moving its ``next_attempt_at`` past a lease and stamping a claim token, in one
compare-and-set: two deliverers never hold the same row, and one that dies mid-post leaves the row due again when
the lease runs out. Its outcome is recorded only with its token. A delivery waits while an earlier event of the
same subject (one subscriber, one issue) is not yet delivered to that endpoint: receivers get them in order.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digest.models import Endpoint, EventType, Outgoing, StoredEvent
from digest.store.engine import reads_of
from digest.store.schema import webhook_deliveries, webhook_endpoints, webhook_events

_earlier = webhook_deliveries.alias("earlier")
# An earlier event of the same subject still to deliver to the same endpoint: this one waits for it.
_WAITS = sa.exists().where(
    _earlier.c.endpoint_id == webhook_deliveries.c.endpoint_id,
    _earlier.c.subject == webhook_deliveries.c.subject,
    _earlier.c.event_id < webhook_deliveries.c.event_id,
    _earlier.c.delivered_at.is_(None),
)


class Webhooks:
    """Reads and writes of ``webhook_endpoints`` and ``webhook_deliveries`` (events are written by :mod:`digest.store.outbox`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reads = reads_of(engine)

    # -- endpoints ----------------------------------------------------------------------------------------

    def add(self, url: str, events: Collection[EventType], secret: bytes, at: datetime) -> Endpoint:
        """Store an endpoint: from now on, each new event of ``events`` is queued for it."""
        kinds = sorted(kind.value for kind in events)
        with self.engine.begin() as conn:
            inserted = conn.execute(
                sa.insert(webhook_endpoints).values(
                    url=url, events=json.dumps(kinds), secret=base64.b64encode(secret).decode("ascii"), created_at=at
                )
            ).inserted_primary_key
        return Endpoint(id=int(inserted[0]) if inserted else 0, url=url, events=frozenset(events), created_at=at)

    def endpoints(self) -> list[Endpoint]:
        """Every endpoint, in the order added, each with how many deliveries it has still to get."""
        pending = (
            sa.select(sa.func.count())
            .where(webhook_deliveries.c.endpoint_id == webhook_endpoints.c.id, webhook_deliveries.c.delivered_at.is_(None))
            .scalar_subquery()
        )
        with self.reads.connect() as conn:
            rows = conn.execute(sa.select(webhook_endpoints, pending.label("pending")).order_by(webhook_endpoints.c.id)).mappings().all()
        return [_endpoint(row) for row in rows]

    def get(self, endpoint_id: int) -> Endpoint | None:
        return next((endpoint for endpoint in self.endpoints() if endpoint.id == endpoint_id), None)

    def remove(self, endpoint_id: int) -> bool:
        """Delete an endpoint and what was still to go to it; whether there was one."""
        with self.engine.begin() as conn:
            conn.execute(sa.delete(webhook_deliveries).where(webhook_deliveries.c.endpoint_id == endpoint_id))
            return bool(conn.execute(sa.delete(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id)).rowcount)

    def enable(self, endpoint_id: int, at: datetime) -> bool:
        """Take a disabled (or failing) endpoint back: its failures forgotten, what waits for it due at ``at``."""
        with self.engine.begin() as conn:
            found = conn.execute(
                sa.update(webhook_endpoints)
                .where(webhook_endpoints.c.id == endpoint_id)
                .values(disabled_at=None, failing_since=None, last_error=None)
            ).rowcount
            conn.execute(
                sa.update(webhook_deliveries)
                .where(webhook_deliveries.c.endpoint_id == endpoint_id, webhook_deliveries.c.delivered_at.is_(None))
                .values(next_attempt_at=at, claim=None)
            )
        return bool(found)

    # -- deliveries -----------------------------------------------------------------------------------------

    def claim_next(self, now: datetime, lease: timedelta, *, passing: Collection[int] = ()) -> Outgoing | None:
        """Claim the first delivery due at ``now`` (endpoint enabled and not one of ``passing``, no earlier event of
        its subject waiting), for ``lease``; None when nothing is due."""
        query = (
            sa.select(
                webhook_deliveries.c.event_id,
                webhook_deliveries.c.endpoint_id,
                webhook_deliveries.c.next_attempt_at,
                webhook_deliveries.c.attempts,
                webhook_events.c.message_id,
                webhook_events.c.body,
                webhook_endpoints.c.url,
                webhook_endpoints.c.secret,
            )
            .join(webhook_events, webhook_events.c.id == webhook_deliveries.c.event_id)
            .join(webhook_endpoints, webhook_endpoints.c.id == webhook_deliveries.c.endpoint_id)
            .where(
                webhook_deliveries.c.delivered_at.is_(None),
                webhook_deliveries.c.next_attempt_at <= now,
                webhook_endpoints.c.disabled_at.is_(None),
                webhook_endpoints.c.id.not_in(list(passing)),
                ~_WAITS,
            )
            .order_by(webhook_deliveries.c.event_id, webhook_deliveries.c.endpoint_id)
            .limit(1)
        )
        while True:
            with self.engine.begin() as conn:
                row = conn.execute(query).mappings().first()  # (the query is built with this call's ``passing``)
                if row is None:
                    return None
                claim = secrets.token_hex(16)
                taken = conn.execute(
                    sa.update(webhook_deliveries)
                    .where(
                        *_one(row["event_id"], row["endpoint_id"]),
                        webhook_deliveries.c.delivered_at.is_(None),
                        webhook_deliveries.c.next_attempt_at == row["next_attempt_at"],  # nobody claimed it meanwhile
                    )
                    .values(next_attempt_at=now + lease, claim=claim, attempts=webhook_deliveries.c.attempts + 1)
                ).rowcount
            if taken:
                return Outgoing(
                    event_id=row["event_id"],
                    endpoint_id=row["endpoint_id"],
                    message_id=row["message_id"],
                    url=row["url"],
                    secret=base64.b64decode(row["secret"]),
                    body=row["body"],
                    attempts=int(row["attempts"]) + 1,
                    claim=claim,
                )

    def delivered(self, out: Outgoing, at: datetime) -> bool:
        """The receiver took it (2xx): done, and the endpoint no longer failing; False when the claim was lost."""
        with self.engine.begin() as conn:
            done = conn.execute(
                sa.update(webhook_deliveries)
                .where(*_one(out.event_id, out.endpoint_id), webhook_deliveries.c.claim == out.claim)
                .values(delivered_at=at, claim=None, last_error=None)
            ).rowcount
            if done:
                conn.execute(
                    sa.update(webhook_endpoints)
                    .where(webhook_endpoints.c.id == out.endpoint_id)
                    .values(failing_since=None, last_error=None)
                )
        return bool(done)

    def failed(self, out: Outgoing, at: datetime, error: str, retry_at: datetime, disable_after: timedelta) -> bool:
        """An attempt failed: due again at ``retry_at``; the endpoint disabled once it has failed for ``disable_after``
        with no success between. Whether it was disabled now."""
        with self.engine.begin() as conn:
            recorded = conn.execute(
                sa.update(webhook_deliveries)
                .where(*_one(out.event_id, out.endpoint_id), webhook_deliveries.c.claim == out.claim)
                .values(next_attempt_at=retry_at, claim=None, last_error=error[:500])
            ).rowcount
            row = conn.execute(
                sa.select(webhook_endpoints.c.failing_since, webhook_endpoints.c.disabled_at).where(
                    webhook_endpoints.c.id == out.endpoint_id
                )
            ).first()
            if not recorded or row is None:
                return False
            since = row[0] or at
            disable = row[1] is None and at - since >= disable_after
            conn.execute(
                sa.update(webhook_endpoints)
                .where(webhook_endpoints.c.id == out.endpoint_id)
                .values(failing_since=since, last_error=error[:500], **({"disabled_at": at} if disable else {}))
            )
        return disable

    def replay(
        self, endpoint_id: int, at: datetime, *, event_ids: Sequence[int] = (), since: datetime | None = None, until: datetime | None = None
    ) -> int:
        """Queue again, due at ``at``, the events ``event_ids`` (any kind), or those made in [since, until) of a kind
        the endpoint asked for, to one endpoint: delivered before or not, each goes again with the webhook-id it had
        (a receiver that still has it dedupes it). How many."""
        with self.engine.begin() as conn:
            wanted = conn.execute(sa.select(webhook_endpoints.c.events).where(webhook_endpoints.c.id == endpoint_id)).first()
            if wanted is None:
                return 0
            query = sa.select(webhook_events.c.id, webhook_events.c.subject)
            if event_ids:
                query = query.where(webhook_events.c.id.in_(list(event_ids)))
            else:
                query = query.where(webhook_events.c.kind.in_(json.loads(wanted[0])))
                query = query.where(*([webhook_events.c.created_at >= since] if since else []))
                query = query.where(*([webhook_events.c.created_at < until] if until else []))
            count = 0
            for event_id, subject in conn.execute(query.order_by(webhook_events.c.id)).all():
                again = {"delivered_at": None, "next_attempt_at": at, "claim": None, "attempts": 0, "last_error": None}
                if not conn.execute(sa.update(webhook_deliveries).where(*_one(event_id, endpoint_id)).values(**again)).rowcount:
                    conn.execute(sa.insert(webhook_deliveries).values(event_id=event_id, endpoint_id=endpoint_id, subject=subject, **again))
                count += 1
        return count

    def prune(self, before: datetime) -> int:
        """Delete the events made before ``before`` that every endpoint got before then (or that no endpoint wanted),
        with their deliveries; how many. Never one still to deliver or failing (it waits for its endpoint, however
        long), nor one written under a ``once`` key (``issue.sent``: its row is what stops a second one)."""
        unfinished = sa.exists().where(
            webhook_deliveries.c.event_id == webhook_events.c.id,
            sa.or_(webhook_deliveries.c.delivered_at.is_(None), webhook_deliveries.c.delivered_at >= before),
        )
        old = sa.select(webhook_events.c.id).where(webhook_events.c.created_at < before, webhook_events.c.once.is_(None), ~unfinished)
        with self.engine.begin() as conn:
            ids = [int(row[0]) for row in conn.execute(old).all()]
            for start in range(0, len(ids), 500):  # bounded IN lists: SQLite's and PostgreSQL's parameter limits
                chunk = ids[start : start + 500]
                conn.execute(sa.delete(webhook_deliveries).where(webhook_deliveries.c.event_id.in_(chunk)))
                conn.execute(sa.delete(webhook_events).where(webhook_events.c.id.in_(chunk)))
        return len(ids)

    def known(self, event_ids: Collection[int]) -> set[int]:
        """Which of ``event_ids`` are stored events (a pruned or never made one is not)."""
        with self.reads.connect() as conn:
            return {int(row[0]) for row in conn.execute(sa.select(webhook_events.c.id).where(webhook_events.c.id.in_(list(event_ids))))}

    def latest(self, limit: int, kind: EventType | None = None) -> list[StoredEvent]:
        """The latest ``limit`` stored events (of ``kind``), newest first, each with how many endpoints got it and how
        many it waits for."""
        done = sa.func.count(webhook_deliveries.c.delivered_at)
        query = (
            sa.select(webhook_events.c.id, webhook_events.c.kind, webhook_events.c.subject, webhook_events.c.created_at)
            .add_columns(done.label("delivered"), (sa.func.count(webhook_deliveries.c.event_id) - done).label("waiting"))
            .outerjoin(webhook_deliveries, webhook_deliveries.c.event_id == webhook_events.c.id)
            .group_by(webhook_events.c.id, webhook_events.c.kind, webhook_events.c.subject, webhook_events.c.created_at)
            .order_by(webhook_events.c.id.desc())
            .limit(limit)
        )
        if kind is not None:
            query = query.where(webhook_events.c.kind == kind.value)
        with self.reads.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            StoredEvent(
                id=int(row["id"]),
                kind=EventType(row["kind"]),
                subject=str(row["subject"]),
                created_at=row["created_at"],
                delivered=int(row["delivered"]),
                waiting=int(row["waiting"]),
            )
            for row in rows
            if row["kind"] in EventType._value2member_map_
        ]

    def events(self, subscriber_id: int | None = None) -> list[tuple[int, EventType, str]]:
        """(id, type, body) of the stored events (about one subscriber, when given), oldest first."""
        query = sa.select(webhook_events.c.id, webhook_events.c.kind, webhook_events.c.body).order_by(webhook_events.c.id)
        if subscriber_id is not None:
            query = query.where(webhook_events.c.subscriber_id == subscriber_id)
        with self.reads.connect() as conn:
            return [(int(row[0]), EventType(row[1]), str(row[2])) for row in conn.execute(query).all()]


def _one(event_id: int, endpoint_id: int) -> tuple[sa.ColumnElement[bool], sa.ColumnElement[bool]]:
    return webhook_deliveries.c.event_id == event_id, webhook_deliveries.c.endpoint_id == endpoint_id


def _endpoint(row: Any) -> Endpoint:
    kinds = frozenset(EventType(kind) for kind in json.loads(row["events"]) if kind in EventType._value2member_map_)
    return Endpoint(
        id=int(row["id"]),
        url=row["url"],
        events=kinds,
        created_at=row["created_at"],
        failing_since=row["failing_since"],
        disabled_at=row["disabled_at"],
        last_error=row["last_error"],
        pending=int(row["pending"] or 0),
    )
