"""The values that flow through the pipeline, left to right.

Everything here is a frozen, slotted, keyword-only dataclass: a stage takes
these and returns new ones, never changes what it was given. No I/O here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

from digest.errors import NaiveDatetimeError, WindowError

if TYPE_CHECKING:
    from digest.render.views import Layout


class DeliveryState(StrEnum):
    """Where one (issue, subscriber) delivery stands in the ledger."""

    PENDING = "pending"
    SENDING = "sending"  # committed before DATA: its outcome is not known yet
    SENT = "sent"
    DEFERRED = "deferred"  # a 4xx or a lost connection: retried with backoff
    FAILED = "failed"  # for good, with the reply recorded
    SKIPPED = "skipped"  # not sent, by the reader's doing: left after being queued, no posts in their themes, paused


# The states a send still has to finish (its copy may still go out): what `digest status --pending` lists, and the
# rows of the ledger's index of deliveries to send.
OUTSTANDING_STATES = (DeliveryState.PENDING, DeliveryState.SENDING, DeliveryState.DEFERRED)


class SubscriberStatus(StrEnum):
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    PENDING = "pending"  # signed up, not yet confirmed: never mailed an issue; expires after subscribe.confirm_hours


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


class ReviewState(StrEnum):
    """Where a bounce or complaint that named nobody by our token stands: it waits for a person."""

    UNATTRIBUTED = "unattributed"  # changed nothing; listed by `digest bounces review`
    APPLIED = "applied"  # a person applied it to the subscriber it names
    DISMISSED = "dismissed"  # a person judged it not genuine


class ReviewProblem(StrEnum):
    """Why a decision on an unattributed report cannot be carried out (:class:`digest.errors.ReviewError`)."""

    NOT_WAITING = "not-waiting"  # no such report, or it was decided already
    WHICH_ADDRESS = "which-address"  # it names several addresses: the decision must say which
    NOT_NAMED = "not-named"  # the address given is not one the report names
    NOT_LISTED = "not-listed"  # the address it names is not on the list: only a dismissal is left


# How the ledger words a failed delivery whose cause was not the reader's address, so that it may be sent again
# (`digest send --retry-failed`): GAVE_UP starts one that met 4xx replies until delivery.max_attempts (and, before
# issue 31, one whose relay was down throughout); SENDER_SIDE is in one refused by policy (5.7.x: our reputation, our
# authentication). A reader whose own address was refused (5.1.x, marked bounced) is never among them.
GAVE_UP = "gave up after"
SENDER_SIDE = "refused by policy: a sender-side problem"


class RunEnd(StrEnum):
    """How one send run ended (``SendReport.end``); the ledger says what is left either way."""

    COMPLETE = "complete"  # every recipient ended sent, skipped, or failed for good with the reason recorded
    DEFERRED = "deferred"  # some recipients were deferred past the run's wait: the next run retries them
    STOPPED = "stopped"  # a stop was asked for (a signal, the scheduler stopping): the next run resumes
    PAUSED = "paused"  # the circuit breaker stopped it after consecutive failures (reason: the last reply)
    # Our side failed (the relay cannot be reached or garbles its replies, refuses our TLS, login or envelope sender):
    # no reader blamed, every reader not sent still pending; the next run resumes (reason: what, and the settings to check).
    OURS = "ours"
    FATAL = "fatal"  # the run could not go on: the ledger could not be written, an unexpected error (reason: what)


class PlacementKind(StrEnum):
    """What the editor did with the theme digest chose for a post, as the issue was frozen."""

    KEPT = "kept"  # the automatic theme stood
    MOVED = "moved"  # the editor put the post in another theme
    INCLUDED = "included"  # the editor brought in a post the rules had left out
    EXCLUDED = "excluded"  # the editor left the post out


@dataclass(frozen=True, slots=True)
class Judgement:
    """Where the classifier puts one post (digest.meaning.classifier): its probability of each section, in the
    themes' order then the fallback, and, when the editor's past placements changed the choice, how."""

    probabilities: tuple[float, ...]
    taught: str | None = None  # 'taught by 3 of your past placements here (nearest: "…"); without them: Energy'
    note: str | None = None  # how the post was read, when not by the newsletter's model: "read by <model>"


@dataclass(frozen=True, slots=True)
class Placed:
    """One post of a frozen issue: the theme digest chose and the one it went out in (None: left out). The
    editor's moves and inclusions are examples that later issues learn from; all of them are what
    ``digest themes report`` counts."""

    post_id: str
    text: str  # title and excerpt, as the model reads them
    automatic: str | None
    theme: str | None
    kind: PlacementKind
    theme_key: str | None = None  # the theme's key: a label follows its theme through a rename (the key kept)


# A long operation's progress, for whoever waits: (what is being done, how many done, of how many).
OnStep = Callable[[str, int, int], None]


class ClickTracking(StrEnum):
    """``[tracking] clicks``: whether the links to posts go through the counting redirect."""

    OFF = "off"  # the posts' own URLs, byte for byte
    AGGREGATE = "aggregate"  # base_url/r/<token>: counts per issue, post and theme, nothing about the reader


@dataclass(frozen=True, slots=True)
class TrackedLink:
    """One counted link of a frozen issue: the redirect's token names its issue and ``number``, and the
    destination is read from here, never from the request. ``theme`` and ``outlet`` are what the report counts by."""

    number: int  # 1-based, in the order the issue shows its links
    post_id: str
    url: str  # the post's own URL (an "Also in" link: the other outlet's)
    theme: str
    outlet: str | None


@dataclass(frozen=True, slots=True)
class LinkClicks:
    """What the redirect counted for one link: people, and what it did not count (and why)."""

    link: TrackedLink
    clicks: int  # people following the link (once per client in a while)
    scanned: int  # fetches by link scanners: a scanner's name, or all of one copy's links within seconds
    repeated: int  # the same client again within the repeat window


class SectionOrder(StrEnum):
    """``[grouping] order``: the sections in the config's order, or by what readers clicked in recent issues."""

    CONFIG = "config"
    READERS = "readers"  # by clicks per post over the recent issues with counted links; ties, and the fallback, as configured


