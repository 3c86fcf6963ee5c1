"""How well digest places posts, measured against the editor: ``digest themes report``.

Every frozen issue keeps each post's automatic theme and the one it went out
in (:class:`digest.models.Placed`); a post the editor moved counts as a miss
for its automatic theme, and teaches the next builds (digest.meaning).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from digest.config import Settings
from digest.models import PlacementKind
from digest.store import PastPlacement, Store


@dataclass(frozen=True, slots=True, kw_only=True)
class ThemeScore:
    theme: str
    posts: int  # posts that went out in this theme
    matched: int  # of which digest had put there itself

    @property
    def rate(self) -> float:
        return self.matched / self.posts if self.posts else 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ThemeReport:
    issues: tuple[tuple[str, int, int], ...]  # each issue, oldest first: (id, posts placed, of which digest placed right)
    themes: tuple[ThemeScore, ...]  # in the config's order, the fallback last
    confusions: tuple[tuple[str, str, int], ...]  # (digest's theme, the editor's, how many), most common first
    excluded: int  # posts the editor left out

    @property
    def posts(self) -> int:
        return sum(score.posts for score in self.themes)

    @property
    def rate(self) -> float:
        return sum(score.matched for score in self.themes) / self.posts if self.posts else 0.0


def theme_report(settings: Settings, store: Store, since: datetime | None = None) -> ThemeReport:
    """The automatic themes against the editor's final ones over the issues since ``since`` (all: None)."""
    past = store.placements.since(since)
    placed = [p for p in past if p.theme is not None]
    by_issue: dict[str, list[PastPlacement]] = {}
    for item in placed:
        by_issue.setdefault(item.issue_id, []).append(item)
    finals = [p.theme for p in placed if p.theme is not None]
    names = [*settings.theme_names, *sorted({theme for theme in finals if theme not in settings.theme_names})]
    return ThemeReport(
        issues=tuple((issue, len(items), sum(1 for i in items if i.automatic == i.theme)) for issue, items in by_issue.items()),
        themes=tuple(
            ThemeScore(
                theme=name,
                posts=sum(1 for p in placed if p.theme == name),
                matched=sum(1 for p in placed if p.theme == name and p.automatic == name),
            )
            for name in names
        ),
        confusions=tuple(
            (automatic, final, count)
            for (automatic, final), count in Counter(
                (p.automatic or "?", p.theme or "?") for p in placed if p.automatic != p.theme
            ).most_common(5)
        ),
        excluded=sum(1 for p in past if p.kind is PlacementKind.EXCLUDED),
    )
