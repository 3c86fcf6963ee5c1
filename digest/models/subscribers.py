"""A subscriber as the list holds them (their status in words, once), what a sign-up found, and where a report
that named nobody stands."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from types import MappingProxyType


class SubscriberStatus(StrEnum):
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    PENDING = "pending"  # signed up, not yet confirmed: never mailed an issue; expires after subscribe.confirm_hours


def paused_on(paused_until: date | None, today: date) -> bool:
    """Whether a reader's pause holds ``today``: until the day it ends, which gets issues again. The one rule the
    send (per recipient) and the reader's page share."""
    return paused_until is not None and paused_until > today


# Each status in words, once, in the order the list is shown (the report's columns and chart, `subscribers list`):
# the words were retyped as literals where the list was drawn. A test holds every member here.
SUBSCRIBER_STATUS_WORDS: Mapping[SubscriberStatus, str] = MappingProxyType(
    {
        SubscriberStatus.ACTIVE: "active",
        SubscriberStatus.PENDING: "pending",
        SubscriberStatus.UNSUBSCRIBED: "unsubscribed",
        SubscriberStatus.BOUNCED: "bounced",
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscriber:
    """One subscription (a person on one newsletter), with the person's address and name."""

    id: int  # the subscription's: links, tokens and deliveries carry it
    email: str
    name: str | None
    status: SubscriberStatus
    status_reason: str | None = None
    link_salt: str | None = None  # in the MAC of their links (None: a row from before v13, signed without)
    newsletter: str = ""  # the newsletter's slug
    person_id: int = 0  # the person (one per address) whose subscription it is
    edition: str | None = None  # the edition it gets (None: the newsletter's first)


class SignUpKind(StrEnum):
    """What a sign-up found."""

    NEW = "new"  # a new address: pending until confirmed
    PENDING = "pending"  # signed up before, not confirmed yet
    RETURNING = "returning"  # had left (unsubscribed, complained, bounced): keeps that status until they confirm
    ACTIVE = "active"  # subscribed already: nothing changes


@dataclass(frozen=True, slots=True)
class SignUp:
    kind: SignUpKind
    subscriber: Subscriber


class ReviewState(StrEnum):
    """Where a bounce or complaint that named nobody by our token stands: it waits for a person."""

    UNATTRIBUTED = "unattributed"  # changed nothing; listed by `digest bounces review`
    APPLIED = "applied"  # a person applied it to the subscriber it names
    DISMISSED = "dismissed"  # a person judged it not genuine
