"""Reads of the ``placements`` table: the themes of past issues' posts, as digest chose them and as they went out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digest.models import PlacementKind
from digest.store.schema import issues, placements, reads_of

# The editor's corrections a build learns from: the most recent ones, enough to teach, few enough to embed fast.
EXAMPLES = 400


@dataclass(frozen=True, slots=True, kw_only=True)
class PastPlacement:
    issue_id: str
    window_end: datetime
    automatic: str | None
    theme: str | None
    kind: PlacementKind


class Placements:
    def __init__(self, engine: Engine) -> None:
        self.reads = reads_of(engine)

    def examples(self, limit: int = EXAMPLES) -> list[tuple[str, str]]:
        """(post text, theme) of the posts the editor moved to a theme or brought in, newest issues first."""
        query = (
            sa.select(placements.c.text, placements.c.theme)
            .join(issues, issues.c.id == placements.c.issue_id)
            .where(placements.c.kind.in_([PlacementKind.MOVED.value, PlacementKind.INCLUDED.value]), placements.c.theme.is_not(None))
            .order_by(issues.c.window_end.desc(), placements.c.post_id)
            .limit(limit)
        )
        with self.reads.connect() as conn:
            return [(str(row[0]), str(row[1])) for row in conn.execute(query).all()]

    def since(self, start: datetime | None = None) -> list[PastPlacement]:
        """Every placement of the issues whose window ended at or after ``start`` (every issue: None), oldest first."""
        query = sa.select(placements.c.issue_id, issues.c.window_end, placements.c.automatic, placements.c.theme, placements.c.kind).join(
            issues, issues.c.id == placements.c.issue_id
        )
        if start is not None:
            query = query.where(issues.c.window_end >= start)
        with self.reads.connect() as conn:
            rows = conn.execute(query.order_by(issues.c.window_end, placements.c.post_id)).all()
        return [
            PastPlacement(issue_id=row[0], window_end=row[1], automatic=row[2], theme=row[3], kind=PlacementKind(row[4])) for row in rows
        ]
