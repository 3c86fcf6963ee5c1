"""The posts a source yields, the window an issue covers, and why a post near it was left out.

Everything in :mod:`digest.models` is a frozen, slotted dataclass (or an enum, or a small pure rule over them):
a stage takes these and returns new ones, never changes what it was given. No I/O here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum
from types import MappingProxyType

from digest.models.errors import NaiveDatetimeError, WindowError

# A long operation's progress, for whoever waits: (what is being done, how many done, of how many).
OnStep = Callable[[str, int, int], None]


class ExclusionKind(StrEnum):
    """Why a post near the window is not in the issue."""

    BEFORE_WINDOW = "before-window"
    AFTER_WINDOW = "after-window"
    TITLE_RULE = "title-rule"
    OUTLET_RULE = "outlet-rule"
    TAG_RULE = "tag-rule"
    DUPLICATE = "duplicate"
    EDITOR = "editor"  # the issue file's exclude
    SAME_STORY = "same-story"  # another outlet's post on a story already shown: listed under it as "Also in"
    UNRENDERABLE = "unrenderable"  # the post broke the email's compilation on its own: left out, the issue goes on
    SEEN_BEFORE = "seen-before"  # its source showed it before an earlier issue, under another GUID: an old post, not news

    @property
    def outside_window(self) -> bool:
        return self in (ExclusionKind.BEFORE_WINDOW, ExclusionKind.AFTER_WINDOW)

    def counted(self, count: int) -> str:
        """``3 duplicates``, ``1 duplicate``, ``2 excluded by the editor``: the words every report uses."""
        one, many = EXCLUSION_WORDS[self]
        return f"{count} {one if count == 1 else many}"


# Each kind's words, once: a report that kept its own table crashed on the kind it lacked (the editor's).
# A test holds every member here.
EXCLUSION_WORDS: Mapping[ExclusionKind, tuple[str, str]] = MappingProxyType(
    {
        ExclusionKind.BEFORE_WINDOW: ("before the window", "before the window"),
        ExclusionKind.AFTER_WINDOW: ("after the window", "after the window"),
        ExclusionKind.TITLE_RULE: ("by a title rule", "by a title rule"),
        ExclusionKind.OUTLET_RULE: ("by an outlet rule", "by an outlet rule"),
        ExclusionKind.TAG_RULE: ("by a tag rule", "by a tag rule"),
        ExclusionKind.DUPLICATE: ("duplicate", "duplicates"),
        ExclusionKind.EDITOR: ("excluded by the editor", "excluded by the editor"),
        ExclusionKind.SAME_STORY: ("same story as another outlet's", "same story as another outlet's"),
        ExclusionKind.UNRENDERABLE: ("left out: broke the email", "left out: broke the email"),
        ExclusionKind.SEEN_BEFORE: ("seen before under another GUID: not new", "seen before under another GUID: not new"),
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Image:
    """A post's picture: an absolute https URL, and its alt text: "" when the source marks it decorative
    (``image_alt: ""``, ``<img alt="">``), None when the source gives none (the email then uses the post's title:
    it is the post's lead picture)."""

    url: str
    alt: str | None = None
    width: int | None = None  # the picture's own size in pixels, when the source says (media:content, <img width>)
    height: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AlsoIn:
    """Another outlet's post on the same story, shown as a link under the one shown (see digest.issue.stories)."""

    outlet: str
    url: str | None
    title: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Post:
    """One post from any source, normalised.

    ``excerpt_html`` is already sanitised; every other text field is plain text.
    ``published`` is timezone-aware. ``original_date`` is the date the item
    itself carries when it differs in kind from ``published`` (the dateline of
    an archive entry, for instance).
    """

    id: str
    title: str
    url: str | None
    published: datetime
    outlet: str | None
    author: str | None
    excerpt_html: str
    excerpt_text: str
    tags: tuple[str, ...] = ()
    theme: str | None = None
    source: str
    original_date: date | None = None
    image: Image | None = None
    also: tuple[AlsoIn, ...] = ()  # the same story elsewhere: set when the issue is assembled, never by a source


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """Something wrong with one input, reported and skipped: where and why."""

    where: str
    message: str
    # The whole source yielded nothing (missing, unreachable, an HTTP error, no file matched):
    # a failed run even without --strict, where a bad item among good ones is only a warning.
    source_failed: bool = False
    # Nothing is wrong with the input, but the editor should know (a post in another language): shown with the
    # problems, never failing --strict.
    advisory: bool = False

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def strict_problems(problems: Sequence[Problem]) -> list[Problem]:
    """The problems that fail a --strict build or send: all but the advisory ones."""
    return [problem for problem in problems if not problem.advisory]


@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    """A half-open span of time ``[start, end)`` with aware datetimes."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise NaiveDatetimeError("window bounds must be timezone-aware")
        if not self.start < self.end:
            raise WindowError(f"window start {self.start.isoformat()} is not before end {self.end.isoformat()}")

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def widened(self) -> Window:
        """The window and as long again on either side: the neighbourhood an editor's "why not?" is about.

        Posts in it but outside the window are listed as excluded with the
        reason; posts further away are only counted, so that a large archive
        does not bury the week's exclusions (nor load every post it holds).
        """
        length = self.end - self.start
        return Window(start=self.start - length, end=self.end + length)


@dataclass(frozen=True, slots=True, kw_only=True)
class Excluded:
    """A post left out of the issue, and why."""

    post: Post
    kind: ExclusionKind
    reason: str


# -- small rules over these values, shared by the stages and the render -----------------------------------

NO_OUTLET = "Other sources"  # the outlet heading of posts that name none


def last_day(window: Window, zone: tzinfo) -> datetime:
    """The last moment inside the half-open window, in local time: the day an issue is named for."""
    return (window.end - timedelta(microseconds=1)).astimezone(zone)


def issue_id(window: Window, zone: tzinfo, newsletter: str, edition: str | None = None) -> str:
    """Stable for a window of one newsletter: its last local day, readable, and a short hash of the exact bounds and the
    newsletter's slug, so two newsletters' issues of one window have two ids. (An issue stored before the slug was in
    the hash keeps its id: who looks for the issue of a window asks the store first, ``Issues.of_window``.) ``edition``:
    the name of an edition other than the newsletter's first, folded in too (the first's ids stay as they were, so an
    install of one edition keeps its ids)."""
    exact = f"{window.start.timestamp():.0f}-{window.end.timestamp():.0f}-{newsletter}"
    if edition:
        exact += f"-{edition}"
    digest = hashlib.sha256(exact.encode("ascii")).hexdigest()[:6]
    return f"{last_day(window, zone):%Y-%m-%d}-{digest}"


def shares(counts: Sequence[int]) -> list[float]:
    """Each count's share of the total in whole percent, as a fraction (0.43), adding up to exactly 1.

    Largest remainder (Hamilton's method): every share is rounded down, and the
    percent points left go to the largest remainders (ties to the earlier
    count). Rounding each on its own showed 34 % + 33 % + 33 % well, but
    51 % + 26 % + 24 % = 101 % for 2, 1, 1 of 4 (issue 22, item 23).
    """
    total = sum(counts)
    if not total:
        return [0.0 for _ in counts]
    exact = [count * 100 / total for count in counts]
    whole = [int(value) for value in exact]
    left = 100 - sum(whole)
    for index in sorted(range(len(counts)), key=lambda i: (-(exact[i] - whole[i]), i))[:left]:
        whole[index] += 1
    return [points / 100 for points in whole]
