"""The HTTP API's nouns: what a token may do (its scopes, each in words once), a token as the store keeps it, and
one line of the audit log."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType


class ApiScope(StrEnum):
    """What a token may do. A write scope does not include its read: a website's form needs only to add people."""

    SUBSCRIBERS_READ = "subscribers:read"
    SUBSCRIBERS_CREATE = "subscribers:create"  # a website's form: add only, and learn nothing of who is on the list
    SUBSCRIBERS_WRITE = "subscribers:write"
    ISSUES_READ = "issues:read"
    ISSUES_WRITE = "issues:write"
    SENDS_WRITE = "sends:write"
    REPORTS_READ = "reports:read"
    BOUNCES_READ = "bounces:read"
    BOUNCES_WRITE = "bounces:write"


# Each scope and what it allows, once: `digest api-tokens create --help`, `list`, and the OpenAPI document read this.
API_SCOPE_WORDS: Mapping[ApiScope, str] = MappingProxyType(
    {
        ApiScope.SUBSCRIBERS_READ: "read subscribers: one, or the list with filters",
        ApiScope.SUBSCRIBERS_CREATE: "add subscribers by double opt-in only (a website's form): the answer is the same whoever "
        "is on the list already, and nothing else is allowed",
        ApiScope.SUBSCRIBERS_WRITE: "add subscribers, change their name and themes, unsubscribe and forget them",
        ApiScope.ISSUES_READ: "read stored issues, their counts and their frozen HTML and text",
        ApiScope.ISSUES_WRITE: "approve an issue",
        ApiScope.SENDS_WRITE: "start a send of an issue and follow its progress",
        ApiScope.REPORTS_READ: "read the report: deliveries, what came back, clicks, the list over time",
        ApiScope.BOUNCES_READ: "read the bounces and complaints waiting for review",
        ApiScope.BOUNCES_WRITE: "apply or dismiss a bounce or complaint waiting for review",
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiToken:
    """A token as the store keeps it: never the token itself, only its hash (in the store, not here)."""

    id: int
    name: str
    public_id: str  # the part of the token that finds its row; the rest is secret
    scopes: frozenset[ApiScope]
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    def allows(self, scope: ApiScope) -> bool:
        return self.revoked_at is None and scope in self.scopes


class SubjectKind(StrEnum):
    """What an API request was about, in the audit log."""

    SUBSCRIBER = "subscriber"  # by id, and always by the keyed hash of the address: a forget leaves only the hash
    ISSUE = "issue"
    REPORT = "report"  # a bounce or complaint waiting for review, by its id


@dataclass(frozen=True, slots=True, kw_only=True)
class Subject:
    kind: SubjectKind
    id: str | None  # the subscriber's id (None once forgotten), the issue's, the report's
    address_hash: str | None = None  # a subscriber's keyed address hash (digest.models.tokens.address_hash)

    def __str__(self) -> str:
        """``subscriber 12 #3f9a…`` (its id, the start of the keyed hash); ``subscriber #3f9a…`` once forgotten, or for an
        address refused before anyone was found."""
        words = [
            self.kind.value,
            *([self.id] if self.id is not None else []),
            *([f"#{self.address_hash[:12]}"] if self.address_hash else []),
        ]
        return " ".join(words)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One API request: who (the token's name; None when no valid token came), what, about whom, when, the answer."""

    at: datetime
    token: str | None
    method: str
    operation: str
    status: int
    subject: Subject | None = None
