"""Whom a send reaches: each recipient's view of the issue, decided ahead of the send's workers, counted per
distinct choice of themes and pause and where their copy is cut (what their last issue of another edition covered)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from digest.models import Layout, RecipientView, StoredIssue, ViewKind
from digest.render.views import post_numbers
from digest.send.variants import Cut, carried, recipient_view

SKIPPED = (ViewKind.NO_POSTS, ViewKind.PAUSED)


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipient:
    """One recipient of a planned send, and what they would get."""

    email: str
    view: RecipientView  # what the send does for them, the cut included
    themes: tuple[str, ...]  # the themes of the sections their choice gives them (SOME_THEMES)
    paused_until: date | None
    chose: ViewKind = ViewKind.EVERY_THEME  # what their choice of themes gives them, before the cut
    cut: int = 0  # posts of those left out: an earlier issue of theirs carried them (issue 35)

    @property
    def said(self) -> ViewKind:
        """The kind their line is worded by: skipped as the send skips them, else what they chose."""
        return self.view.kind if self.view.kind in SKIPPED else self.chose


@dataclass(frozen=True, slots=True, kw_only=True)
class Reach:
    """Of the recipients a send would mail: who gets only some themes, and who is skipped by their own choice."""

    some_themes: int = 0  # mailed only the themes they chose
    variants: int = 0  # distinct messages other than the whole issue among those mailed (theme views, cut copies)
    no_posts: int = 0  # skipped: no posts in their themes (left none by the cut too, as the send records it)
    paused: int = 0  # skipped: paused past today
    cut: int = 0  # of those mailed, whose copy leaves out posts their last issue (of another edition) carried


Choice = tuple[frozenset[str] | None, date | None, datetime | None, int]  # themes, pause end, cut from, how many


def reach_of(issue: StoredIssue, choices: list[Choice], today: date, key_of: Callable[[str], str]) -> Reach:
    """What the send's workers will decide for each recipient, decided here ahead of them, per distinct choice
    (``key_of``: a theme name's key, for an issue frozen before theme keys). A reader whose copy the cut leaves
    empty is skipped as the send skips them: no posts for them."""
    layout = Layout.load(issue.layout, key_of)
    counts: Counter[ViewKind] = Counter()
    views: set[tuple[frozenset[int], frozenset[int]]] = set()
    cuts = CutsOf(layout)
    cut = 0
    for choice, until, covered_until, count in choices:
        chose = recipient_view(layout, choice, until, today)
        view = recipient_view(layout, choice, until, today, cuts(covered_until))
        counts[view.kind if view.kind in SKIPPED else chose.kind] += count
        if view.kind is ViewKind.SOME_THEMES:
            views.add((view.sections, view.dropped))  # one message each, as the send compiles them
        if view != chose and view.kind not in SKIPPED:
            cut += count
    return Reach(
        some_themes=counts[ViewKind.SOME_THEMES],
        variants=len(views),
        no_posts=counts[ViewKind.NO_POSTS],
        paused=counts[ViewKind.PAUSED],
        cut=cut,
    )


def left_out(layout: Layout | None, chose: RecipientView, view: RecipientView) -> int:
    """How many of the posts ``chose`` (the reader's themes) gives them the cut ``view`` leaves out."""
    if layout is None or view == chose:
        return 0
    return _shown(layout, chose) - _shown(layout, view)


def _shown(layout: Layout, view: RecipientView) -> int:
    if view.kind in SKIPPED:
        return 0
    sections = layout.sections_for(None) if view.kind is ViewKind.EVERY_THEME else view.sections
    numbers = post_numbers(layout)
    return sum(1 for section in sections for post in numbers[section - 1] if post not in view.dropped)


class CutsOf:
    """The posts an issue's copy leaves out for each distinct ``covered_until`` (:func:`carried`), worked out once each."""

    def __init__(self, layout: Layout | None) -> None:
        self.layout = layout
        self.found: dict[datetime, Cut] = {}

    def __call__(self, covered_until: datetime | None) -> Cut:
        if covered_until is None:
            return None
        if covered_until not in self.found:
            self.found[covered_until] = carried(self.layout, covered_until)
        return self.found[covered_until]
