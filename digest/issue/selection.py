"""Which posts make the issue: the window, the exclusion rules, and deduplication.

Pure functions: the time is passed in, never read here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from digest.config import SelectionRules, WindowRule
from digest.issue.stories import canonical_url, first_party
from digest.models import Excluded, ExclusionKind, Post, Window
from digest.models.errors import NaiveDatetimeError, WindowError


def window_for(now: datetime, rule: WindowRule, zone: tzinfo, last_end: datetime | None = None) -> Window:
    """The window an issue built at ``now`` covers, by the configured rule.

    ``days``: the N days ending at ``now``. ``week``: the last full calendar
    week before ``now``, weeks starting at local midnight on the configured
    weekday. ``since-last``: from the end of the last issue (``last_end``) to
    ``now``; with no last issue, as ``days``. An edition's (:mod:`digest.config.editions`) ``hours``: exactly
    that many hours ending at ``now``; ``month``: the calendar month before the one ``now`` falls in. Local dates
    are taken in ``zone`` so that a week or a month always starts at local midnight, across clock changes.
    """
    if now.tzinfo is None:
        raise NaiveDatetimeError("now must be timezone-aware")
    if rule.mode == "month":
        this_month = now.astimezone(zone).date().replace(day=1)
        previous = (this_month - timedelta(days=1)).replace(day=1)
        return Window(start=local_midnight(previous, zone), end=local_midnight(this_month, zone))
    if rule.mode == "hours":
        # In UTC: an aware datetime's arithmetic is on its wall clock, which a clock change would stretch or shrink.
        return Window(start=(now.astimezone(UTC) - timedelta(hours=rule.hours)).astimezone(now.tzinfo), end=now)
    if rule.mode == "week":
        local = now.astimezone(zone)
        back = (local.weekday() - rule.week_starts) % 7
        this_week = local.date() - timedelta(days=back)
        return Window(start=local_midnight(this_week - timedelta(days=7), zone), end=local_midnight(this_week, zone))
    if rule.mode == "since-last" and last_end is not None and last_end < now:
        return Window(start=last_end, end=now)
    local = now.astimezone(zone)
    # Subtracting days on the local wall clock keeps "09:00 last Friday" at 09:00 across a DST change.
    start = (local.replace(tzinfo=None) - timedelta(days=rule.days)).replace(tzinfo=zone)
    return Window(start=start, end=now)


def local_midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=zone)


def window_between(since: date | datetime, until: date | datetime, zone: tzinfo) -> Window:
    """An explicit window: dates mean local midnight; ``until`` is exclusive. Raises WindowError when it is
    backwards or empty: every command, the scheduler and the preview take an explicit window through here."""

    def moment(value: date | datetime) -> datetime:
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=zone)
        return local_midnight(value, zone)

    start, end = moment(since), moment(until)
    if not start < end:
        # A window [start, end) with end <= start holds no moment: asked for by mistake (swapped or equal dates).
        raise WindowError(
            f"since {since.isoformat()} is not before until {until.isoformat()}: a window needs its until (exclusive) after its since"
        )
    return Window(start=start, end=end)


# The years a window may fall in: far wider than any newsletter needs, and far enough inside what
# datetime can hold that a window widened by its own length (the "near" posts) never overflows.
FIRST_YEAR, LAST_YEAR = 1900, 8999


def parse_when(value: str) -> date | datetime:
    """``2026-11-20`` (a day) or ``2026-11-20T09:00[+01:00]`` (a moment); raises ValueError."""
    try:
        when = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    except ValueError:
        raise WindowError(f"{value!r} is not an ISO 8601 date or date-time (e.g. 2026-11-20 or 2026-11-20T09:00)") from None
    if not FIRST_YEAR <= when.year <= LAST_YEAR:
        raise WindowError(f"{value!r} is outside the dates digest works with (the years {FIRST_YEAR} to {LAST_YEAR})")
    return when


def at_moment(value: date | datetime, zone: tzinfo) -> datetime:
    """A moment: a naive one is local time in ``zone``, a day is its local midnight."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    return local_midnight(value, zone)


@dataclass(frozen=True, slots=True)
class Selection:
    selected: tuple[Post, ...]
    excluded: tuple[Excluded, ...]


_WORDS = re.compile(r"\w+")


def normalise_title(title: str) -> str:
    """Titles that differ only in case, accents, punctuation or spacing compare equal."""
    if title.isascii():  # nothing to decompose: the common case, and the slow part skipped
        return " ".join(_WORDS.findall(title.casefold()))
    decomposed = unicodedata.normalize("NFKD", title.casefold())
    letters = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_WORDS.findall(letters))


def normalise_url(url: str) -> str:
    stripped = re.sub(r"^https?://(www\.)?", "", url.strip().lower())
    return stripped.split("#", 1)[0].rstrip("/")


