"""The ``leases`` table: who holds a named job, until when (the protocol is in :mod:`digest.leases`)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digest.store.schema import leases, now_utc, reads_of


class Leases:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reads = reads_of(engine)  # transactions that only read take no write lock

    def acquire(self, name: str, owner: str, until: datetime, at: datetime | None = None, *, dead: str | None = None) -> str | None:
        """Take or renew the lease ``name``; returns None on success, else the holder's owner string.

        ``dead`` names a holder known to be gone (its process no longer
        exists): its lease is taken over at once instead of waiting for expiry.
        """
        at = at or now_utc()
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(leases).where(leases.c.name == name)).mappings().first()
            if row is None:
                conn.execute(sa.insert(leases).values(name=name, owner=owner, acquired_at=at, expires_at=until))
                return None
            if row["owner"] in (owner, dead) or row["expires_at"] <= at:
                conn.execute(
                    sa.update(leases)
                    .where(leases.c.name == name)
                    .values(owner=owner, expires_at=until, acquired_at=at if row["owner"] != owner else row["acquired_at"])
                )
                return None
            return str(row["owner"])

    def release(self, name: str, owner: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(leases).where(leases.c.name == name, leases.c.owner == owner))

    def holder(self, name: str) -> tuple[str, datetime] | None:
        with self.reads.connect() as conn:
            row = conn.execute(sa.select(leases.c.owner, leases.c.expires_at).where(leases.c.name == name)).first()
        return (row[0], row[1]) if row is not None else None
