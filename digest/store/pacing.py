"""Each relay's pace as a send left it (``relay_paces``) and the copies of each warm-up day (``warmup_days``)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digest.models import RelayPace
from digest.store.engine import reads_of
from digest.store.schema import from_row, relay_paces, warmup_days

_PACE = ("relay", "rate", "connections", "configured_rate", "configured_connections", "throttled", "share", "reason", "since", "updated_at")


class Pacing:
    """Reads and writes of ``relay_paces`` and ``warmup_days``: a few writes a run, never one a copy."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reads = reads_of(engine)

    def record(self, pace: RelayPace) -> None:
        """Keep ``pace`` as its relay's current one."""
        values = {name: getattr(pace, name) for name in _PACE}
        with self.engine.begin() as conn:
            if not conn.execute(sa.update(relay_paces).where(relay_paces.c.relay == pace.relay).values(**values)).rowcount:
                conn.execute(sa.insert(relay_paces).values(**values))

    def pace(self, relay: str) -> RelayPace | None:
        with self.reads.connect() as conn:
            row = conn.execute(sa.select(relay_paces).where(relay_paces.c.relay == relay)).mappings().first()
        return from_row(RelayPace, _PACE, row) if row is not None else None

    def paces(self) -> list[RelayPace]:
        with self.reads.connect() as conn:
            rows = conn.execute(sa.select(relay_paces).order_by(relay_paces.c.relay)).mappings().all()
        return [from_row(RelayPace, _PACE, row) for row in rows]

    def add_sent(self, day: date, count: int) -> None:
        """Count ``count`` more copies against ``day``'s warm-up cap (a negative count gives some back)."""
        if not count:
            return
        with self.engine.begin() as conn:
            changed = conn.execute(
                sa.update(warmup_days).where(warmup_days.c.day == day.isoformat()).values(sent=warmup_days.c.sent + count)
            ).rowcount
            if not changed:
                conn.execute(sa.insert(warmup_days).values(day=day.isoformat(), sent=count))

    def claim(self, day: date, cap: int, want: int) -> int:
        """Take up to ``want`` copies of what is left of ``day``'s cap (``cap``), counted at once: how many were granted
        (0: the day's cap is spent). One claim at a time across processes (the day's row locked FOR UPDATE on
        PostgreSQL; SQLite's BEGIN IMMEDIATE serialises writers), so send workers never grant the same copy twice."""
        try:
            return self._claim(day.isoformat(), cap, want)
        except sa.exc.IntegrityError:  # two first claimers of the day inserted its row at once: claim again on it
            return self._claim(day.isoformat(), cap, want)

    def _claim(self, day: str, cap: int, want: int) -> int:
        with self.engine.begin() as conn:
            sent = conn.execute(sa.select(warmup_days.c.sent).where(warmup_days.c.day == day).with_for_update()).scalar()
            granted = max(0, min(want, cap - int(sent or 0)))
            if sent is None:
                conn.execute(sa.insert(warmup_days).values(day=day, sent=granted))
            elif granted:
                conn.execute(sa.update(warmup_days).where(warmup_days.c.day == day).values(sent=warmup_days.c.sent + granted))
        return granted

    def warmup(self, day: date) -> tuple[date | None, int]:
        """The first day anything was sent under the warm-up (None: nothing yet), and what ``day`` has sent."""
        with self.reads.connect() as conn:
            first = conn.execute(sa.select(sa.func.min(warmup_days.c.day)).where(warmup_days.c.sent > 0)).scalar()
            sent = conn.execute(sa.select(warmup_days.c.sent).where(warmup_days.c.day == day.isoformat())).scalar()
        return (date.fromisoformat(first) if first else None), int(sent or 0)
