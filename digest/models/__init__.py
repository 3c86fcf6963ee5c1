"""The values that flow through the pipeline, left to right, and the nouns every layer shares.

Everything here is a frozen, slotted dataclass (an enum, or a small pure rule over them): a stage takes these
and returns new ones, never changes what it was given. No I/O here, and nothing of a layer above: the store maps
its rows to these values and back, the render fills them in, the entry points word them. Import them from here
(``from digest.models import Post``); the modules are by family::

    posts.py        Post, Image, Window, Problem, Excluded and its kinds' words, shares, last_day and issue_id
    placement.py    where posts were placed (Placed, Judgement) and what readers clicked (TrackedLink, ReaderInterest)
    issues.py       Section, Digest, Check, RenderedIssue, Layout (theme views' marked render), StoredIssue, IssueSummary
    subscribers.py  Subscriber and SubscriberStatus (its words), SignUp, where a report that named nobody stands
    delivery.py     what a reader's copy is (RecipientView, ViewKind and its words), DeliveryState, the ledger's
                    rows and counts (Delivery, IssueStatus, Outstanding)
    fetches.py      a source's fetch (Fetch, the entries it saw), as stored (FetchRecord), its health and words
    api.py          the HTTP API's scopes (their words), a token as stored, a line of the audit log
    events.py       events out: their kinds (EVENT_WORDS), the facts a payload is built from, webhook endpoints
    runs.py         a send run (Progress, SendReport, RunEnd, WorkerRecord), a scheduled slot (ScheduleRun)
    setup.py        the doctor's checks of the setup (SetupCheck, its CheckName and Verdict and their words, SetupReport)

Beside the nouns, in their own layers (pyproject.toml's contracts): above them ``serialize.py`` (their JSON forms)
and the list's rules (``addresses.py``: an address validated once, names cleaned; ``tokens.py``: the HMAC-signed
tokens of unsubscribe and preferences links, confirmations, return paths and counted links; ``csv_formats.py``:
lists as other tools export them); below them ``text.py`` (visible text, one line, the terminal's), ``placeholders.py``
(the tokens left in a rendered issue for each recipient), ``routes.py`` (the public app's paths) and, at the
bottom, ``errors.py``, the one error tree.

The values the errors carry (a relay's Reply, a Refusal, a ReviewProblem) are defined with the error tree, at
the bottom of the layers (:mod:`digest.models.errors`), and named from here like the rest.
"""

from __future__ import annotations

from digest.models.api import API_SCOPE_WORDS, ApiScope, ApiToken, AuditEntry, Subject, SubjectKind
from digest.models.delivery import (
    GAVE_UP,
    OUTSTANDING_STATES,
    SENDER_SIDE,
    VIEW_WORDS,
    Delivery,
    DeliveryState,
    IssueStatus,
    Outstanding,
    RecipientView,
    ViewKind,
    ViewWords,
)
from digest.models.errors import REPLY_KIND_WORDS, Refusal, RefusalKind, Reply, ReplyKind, ReviewProblem
from digest.models.events import (
    ENDPOINT_STATE_WORDS,
    EVENT_WORDS,
    STATUS_EVENTS,
    DeliveryPass,
    Endpoint,
    EndpointState,
    EventType,
    ForgottenFacts,
    IssueFacts,
    Outgoing,
    StoredEvent,
    SubscriberFacts,
    event_kind,
)
from digest.models.fetches import HEALTH_WORDS, Fetch, FetchRecord, Health, SeenEntry, SourceHealth
from digest.models.issues import (
    KNOWN_LAYOUTS,
    LAYOUT_VERSION,
    Check,
    Digest,
    Editorial,
    IssueSummary,
    Layout,
    Level,
    OutletGroup,
    OutletShare,
    RenderedIssue,
    Section,
    Stats,
    StoredIssue,
)
from digest.models.placement import (
    ClickTracking,
    Judgement,
    LinkClicks,
    Placed,
    PlacementKind,
    ReaderInterest,
    SectionOrder,
    ThemeInterest,
    TrackedLink,
)
from digest.models.posts import (
    EXCLUSION_WORDS,
    NO_OUTLET,
    AlsoIn,
    Excluded,
    ExclusionKind,
    Image,
    OnStep,
    Post,
    Problem,
    Window,
    issue_id,
    last_day,
    shares,
    strict_problems,
)
from digest.models.runs import WARMUP_HELD, Progress, RelayPace, RunEnd, ScheduleRun, SendReport, SlotState, WarmupDay, WorkerRecord
from digest.models.setup import CHECK_WORDS, VERDICT_WORDS, CheckName, SetupCheck, SetupReport, Verdict
from digest.models.subscribers import (
    SUBSCRIBER_STATUS_WORDS,
    ReviewState,
    SignUp,
    SignUpKind,
    Subscriber,
    SubscriberStatus,
    paused_on,
)

__all__ = [
    "API_SCOPE_WORDS",
    "CHECK_WORDS",
    "ENDPOINT_STATE_WORDS",
    "EVENT_WORDS",
    "EXCLUSION_WORDS",
    "GAVE_UP",
    "HEALTH_WORDS",
    "KNOWN_LAYOUTS",
    "LAYOUT_VERSION",
    "NO_OUTLET",
    "OUTSTANDING_STATES",
    "REPLY_KIND_WORDS",
    "SENDER_SIDE",
    "STATUS_EVENTS",
    "SUBSCRIBER_STATUS_WORDS",
    "VERDICT_WORDS",
    "VIEW_WORDS",
    "WARMUP_HELD",
    "AlsoIn",
    "ApiScope",
    "ApiToken",
    "AuditEntry",
    "Check",
    "CheckName",
    "ClickTracking",
    "Delivery",
    "DeliveryPass",
    "DeliveryState",
    "Digest",
    "Editorial",
    "Endpoint",
    "EndpointState",
    "EventType",
    "Excluded",
    "ExclusionKind",
    "Fetch",
    "FetchRecord",
    "ForgottenFacts",
    "Health",
    "Image",
    "IssueFacts",
    "IssueStatus",
    "IssueSummary",
    "Judgement",
    "Layout",
    "Level",
    "LinkClicks",
    "OnStep",
    "Outgoing",
    "OutletGroup",
    "OutletShare",
    "Outstanding",
    "Placed",
    "PlacementKind",
    "Post",
    "Problem",
    "Progress",
    "ReaderInterest",
    "RecipientView",
    "Refusal",
    "RefusalKind",
    "RelayPace",
    "RenderedIssue",
    "Reply",
    "ReplyKind",
    "ReviewProblem",
    "ReviewState",
    "RunEnd",
    "ScheduleRun",
    "Section",
    "SectionOrder",
    "SeenEntry",
    "SendReport",
    "SetupCheck",
    "SetupReport",
    "SignUp",
    "SignUpKind",
    "SlotState",
    "SourceHealth",
    "Stats",
    "StoredEvent",
    "StoredIssue",
    "Subject",
    "SubjectKind",
    "Subscriber",
    "SubscriberFacts",
    "SubscriberStatus",
    "ThemeInterest",
    "TrackedLink",
    "Verdict",
    "ViewKind",
    "ViewWords",
    "WarmupDay",
    "Window",
    "WorkerRecord",
    "event_kind",
    "issue_id",
    "last_day",
    "paused_on",
    "shares",
    "strict_problems",
]
