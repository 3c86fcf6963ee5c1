"""Frozen issues: exactly what was rendered, stored when it first goes out (or on ``build --freeze``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from digest.models import Check, DeliveryState, EventType, IssueFacts, IssueSummary, StoredIssue
from digest.store.engine import reads_of
from digest.store.outbox import emit
from digest.store.schema import deliveries, issues, links, placements, subscribers

DEFAULT_EDITION = "weekly"  # a newsletter without [editions.*] tables has this one edition (digest.config.editions)


@dataclass(frozen=True, slots=True)
class EditionScope:
    """The edition a store lists, finds and writes issues of, and the newsletter's first (a subscription naming none)."""

    name: str
    first: str

    def of_subscription(self) -> sa.ColumnElement[str]:
        """SQL: the edition a subscription gets (NULL or empty: the newsletter's first)."""
        return sa.func.coalesce(sa.func.nullif(subscribers.c.edition, ""), self.first)


class Issues:
    """Reads and writes of the ``issues`` table: a newsletter's issues are listed and stored as its (``newsletter``, a
    slug) and its edition's (``edition``: each edition's issues are its own, so a monthly never overlaps the weekly
    issues of its days); one is loaded by its id, unique across newsletters and editions."""

    def __init__(self, engine: Engine, newsletter: str, edition: EditionScope | None = None) -> None:
        self.engine = engine
        self.newsletter = newsletter
        self.edition = edition or EditionScope(DEFAULT_EDITION, DEFAULT_EDITION)
        self.reads = reads_of(engine)  # transactions that only read take no write lock
        self.mine = (issues.c.newsletter == newsletter) & (issues.c.edition == self.edition.name)

    def save(self, issue: StoredIssue, *, replace: bool = False) -> None:
        """Store ``issue``; ``replace`` swaps a stored one (its pending deliveries are dropped, to be queued again)."""
        values = {
            "id": issue.id,
            "window_start": issue.window_start,
            "window_end": issue.window_end,
            "subject": issue.subject,
            "preheader": issue.preheader,
            "html": issue.html,
            "text": issue.text,
            "post_ids": json.dumps(list(issue.post_ids)),
            "checks": json.dumps([{"code": c.code, "level": c.level, "message": c.message} for c in issue.checks]),
            "created_at": issue.created_at,
            "post_prints": json.dumps(dict(issue.post_prints)),
            "model": issue.model,
            "layout": issue.layout,
            "newsletter": self.newsletter,
            "edition": self.edition.name,
        }
        with self.engine.begin() as conn:
            if replace:
                conn.execute(sa.delete(deliveries).where(deliveries.c.issue_id == issue.id, deliveries.c.state == DeliveryState.PENDING))
                conn.execute(sa.delete(placements).where(placements.c.issue_id == issue.id))
                conn.execute(sa.delete(links).where(links.c.issue_id == issue.id))
                conn.execute(sa.delete(issues).where(issues.c.id == issue.id))
            conn.execute(sa.insert(issues).values(**values))
            if issue.placements:  # with the issue, in its transaction: an issue is never stored without them
                conn.execute(
                    sa.insert(placements),
                    [
                        {
                            "issue_id": issue.id,
                            "post_id": p.post_id,
                            "text": p.text,
                            "automatic": p.automatic,
                            "theme": p.theme,
                            "kind": p.kind.value,
                            "theme_key": p.theme_key,
                        }
                        for p in issue.placements
                    ],
                )
            emit(conn, EventType.ISSUE_FROZEN, issue_facts(issue.id, issue.subject, issue.window_start, issue.window_end, self.newsletter))
            if issue.links:
                conn.execute(
                    sa.insert(links),
                    [
                        {"issue_id": issue.id, "number": k.number, "post_id": k.post_id, "url": k.url, "theme": k.theme, "outlet": k.outlet}
                        for k in issue.links
                    ],
                )

    def add_once(self, issue: StoredIssue) -> StoredIssue:
        """Store ``issue`` unless one of its id is stored already; returns the stored one (the first to arrive wins)."""
        try:
            self.save(issue)
        except sa.exc.IntegrityError:
            stored = self.load(issue.id)
            if stored is None:  # the conflict was something else
                raise
            return stored
        return issue

    def load(self, issue_id: str) -> StoredIssue | None:
        with self.reads.connect() as conn:
            row = conn.execute(sa.select(issues).where(issues.c.id == issue_id)).mappings().first()
        return _stored(row) if row is not None else None

    def of_window(self, start: datetime, end: datetime) -> StoredIssue | None:
        """This newsletter's stored issue of exactly this window, if there is one: an issue frozen before issue ids
        held the newsletter's slug keeps its id, and a build or send of its window finds it by this."""
        query = sa.select(issues).where(self.mine, issues.c.window_start == start, issues.c.window_end == end)
        with self.reads.connect() as conn:
            row = conn.execute(query.order_by(issues.c.created_at).limit(1)).mappings().first()
        return _stored(row) if row is not None else None

    def sent(self) -> list[tuple[StoredIssue, datetime]]:
        """Every issue with a delivery sent, newest first, each with when its first copy went out."""
        first = (
            sa.select(deliveries.c.issue_id, sa.func.min(deliveries.c.sent_at).label("first_sent"))
            .where(deliveries.c.state == DeliveryState.SENT)
            .group_by(deliveries.c.issue_id)
            .subquery()
        )
        query = (
            sa.select(issues, first.c.first_sent)
            .join(first, first.c.issue_id == issues.c.id)
            .where(self.mine)
            .order_by(issues.c.window_end.desc())
        )
        with self.reads.connect() as conn:
            rows = conn.execute(query).mappings().all()
        # min() keeps the column's type: the time comes back as an aware datetime.
        return [(_stored(row), row["first_sent"]) for row in rows]

    def sent_models(self) -> list[tuple[datetime, str | None]]:
        """The window's end and the digest.json (None before v8) of every issue with a delivery sent: what the archive's
        month pages read, without the HTML and text :meth:`sent` loads."""
        query = sa.select(issues.c.window_end, issues.c.model).where(
            self.mine, sa.exists().where(deliveries.c.issue_id == issues.c.id, deliveries.c.state == DeliveryState.SENT)
        )
        with self.reads.connect() as conn:
            return [(row[0], row[1]) for row in conn.execute(query).all()]

    def summaries(self, *, sent_only: bool = False) -> list[IssueSummary]:
        """Stored issues, newest window first; ``sent_only``: those with at least one delivery sent."""
        query = (
            sa.select(issues.c.id, issues.c.subject, issues.c.window_start, issues.c.window_end, issues.c.created_at)
            .where(self.mine)
            .order_by(issues.c.window_end.desc())
        )
        if sent_only:
            query = query.where(sa.exists().where(deliveries.c.issue_id == issues.c.id, deliveries.c.state == DeliveryState.SENT))
        with self.reads.connect() as conn:
            return [IssueSummary(**row) for row in conn.execute(query).mappings().all()]

    def edition_of(self, issue_id: str) -> str | None:
        """The edition of this newsletter's stored issue ``issue_id`` (whichever this store lists), or None."""
        query = sa.select(issues.c.edition).where(issues.c.id == issue_id, issues.c.newsletter == self.newsletter)
        with self.reads.connect() as conn:
            found = conn.execute(query).scalar()
        return str(found) if found is not None else None

    def ids_of_every_edition(self) -> list[str]:
        """The ids of the newsletter's issues of every edition, newest window first: what a returned mail may name."""
        query = sa.select(issues.c.id).where(issues.c.newsletter == self.newsletter).order_by(issues.c.window_end.desc())
        with self.reads.connect() as conn:
            return [str(row[0]) for row in conn.execute(query).all()]

    def last_window_end(self, before: datetime) -> datetime | None:
        """The end of the latest window of an issue that went out (any delivery attempted), at or before ``before``.

        This is what "since the last issue" means everywhere (the scheduler,
        the CLI, the preview): an issue merely built or frozen has not reached
        anyone, so the next one still starts where the last one sent ended.
        """
        with self.reads.connect() as conn:
            ends = conn.execute(
                sa.select(issues.c.window_end)
                .where(self.mine, issues.c.window_end <= before, _started(issues.c.id))
                .order_by(issues.c.window_end.desc())
                .limit(1)
            ).all()
        return ends[0][0] if ends else None

    def overlapping(self, start: datetime, end: datetime, *, excluding: str) -> list[IssueSummary]:
        """This edition's other issues whose window overlaps ``[start, end)`` and that have deliveries beyond pending
        (another newsletter's or edition's issues never overlap this one's: a monthly is not refused for the weekly
        issues of its days)."""
        query = (
            sa.select(issues.c.id, issues.c.subject, issues.c.window_start, issues.c.window_end, issues.c.created_at)
            .where(self.mine, issues.c.id != excluding, issues.c.window_start < end, issues.c.window_end > start, _started(issues.c.id))
            .order_by(issues.c.window_end.desc())
        )
        with self.reads.connect() as conn:
            return [IssueSummary(**row) for row in conn.execute(query).mappings().all()]


