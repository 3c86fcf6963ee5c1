"""Events out: what changed on the list or to an issue, as the outbox stores it and a webhook carries it.

The store writes an event in the transaction that made its change (:mod:`digest.store.outbox`), its body built
here from typed values, so a payload never carries a field nobody typed; the deliverer (:mod:`digest.send.webhooks`)
signs and posts the body as it was stored. The wire form follows the Standard Webhooks payload shape:
``{"type": "subscriber.unsubscribed", "timestamp": "…Z", "data": {…}}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from types import MappingProxyType

from digest.models.subscribers import SubscriberStatus


class EventType(StrEnum):
    """An event's type, as receivers see it (the ``type`` of a payload, what ``--event`` names)."""

    SUBSCRIBER_CREATED = "subscriber.created"
    SUBSCRIBER_CONFIRMED = "subscriber.confirmed"
    SUBSCRIBER_UPDATED = "subscriber.updated"
    SUBSCRIBER_UNSUBSCRIBED = "subscriber.unsubscribed"
    SUBSCRIBER_BOUNCED = "subscriber.bounced"
    SUBSCRIBER_COMPLAINED = "subscriber.complained"
    SUBSCRIBER_FORGOTTEN = "subscriber.forgotten"
    ISSUE_FROZEN = "issue.frozen"
    ISSUE_APPROVED = "issue.approved"
    ISSUE_SENT = "issue.sent"


# What each event means, once: `digest webhooks add --help` and `list` word them from here; a test holds every member.
EVENT_WORDS: Mapping[EventType, str] = MappingProxyType(
    {
        EventType.SUBSCRIBER_CREATED: "an address joined the list (a sign-up awaiting confirmation, an add, an import)",
        EventType.SUBSCRIBER_CONFIRMED: "a subscriber became active (confirmed by mail, or on an operator's word)",
        EventType.SUBSCRIBER_UPDATED: "a subscriber's name, themes or pause changed (one event per change, naming the fields)",
        EventType.SUBSCRIBER_UNSUBSCRIBED: "a subscriber left (one click, mail, an operator, an import)",
        EventType.SUBSCRIBER_BOUNCED: "an address bounced for good: no more mail to it",
        EventType.SUBSCRIBER_COMPLAINED: "a reader marked an issue as spam: unsubscribed",
        EventType.SUBSCRIBER_FORGOTTEN: "a person was erased (only a keyed hash of the address is kept)",
        EventType.ISSUE_FROZEN: "an issue was stored as it will go out",
        EventType.ISSUE_APPROVED: "an editor approved an issue",
        EventType.ISSUE_SENT: "an issue's send finished (with its counts)",
    }
)

# The event a status change makes, when the caller names none (a complaint names its own: the status is unsubscribed).
STATUS_EVENTS: Mapping[SubscriberStatus, EventType] = MappingProxyType(
    {
        SubscriberStatus.ACTIVE: EventType.SUBSCRIBER_CONFIRMED,
        SubscriberStatus.UNSUBSCRIBED: EventType.SUBSCRIBER_UNSUBSCRIBED,
        SubscriberStatus.BOUNCED: EventType.SUBSCRIBER_BOUNCED,
        SubscriberStatus.PENDING: EventType.SUBSCRIBER_UPDATED,
    }
)


