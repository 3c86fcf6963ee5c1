"""``digest report``: what happened after each send, from the store's own records, nothing per reader.

For one issue: deliveries, what came back (bounces, complaints) and who left
after it; with counted links, clicks per post, theme and outlet (those too
small to show left out: :mod:`digest.readers.disclosure`), and for each
theme the share of readers whose copy had it. Over the latest issues the
same as trends, and the list over time (active, pending, unsubscribed,
bounced).

What the store keeps decides what can be told. A subscriber row keeps the
day it was added and the day of its last change, so the list's history is
told from those: someone who left and came back counts as they are now,
from the day they first came. Leaving by the link names no issue, so
whoever is unsubscribed now counts against the latest issue sent on or
before the day they left; an opt-out an import brought (an old export's)
tells neither, so it counts against none. Who got which theme is
read from each reader's choice as it is now.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from digest.app.bounces import COMPLAINT_AIM, COMPLAINT_LIMIT, FAILURE_LIMIT, Returned
from digest.mail.bounces import EventKind
from digest.models import OUTSTANDING_STATES, DeliveryState, LinkClicks, SubscriberStatus
from digest.readers.disclosure import CLICK_FLOOR, Total, hidden, reach_of

if TYPE_CHECKING:
    from digest.store import ListChange, SentIssue, Store

DEFAULT_ISSUES = 12


# A figure below the floor, or one that would tell such a figure, is None: "not shown" (digest.readers.disclosure).
FLOOR_WHY = (
    f"fewer than {CLICK_FLOOR} clicks or {CLICK_FLOOR} readers behind it, or a figure that would tell such a one: "
    "a small count can name the reader who clicked (the issue's total is always shown)"
)


@dataclass(frozen=True, slots=True)
class ThemeFigures:
    theme: str
    clicks: int | None
    click_share: float | None  # of the issue's clicks
    reached: int | None  # readers whose copy had the theme (told for the issue the report is about)
    reach_share: float | None  # of the readers it was sent to


@dataclass(frozen=True, slots=True)
class Tally:
    name: str
    clicks: int | None


@dataclass(frozen=True, slots=True)
class PostFigures:
    number: int
    title: str
    url: str
    theme: str
    outlet: str | None
    clicks: int | None
    scanned: int | None
    repeated: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueFigures:
    issue_id: str
    subject: str
    sent_on: date  # the day its send began (its first delivery was about to be attempted)
    delivered: int
    waiting: int  # deliveries its send has still to finish (pending, in flight, deferred): 0 once it is done
    failed: int
    failed_not_theirs: int  # of the failed, those whose cause was not their address: never in the failure rate
    bounced: int
    complained: int
    unsubscribed: int  # left (by the link, a mail, a complaint) on or after its day, before the next issue's
    tracked: bool  # its links were counted ([tracking] clicks was on when it was frozen)
    clicks: int  # always shown: the issue's total
    scanned: int
    repeated: int
    themes: tuple[ThemeFigures, ...]  # in the issue's order
    outlets: tuple[Tally, ...]  # most clicked first, then those not shown
    posts: tuple[PostFigures, ...]  # most clicked first, then those not shown (told for the issue the report is about)

    @property
    def when(self) -> str:
        """Its day as what happened then, for the report's text and page: "sent DAY", or, while its send is not
        finished (paused, stopped, or at work now), that it began that day and how far it got, from the ledger's
        counts: a send that delivered nothing is not said to be sent."""
        if not self.waiting:
            return f"sent {self.sent_on}"
        got = f"{self.delivered} delivered" if self.delivered else "nothing delivered yet"
        return f"send begun {self.sent_on}, not finished: {got}, {self.waiting} waiting"

    @property
    def returned(self) -> Returned:
        """Its returns against the limits, measured as ``digest status`` measures them."""
        return Returned(
            attempted=self.delivered + self.failed,
            rejected=self.failed - self.failed_not_theirs,
            hard=self.bounced,
            complaints=self.complained,
            unsubscribed_by_mail=0,
        )

    @property
    def failure_rate(self) -> float:
        """Permanent failures (refused at the send, or bounced since) of those attempted."""
        return self.returned.failure_rate

    @property
    def complaint_rate(self) -> float:
        return self.returned.complaint_rate


@dataclass(frozen=True, slots=True)
class ListPoint:
    day: date
    active: int
    pending: int
    unsubscribed: int
    bounced: int

    def count(self, status: SubscriberStatus) -> int:
        """How many had ``status`` that day (the report and its chart go over SUBSCRIBER_STATUS_WORDS with it)."""
        counts = {
            SubscriberStatus.ACTIVE: self.active,
            SubscriberStatus.PENDING: self.pending,
            SubscriberStatus.UNSUBSCRIBED: self.unsubscribed,
            SubscriberStatus.BOUNCED: self.bounced,
        }
        return counts[status]


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    issues: tuple[IssueFigures, ...]  # newest first; the first is the one the report is about
    subscribers: tuple[ListPoint, ...]  # at each issue's day, oldest first, and today

    def to_json(self) -> dict[str, Any]:
        """The report as JSON values, dates as ISO text."""
        issues = [
            {**dataclasses.asdict(issue), "failure_rate": issue.failure_rate, "complaint_rate": issue.complaint_rate}
            for issue in self.issues
        ]
        plain = json.loads(json.dumps({"issues": issues, "subscribers": [dataclasses.asdict(p) for p in self.subscribers]}, default=str))
        return {
            **plain,
            "thresholds": {
                "complaint_target": COMPLAINT_AIM,
                "complaint_limit": COMPLAINT_LIMIT,
                "failure_limit": FAILURE_LIMIT,
                "click_floor": CLICK_FLOOR,
            },
        }


def report(
    store: Store, today: date, *, key_of: Callable[[str], str], issue_id: str | None = None, last: int = DEFAULT_ISSUES
) -> Report | None:
    """The report of ``issue_id`` (default: the latest sent) and the ``last`` issues up to it; None when no such
    issue has any delivery. ``key_of``: a theme name's key (Publication.key_of), to match readers' choices to sections."""
    chosen = store.figures.sent_issues(1, issue_id=issue_id)
    if not chosen:
        return None
    earlier = store.figures.sent_issues(last, up_to=chosen[0].window_end)
    listed = [chosen[0], *(item for item in earlier if item.issue_id != chosen[0].issue_id)][:last]
    links = store.links.of_issues([item.issue_id for item in listed])
    returned = store.events.by_issue()
    changes = store.figures.list_changes()
    left = _web_unsubscribes(changes, [item.frozen_at.date() for item in listed])
    # Who got which theme: told for the issue the report is about, and for each tracked one it decides which
    # figures are shown (digest.readers.disclosure). Readers chose theme keys; the figures are told by section name.
    models = {item.issue_id: item.model for item in listed}
    sent_to = store.figures.choices_of([item.issue_id for n, item in enumerate(listed) if n == 0 or item.issue_id in links])
    choices = {issue: _by_name(found, models[issue], key_of) for issue, found in sent_to.items()}
    figures = tuple(
        _issue(
            item, links.get(item.issue_id, []), returned.get(item.issue_id, Counter()), left[n], choices.get(item.issue_id, []), told=n == 0
        )
        for n, item in enumerate(listed)
    )
    days = sorted({item.sent_on for item in figures} | {today})
    return Report(issues=figures, subscribers=tuple(_list_at(changes, day) for day in days))


def _issue(
    item: SentIssue,
    links: list[LinkClicks],
    returned: Counter[str],
    left_after: int,
    choices: list[tuple[frozenset[str] | None, int]],
    *,
    told: bool,
) -> IssueFigures:
    """One issue's figures; ``choices`` (who got which themes) decide which click figures are shown; ``told``
    (the issue the report is about): the themes' reach and the posts are told too."""
    model = json.loads(item.model) if item.model else {"sections": []}
    titles = {post["id"]: post["title"] for section in model["sections"] for group in section["outlets"] for post in group["posts"]}
    section_themes = [section["theme"] for section in model["sections"]]
    clicks = sum(link.clicks for link in links)
    shown = _shown(links, section_themes, choices)
    by_theme = Counter[str]()
    by_outlet = Counter[str]()
    for link in links:
        by_theme[link.link.theme] += link.clicks
        by_outlet[_outlet(link)] += link.clicks
    delivered = item.counts[DeliveryState.SENT]
    reach = _reach(choices, section_themes) if told else None
    themes = []
    for theme in section_themes:
        told_clicks = shown(THEME, theme, by_theme[theme])
        themes.append(
            ThemeFigures(
                theme,
                told_clicks,
                (told_clicks / clicks if clicks else 0.0) if told_clicks is not None else None,
                reach[theme] if reach is not None else None,
                (reach[theme] / delivered if delivered else 0.0) if reach is not None else None,
            )
        )
    ranked = sorted(links, key=lambda link: _rank(shown(POST, link.link.number, link.clicks), link.link.number)) if told else []
    posts = tuple(
        PostFigures(
            link.link.number,
            titles.get(link.link.post_id, link.link.url),
            link.link.url,
            link.link.theme,
            link.link.outlet,
            shown(POST, link.link.number, link.clicks),
            shown(POST, link.link.number, link.scanned),
            shown(POST, link.link.number, link.repeated),
        )
        for link in ranked
    )
    outlets = sorted((Tally(name, shown(OUTLET, name, count)) for name, count in by_outlet.items()), key=lambda t: _rank(t.clicks, t.name))
    return IssueFigures(
        issue_id=item.issue_id,
        subject=item.subject,
        sent_on=item.frozen_at.date(),
        delivered=delivered,
        waiting=sum(item.counts[state] for state in OUTSTANDING_STATES),
        failed=item.counts[DeliveryState.FAILED],
        failed_not_theirs=item.not_theirs,
        bounced=returned[EventKind.HARD],
        complained=returned[EventKind.COMPLAINT],
        unsubscribed=left_after,
        tracked=bool(links),
        clicks=clicks,
        scanned=sum(link.scanned for link in links),
        repeated=sum(link.repeated for link in links),
        themes=tuple(themes),
        outlets=tuple(outlets),
        posts=posts,
    )


