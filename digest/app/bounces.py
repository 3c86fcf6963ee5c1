"""Bounces, complaints and mailed unsubscribes: each message read once, and the list updated by itself.

- a hard bounce (5.x.x) marks the subscriber ``bounced``;
- soft bounces (4.x.x) count: ``bounces.soft_limit`` of them within
  ``bounces.soft_days`` days mark the subscriber bounced;
- a complaint (a feedback-loop report) unsubscribes them at once, the reason
  recorded as ``complained``;
- a mail to ``unsubscribe+<token>@…`` unsubscribes them.

Only a token we signed names the subscriber. A bounce or complaint without
one (a relay rewrote the return path, or someone forged it to unsubscribe
another person) changes nothing: it is stored as *unattributed* with the
addresses and Message-IDs it names, for a person to apply or dismiss
(``digest bounces review``; a flood of forged ones all at once).

Every message read is stored as an event with its issue, time, status and
diagnostic, keyed by its Message-ID (or a hash of its bytes), so reading the
same message again changes nothing. :mod:`digest.mail.bounces` says what
a message is; this module decides what it does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from digest.config import Installation, Scope
from digest.mail.bounces import EventKind, Reading, read_message
from digest.models import EventType, ReviewProblem, ReviewState, SubscriberStatus
from digest.models.errors import ReviewError
from digest.models.tokens import ReturnPathSigner, issue_tag
from digest.store import MailEvent, Named, Store, now_utc

__all__ = ["EventKind", "Outcome", "Returned", "process_message", "review"]

COMPLAINT_LIMIT = 0.003  # Gmail and Yahoo's bulk-sender rule: spam complaints under 0.3 %
COMPLAINT_AIM = 0.001  # … and they advise staying under 0.1 %
# Permanent failures (refused at the send, or bounced since) at most 1 % (Buttondown's published limit; most providers
# are near it). The one bounce threshold: `digest status`, `digest report` and its chart all measure against it.
FAILURE_LIMIT = 0.01


@dataclass(frozen=True, slots=True, kw_only=True)
class Returned:
    """One issue's bounces and complaints against the limits that decide whether mail reaches the inbox."""

    attempted: int  # sent, or refused for good at the send
    rejected: int  # refused for good during the SMTP conversation
    hard: int  # hard bounces that came back later
    complaints: int
    unsubscribed_by_mail: int

    @property
    def failure_rate(self) -> float:
        return (self.rejected + self.hard) / self.attempted if self.attempted else 0.0

    @property
    def complaint_rate(self) -> float:
        return self.complaints / self.attempted if self.attempted else 0.0

    def warnings(self) -> list[str]:
        found = []
        if self.complaint_rate >= COMPLAINT_LIMIT:
            found.append(f"complaints {self.complaint_rate:.2%} are over Gmail's and Yahoo's limit of 0.3 %: mail to them will go to spam")
        elif self.complaint_rate >= COMPLAINT_AIM:
            found.append(f"complaints {self.complaint_rate:.2%} are over the 0.1 % Gmail and Yahoo advise staying under")
        if self.failure_rate > FAILURE_LIMIT:
            found.append(
                f"permanent failures {self.failure_rate:.2%} are over {FAILURE_LIMIT * 100:g} %: the list has addresses that no longer exist"
            )
        return found


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    kind: EventKind
    duplicate: bool = False  # read before: nothing changed
    subscriber: str | None = None  # the address it is about, when a token of ours named them
    issue_id: str | None = None
    status: str | None = None
    effect: str = ""  # what changed, for people: "marked bounced", "1 of 3 soft bounces", …
    review: ReviewState | None = None  # UNATTRIBUTED: kept for a person, nothing changed
    named: tuple[str, ...] = ()  # the addresses an unattributed report names
    event_id: int | None = None

    def describe(self) -> str:
        if self.duplicate:
            return f"{self.kind}: read before, nothing changed"
        issue = f", issue {self.issue_id}" if self.issue_id else ""
        status = f" {self.status}" if self.status else ""
        if self.review is ReviewState.UNATTRIBUTED:
            names = ", ".join(self.named) or "no address"
            return (
                f"{self.kind}{status} without a token of ours (names {names}){issue}: nothing changed; "
                f"kept for review as report {self.event_id} (digest bounces review)"
            )
        about = f" for {self.subscriber}" if self.subscriber else " (no subscriber of this list named)"
        return f"{self.kind}{status}{about}{issue}: {self.effect or 'nothing to do'}"


