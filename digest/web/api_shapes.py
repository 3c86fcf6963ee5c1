"""The HTTP API's requests and answers, as typed frozen dataclasses: the handlers read and answer with these, and the
OpenAPI document is made from them (:mod:`digest.web.api_schema`), so the two cannot say different things."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from digest.models import DeliveryState, SubscriberStatus

# -- requests ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class NewSubscriber:
    """A person to add. With ``confirmed`` true their consent was taken elsewhere (a form with its own double opt-in,
    a CRM): they are on the list at once. Otherwise they get a confirmation mail and stay pending until they click."""

    email: str
    name: str | None = None
    themes: list[str] | None = field(default=None, metadata={"about": "theme keys; left out or null: every theme, those added later too"})
    confirmed: bool = False
    newsletter: str | None = field(
        default=None, metadata={"about": "the newsletter's slug (GET /newsletters); needed when the install has several"}
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriberChange:
    """What to change; a field left out (or null) stays as it is."""

    name: str | None = field(default=None, metadata={"about": 'the new name; "" for none'})
    themes: list[str] | None = field(
        default=None, metadata={"about": "theme keys chosen (every key: every theme); only someone on the list chooses"}
    )
    edition: str | None = field(default=None, metadata={"about": "the edition to get, one the newsletter has (GET /newsletters)"})
    newsletter: str | None = field(
        default=None, metadata={"about": "the newsletter's slug (GET /newsletters); needed when the install has several"}
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewDecision:
    """Which address a waiting report is about, when it names several."""

    address: str | None = None


# -- answers -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscription:
    """A person's subscription to one newsletter."""

    id: int = field(metadata={"about": "the subscription's own id: the one webhooks' subscriber events carry as data.id"})
    newsletter: str = field(metadata={"about": "the newsletter's slug"})
    status: SubscriberStatus
    themes: list[str] | None = field(metadata={"about": "the theme keys chosen; null: every theme"})
    paused_until: date | None = field(metadata={"about": "no issue until this day; null: not paused"})
    edition: str | None = field(metadata={"about": "the edition it gets (daily, weekly, monthly…); null: the newsletter's first"})
    created_at: datetime
    updated_at: datetime = field(metadata={"about": "when its status or choices last changed"})


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriberOut:
    """A person (one per address, whatever newsletters they are on) with each subscription of theirs."""

    id: int = field(metadata={"about": "the person's id: the same on every newsletter"})
    email: str
    name: str | None
    status: SubscriberStatus | None = field(
        metadata={"about": "their subscription's status on the newsletter meant (named, or the only one); null: none meant"}
    )
    subscriptions: list[Subscription]