THEME, OUTLET, POST = "theme", "outlet", "post"  # the kinds of figure an issue's clicks are told by
NO_OUTLET = "—"


def _outlet(link: LinkClicks) -> str:
    return link.link.outlet or NO_OUTLET


def _rank(clicks: int | None, then: int | str) -> tuple[int, int, int | str]:
    """Most clicked first, then the figures not shown (in their own order: their place must not tell their size)."""
    return (0, -clicks, then) if clicks is not None else (1, 0, then)


Figure = tuple[str, int | str]  # (THEME, name), (OUTLET, name), (POST, number)


def _shown(
    links: list[LinkClicks], themes: list[str], choices: list[tuple[frozenset[str] | None, int]]
) -> Callable[[str, int | str, int], int | None]:
    """The rule for this issue's click figures: ``shown(kind, name, value)`` is ``value``, or None when the
    figure (kind, name) is not to be shown (digest.readers.disclosure)."""
    counts = Counter[Figure]({(THEME, theme): 0 for theme in themes})  # nought clicks is a figure too
    parts: dict[Figure, list[Figure]] = {}  # each theme's and outlet's posts
    for link in links:
        post: Figure = (POST, link.link.number)
        counts[post] = link.clicks
        for total in ((THEME, link.link.theme), (OUTLET, _outlet(link))):
            counts[total] += link.clicks
            parts.setdefault(total, []).append(post)
    reach: dict[Figure, int] = {}
    if choices:
        reach = {(THEME, name): reach_of(choices, [str(name)]) for kind, name in counts if kind == THEME}
        reach |= {(POST, link.link.number): reach[(THEME, link.link.theme)] for link in links}
        reach |= {
            (OUTLET, name): reach_of(choices, {link.link.theme for link in links if _outlet(link) == name})
            for kind, name in counts
            if kind == OUTLET
        }
    totals = [Total(None, [figure for figure in counts if figure[0] == kind]) for kind in (THEME, OUTLET, POST)]
    totals += [Total(of, posts) for of, posts in parts.items()]
    secret = hidden(counts, totals, reach)
    return lambda kind, name, value: None if (kind, name) in secret else value