KEY_USE_TOKENS = "it checks the tokens in the bounce addresses"  # what the secret key is for here, in refusals
# Reports that would change a status if a token of ours named the subscriber: without one, a person decides.
ACTIONABLE = frozenset({EventKind.HARD, EventKind.SOFT, EventKind.COMPLAINT})


def process_message(
    raw: bytes,
    settings: Scope,
    store: Store,
    *,
    recipient: str | None = None,
    uid: str | None = None,
    newsletters: Sequence[Scope] = (),
) -> Outcome:
    """Read one message that came back and apply what it says. Raises StoreError if the database fails.

    Only a return-path token we signed that verifies names the subscriber
    (:mod:`digest.mail.bounces`); a bounce or complaint without one is
    stored as unattributed, with what it names, and changes nothing. Any
    message, however malformed, is read: one the parsers cannot take apart is
    stored as unrecognised with the reason.

    ``newsletters``: every newsletter of the install (``settings``'s among them). Each signs its tokens with keys
    of its own (its List-Id), so the newsletter whose keys verify the token is the one the message is about: its
    issue (the token's tag) and its subscription, whichever newsletter ``settings`` names.
    """
    reading, about = read_for_newsletters(
        raw, [settings, *(scope for scope in newsletters if scope.newsletter.slug != settings.newsletter.slug)], recipient
    )
    if store.events.seen(reading.key):
        return Outcome(kind=reading.kind, duplicate=True)
    issues = {issue_tag(issue_id): issue_id for issue_id in store.scoped(about.newsletter.slug).issues.ids_of_every_edition()}
    ref = reading.ref
    subscriber = store.subscribers.get(subscriber_id=ref.subscriber_id) if ref is not None else None
    issue_id = issues.get(ref.issue_tag) if ref is not None else _issue_in_message_id(reading.original_message_id, store, newsletters)
    unattributed = ref is None and reading.kind in ACTIONABLE
    named = Named(addresses=reading.addresses, message_ids=(reading.original_message_id,) if reading.original_message_id else ())
    event_id = store.events.record(
        MailEvent(
            key=reading.key,
            kind=reading.kind.value,
            subscriber_id=subscriber.id if subscriber else None,
            issue_id=issue_id,
            status=reading.status,
            diagnostic=reading.diagnostic,
            mailbox_uid=uid,
            review=ReviewState.UNATTRIBUTED if unattributed else None,
            named=named if unattributed else None,
        )
    )
    if event_id is None:  # another process read the same message a moment ago
        return Outcome(kind=reading.kind, duplicate=True)
    if unattributed:
        return Outcome(
            kind=reading.kind,
            issue_id=issue_id,
            status=reading.status,
            review=ReviewState.UNATTRIBUTED,
            named=reading.addresses,
            event_id=event_id,
        )
    effect = apply(reading.kind, reading.status, reading.diagnostic, subscriber.id, issue_id, settings.install, store) if subscriber else ""
    return Outcome(
        kind=reading.kind, subscriber=subscriber.email if subscriber else None, issue_id=issue_id, status=reading.status, effect=effect
    )


def read_for_newsletters(raw: bytes, scopes: Sequence[Scope], recipient: str | None) -> tuple[Reading, Scope]:
    """The message read with each newsletter's keys in turn until one verifies a token in it: that reading and its
    newsletter; none does: the first newsletter's reading (with no token: unattributed, or not a bounce)."""
    first: tuple[Reading, Scope] | None = None
    for scope in scopes:
        tokens = ReturnPathSigner(scope.install.require_secret(KEY_USE_TOKENS), scope.newsletter.list_id)
        reading = read_safely(raw, tokens, recipient=recipient)
        if reading.ref is not None:
            return reading, scope
        first = first or (reading, scope)
    assert first is not None  # scopes always holds the command's own
    return first