@dataclass(frozen=True, slots=True)
class ThemeInterest:
    """One theme in the recent issues with counted links: how many clicks its posts got, on how many links."""

    theme: str
    clicks: int
    links: int
    share: float  # of all the clicks of those issues

    @property
    def per_post(self) -> float:
        return self.clicks / self.links if self.links else 0.0


@dataclass(frozen=True, slots=True)
class ReaderInterest:
    """What readers clicked in the latest ``issues`` issues with counted links, per theme (most clicked first)."""

    issues: int
    themes: tuple[ThemeInterest, ...]

    def of(self, theme: str) -> ThemeInterest | None:
        return next((item for item in self.themes if item.theme == theme), None)


class SlotState(StrEnum):
    """What became of one scheduled slot."""

    RUNNING = "running"
    SENT = "sent"
    PARTIAL = "partial"  # some recipients deferred, or the run was stopped: resumed within grace
    SKIPPED = "skipped"  # fewer posts than schedule.min_posts
    MISSED = "missed"  # never run within the grace period
    FAILED = "failed"  # refused (checks, overlap) or an error
    ABANDONED = "abandoned"  # partial and past the grace period: left for an operator
    NOT_APPROVED = "not-approved"  # schedule.approval = "required" and no valid approval at the slot: the editors were told
    # Our side failed (the relay down, our login refused: RunEnd.OURS), every reader still pending: `digest schedule`
    # tries the slot again at each retry tick while within its grace period, then records it failed for that reason.
    WAITING = "waiting"


