"""Counted links (``[tracking] clicks = "aggregate"``): the copy that carries them, and the redirect that counts.

The issue is rendered with each post link pointing at ``base_url/r/<token>``
(:func:`reader_copy`) and frozen with the links' destinations
(:func:`counted_links`). :class:`Redirects` answers the redirect: the
destination read from the frozen issue, the fetch judged in memory by
:class:`digest.readers.clicks.ClickFilter`, the totals written to the store
about once a second by :meth:`Redirects.flush`. Nothing about who clicked is
written anywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from digest.issue.links import through_redirect, tracked_links
from digest.models import ClickTracking, Digest, ReaderInterest, ThemeInterest, TrackedLink, Window, routes
from digest.models.tokens import LinkSigner
from digest.readers.clicks import CLICKS_PER_ADDRESS, HOLD_SECONDS, ClickFilter, Fetch
from digest.readers.disclosure import CLICK_FLOOR, Total, hidden, reach_of

if TYPE_CHECKING:
    from digest.config import Publication, Scope
    from digest.render import Present
    from digest.store import Store

SIGNS_LINKS = 'it signs the counted links ([tracking] clicks = "aggregate")'


def tracking(newsletter: Publication) -> bool:
    return newsletter.clicks is ClickTracking.AGGREGATE


def reader_copy(settings: Scope) -> Present | None:
    """What the render shows instead of the built issue: its post links through the redirect (None: tracking off).
    Raises ConfigError when tracking is on without DIGEST_SECRET_KEY (the tokens are signed)."""
    if not tracking(settings.newsletter):
        return None
    signer = LinkSigner(settings.install.require_secret(SIGNS_LINKS), settings.newsletter.list_id)
    base = settings.base_url.rstrip("/") + routes.COUNTED.prefix

    def present(digest: Digest) -> Digest:
        return through_redirect(digest, lambda number: base + signer.token(digest.issue_id, number))

    return present


INTEREST_ISSUES = 4  # "lately": about a month of a weekly newsletter, enough clicks to mean something


def post_clicks(store: Store, window: Window) -> dict[str, int] | None:
    """Readers' aggregate clicks per post id over the stored issues whose windows lie within ``window`` (what a
    round-up ranks by); None when none of them counted a link (tracking off, or nothing stored yet)."""
    inside = [s.id for s in store.issues.summaries() if s.window_start >= window.start and s.window_end <= window.end]
    counted = store.links.of_issues(inside) if inside else {}
    if not any(counted.values()):
        return None
    found: dict[str, int] = {}
    for rows in counted.values():
        for row in rows:
            found[row.link.post_id] = found.get(row.link.post_id, 0) + row.clicks
    return found


def reader_interest(store: Store, latest: int = INTEREST_ISSUES) -> ReaderInterest | None:
    """What readers clicked per theme over the latest sent issues with counted links, most clicked per post first;
    None when no sent issue had its links counted."""
    issues, rows = store.links.interest(latest)
    if not issues:
        return None
    total = sum(clicks for _, clicks, _ in rows)
    themes = tuple(ThemeInterest(theme, clicks, links, clicks / total if total else 0.0) for theme, clicks, links in rows)
    return ReaderInterest(issues, tuple(sorted(themes, key=lambda t: (-t.per_post, t.theme))))


@dataclass(frozen=True, slots=True)
class IssueClicks:
    """What the redirect counted on one issue's links, as /metrics may tell it: each figure is (clicks, scanned,
    repeated); ``themes`` leaves out those not to be shown (digest.readers.disclosure), ``total`` never."""

    issue_id: str
    total: tuple[int, int, int]
    themes: Mapping[str, tuple[int, int, int]]


def clicks_by_theme(store: Store, latest: int, key_of: Callable[[str], str]) -> tuple[IssueClicks, ...]:
    """The latest ``latest`` issues with counted links, by theme, small figures left out; newest first. ``key_of``: a
    theme name's key (Publication.key_of): readers chose keys, the links are told by theme name."""
    rows = store.links.by_theme(latest)
    issues: dict[str, dict[str, tuple[int, int, int]]] = {}
    for (issue_id, theme), counted in rows.items():
        issues.setdefault(issue_id, {})[theme] = counted
    found = []
    sent_to = store.figures.choices_of(list(issues))
    for issue_id, themes in sorted(issues.items(), reverse=True):
        choices = sent_to[issue_id]
        reach = {theme: reach_of(choices, [key_of(theme)]) for theme in themes}
        secret = hidden({theme: counted[0] for theme, counted in themes.items()}, [Total(None, list(themes))], reach)
        total = (sum(c[0] for c in themes.values()), sum(c[1] for c in themes.values()), sum(c[2] for c in themes.values()))
        found.append(IssueClicks(issue_id, total, {theme: counted for theme, counted in themes.items() if theme not in secret}))
    return tuple(found)