def _issue_in_message_id(message_id: str | None, store: Store, newsletters: Sequence[Scope]) -> str | None:
    """The issue a quoted Message-ID names, among every newsletter's issues (ids are unique across them)."""
    slugs = {scope.newsletter.slug for scope in newsletters} | {store.newsletter}
    known = {issue_id for slug in slugs for issue_id in store.scoped(slug).issues.ids_of_every_edition()}
    return _issue_of(message_id, known)


def read_safely(raw: bytes, tokens: ReturnPathSigner, *, recipient: str | None = None) -> Reading:
    """:func:`read_message`, which never raises: the parsers (the email package, flufl.bounce) are not ours and
    fail on hostile input (an empty message: IndexError; deep nesting: RecursionError). Such a message is
    UNRECOGNISED, with the reason, and the messages after it are read as usual."""
    try:
        return read_message(raw, tokens, recipient=recipient)
    except Exception as exc:  # any failure of a third-party parser on outside input
        return Reading(
            kind=EventKind.UNRECOGNISED,
            key="sha256:" + hashlib.sha256(raw).hexdigest(),
            diagnostic=f"could not be read: {type(exc).__name__}: {str(exc)[:200]}",
        )


def _issue_of(message_id: str | None, known: set[str]) -> str | None:
    """Our Message-IDs are <issue-id.hash@domain>: the issue a quoted one came from is in it."""
    if not message_id:
        return None
    candidate = message_id.strip("<>").partition(".")[0]
    return candidate if candidate in known else None


def apply(
    kind: EventKind, status: str | None, diagnostic: str, subscriber_id: int, issue_id: str | None, install: Installation, store: Store
) -> str:
    """Change the subscriber's status as ``kind`` says; returns what changed, for people. A hard bounce or a complaint
    is about the address: every subscription of the person (every newsletter they are on) stops, and the words say
    which; a mailed unsubscribe ends the one subscription."""
    where = f"{issue_id}: " if issue_id else ""
    if kind is EventKind.HARD:
        changed = store.subscribers.set_person_status(subscriber_id, SubscriberStatus.BOUNCED, f"{where}{status} {diagnostic}".strip())
        return _per_newsletter(changed, "marked bounced", "already not active")
    if kind is EventKind.SOFT:
        options = install.bounces
        recent = store.events.count(subscriber_id, EventKind.SOFT.value, now_utc() - timedelta(days=options.soft_days))
        if recent >= options.soft_limit:
            reason = f"{recent} soft bounces within {options.soft_days:g} days; the last: {status} {diagnostic}"
            changed = store.subscribers.set_person_status(subscriber_id, SubscriberStatus.BOUNCED, reason.strip())
            return _per_newsletter(changed, f"{recent} of {options.soft_limit} soft bounces: marked bounced", "already not active")
        return f"{recent} of {options.soft_limit} soft bounces within {options.soft_days:g} days: still active"
    if kind is EventKind.COMPLAINT:
        changed = store.subscribers.set_person_status(
            subscriber_id, SubscriberStatus.UNSUBSCRIBED, f"complained: {where}{diagnostic}", event=EventType.SUBSCRIBER_COMPLAINED
        )
        return _per_newsletter(changed, "unsubscribed (complained)", "already not active")
    if kind is EventKind.UNSUBSCRIBE:
        one = store.subscribers.set_status(subscriber_id, SubscriberStatus.UNSUBSCRIBED, "unsubscribed by mail (List-Unsubscribe mailto)")
        return "unsubscribed" if one else "already unsubscribed"
    return ""


def _per_newsletter(changed: list[tuple[str, bool]], done: str, already: str) -> str:
    """What a stop about the address did: for one subscription as it always read; for several, per newsletter
    ("marked bounced on town-weekly; also stopped on culture-monthly")."""
    if len(changed) <= 1:
        return done if any(moved for _, moved in changed) else already
    named, *others = changed
    first = f"{done if named[1] else already} on {named[0]}"
    stopped = [slug for slug, moved in others if moved]
    return first + (f"; also stopped on {', '.join(stopped)}" if stopped else "")


@dataclass(frozen=True, slots=True, kw_only=True)
class Waiting:
    """An unattributed report waiting for a person, and what each address it names is on the list."""

    event: MailEvent
    named: tuple[tuple[str, SubscriberStatus | None], ...]  # each address it names, and its status (None: not on the list)


