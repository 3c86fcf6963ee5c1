"""Whom a send reaches: each recipient's view of the issue, decided ahead of the send's workers, counted per
distinct choice of themes and pause and where their copy is cut (what their last issue of another edition covered)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from digest.models import Layout, RecipientView, StoredIssue, ViewKind
from digest.send.variants import Cut, carried, recipient_view


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipient:
    """One recipient of a planned send, and what they would get."""

    email: str
    view: RecipientView
    themes: tuple[str, ...]  # the themes of the sections they get (SOME_THEMES)
    paused_until: date | None
    cut: int = 0  # posts of those sections left out: an earlier issue of theirs carried them (issue 35)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reach:
    """Of the recipients a send would mail: who gets only some themes, and who is skipped by their own choice."""

    some_themes: int = 0
    variants: int = 0  # distinct theme views among them
    no_posts: int = 0  # skipped: no posts in their themes
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
        view = recipient_view(layout, choice, until, today, cuts(covered_until))
        counts[view.kind] += count
        if view.kind is ViewKind.SOME_THEMES:
            views.add((view.sections, view.dropped))  # one message each, as the send compiles them
        if view.dropped:
            cut += count
    return Reach(
        some_themes=counts[ViewKind.SOME_THEMES],
        variants=len(views),
        no_posts=counts[ViewKind.NO_POSTS],
        paused=counts[ViewKind.PAUSED],
        cut=cut,
    )


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
