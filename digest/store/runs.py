"""What became of each scheduled slot (``schedule_runs``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digest.models import ScheduleRun, SlotState
from digest.store.engine import reads_of
from digest.store.schema import from_row, now_utc, schedule_runs


class Runs:
    """Reads and writes of the ``schedule_runs`` table: one newsletter's (``newsletter``, a slug) edition's slots."""

    def __init__(self, engine: Engine, newsletter: str, edition: str = "weekly") -> None:
        self.engine = engine
        self.newsletter = newsletter
        self.edition = edition  # each edition's slots are its own (v25)
        self.reads = reads_of(engine)  # transactions that only read take no write lock
        self.mine = (schedule_runs.c.newsletter == newsletter) & (schedule_runs.c.edition == edition)

    def record(
        self, slot: datetime, state: SlotState, *, issue_id: str | None = None, reason: str | None = None, finished: bool = True
    ) -> None:
        """Create or update the record of a scheduled slot."""
        now = now_utc()
        values = {"issue_id": issue_id, "state": state.value, "reason": reason, "finished_at": now if finished else None}
        with self.engine.begin() as conn:
            updated = conn.execute(sa.update(schedule_runs).where(self.mine, schedule_runs.c.slot == slot).values(**values)).rowcount
            if not updated:
                conn.execute(
                    sa.insert(schedule_runs).values(newsletter=self.newsletter, edition=self.edition, slot=slot, started_at=now, **values)
                )

    def get(self, slot: datetime) -> ScheduleRun | None:
        with self.reads.connect() as conn:
            row = conn.execute(sa.select(schedule_runs).where(self.mine, schedule_runs.c.slot == slot)).mappings().first()
        return _run(row) if row is not None else None

    def recent(self, limit: int = 10) -> list[ScheduleRun]:
        with self.reads.connect() as conn:
            rows = (
                conn.execute(sa.select(schedule_runs).where(self.mine).order_by(schedule_runs.c.slot.desc()).limit(limit)).mappings().all()
            )
        return [_run(row) for row in rows]


def _run(row: Any) -> ScheduleRun:
    return from_row(ScheduleRun, ("slot", "issue_id", "state", "reason", "started_at", "finished_at"), row, state=SlotState)