def issue_facts(issue_id: str, subject: str, start: datetime, end: datetime, newsletter: str, **more: Any) -> IssueFacts:
    """What an issue event says of an issue (``more``: who approved it, the counts of its send)."""
    return IssueFacts(id=issue_id, subject=subject, window_start=start, window_end=end, newsletter=newsletter, **more)


def facts_of_stored(conn: Connection, issue_id: str, **more: Any) -> IssueFacts:
    """:func:`issue_facts` of a stored issue, read on the caller's connection (in its transaction)."""
    row = conn.execute(
        sa.select(issues.c.subject, issues.c.window_start, issues.c.window_end, issues.c.newsletter).where(issues.c.id == issue_id)
    ).one()
    return issue_facts(issue_id, row[0], row[1], row[2], row[3], **more)


def _started(issue_id: Any) -> Any:
    """SQL: the issue has a delivery that was attempted (anything beyond pending)."""
    return sa.exists().where(deliveries.c.issue_id == issue_id, deliveries.c.state != DeliveryState.PENDING)


def _stored(row: Any) -> StoredIssue:
    return StoredIssue(
        id=row["id"],
        window_start=row["window_start"],
        window_end=row["window_end"],
        subject=row["subject"],
        preheader=row["preheader"],
        html=row["html"],
        text=row["text"],
        post_ids=tuple(json.loads(row["post_ids"])),
        checks=tuple(_check(item) for item in json.loads(row["checks"])),
        created_at=row["created_at"],
        post_prints=MappingProxyType(json.loads(row["post_prints"] or "{}")),
        model=row["model"],
        layout=row["layout"],
    )


def _check(stored: dict[str, str]) -> Check:
    """A stored check as the typed value it was; a level this release does not know reads as a warning."""
    level = stored.get("level", "warning")
    return Check(
        code=stored.get("code", "?"),
        level=level if level in ("error", "warning", "info") else "warning",  # type: ignore[arg-type]
        message=stored.get("message", ""),
    )
