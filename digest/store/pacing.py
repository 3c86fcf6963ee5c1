"""Each relay's pace as a send left it (``relay_paces``) and the copies of each warm-up day (``warmup_days``)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digest.models import RelayPace
from digest.store.schema import from_row, reads_of, relay_paces, warmup_days

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

    def warmup(self, day: date) -> tuple[date | None, int]:
        """The first day anything was sent under the warm-up (None: nothing yet), and what ``day`` has sent."""
        with self.reads.connect() as conn:
            first = conn.execute(sa.select(sa.func.min(warmup_days.c.day)).where(warmup_days.c.sent > 0)).scalar()
            sent = conn.execute(sa.select(warmup_days.c.sent).where(warmup_days.c.day == day.isoformat())).scalar()
        return (date.fromisoformat(first) if first else None), int(sent or 0)