def event_kind(name: str) -> EventType | None:
    """The event a receiver-facing name names (``subscriber.created``), or None."""
    try:
        return EventType(name.strip().lower())
    except ValueError:
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriberFacts:
    """What a subscriber event says of the person and their subscription, as the row is once the change is made."""

    id: int
    newsletter: str  # the subscription's newsletter (its slug)
    person_id: int  # the person's: the API's /people/{id}, shared by their subscriptions on other newsletters
    email: str
    name: str | None
    status: SubscriberStatus
    reason: str | None
    themes: tuple[str, ...] | None  # None: every theme
    paused_until: date | None
    edition: str | None = None  # the edition it gets (None: the newsletter's first): a change of it is an update too
    changed: tuple[str, ...] = ()  # subscriber.updated: the fields one change set (name, themes, paused_until, edition)

    def data(self) -> dict[str, object]:
        data: dict[str, object] = {
            "id": self.id,
            "newsletter": self.newsletter,
            "person_id": self.person_id,
            "email": self.email,
            "name": self.name,
            "status": self.status.value,
            "reason": self.reason,
            "themes": list(self.themes) if self.themes is not None else None,
            "paused_until": self.paused_until.isoformat() if self.paused_until else None,
            "edition": self.edition,
        }
        if self.changed:
            data["changed"] = list(self.changed)
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class ForgottenFacts:
    """All an event may say of a person who asked to be forgotten: their id and the keyed hash of the address."""

    id: int
    email_hash: str
    newsletter: str | None = None  # the subscription's newsletter (its slug); None in an event stripped before v24
    person_id: int | None = None  # the person's id (gone from the API once forgotten: a receiver's key to erase by)

    def data(self) -> dict[str, object]:
        data: dict[str, object] = {"id": self.id, "email_hash": self.email_hash}
        if self.newsletter is not None:
            data["newsletter"] = self.newsletter
        if self.person_id is not None:
            data["person_id"] = self.person_id
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueFacts:
    """What an issue event says: the issue, and for ``issue.sent`` its final counts (state → deliveries)."""

    id: str
    subject: str
    window_start: datetime
    window_end: datetime
    newsletter: str  # its slug
    approved_by: str | None = None
    counts: Mapping[str, int] | None = None

    def data(self) -> dict[str, object]:
        data: dict[str, object] = {
            "id": self.id,
            "newsletter": self.newsletter,
            "subject": self.subject,
            "window_start": stamp(self.window_start),
            "window_end": stamp(self.window_end),
        }
        if self.approved_by is not None:
            data["approved_by"] = self.approved_by
        if self.counts is not None:
            data["counts"] = dict(sorted(self.counts.items()))
        return data


Facts = SubscriberFacts | ForgottenFacts | IssueFacts


def event_body(kind: EventType, facts: Facts, at: datetime) -> str:
    """The JSON body a webhook carries (compact, keys in a fixed order: the bytes signed are the bytes stored)."""
    return json.dumps({"type": kind.value, "timestamp": stamp(at), "data": facts.data()}, ensure_ascii=False, separators=(",", ":"))


def forgotten_body(body: str, email_hash: str) -> str:
    """``body`` with everything about its person taken out but their id and ``email_hash`` (``forget``: an event
    still waiting to go out no longer carries the address)."""
    value = json.loads(body)
    data = value.get("data") if isinstance(value, dict) else None
    person = data.get("id") if isinstance(data, dict) else None
    value["data"] = {"id": person, "email_hash": email_hash}
    for kept, kind in (("newsletter", str), ("person_id", int)):  # neither says who the person is
        if isinstance(data, dict) and isinstance(data.get(kept), kind):
            value["data"][kept] = data[kept]
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def stamp(at: datetime) -> str:
    """A time as payloads carry it: UTC, ISO 8601, with Z."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class EndpointState(StrEnum):
    ACTIVE = "active"
    FAILING = "failing"  # its last attempts failed; retried with backoff
    DISABLED = "disabled"  # failing for DISABLE_AFTER: nothing goes out until `digest webhooks enable`


ENDPOINT_STATE_WORDS: Mapping[EndpointState, str] = MappingProxyType(
    {EndpointState.ACTIVE: "active", EndpointState.FAILING: "failing", EndpointState.DISABLED: "disabled"}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    """A receiver of webhooks: where, which events, and how it has fared."""

    id: int
    url: str
    events: frozenset[EventType]
    created_at: datetime
    failing_since: datetime | None = None
    disabled_at: datetime | None = None
    last_error: str | None = None
    pending: int = 0  # deliveries not yet made

    @property
    def state(self) -> EndpointState:
        if self.disabled_at is not None:
            return EndpointState.DISABLED
        return EndpointState.FAILING if self.failing_since is not None else EndpointState.ACTIVE


@dataclass(frozen=True, slots=True, kw_only=True)
class Outgoing:
    """One claimed delivery: an event's body to one endpoint, with what signs it."""

    event_id: int
    endpoint_id: int
    message_id: str  # the webhook-id: the same on every attempt and replay, what receivers dedupe on
    url: str
    secret: bytes = field(repr=False)  # signs, and is never shown: not in a repr that a log line might print
    body: str
    attempts: int  # this one included
    claim: str  # the claim token: only its holder records the outcome


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredEvent:
    """An event as ``digest webhooks events`` lists it: what a replay names, and how far it went."""

    id: int
    kind: EventType
    subject: str  # "subscriber:12", "issue:2026-w49"
    created_at: datetime
    delivered: int  # endpoints that got it
    waiting: int  # endpoints it is still to go to (failing ones included)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryPass:
    """What one pass of the deliverer did."""

    delivered: int = 0
    failed: int = 0
    disabled: tuple[int, ...] = ()  # endpoints disabled by this pass