def awaiting_review(store: Store) -> list[Waiting]:
    """Every report waiting for review, oldest first, each named address looked up."""
    found = []
    for event in store.events.awaiting_review():
        addresses = event.named.addresses if event.named else ()
        named = tuple((address, subscriber.status if (subscriber := store.subscribers.get(address)) else None) for address in addresses)
        found.append(Waiting(event=event, named=named))
    return found


def review(event_id: int, *, apply_to: str | None, dismiss: bool, settings: Scope, store: Store) -> str:
    """A person's decision on an unattributed report: apply it to the subscriber it names, or dismiss it.

    ``apply_to`` is one of the addresses the report names (needed only when
    it names several). Raises ReviewError when the report is not waiting for
    review or the address is not one it names, or names nobody on the list.
    """
    event = store.events.get(event_id)
    if event is None or event.review is not ReviewState.UNATTRIBUTED:
        raise ReviewError(ReviewProblem.NOT_WAITING, event_id, f"report {event_id} is not waiting for review")
    if dismiss:
        store.events.resolve(event_id, ReviewState.DISMISSED, None)
        return f"report {event_id} dismissed: nothing changed"
    named = event.named.addresses if event.named else ()
    if apply_to is None:
        if len(named) != 1:
            listed = ", ".join(named) or "none"
            raise ReviewError(ReviewProblem.WHICH_ADDRESS, event_id, f"report {event_id} names {len(named)} addresses ({listed})")
        apply_to = named[0]
    if apply_to.casefold() not in {address.casefold() for address in named}:
        raise ReviewError(
            ReviewProblem.NOT_NAMED, event_id, f"report {event_id} does not name {apply_to}; it names {', '.join(named) or 'no address'}"
        )
    subscriber = store.subscribers.get(apply_to)
    if subscriber is None:
        raise ReviewError(ReviewProblem.NOT_LISTED, event_id, f"{apply_to} is not on the list: nothing to apply")
    store.events.resolve(event_id, ReviewState.APPLIED, subscriber.id)
    effect = apply(EventKind(event.kind), event.status, event.diagnostic, subscriber.id, event.issue_id, settings.install, store)
    return f"report {event_id} applied to {subscriber.email}: {effect or 'nothing to do'}"


@dataclass(frozen=True, slots=True)
class Flood:
    """The reports waiting for review (received before a moment, when one is given): how many, the last one's id."""

    count: int
    last_id: int | None
    before: datetime | None = None


def waiting_reports(store: Store, before: datetime | None = None) -> Flood:
    """How many unattributed reports wait (received before ``before``, when given), for a person to confirm."""
    count, last_id = store.events.waiting(before)
    return Flood(count, last_id, before)


def dismiss_all(store: Store, flood: Flood) -> int:
    """Dismiss the reports ``flood`` counted (none that arrived since): they change nothing; how many were.
    Dismissing again finds none: 0."""
    return store.events.dismiss_waiting(flood.last_id, flood.before) if flood.last_id is not None else 0


@dataclass(slots=True)
class FetchReport:
    read: int = 0
    outcomes: list[tuple[str, Outcome]] = field(default_factory=list)  # (uid, what it did)


def fetch_mailbox(settings: Scope, store: Store, newsletters: Sequence[Scope] = ()) -> FetchReport:
    """Process every message waiting in the bounce mailbox (``digest bounces fetch``, the scheduler's poll).

    Raises DeliveryError when IMAP fails and StoreError when the database does;
    a message whose processing failed stays in the folder for the next fetch. ``newsletters``: as
    :func:`process_message` takes them (the mailbox is the install's: every newsletter's bounces come to it)."""
    from digest.mail.mailbox import fetch

    report = FetchReport()

    def handle(raw: bytes, uid: str) -> bool:
        outcome = process_message(raw, settings, store, uid=uid, newsletters=newsletters)
        report.outcomes.append((uid.rpartition(":")[2], outcome))
        return outcome.kind is not EventKind.UNRECOGNISED and outcome.review is None

    report.read = fetch(settings.install.bounces, handle)
    return report
