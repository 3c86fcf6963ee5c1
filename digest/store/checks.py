"""The doctor's latest findings (``setup_checks``): one row per check, replaced whole at each run, read by
``digest status``."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digest.models import CheckName, SetupCheck, SetupReport, Verdict
from digest.store.engine import reads_of
from digest.store.schema import setup_checks


class SetupChecks:
    """Reads and writes of the ``setup_checks`` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reads = reads_of(engine)

    def record(self, report: SetupReport) -> None:
        """The report replaces the one before, in one transaction (a reader sees the old run or the new, whole)."""
        rows = [
            {
                "position": position,
                "name": c.name.value,
                "verdict": c.verdict.value,
                "detail": c.detail,
                "fix": c.fix,
                "checked_at": report.checked_at,
            }
            for position, c in enumerate(report.checks)
        ]
        with self.engine.begin() as conn:
            conn.execute(sa.delete(setup_checks))
            if rows:
                conn.execute(sa.insert(setup_checks), rows)

    def latest(self) -> SetupReport | None:
        with self.reads.connect() as conn:
            rows = conn.execute(sa.select(setup_checks).order_by(setup_checks.c.position)).mappings().all()
        known = {name.value for name in CheckName}  # a row a later version wrote under a name this one lacks is left out
        checks = tuple(
            SetupCheck(name=CheckName(row["name"]), verdict=Verdict(row["verdict"]), detail=row["detail"], fix=row["fix"])
            for row in rows
            if row["name"] in known and row["verdict"] in {v.value for v in Verdict}
        )
        return SetupReport(checked_at=rows[0]["checked_at"], checks=checks) if rows else None
