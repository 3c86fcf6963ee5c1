"""The transactional outbox: an event is written on the connection, in the transaction, that makes its change.

Every store method that changes a subscriber or an issue calls :func:`emit` before its transaction commits, so the
change and its event commit together or not at all (no event without its change, no change without its event). The
event is fanned out there to each endpoint that asked for its kind: an endpoint added later does not get earlier
events (``digest webhooks replay`` sends them on purpose).
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from digest.models import EventType, ForgottenFacts, IssueFacts
from digest.models.events import Facts, event_body, forgotten_body
from digest.store.schema import now_utc, webhook_deliveries, webhook_endpoints, webhook_events


def emit(conn: Connection, kind: EventType, facts: Facts, *, at: datetime | None = None, once: str | None = None) -> int | None:
    """Write one event and its deliveries on ``conn`` (inside the caller's transaction); its id. ``once``: a key
    this event may be written under only once (None back when it was written before)."""
    at = at or now_utc()
    if once is not None and conn.execute(sa.select(webhook_events.c.id).where(webhook_events.c.once == once)).first():
        return None
    about = facts.id
    subject = f"issue:{about}" if isinstance(facts, IssueFacts) else f"subscriber:{about}"
    inserted = conn.execute(
        sa.insert(webhook_events).values(
            message_id=new_message_id(),
            kind=kind.value,
            subject=subject,
            subscriber_id=None if isinstance(facts, IssueFacts) else about,
            body=event_body(kind, facts, at),
            created_at=at,
            once=once,
        )
    ).inserted_primary_key
    event_id = int(inserted[0]) if inserted else 0
    wanted = [
        {"event_id": event_id, "endpoint_id": endpoint_id, "subject": subject, "next_attempt_at": at}
        for endpoint_id, events in conn.execute(sa.select(webhook_endpoints.c.id, webhook_endpoints.c.events)).all()
        if kind.value in json.loads(events)
    ]
    if wanted:
        conn.execute(sa.insert(webhook_deliveries), wanted)
    return event_id


def forget_in_events(
    conn: Connection, subscriber_id: int, email_hash: str, newsletter: str | None = None, person_id: int | None = None
) -> None:
    """Strip every stored event about a person to their id and keyed hash (``forget``), and write their
    ``subscriber.forgotten``: what is still to go out about them no longer carries the address."""
    for event_id, body in conn.execute(
        sa.select(webhook_events.c.id, webhook_events.c.body).where(webhook_events.c.subscriber_id == subscriber_id)
    ).all():
        conn.execute(sa.update(webhook_events).where(webhook_events.c.id == event_id).values(body=forgotten_body(body, email_hash)))
    emit(
        conn,
        EventType.SUBSCRIBER_FORGOTTEN,
        ForgottenFacts(id=subscriber_id, email_hash=email_hash, newsletter=newsletter, person_id=person_id),
    )


def new_message_id() -> str:
    """A webhook-id: ``msg_`` and 128 random bits; never reused, so a receiver may dedupe on it forever."""
    return "msg_" + secrets.token_urlsafe(16)
