"""The ``leases`` table: who holds a named job, until when (the protocol is in :mod:`digest.send.leases`)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digest.store.engine import reads_of
from digest.store.schema import leases, now_utc


class Leases:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reads = reads_of(engine)  # transactions that only read take no write lock

    def acquire(self, name: str, owner: str, until: datetime, at: datetime | None = None, *, dead: str | None = None) -> str | None:
        """Take or renew the lease ``name``; returns None on success, else the holder's owner string.

        ``dead`` names a holder known to be gone (its process no longer
        exists): its lease is taken over at once instead of waiting for expiry.
        Each change of hands raises the lease's fencing number (see :meth:`fence`).
        """
        at = at or now_utc()
        try:
            return self._acquire(name, owner, until, at, dead)
        except sa.exc.IntegrityError:
            # Another process created the row in the same instant (two first takers): decide again on its row.
            return self._acquire(name, owner, until, at, dead)

    def _acquire(self, name: str, owner: str, until: datetime, at: datetime, dead: str | None) -> str | None:
        with self.engine.begin() as conn:
            # FOR UPDATE: on PostgreSQL two takers of a lapsed lease would otherwise both read it free and both
            # take it (each UPDATE succeeds in turn). SQLite needs none: BEGIN IMMEDIATE serialises writers.
            row = conn.execute(sa.select(leases).where(leases.c.name == name).with_for_update()).mappings().first()
            if row is None:
                conn.execute(sa.insert(leases).values(name=name, owner=owner, acquired_at=at, expires_at=until, fence=1))
                return None
            if row["owner"] == owner:  # a renewal; lapsed or not, nobody has taken it meanwhile (the owner would differ)
                conn.execute(sa.update(leases).where(leases.c.name == name).values(expires_at=until))
                return None
            if row["owner"] == dead or row["expires_at"] <= at:
                conn.execute(
                    sa.update(leases)
                    .where(leases.c.name == name)
                    .values(owner=owner, expires_at=until, acquired_at=at, fence=leases.c.fence + 1)
                )
                return None
            return str(row["owner"])

    def fence(self, name: str, owner: str) -> int | None:
        """The fencing number of ``owner``'s hold on ``name``, or None if it does not hold it."""
        with self.reads.connect() as conn:
            row = conn.execute(sa.select(leases.c.fence).where(leases.c.name == name, leases.c.owner == owner)).first()
        return int(row[0]) if row is not None else None

    def release(self, name: str, owner: str, at: datetime | None = None) -> None:
        """Let the lease go: it expires now. The row stays, so the fencing number never starts again."""
        with self.engine.begin() as conn:
            conn.execute(sa.update(leases).where(leases.c.name == name, leases.c.owner == owner).values(expires_at=at or now_utc()))

    def holder(self, name: str, at: datetime | None = None) -> tuple[str, datetime] | None:
        """Who holds ``name`` and until when; None when nobody does (never taken, released or lapsed)."""
        with self.reads.connect() as conn:
            row = conn.execute(sa.select(leases.c.owner, leases.c.expires_at).where(leases.c.name == name)).first()
        return (row[0], row[1]) if row is not None and row[1] > (at or now_utc()) else None
