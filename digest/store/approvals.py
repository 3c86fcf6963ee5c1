"""Drafts and approvals of issues (``approvals``): the editor's yes, and what exactly it was given to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from digest.models import EventType
from digest.store.engine import reads_of
from digest.store.issues import facts_of_stored
from digest.store.outbox import emit
from digest.store.schema import approvals, from_row, now_utc


@dataclass(frozen=True, slots=True, kw_only=True)
class Approval:
    issue_id: str
    draft_at: datetime | None
    approved_at: datetime | None
    approved_by: str | None
    issue_print: str | None  # what the stored issue was when approved
    file_print: str | None  # what the editor's issue file was when approved


class Approvals:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reads = reads_of(engine)

    def get(self, issue_id: str) -> Approval | None:
        with self.reads.connect() as conn:
            row = conn.execute(sa.select(approvals).where(approvals.c.issue_id == issue_id)).mappings().first()
        return _approval(row) if row is not None else None

    @staticmethod
    def _upsert(conn: Connection, issue_id: str, **values: Any) -> None:
        if not conn.execute(sa.update(approvals).where(approvals.c.issue_id == issue_id).values(**values)).rowcount:
            conn.execute(sa.insert(approvals).values(issue_id=issue_id, **values))

    def drafted(self, issue_id: str, at: datetime | None = None) -> bool:
        """Record that the draft went out; False when it had already (the editors are mailed once)."""
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(approvals.c.draft_at).where(approvals.c.issue_id == issue_id)).first()
            if row is not None and row[0] is not None:
                return False
            if row is None:
                conn.execute(sa.insert(approvals).values(issue_id=issue_id, draft_at=at or now_utc()))
            else:
                conn.execute(sa.update(approvals).where(approvals.c.issue_id == issue_id).values(draft_at=at or now_utc()))
        return True

    def approve(self, issue_id: str, by: str, issue_print: str, file_print: str, at: datetime | None = None) -> None:
        """Record the editor's yes, with its ``issue.approved`` event."""
        at = at or now_utc()
        with self.engine.begin() as conn:
            self._upsert(conn, issue_id, approved_at=at, approved_by=by, issue_print=issue_print, file_print=file_print)
            emit(conn, EventType.ISSUE_APPROVED, facts_of_stored(conn, issue_id, approved_by=by), at=at)


def _approval(row: Any) -> Approval:
    return from_row(Approval, ("issue_id", "draft_at", "approved_at", "approved_by", "issue_print", "file_print"), row)
