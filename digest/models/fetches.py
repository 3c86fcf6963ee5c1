"""What a source's fetch did, and how a source stands over its fetches: a feed or URL source reports each fetch
(:class:`Fetch`), the app layer stores it (:class:`FetchRecord`) and judges the source's health from its history
(:class:`SourceHealth`, worded from :data:`HEALTH_WORDS`).

A source never stores anything itself (it may not import the store): it returns what happened, and the entries it
saw, so that the app layer can remember them and tell an old post reissued under a new GUID from a new one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType


@dataclass(frozen=True, slots=True, kw_only=True)
class SeenEntry:
    """One entry of a fetched document, as the source read it: enough to recognise it on a later fetch."""

    guid: str | None  # the feed's own id for it (RSS guid, Atom id); None when it gives none (an archive's entries)
    url: str | None
    title: str
    published: datetime
    post_id: str  # the Post it became (digest.sources.base.post_id): how a verdict on the entry reaches the post


@dataclass(frozen=True, slots=True, kw_only=True)
class Fetch:
    """One fetch of one source, as the source saw it: whether it worked, what came back, how long it took."""

    source: str  # the source's location as configured: its URL
    kind: str  # its kind's name (digest.config.kinds)
    error: str | None  # None: fetched and read; else why not (an HTTP error, a timeout, not a feed)
    status: int | None = None  # the HTTP status (304: not modified, the cached copy read); None for a file
    size: int = 0  # bytes read
    seconds: float = 0.0  # time taken
    entries: tuple[SeenEntry, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchRecord:
    """A fetch as stored: when, what came of it, and how many of its entries were new."""

    source: str
    kind: str
    at: datetime
    error: str | None
    status: int | None
    entries: int
    new_entries: int
    size: int
    seconds: float

    @property
    def ok(self) -> bool:
        return self.error is None


class Health(StrEnum):
    """How a source stands, judged from its recorded fetches (digest.app.health)."""

    OK = "ok"
    STALE = "stale"  # fetched fine, but no new entry for several times its usual interval
    FAILING = "failing"  # its last fetches in a row failed
    UNKNOWN = "unknown"  # no fetch recorded yet, or a source on disk (read, not fetched: it keeps no fetch history)

    @property
    def words(self) -> str:
        return HEALTH_WORDS[self]


# Each state's words, once: `digest sources`, `digest status` and the preview all say these. A test holds every member.
HEALTH_WORDS: Mapping[Health, str] = MappingProxyType(
    {
        Health.OK: "ok",
        Health.STALE: "stale: no new entry for longer than usual",
        Health.FAILING: "failing: its last fetches failed",
        Health.UNKNOWN: "unknown: no fetch recorded",
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceHealth:
    """One source's health and why, with the figures it was judged on."""

    source: str
    kind: str
    health: Health
    reason: str
    last: FetchRecord | None  # the latest fetch recorded
    fetches: int  # fetches recorded (the latest ones kept)
    failures_in_row: int
    entries_known: int  # entries remembered for it
    last_new_at: datetime | None  # the latest fetch that found a new entry

    @property
    def worrying(self) -> bool:
        """Failing or stale: what `digest status` and the preview point out."""
        return self.health in (Health.FAILING, Health.STALE)
