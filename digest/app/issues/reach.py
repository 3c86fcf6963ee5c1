"""Whom a send reaches: each recipient's view of the issue, decided ahead of the send's workers, counted per
distinct choice of themes and pause."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from digest.models import Layout, RecipientView, StoredIssue, ViewKind
from digest.send.variants import recipient_view


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipient:
    """One recipient of a planned send, and what they would get."""

    email: str
    view: RecipientView
    themes: tuple[str, ...]  # the themes of the sections they get (SOME_THEMES)
    paused_until: date | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Reach:
    """Of the recipients a send would mail: who gets only some themes, and who is skipped by their own choice."""

    some_themes: int = 0
    variants: int = 0  # distinct theme views among them
    no_posts: int = 0  # skipped: no posts in their themes
    paused: int = 0  # skipped: paused past today


def reach_of(
    issue: StoredIssue, choices: list[tuple[frozenset[str] | None, date | None, int]], today: date, key_of: Callable[[str], str]
) -> Reach:
    """What the send's workers will decide for each recipient, decided here ahead of them, per distinct choice
    (``key_of``: a theme name's key, for an issue frozen before theme keys)."""
    layout = Layout.load(issue.layout, key_of)
    counts: Counter[ViewKind] = Counter()
    views: set[frozenset[int]] = set()
    for choice, until, count in choices:
        view = recipient_view(layout, choice, until, today)
        counts[view.kind] += count
        if view.kind is ViewKind.SOME_THEMES:
            views.add(view.sections)
    return Reach(
        some_themes=counts[ViewKind.SOME_THEMES], variants=len(views), no_posts=counts[ViewKind.NO_POSTS], paused=counts[ViewKind.PAUSED]
    )
