"""Reads of the ``placements`` table: the themes of past issues' posts, as digest chose them and as they went out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digest.models import PlacementKind
from digest.store.engine import reads_of
from digest.store.schema import issues, placements

# The labels a build learns from: the most recent, enough to teach, few enough to embed and fit fast (a first
# build embeds them once; the cache keeps their vectors and the fit).
LABELS = 3000
CORRECTIONS = frozenset({PlacementKind.MOVED, PlacementKind.INCLUDED})


@dataclass(frozen=True, slots=True, kw_only=True)
class PastPlacement:
    issue_id: str
    window_end: datetime
    automatic: str | None
    theme: str | None
    kind: PlacementKind


@dataclass(frozen=True, slots=True, kw_only=True)
class PastLabel:
    """A post of a frozen issue as a label: the theme it went out in (from :meth:`Placements.taught`: that theme's
    name today), and whether builds still learn from it."""

    issue_id: str
    post_id: str
    text: str
    theme: str
    kind: PlacementKind
    taught: bool

    @property
    def corrected(self) -> bool:
        """The editor's own decision (moved or brought in): a stronger label than a placement kept."""
        return self.kind in CORRECTIONS


class Placements:
    """Each post's placement, by issue id; what teaches builds and what the report counts are one newsletter's
    (``newsletter``, a slug): its issues' placements."""

    def __init__(self, engine: Engine, newsletter: str) -> None:
        self.engine = engine
        self.reads = reads_of(engine)
        self.mine = issues.c.newsletter == newsletter
        self.its_issues = sa.select(issues.c.id).where(self.mine)

    def forget(self, issue_id: str, post_id: str) -> bool:
        """Builds stop learning from this post's placement (a move made by mistake); the report still counts it.
        Whether there was such a label still taught."""
        with self.engine.begin() as conn:
            done = conn.execute(
                sa.update(placements)
                .where(placements.c.issue_id == issue_id, placements.c.post_id == post_id, placements.c.taught.is_(True))
                .values(taught=False)
            )
        return bool(done.rowcount)

    def labels(self, themes: Mapping[str, str], limit: int = LABELS) -> list[tuple[str, str, bool]]:
        """(post text, theme, corrected) of the posts of frozen issues, newest issues first: those the editor kept
        where digest put them, and, corrected, those moved or brought in; not the posts left out (where they belong
        is not said), nor labels forgotten. ``themes``: key → today's name: a label follows its theme's key through
        a rename (one frozen before keys were kept, its name); a theme gone since teaches nothing."""
        return [(label.text, label.theme, label.corrected) for label in self.taught(themes, limit)]

    def taught(self, themes: Mapping[str, str], limit: int = LABELS) -> list[PastLabel]:
        """The labels :meth:`labels` gives a build, each with its issue and post (what names it to forget it), its
        theme under today's name; newest issues first."""
        names = set(themes.values())
        query = (
            sa.select(
                placements.c.issue_id,
                placements.c.post_id,
                placements.c.text,
                placements.c.theme,
                placements.c.kind,
                placements.c.theme_key,
            )
            .join(issues, issues.c.id == placements.c.issue_id)
            .where(self.mine, placements.c.theme.is_not(None), placements.c.taught.is_(True))
            .order_by(issues.c.window_end.desc(), placements.c.post_id)
        )
        found: list[PastLabel] = []
        with self.reads.connect() as conn:
            for issue_id, post_id, text, theme, kind, key in conn.execute(query):
                today = themes.get(key) if key else (theme if theme in names else None)
                if today is not None:
                    found.append(
                        PastLabel(issue_id=issue_id, post_id=post_id, text=str(text), theme=today, kind=PlacementKind(kind), taught=True)
                    )
                if len(found) >= limit:
                    break
        return found

    def forgotten_count(self) -> int:
        """How many placements the editor took back from teaching."""
        with self.reads.connect() as conn:
            query = sa.select(sa.func.count()).select_from(placements).where(placements.c.taught.is_(False))
            return int(conn.execute(query.where(placements.c.issue_id.in_(self.its_issues))).scalar_one())

    def find(self, wanted: str, issue_id: str | None = None) -> list[PastLabel]:
        """The labels whose post id is ``wanted``, or whose text starts with it (case aside), in ``issue_id`` or any."""
        query = sa.select(
            placements.c.issue_id, placements.c.post_id, placements.c.text, placements.c.theme, placements.c.kind, placements.c.taught
        )
        query = query.where(placements.c.theme.is_not(None), placements.c.issue_id.in_(self.its_issues))
        if issue_id is not None:
            query = query.where(placements.c.issue_id == issue_id)
        with self.reads.connect() as conn:
            rows = conn.execute(query.order_by(placements.c.issue_id, placements.c.post_id)).all()
        folded = wanted.casefold()
        return [
            PastLabel(issue_id=row[0], post_id=row[1], text=row[2], theme=row[3], kind=PlacementKind(row[4]), taught=bool(row[5]))
            for row in rows
            if row[1] == wanted or str(row[2]).casefold().startswith(folded)
        ]

    def since(self, start: datetime | None = None) -> list[PastPlacement]:
        """Every placement of the issues whose window ended at or after ``start`` (every issue: None), oldest first."""
        query = sa.select(placements.c.issue_id, issues.c.window_end, placements.c.automatic, placements.c.theme, placements.c.kind).join(
            issues, issues.c.id == placements.c.issue_id
        )
        query = query.where(self.mine)
        if start is not None:
            query = query.where(issues.c.window_end >= start)
        with self.reads.connect() as conn:
            rows = conn.execute(query.order_by(issues.c.window_end, placements.c.post_id)).all()
        return [
            PastPlacement(issue_id=row[0], window_end=row[1], automatic=row[2], theme=row[3], kind=PlacementKind(row[4])) for row in rows
        ]