def counted_links(newsletter: Publication, digest: Digest) -> tuple[TrackedLink, ...]:
    """The links the frozen issue keeps for the redirect: none with tracking off (its copies link directly)."""
    return tracked_links(digest) if tracking(newsletter) else ()


CACHED_SECONDS = 60.0  # a destination read from the store is reused this long (a rebuild before the send may renumber)
CACHED_LINKS = 20_000


class Redirects:
    """``/r/<token>``: where a counted link leads (:meth:`verify`, :meth:`cached` or :meth:`destination`), and the
    count (:meth:`count`); the web route strings them together without a thread for a link read lately. A token verifies whatever ``[tracking]`` says
    now: an issue sent while it was on keeps working after it is turned off."""

    def __init__(self, settings: Scope, store: Store, *, hold: float = HOLD_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.signer = LinkSigner(settings.install.secret_key, settings.newsletter.list_id) if settings.install.secret_key else None
        self.store = store
        self.filter = ClickFilter(hold=hold)
        self.clock = clock
        # Destinations already read: a frozen issue's links do not change once it is sent, and every copy of an
        # issue asks for the same few, so most requests need no database at all.
        self.known: dict[tuple[str, int], tuple[float, TrackedLink]] = {}

    def verify(self, token: str) -> tuple[str, int] | None:
        """(issue id, link number) of a genuine token; None for any other."""
        return self.signer.verify(token) if self.signer is not None else None

    def cached(self, issue_id: str, number: int) -> TrackedLink | None:
        """The link if it was read lately (None: ask :meth:`destination`, which reads the store)."""
        found = self.known.get((issue_id, number))
        return found[1] if found is not None and found[0] > self.clock() else None

    def destination(self, issue_id: str, number: int) -> TrackedLink | None:
        """The link from the frozen issue (None: it has no such link), remembered for :data:`CACHED_SECONDS`."""
        link = self.cached(issue_id, number) or self.store.links.destination(issue_id, number)
        if link is not None:
            if len(self.known) >= CACHED_LINKS:
                self.known.clear()
            self.known[(issue_id, number)] = (self.clock() + CACHED_SECONDS, link)
        return link

    def count(self, issue_id: str, number: int, *, method: str, address: str, agent: str, via: str = "") -> Fetch:
        """Judge one fetch (``via``: the forwarding header of a proxy not in serve.trusted_proxies, "" for none)."""
        return self.filter.fetched(issue_id, number, address=address, agent=agent, method=method, now=self.clock(), via=via)

    def flush(self, *, everything: bool = False) -> int:
        """Write the totals decided so far (``everything``: held clicks too, the server stopping); returns how
        many links' totals changed."""
        decided = self.filter.decided(self.clock(), everything=everything)
        self.store.links.add(decided)
        return len(decided)


__all__ = [
    "CLICKS_PER_ADDRESS",
    "CLICK_FLOOR",
    "HOLD_SECONDS",
    "Fetch",
    "IssueClicks",
    "Redirects",
    "clicks_by_theme",
    "counted_links",
    "reader_copy",
    "reader_interest",
    "tracking",
]