@dataclass(frozen=True, slots=True, kw_only=True)
class Forgotten:
    """A person forgotten: every subscription of theirs ended and erased, a keyed hash of the address kept."""

    forgotten: bool
    ended: list[str] = field(
        metadata={"about": "the newsletters (slugs) whose subscription the forget ended (active or awaiting confirmation until then)"}
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class NewsletterOut:
    """One newsletter of the install."""

    slug: str = field(metadata={"about": "what a request's newsletter names"})
    name: str
    path: str = field(metadata={"about": "where its public pages live under the install's base URL"})
    subscribers: dict[str, int] | None = field(
        metadata={"about": "its subscriptions by status; null for a token without subscribers:read or reports:read"}
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class NewsletterList:
    items: list[NewsletterOut]


@dataclass(frozen=True, slots=True, kw_only=True)
class AddedSubscriber:
    """What an add did: ``created`` for a new address; ``awaiting_confirmation`` while they get nothing until they click
    the link mailed to them (double opt-in: one mail per address per ten minutes at most, however often it is asked)."""

    subscriber: SubscriberOut
    created: bool
    awaiting_confirmation: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SignUpTaken:
    """A sign-up taken for a token that may only add (``subscribers:create``): the same answer whether the address is
    new, awaiting confirmation, on the list or gone from it, so a website's form (and whoever reads its token) learns
    nothing of who is on the list. As on the sign-up form, the address gets its confirmation mail when it is new or
    unconfirmed (one mail per ten minutes at most), and nothing changes for someone on the list already."""

    accepted: bool
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriberPage:
    """A page of the list in id order; pass ``next`` as ``after`` for the next page (null: this was the last)."""

    items: list[SubscriberOut]
    next: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckOut:
    code: str
    level: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueBrief:
    """A stored issue and its deliveries counted by state."""

    id: str
    subject: str
    created_at: datetime
    deliveries: dict[str, int] = field(metadata={"about": f"by state: {', '.join(state.value for state in DeliveryState)}"})
    edition: str = field(default="", metadata={"about": "the edition it is an issue of (daily, weekly, monthly…)"})


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueList:
    items: list[IssueBrief]


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueOut:
    """A stored issue as frozen: what every send of it uses."""

    id: str
    subject: str
    preheader: str
    window_start: datetime
    window_end: datetime
    created_at: datetime
    posts: int
    checks: list[CheckOut]
    deliveries: dict[str, int] = field(metadata={"about": "by state"})
    approved: bool | None = field(metadata={"about": 'null: no approval is needed (schedule.approval = "none")'})
    approval: str = field(metadata={"about": "why it may, or may not, go out"})
    edition: str = field(default="", metadata={"about": "the edition it is an issue of (daily, weekly, monthly…)"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Approved:
    id: str
    subject: str
    approved_by: str


@dataclass(frozen=True, slots=True, kw_only=True)
class NamedAddress:
    address: str
    status: SubscriberStatus | None = field(metadata={"about": "null: not on the list"})


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitingReport:
    """A bounce or complaint that named nobody by our token: it changed nothing, and waits for a person."""

    id: int
    kind: str
    received_at: datetime | None
    issue_id: str | None
    status: str | None = field(metadata={"about": "the enhanced status code (5.1.1), when there is one"})
    diagnostic: str
    named: list[NamedAddress]


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitingList:
    items: list[WaitingReport]


@dataclass(frozen=True, slots=True, kw_only=True)
class Decided:
    id: int
    result: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """An error, as RFC 9457 problem details (application/problem+json)."""

    type: str = field(metadata={"about": "a URI naming the kind of problem (urn:digest:problem:…)"})
    title: str
    status: int
    detail: str
    errors: list[str] | None = field(default=None, metadata={"about": "each problem of a request body, naming its field"})


@dataclass(frozen=True, slots=True, kw_only=True)
class SendOrder:
    """A send to start, or its dry run. Only the latest schedule slot's issue (what `digest send` and the schedule
    send), or a stored issue by id (to resume it): never a window of the caller's."""

    issue: str | None = field(default=None, metadata={"about": "a stored issue's id; null or left out: the latest slot's issue"})
    dry_run: bool = field(metadata={"about": "true: say what the send would do, store and send nothing"})
    newsletter: str | None = field(
        default=None, metadata={"about": "the newsletter's slug (GET /newsletters); needed when the install has several"}
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SendPlanOut:
    """What a send does (or, in a dry run, would do)."""

    issue_id: str
    subject: str
    frozen: bool = field(metadata={"about": "stored already: this copy is what goes out"})
    to_send: int
    done: dict[str, int] = field(metadata={"about": "sent, failed and skipped before: never mailed again"})
    approval: str | None
    dry_run: bool
    started: bool
    note: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SendProgressOut:
    """Where a send of an issue stands: the ledger's counts (every process's), and this server's last run of it."""

    issue_id: str
    running: bool
    complete: bool = field(metadata={"about": "every recipient sent, skipped, or failed for good"})
    deliveries: dict[str, int]
    last_run: str | None = field(
        metadata={"about": "how this server's last run of it ended (complete, deferred, stopped, paused, ours, fatal)"}
    )
    problem: str | None = field(metadata={"about": "why this server's last run stopped, when it could not go on"})