class RefusalKind(StrEnum):
    """Why an operation that would hurt the list is refused. The domain says why (:class:`Refusal`); the CLI
    adds, in one place, the command or option that fixes it (``digest.cli.refusals``)."""

    OVERLAP = "overlap"  # another issue with deliveries covers part of this window: resume it, or allow the overlap
    SOURCE_FAILED = "source-failed"  # a source yielded nothing: fix it, or force the send
    ERROR_CHECKS = "error-checks"  # error-level checks of the render: fix them, or force the send
    NO_KEY = "no-key"  # DIGEST_SECRET_KEY is not set
    PRIVATE_LINKS = "private-links"  # base_url is http or this machine, and the send leaves it
    NO_POSTAL_ADDRESS = "no-postal-address"  # newsletter.address is empty, and the send leaves this machine
    SENT_ALREADY = "sent-already"  # the issue has deliveries: what was sent stays what is stored
    NO_SUCH_ISSUE = "no-such-issue"  # no stored issue has that id
    FORGOTTEN = "forgotten"  # the address asked to be forgotten: only they can sign up again
    NOT_APPROVED = "not-approved"  # schedule.approval = "required" and the issue has no valid approval: approve it first
    LEFT = "left"  # they unsubscribed, complained or bounced: an operator re-subscribes them only at their request


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refusal as data: its kind, the reason in words (config keys named, never a command-line option), and
    the issues it is about."""

    kind: RefusalKind
    why: str
    issue_id: str | None = None
    other_issue: str | None = None  # OVERLAP: the issue in the way
    address: str | None = None  # LEFT: the address refused

    def __str__(self) -> str:
        return self.why


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


@dataclass(frozen=True, slots=True, kw_only=True)
class OutletGroup:
    """The posts of one outlet inside a section; ``outlet`` None is "no outlet"."""

    outlet: str | None
    posts: tuple[Post, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Section:
    """One theme of the issue: its outlets, and why each post landed here."""

    theme: str
    description: str
    outlets: tuple[OutletGroup, ...]
    reasons: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    automatic: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({})
    )  # post id → digest's theme, where the editor moved it

    @property
    def posts(self) -> tuple[Post, ...]:
        return tuple(post for group in self.outlets for post in group.posts)


@dataclass(frozen=True, slots=True, kw_only=True)
class OutletShare:
    """How much of the issue one outlet supplied."""

    outlet: str
    count: int
    share: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Stats:
    """Counts of one build, for the summary and for monitoring: gathered = selected + excluded + distant."""

    gathered: int
    selected: int
    excluded: int  # listed in Digest.excluded
    problems: int
    distant: int = 0  # outside Window.widened(): counted in gathered, not listed


@dataclass(frozen=True, slots=True, kw_only=True)
class Editorial:
    """What the editor's issue file did to this issue (see :mod:`digest.issue.editorial`)."""

    file: str  # the issue file, relative to the project root
    subject: str | None = None  # the Subject header, in place of the title
    preheader: str | None = None
    intro_html: str = ""  # sanitised, like post HTML
    intro_text: str = ""
    notes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # post id → the editor's note
    changes: tuple[str, ...] = ()  # each change, for people: 'excluded "…"', 'pinned "…"'


@dataclass(frozen=True, slots=True, kw_only=True)
class Digest:
    """The Weekly Digest: everything the renderers need, nothing they must look up."""

    issue_id: str
    newsletter: str
    title: str
    preheader: str
    window: Window
    timezone: str
    sections: tuple[Section, ...]
    outlet_summary: tuple[OutletShare, ...]
    excluded: tuple[Excluded, ...]
    problems: tuple[Problem, ...]
    stats: Stats
    generated_at: datetime
    editorial: Editorial | None = None  # None: no issue file
    placements: tuple[Placed, ...] = ()  # each post's automatic and final theme, and the editor's exclusions
    interest: ReaderInterest | None = None  # what readers clicked in recent issues, per theme (None: nothing counted)
    order: str | None = None  # why the sections are in this order, when [grouping] order = "readers"

    @property
    def subject(self) -> str:
        """The Subject header: the editor's, else the title."""
        return (self.editorial.subject if self.editorial else None) or self.title

    @property
    def posts(self) -> tuple[Post, ...]:
        return tuple(post for section in self.sections for post in section.posts)

    def excluded_by_kind(self) -> dict[ExclusionKind, int]:
        """How many listed exclusions of each kind, in the enum's order (kinds with none left out)."""
        counts = dict.fromkeys(ExclusionKind, 0)
        for item in self.excluded:
            counts[item.kind] += 1
        return {kind: count for kind, count in counts.items() if count}

    @property
    def failed_sources(self) -> tuple[Problem, ...]:
        return tuple(problem for problem in self.problems if problem.source_failed)


Level = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """One finding about a rendered issue; an ``error`` blocks a send."""

    code: str
    level: Level
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderedIssue:
    """The issue as it will be sent, before any recipient's details are filled in."""

    issue_id: str
    subject: str
    preheader: str
    html: str
    text: str
    checks: tuple[Check, ...] = ()
    # The marked render that theme views are cut from (digest.render.views.Layout); None when the templates mark no themes.
    layout: Layout | None = None

    @property
    def errors(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if check.level == "error")


# -- small rules over these values, shared by the stages and the render -----------------------------------

NO_OUTLET = "Other sources"  # the outlet heading of posts that name none


def last_day(window: Window, zone: tzinfo) -> datetime:
    """The last moment inside the half-open window, in local time: the day an issue is named for."""
    return (window.end - timedelta(microseconds=1)).astimezone(zone)


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
