"""How a subscription is read with its person (``people`` joined), the events a change to one writes, and the
stops that are about the address rather than one newsletter (a hard bounce, a complaint): what the list
(:mod:`digest.store.subscribers`), the ledger and its writer share."""

from __future__ import annotations

import functools
import json
import secrets
from dataclasses import replace
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from digest.models import EventType, Subscriber, SubscriberFacts, SubscriberStatus
from digest.store.outbox import emit
from digest.store.schema import from_row, now_utc, people, subscribers

# A subscription with its person's address and name: what every read of a subscriber selects.
JOINED = subscribers.join(people, people.c.id == subscribers.c.person_id)
# Subscriptions that may get mail: a person-level stop (a hard bounce, a complaint) changes these besides the one named.
MAY_GET_MAIL = (SubscriberStatus.ACTIVE.value, SubscriberStatus.PENDING.value)


def select_subscribers() -> sa.Select[Any]:
    """Subscriptions joined with their person (email, email_key, name): rows for :func:`subscriber_of`."""
    return sa.select(subscribers, people.c.email, people.c.email_key, people.c.name).select_from(JOINED)


def stop_person(
    conn: Connection, subscriber_id: int, status: SubscriberStatus, reason: str, event: EventType, *, named_any_status: bool
) -> list[tuple[str, bool]]:
    """On ``conn`` (the caller's transaction): ``status`` for the subscription ``subscriber_id`` (whatever its status
    when ``named_any_status``, else only while active) and for every other subscription of its person that may get
    mail, each changed one with its ``event``; (newsletter, changed) of each subscription, the named one first."""
    person = sa.select(subscribers.c.person_id).where(subscribers.c.id == subscriber_id).scalar_subquery()
    theirs = conn.execute(
        sa.select(subscribers.c.id, subscribers.c.newsletter, subscribers.c.status)
        .where(subscribers.c.person_id == person)
        .order_by(subscribers.c.id)
    ).all()
    named = SubscriberStatus.ACTIVE.value if not named_any_status else None
    outcome: list[tuple[str, bool]] = []
    for sub_id, newsletter, was in sorted(theirs, key=lambda sub: sub[0] != subscriber_id):
        wanted = (was != status.value and (named is None or was == named)) if sub_id == subscriber_id else was in MAY_GET_MAIL
        if wanted:
            conn.execute(
                sa.update(subscribers)
                .where(subscribers.c.id == sub_id)
                .values(status=status.value, status_reason=reason, updated_at=now_utc())
            )
            subscriber_event(conn, event, sub_id)
        outcome.append((str(newsletter), bool(wanted)))
    return outcome


def drop_people_without_subscriptions(conn: Connection, person_ids: set[int]) -> None:
    """People whose last subscription went (a sign-up that lapsed): nothing of theirs is kept."""
    if person_ids:
        still = sa.exists().where(subscribers.c.person_id == people.c.id)
        conn.execute(sa.delete(people).where(people.c.id.in_(sorted(person_ids)), ~still))


def subscription_record(row: Any) -> dict[str, Any]:
    """One subscription as ``subscribers show`` lists it."""
    keep = (
        "id",
        "newsletter",
        "status",
        "status_reason",
        "created_at",
        "updated_at",
        "paused_until",
        "confirming_since",
        "edition",
        "covered_until",
    )
    record = {key: plain(row[key]) for key in keep}
    record["themes"] = json.loads(row["themes"]) if row["themes"] else None
    return record


def may_get_mail() -> sa.ColumnElement[bool]:
    """Subscribers an issue may still reach: active, or awaiting their confirmation."""
    return subscribers.c.status.in_([SubscriberStatus.ACTIVE.value, SubscriberStatus.PENDING.value])


def plain(value: Any) -> Any:
    """A stored value as JSON can carry it (times as ISO 8601)."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def subscriber_event(conn: Connection, kind: EventType, subscriber_id: int, changed: tuple[str, ...] = ()) -> None:
    """The event of a change to a subscriber, on the change's own connection: its facts as the row now holds them
    (``changed``: the fields a subscriber.updated set)."""
    facts = facts_of(conn.execute(select_subscribers().where(subscribers.c.id == subscriber_id)).mappings().one())
    emit(conn, kind, replace(facts, changed=changed))


def facts_of(row: Any) -> SubscriberFacts:
    themes = chosen_themes(row["themes"])
    return SubscriberFacts(
        id=int(row["id"]),
        newsletter=row["newsletter"],
        person_id=int(row["person_id"]),
        email=row["email"],
        name=row["name"],
        status=SubscriberStatus(row["status"]),
        reason=row["status_reason"],
        themes=tuple(themes) if themes is not None else None,
        paused_until=stored_day(row["paused_until"]),
        edition=row["edition"],
    )


def subscriber_of(row: Any) -> Subscriber:
    return from_row(
        Subscriber,
        ("id", "email", "name", "status", "status_reason", "link_salt", "newsletter", "person_id", "edition"),
        row,
        status=SubscriberStatus,
        edition=lambda stored: stored or None,  # NULL or empty: the newsletter's first
    )


def new_salt() -> str:
    """A new subscriber's link salt: 64 random bits, in the MAC of every link of theirs."""
    return secrets.token_hex(8)


def chosen_themes(stored: str | None) -> list[str] | None:
    """The themes in a stored choice (``subscribers.themes``, a JSON list), in the reader's order; None means every
    theme, and so does a value that cannot be read: a damaged row never leaves a reader without mail or breaks their
    preferences page."""
    if not stored:
        return None
    try:
        themes = json.loads(stored)
    except ValueError:
        return None
    return [theme for theme in themes if isinstance(theme, str)] if isinstance(themes, list) else None


@functools.lru_cache(maxsize=4096)
def theme_choice(stored: str | None) -> frozenset[str] | None:
    """A stored choice as the send uses it: a set of themes, or None for every theme. Decoded once per distinct
    value (a list has a few dozen), so a send to a million readers parses a few dozen JSON texts, and readers
    with the same choice share one set (its hash computed once)."""
    themes = chosen_themes(stored)
    return frozenset(themes) if themes is not None else None


@functools.lru_cache(maxsize=4096)
def stored_day(stored: str | None) -> date | None:
    """A stored ISO day (``subscribers.paused_until``) as a date; None when there is none, or it cannot be read
    (a damaged pause never keeps a reader from their mail)."""
    if not stored:
        return None
    try:
        return date.fromisoformat(stored)
    except ValueError:
        return None