def _by_name(
    choices: list[tuple[frozenset[str] | None, int]], model: str | None, key_of: Callable[[str], str]
) -> list[tuple[frozenset[str] | None, int]]:
    """Readers' choices (theme keys) as the names of the issue's sections, which the figures are told by."""
    names = {key_of(section["theme"]): section["theme"] for section in (json.loads(model) if model else {"sections": []})["sections"]}
    return [(None if chosen is None else frozenset(names.get(key, key) for key in chosen), count) for chosen, count in choices]


def _reach(choices: list[tuple[frozenset[str] | None, int]], themes: list[str]) -> dict[str, int]:
    """How many readers' copies had each theme: those who chose it, and those who chose every theme."""
    return {theme: reach_of(choices, [theme]) for theme in themes}


def _web_unsubscribes(changes: list[ListChange], issue_days: list[date]) -> list[int]:
    """For each issue (newest first), the subscribers now unsubscribed whose last change came on or after its
    day and before the next issue's: those who left after it (a web unsubscribe names no issue)."""
    counts = [0] * len(issue_days)
    for change in changes:
        if change.status is not SubscriberStatus.UNSUBSCRIBED or change.imported:  # an old export's: no issue, no day
            continue
        for n, day in enumerate(issue_days):
            if change.changed >= day:
                counts[n] += change.count
                break
    return counts


def _list_at(changes: list[ListChange], day: date) -> ListPoint:
    """The list at the end of ``day``: each row as it is now from its last change, and active from the day it was
    added until then (pending rows were never active: pending from the day they signed up)."""
    counts = Counter[SubscriberStatus]()
    for change in changes:
        if change.added > day:
            continue
        if change.status in (SubscriberStatus.ACTIVE, SubscriberStatus.PENDING) or change.changed <= day:
            counts[change.status] += change.count
        else:
            counts[SubscriberStatus.ACTIVE] += change.count
    return ListPoint(
        day,
        counts[SubscriberStatus.ACTIVE],
        counts[SubscriberStatus.PENDING],
        counts[SubscriberStatus.UNSUBSCRIBED],
        counts[SubscriberStatus.BOUNCED],
    )
