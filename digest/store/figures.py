"""What ``digest report`` reads: sent issues with their delivery counts, who got which themes, and how the list
changed, each in one grouped query (52 issues × 50,000 readers stay well under a second)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digest.models import DeliveryState, SubscriberStatus
from digest.store.engine import reads_of
from digest.store.ledger import RETRIABLE
from digest.store.people import theme_choice
from digest.store.schema import deliveries, issues, subscribers
from digest.store.subscribers import IMPORTED_AS


@dataclass(frozen=True, slots=True, kw_only=True)
class SentIssue:
    issue_id: str
    subject: str
    window_end: datetime
    frozen_at: datetime  # when its first delivery was about to be attempted: the issue's date in the report
    model: str | None  # digest.json of the issue (titles, sections), None before v8
    counts: dict[DeliveryState, int]  # every state, zero when none
    not_theirs: int = 0  # of the failed, those whose cause was not the reader's address (never in the failure rate)


@dataclass(frozen=True, slots=True)
class ListChange:
    """How many subscribers are now ``status``, were added on ``added`` and last changed on ``changed`` (``imported``:
    to that status by an import, which tells what an old export said, not when it happened)."""

    status: SubscriberStatus
    added: date
    changed: date
    count: int
    imported: bool = False


class Figures:
    """The report's figures, of one newsletter (``newsletter``, a slug): its edition's issues and its subscriptions."""

    def __init__(self, engine: Engine, newsletter: str, edition: str = "weekly") -> None:
        self.reads = reads_of(engine)
        self.newsletter = newsletter
        self.edition = edition

    def sent_issues(self, limit: int, *, issue_id: str | None = None, up_to: datetime | None = None) -> list[SentIssue]:
        """The latest ``limit`` issues with any delivery (the one named; those whose window ended by ``up_to``),
        newest first, with counts by state."""
        listing = sa.select(issues.c.id, issues.c.subject, issues.c.window_end, issues.c.created_at, issues.c.model).where(
            sa.exists().where(deliveries.c.issue_id == issues.c.id),
            issues.c.newsletter == self.newsletter,
            issues.c.edition == self.edition,
        )
        if issue_id is not None:
            listing = listing.where(issues.c.id == issue_id)
        if up_to is not None:
            listing = listing.where(issues.c.window_end <= up_to)
        with self.reads.connect() as conn:
            rows = conn.execute(listing.order_by(issues.c.window_end.desc()).limit(limit)).all()
            counts: dict[str, dict[DeliveryState, int]] = {row[0]: dict.fromkeys(DeliveryState, 0) for row in rows}
            if counts:
                grouped = (
                    sa.select(deliveries.c.issue_id, deliveries.c.state, sa.func.count())
                    .where(deliveries.c.issue_id.in_(list(counts)))
                    .group_by(deliveries.c.issue_id, deliveries.c.state)
                )
                for issue, state, count in conn.execute(grouped).all():
                    counts[issue][DeliveryState(state)] = int(count)
            not_theirs = dict.fromkeys(counts, 0)
            if counts:
                retriable = (
                    sa.select(deliveries.c.issue_id, sa.func.count())
                    .where(deliveries.c.issue_id.in_(list(counts)), RETRIABLE)
                    .group_by(deliveries.c.issue_id)
                )
                not_theirs |= {str(issue): int(count) for issue, count in conn.execute(retriable).all()}
        return [
            SentIssue(
                issue_id=row[0],
                subject=row[1],
                window_end=row[2],
                frozen_at=row[3],
                model=row[4],
                counts=counts[row[0]],
                not_theirs=not_theirs[row[0]],
            )
            for row in rows
        ]

    def choices_of(self, issue_ids: Sequence[str]) -> dict[str, list[tuple[frozenset[str] | None, int]]]:
        """For each of ``issue_ids``, (theme choice as it is now, how many) of the subscribers it was sent to: who
        got which themes."""
        query = (
            sa.select(deliveries.c.issue_id, subscribers.c.themes, sa.func.count())
            .select_from(deliveries.join(subscribers, subscribers.c.id == deliveries.c.subscriber_id))
            .where(deliveries.c.issue_id.in_(list(issue_ids)), deliveries.c.state == DeliveryState.SENT.value)
            .group_by(deliveries.c.issue_id, subscribers.c.themes)
        )
        found: dict[str, list[tuple[frozenset[str] | None, int]]] = {issue_id: [] for issue_id in issue_ids}
        with self.reads.connect() as conn:
            for row in conn.execute(query).all():
                found[str(row[0])].append((theme_choice(row[1]), int(row[2])))
        return found

    def list_changes(self) -> list[ListChange]:
        """The list as (status now, day added, day of the last change, how many): what its history can be told
        from. The days are cut from the stored ISO text, so the database groups them and nothing is parsed per row."""
        added, changed = sa.func.substr(subscribers.c.created_at, 1, 10), sa.func.substr(subscribers.c.updated_at, 1, 10)
        imported = sa.func.coalesce(subscribers.c.status_reason.startswith(IMPORTED_AS, autoescape=True), sa.false())
        query = (
            sa.select(subscribers.c.status, added, changed, imported, sa.func.count())
            .where(subscribers.c.newsletter == self.newsletter)
            .group_by(subscribers.c.status, added, changed, imported)
        )
        with self.reads.connect() as conn:
            return [
                ListChange(SubscriberStatus(row[0]), date.fromisoformat(row[1]), date.fromisoformat(row[2]), int(row[4]), bool(row[3]))
                for row in conn.execute(query).all()
            ]


__all__ = ["Figures", "ListChange", "SentIssue"]
