"""Bounces, complaints and mailed unsubscribes: each message read once, and the list updated by itself.

- a hard bounce (5.x.x) marks the subscriber ``bounced``;
- soft bounces (4.x.x) count: ``bounces.soft_limit`` of them within
  ``bounces.soft_days`` days mark the subscriber bounced;
- a complaint (a feedback-loop report) unsubscribes them at once, the reason
  recorded as ``complained``;
- a mail to ``unsubscribe+<token>@…`` unsubscribes them.

Every message read is stored as an event with its issue, time, status and
diagnostic, keyed by its Message-ID (or a hash of its bytes), so reading the
same message again changes nothing. :mod:`digest.bounces.reading` says what
a message is; this module decides what it does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from digest.bounces.reading import EventKind, Reading, read_message
from digest.config import Settings
from digest.models import SubscriberStatus
from digest.store import MailEvent, Store, now_utc
from digest.tokens import ReturnPathSigner, issue_tag

__all__ = ["EventKind", "Outcome", "Returned", "process_message"]

COMPLAINT_LIMIT = 0.003  # Gmail and Yahoo's bulk-sender rule: spam complaints under 0.3 %
COMPLAINT_AIM = 0.001  # … and they advise staying under 0.1 %
FAILURE_LIMIT = 0.01  # permanent failures at most 1 % (Buttondown's published limit; most providers are near it)


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
            found.append(f"permanent failures {self.failure_rate:.2%} are over 1 %: the list has addresses that no longer exist")
        return found


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    kind: EventKind
    duplicate: bool = False  # read before: nothing changed
    subscriber: str | None = None  # the address it is about, when known
    issue_id: str | None = None
    status: str | None = None
    effect: str = ""  # what changed, for people: "marked bounced", "1 of 3 soft bounces", …

    def describe(self) -> str:
        if self.duplicate:
            return f"{self.kind}: read before, nothing changed"
        about = f" for {self.subscriber}" if self.subscriber else " (no subscriber of this list named)"
        issue = f", issue {self.issue_id}" if self.issue_id else ""
        status = f" {self.status}" if self.status else ""
        return f"{self.kind}{status}{about}{issue}: {self.effect or 'nothing to do'}"


def process_message(raw: bytes, settings: Settings, store: Store, *, recipient: str | None = None, uid: str | None = None) -> Outcome:
    """Read one message that came back and apply what it says. Raises StoreError if the database fails."""
    if not settings.secret_key:
        raise ValueError("DIGEST_SECRET_KEY is not set: it checks the return-path tokens")
    tokens = ReturnPathSigner(settings.secret_key, settings.list_id)
    reading = read_message(raw, tokens, recipient=recipient)
    if store.events.seen(reading.key):
        return Outcome(kind=reading.kind, duplicate=True)
    subscriber_id, issue_id = _who(reading, store)
    subscriber = store.subscribers.get(subscriber_id=subscriber_id) if subscriber_id is not None else None
    stored = store.events.record(
        MailEvent(
            key=reading.key,
            kind=reading.kind.value,
            subscriber_id=subscriber.id if subscriber else None,
            issue_id=issue_id,
            status=reading.status,
            diagnostic=reading.diagnostic,
            mailbox_uid=uid,
        )
    )
    if not stored:  # another process read the same message a moment ago
        return Outcome(kind=reading.kind, duplicate=True)
    effect = _apply(reading, subscriber.id if subscriber else None, issue_id, settings, store) if subscriber else ""
    return Outcome(
        kind=reading.kind, subscriber=subscriber.email if subscriber else None, issue_id=issue_id, status=reading.status, effect=effect
    )


def _who(reading: Reading, store: Store) -> tuple[int | None, str | None]:
    """(subscriber id, issue id): from the signed token when there is one, else from the addresses the report names."""
    issues = {issue_tag(summary.id): summary.id for summary in store.issues.summaries()}
    ref = reading.ref
    if ref is not None:
        return ref.subscriber_id, issues.get(ref.issue_tag)
    issue_id = None
    if reading.original_message_id:
        # Our Message-IDs are <issue-id.hash@domain>: the issue they came from is in them.
        candidate = reading.original_message_id.strip("<>").partition(".")[0]
        issue_id = candidate if candidate in issues.values() else None
    for address in reading.addresses:
        found = store.subscribers.get(address)
        if found is not None:
            return found.id, issue_id
    return None, issue_id


def _apply(reading: Reading, subscriber_id: int | None, issue_id: str | None, settings: Settings, store: Store) -> str:
    if subscriber_id is None:
        return ""
    where = f"{issue_id}: " if issue_id else ""
    if reading.kind is EventKind.HARD:
        changed = store.subscribers.set_status(
            subscriber_id, SubscriberStatus.BOUNCED, f"{where}{reading.status} {reading.diagnostic}".strip()
        )
        return "marked bounced" if changed else "already not active"
    if reading.kind is EventKind.SOFT:
        options = settings.bounces
        recent = store.events.count(subscriber_id, EventKind.SOFT.value, now_utc() - timedelta(days=options.soft_days))
        if recent >= options.soft_limit:
            reason = f"{recent} soft bounces within {options.soft_days:g} days; the last: {reading.status} {reading.diagnostic}"
            changed = store.subscribers.set_status(subscriber_id, SubscriberStatus.BOUNCED, reason.strip())
            return f"{recent} of {options.soft_limit} soft bounces: marked bounced" if changed else "already not active"
        return f"{recent} of {options.soft_limit} soft bounces within {options.soft_days:g} days: still active"
    if reading.kind is EventKind.COMPLAINT:
        changed = store.subscribers.set_status(subscriber_id, SubscriberStatus.UNSUBSCRIBED, f"complained: {where}{reading.diagnostic}")
        return "unsubscribed (complained)" if changed else "already not active"
    if reading.kind is EventKind.UNSUBSCRIBE:
        changed = store.subscribers.set_status(
            subscriber_id, SubscriberStatus.UNSUBSCRIBED, "unsubscribed by mail (List-Unsubscribe mailto)"
        )
        return "unsubscribed" if changed else "already unsubscribed"
    return ""
