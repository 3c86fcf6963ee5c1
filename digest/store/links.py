"""The ``links`` table: the counted links of frozen issues ([tracking] clicks), where each leads, and its totals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digest.models import LinkClicks, TrackedLink
from digest.store.engine import reads_of
from digest.store.schema import deliveries, issues, links

_LINK = (links.c.number, links.c.post_id, links.c.url, links.c.theme, links.c.outlet)


def _latest_tracked(latest: int, newsletter: str) -> sa.Select[tuple[str]]:
    """The ids of the newsletter's ``latest`` issues (by window) with counted links."""
    return (
        sa.select(issues.c.id)
        .where(issues.c.newsletter == newsletter, sa.exists().where(links.c.issue_id == issues.c.id))
        .order_by(issues.c.window_end.desc())
        .limit(latest)
    )


def _link(row: Sequence[object]) -> TrackedLink:
    number, post_id, url, theme, outlet = row
    return TrackedLink(int(str(number)), str(post_id), str(url), str(theme), None if outlet is None else str(outlet))


class Links:
    """Counted links, by issue id; the latest issues' totals are one newsletter's (``newsletter``, a slug)."""

    def __init__(self, engine: Engine, newsletter: str) -> None:
        self.engine = engine
        self.newsletter = newsletter
        self.reads = reads_of(engine)

    def destination(self, issue_id: str, number: int) -> TrackedLink | None:
        """The link ``number`` of the frozen issue ``issue_id``; None when it has no such link."""
        query = sa.select(*_LINK).where(links.c.issue_id == issue_id, links.c.number == number)
        with self.reads.connect() as conn:
            row = conn.execute(query).first()
        return _link(tuple(row)) if row is not None else None

    def add(self, counted: Mapping[tuple[str, int], tuple[int, int, int]]) -> None:
        """Add (clicks, scanned, repeated) to each link's totals, all in one short transaction (a send's
        ledger waits for no more than one per flush)."""
        if not counted:
            return
        with self.engine.begin() as conn:
            for (issue_id, number), (clicks, scanned, repeated) in sorted(counted.items()):
                conn.execute(
                    sa.update(links)
                    .where(links.c.issue_id == issue_id, links.c.number == number)
                    .values(
                        clicks=links.c.clicks + clicks,
                        scanned=links.c.scanned + scanned,
                        repeated=links.c.repeated + repeated,
                    )
                )

    def of_issues(self, issue_ids: Sequence[str]) -> dict[str, list[LinkClicks]]:
        """Each issue's counted links with their totals, in the issue's order (issues frozen untracked: none)."""
        query = (
            sa.select(links.c.issue_id, *_LINK, links.c.clicks, links.c.scanned, links.c.repeated)
            .where(links.c.issue_id.in_(list(issue_ids)))
            .order_by(links.c.issue_id, links.c.number)
        )
        found: dict[str, list[LinkClicks]] = {}
        with self.reads.connect() as conn:
            for row in conn.execute(query).all():
                found.setdefault(str(row[0]), []).append(LinkClicks(_link(tuple(row[1:6])), int(row[6]), int(row[7]), int(row[8])))
        return found

    def by_theme(self, latest: int) -> dict[tuple[str, str], tuple[int, int, int]]:
        """(clicks, scanned, repeated) per (issue, theme) over the ``latest`` issues with counted links: what
        /metrics reports (a label set per issue and theme, so a bounded number of issues)."""
        recent = _latest_tracked(latest, self.newsletter).scalar_subquery()
        query = (
            sa.select(
                links.c.issue_id, links.c.theme, sa.func.sum(links.c.clicks), sa.func.sum(links.c.scanned), sa.func.sum(links.c.repeated)
            )
            .where(links.c.issue_id.in_(recent))
            .group_by(links.c.issue_id, links.c.theme)
            .order_by(links.c.issue_id, links.c.theme)
        )
        with self.reads.connect() as conn:
            return {(str(r[0]), str(r[1])): (int(r[2]), int(r[3]), int(r[4])) for r in conn.execute(query).all()}

    def interest(self, latest: int) -> tuple[int, list[tuple[str, int, int]]]:
        """(how many issues, [(theme, people's clicks, counted links)]) over the ``latest`` issues with counted
        links that have been sent: what readers were interested in lately."""
        recent = _latest_tracked(latest, self.newsletter).where(sa.exists().where(deliveries.c.issue_id == issues.c.id))
        with self.reads.connect() as conn:
            chosen = [row[0] for row in conn.execute(recent).all()]
            if not chosen:
                return 0, []
            query = (
                sa.select(links.c.theme, sa.func.sum(links.c.clicks), sa.func.count())
                .where(links.c.issue_id.in_(chosen))
                .group_by(links.c.theme)
            )
            return len(chosen), [(str(r[0]), int(r[1]), int(r[2])) for r in conn.execute(query).all()]
