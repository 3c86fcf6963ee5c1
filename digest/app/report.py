"""``digest report``: what happened after each send, from the store's own records, nothing per reader.

For one issue: deliveries, what came back (bounces, complaints) and who left
after it; with counted links, clicks per post, theme and outlet, and for
each theme the share of readers whose copy had it. Over the latest issues the
same as trends, and the list over time (active, pending, unsubscribed,
bounced).

What the store keeps decides what can be told. A subscriber row keeps the
day it was added and the day of its last change, so the list's history is
told from those: someone who left and came back counts as they are now,
from the day they first came. Leaving by the link names no issue, so
whoever is unsubscribed now counts against the latest issue sent on or
before the day they left. Who got which theme is
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

from digest.config import theme_key
from digest.mail.bounces import EventKind
from digest.models import DeliveryState, LinkClicks, SubscriberStatus

if TYPE_CHECKING:
    from digest.store import ListChange, SentIssue, Store

DEFAULT_ISSUES = 12
# Gmail's and Yahoo's bulk-sender rules (2024): a spam complaint rate kept under 0.1 %, never reaching 0.3 %.
COMPLAINT_TARGET = 0.001
COMPLAINT_LIMIT = 0.003
# Bounces: no mailbox provider publishes a line; 2 % is where senders' own guidance starts to warn.
BOUNCE_WARNING = 0.02


@dataclass(frozen=True, slots=True)
class ThemeFigures:
    theme: str
    clicks: int
    click_share: float  # of the issue's clicks
    reached: int | None  # readers whose copy had the theme (told for the issue the report is about)
    reach_share: float | None  # of the readers it was sent to


@dataclass(frozen=True, slots=True)
class Tally:
    name: str
    clicks: int


@dataclass(frozen=True, slots=True)
class PostFigures:
    number: int
    title: str
    url: str
    theme: str
    outlet: str | None
    clicks: int
    scanned: int
    repeated: int


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueFigures:
    issue_id: str
    subject: str
    sent_on: date
    delivered: int
    failed: int
    bounced: int
    complained: int
    unsubscribed: int  # left (by the link, a mail, a complaint) on or after its day, before the next issue's
    tracked: bool  # its links were counted ([tracking] clicks was on when it was frozen)
    clicks: int
    scanned: int
    repeated: int
    themes: tuple[ThemeFigures, ...]  # in the issue's order
    outlets: tuple[Tally, ...]  # most clicked first
    posts: tuple[PostFigures, ...]  # most clicked first (told for the issue the report is about)

    @property
    def bounce_rate(self) -> float:
        return self.bounced / self.delivered if self.delivered else 0.0

    @property
    def complaint_rate(self) -> float:
        return self.complained / self.delivered if self.delivered else 0.0


@dataclass(frozen=True, slots=True)
class ListPoint:
    day: date
    active: int
    pending: int
    unsubscribed: int
    bounced: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    issues: tuple[IssueFigures, ...]  # newest first; the first is the one the report is about
    subscribers: tuple[ListPoint, ...]  # at each issue's day, oldest first, and today

    def to_json(self) -> dict[str, Any]:
        """The report as JSON values, dates as ISO text."""
        issues = [
            {**dataclasses.asdict(issue), "bounce_rate": issue.bounce_rate, "complaint_rate": issue.complaint_rate} for issue in self.issues
        ]
        plain = json.loads(json.dumps({"issues": issues, "subscribers": [dataclasses.asdict(p) for p in self.subscribers]}, default=str))
        return {
            **plain,
            "thresholds": {"complaint_target": COMPLAINT_TARGET, "complaint_limit": COMPLAINT_LIMIT, "bounce_warning": BOUNCE_WARNING},
        }


def report(
    store: Store, today: date, *, issue_id: str | None = None, last: int = DEFAULT_ISSUES, key_of: Callable[[str], str] = theme_key
) -> Report | None:
    """The report of ``issue_id`` (default: the latest sent) and the ``last`` issues up to it; None when no such
    issue has any delivery. ``key_of``: a theme name's key (Settings.key_of), to match readers' choices to sections."""
    chosen = store.figures.sent_issues(1, issue_id=issue_id)
    if not chosen:
        return None
    earlier = store.figures.sent_issues(last, up_to=chosen[0].window_end)
    listed = [chosen[0], *(item for item in earlier if item.issue_id != chosen[0].issue_id)][:last]
    links = store.links.of_issues([item.issue_id for item in listed])
    returned = store.events.by_issue()
    changes = store.figures.list_changes()
    left = _web_unsubscribes(changes, [item.frozen_at.date() for item in listed])
    # Who got which theme, and each post's clicks, for the issue the report is about; the trends need neither.
    reach = _by_name(store.figures.choices_sent(listed[0].issue_id), listed[0].model, key_of)
    figures = tuple(
        _issue(item, links.get(item.issue_id, []), returned.get(item.issue_id, Counter()), left[n], reach if n == 0 else None)
        for n, item in enumerate(listed)
    )
    days = sorted({item.sent_on for item in figures} | {today})
    return Report(issues=figures, subscribers=tuple(_list_at(changes, day) for day in days))


def _issue(
    item: SentIssue,
    links: list[LinkClicks],
    returned: Counter[str],
    left_after: int,
    choices: list[tuple[frozenset[str] | None, int]] | None,
) -> IssueFigures:
    """One issue's figures; ``choices`` (who got which themes) for the issue the report is about: then the themes'
    reach and the posts are told too."""
    model = json.loads(item.model) if item.model else {"sections": []}
    titles = {post["id"]: post["title"] for section in model["sections"] for group in section["outlets"] for post in group["posts"]}
    section_themes = [section["theme"] for section in model["sections"]]
    clicks = sum(link.clicks for link in links)
    by_theme = Counter[str]()
    by_outlet = Counter[str]()
    for link in links:
        by_theme[link.link.theme] += link.clicks
        by_outlet[link.link.outlet or "—"] += link.clicks
    delivered = item.counts[DeliveryState.SENT]
    reach = _reach(choices, section_themes) if choices is not None else None
    themes = tuple(
        ThemeFigures(
            theme,
            by_theme[theme],
            by_theme[theme] / clicks if clicks else 0.0,
            reach[theme] if reach is not None else None,
            (reach[theme] / delivered if delivered else 0.0) if reach is not None else None,
        )
        for theme in section_themes
    )
    ranked = sorted(links, key=lambda link: (-link.clicks, link.link.number)) if choices is not None else []
    posts = tuple(
        PostFigures(
            link.link.number,
            titles.get(link.link.post_id, link.link.url),
            link.link.url,
            link.link.theme,
            link.link.outlet,
            link.clicks,
            link.scanned,
            link.repeated,
        )
        for link in ranked
    )
    return IssueFigures(
        issue_id=item.issue_id,
        subject=item.subject,
        sent_on=item.frozen_at.date(),
        delivered=delivered,
        failed=item.counts[DeliveryState.FAILED],
        bounced=returned[EventKind.HARD],
        complained=returned[EventKind.COMPLAINT],
        unsubscribed=left_after,
        tracked=bool(links),
        clicks=clicks,
        scanned=sum(link.scanned for link in links),
        repeated=sum(link.repeated for link in links),
        themes=themes,
        outlets=tuple(Tally(name, count) for name, count in sorted(by_outlet.items(), key=lambda kv: (-kv[1], kv[0]))),
        posts=posts,
    )


def _by_name(
    choices: list[tuple[frozenset[str] | None, int]], model: str | None, key_of: Callable[[str], str]
) -> list[tuple[frozenset[str] | None, int]]:
    """Readers' choices (theme keys) as the names of the issue's sections, which the figures are told by."""
    names = {key_of(section["theme"]): section["theme"] for section in (json.loads(model) if model else {"sections": []})["sections"]}
    return [(None if chosen is None else frozenset(names.get(key, key) for key in chosen), count) for chosen, count in choices]


def _reach(choices: list[tuple[frozenset[str] | None, int]], themes: list[str]) -> dict[str, int]:
    """How many readers' copies had each theme: those who chose it, and those who chose every theme."""
    reached = dict.fromkeys(themes, 0)
    for chosen, count in choices:
        for theme in themes:
            if chosen is None or theme in chosen:
                reached[theme] += count
    return reached


def _web_unsubscribes(changes: list[ListChange], issue_days: list[date]) -> list[int]:
    """For each issue (newest first), the subscribers now unsubscribed whose last change came on or after its
    day and before the next issue's: those who left after it (a web unsubscribe names no issue)."""
    counts = [0] * len(issue_days)
    for change in changes:
        if change.status is not SubscriberStatus.UNSUBSCRIBED:
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