def select_posts(posts: Iterable[Post], window: Window, rules: SelectionRules, not_new: Mapping[str, str] | None = None) -> Selection:
    """Posts inside the window that no rule excludes, each once; the rest with their reasons.

    Posts are considered oldest first (ties by source order), so when two
    sources carry the same post, the first seen is kept and the later one is
    excluded as a duplicate of it. A post of our own (:func:`first_party`)
    goes before every other source's, whatever the dates: another source's
    post with its address (or its title and outlet) is the duplicate, and
    one claiming the address of any post of ours near the window is excluded
    naming it (a feed never puts its title and excerpt on our link). ``not_new`` (post id → why) names posts in the
    window that are no news all the same (an old post its feed reissued under a new GUID): left out with that reason.
    """
    by_date = sorted(enumerate(posts), key=lambda pair: (pair[1].published, pair[0]))
    own: list[tuple[int, Post]] = []
    others: list[tuple[int, Post]] = []
    for pair in by_date:
        (own if first_party(pair[1]) else others).append(pair)
    ours = _ours_to_guard(own, others, window)
    selected: list[tuple[int, Post]] = []
    excluded: list[Excluded] = []
    by_url: dict[str, Post] = {}
    by_title: dict[tuple[str, str], Post] = {}
    for index, post in (*own, *others):
        rule = _rule_reason(post, window, rules) or _claim(post, ours)
        if rule is None and not_new and post.id in not_new:
            rule = ExclusionKind.SEEN_BEFORE, not_new[post.id]
        if rule is not None:
            excluded.append(Excluded(post=post, kind=rule[0], reason=rule[1]))
            continue
        # Keys only for posts the rules let through: most posts near a window are outside it.
        url_key = normalise_url(post.url) if post.url else None
        title_key = _title_key(post)
        twin = (by_url.get(url_key) if url_key else None) or by_title.get(title_key)
        if twin is not None:
            excluded.append(Excluded(post=post, kind=ExclusionKind.DUPLICATE, reason=f'duplicate of "{twin.title}" from {twin.source}'))
            continue
        selected.append((index, post))
        if url_key:
            by_url[url_key] = post
        by_title[title_key] = post
    selected.sort(key=lambda pair: (pair[1].published, pair[0]))
    return Selection(tuple(post for _, post in selected), tuple(excluded))


def _ours_to_guard(own: list[tuple[int, Post]], others: list[tuple[int, Post]], window: Window) -> dict[str, dict[str, Post]]:
    """Our posts (``own``, oldest first: the earliest per address) that another source's post in the window might
    claim: by host, then by claim key. A canonical address costs a full parse, so only our posts on a host such a
    post names are put in that form: with no feed pointing at our site, none is (a year of Markdown posts near a
    window is thousands)."""
    hosts = {_host(post.url) for _, post in others if post.url and post.published in window}
    ours: dict[str, dict[str, Post]] = {}
    if hosts:
        for _, post in own:
            if post.url and (host := _host(post.url)) in hosts:
                ours.setdefault(host, {}).setdefault(_claim_key(post.url), post)
    return ours


_HOST = re.compile(r"\s*[a-z][a-z0-9+.\-]*://(?:[^/?#@]*@)?([^/?#:]*)", re.IGNORECASE)


def _host(url: str) -> str:
    """The host of ``url`` as :func:`canonical_url` has it (lower case, no ``www.`` or ``amp.``), without a full parse."""
    found = _HOST.match(url)
    return found[1].lower().removeprefix("www.").removeprefix("amp.") if found else ""


def _claim_key(url: str) -> str:
    return canonical_url(url).casefold()


def _claim(post: Post, ours: dict[str, dict[str, Post]]) -> tuple[ExclusionKind, str] | None:
    """Another source's post carrying the address of a post of ours: ours stands, this one is left out, named."""
    if not post.url or first_party(post) or (on_host := ours.get(_host(post.url))) is None:
        return None
    own = on_host.get(_claim_key(post.url))
    if own is None:
        return None
    if normalise_title(post.title) == normalise_title(own.title):  # a feed that carries our posts too: a plain duplicate
        return ExclusionKind.DUPLICATE, f'duplicate of "{own.title}" from {own.source}'
    return ExclusionKind.DUPLICATE, f'carries the address of our post "{own.title}" from {own.source} under another title: ours is kept'


def _title_key(post: Post) -> tuple[str, str]:
    return (normalise_title(post.title), normalise_title(post.outlet or ""))


def _rule_reason(post: Post, window: Window, rules: SelectionRules) -> tuple[ExclusionKind, str] | None:
    if post.published < window.start:
        return ExclusionKind.BEFORE_WINDOW, f"published {post.published.isoformat()}, before the window"
    if post.published >= window.end:
        return ExclusionKind.AFTER_WINDOW, f"published {post.published.isoformat()}, after the window"
    for pattern in rules.exclude_titles:
        if pattern.search(post.title):
            return ExclusionKind.TITLE_RULE, f'title matches exclusion rule "{pattern.pattern}"'
    if post.outlet and post.outlet.casefold() in rules.exclude_outlets:
        return ExclusionKind.OUTLET_RULE, f'outlet "{post.outlet}" is excluded'
    for tag in post.tags:
        if tag.casefold() in rules.exclude_tags:
            return ExclusionKind.TAG_RULE, f'tag "{tag}" is excluded'
    return None
