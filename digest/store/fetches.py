"""Sources' fetches and the entries they showed (``source_fetches``, ``source_entries``): what the app layer judges a
source's health on, and remembers to tell an old post reissued under a new GUID (:mod:`digest.app.health`)."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from digest.models import FetchRecord
from digest.store.engine import reads_of
from digest.store.schema import from_row, source_entries, source_fetches

# The fetches kept per source: enough to judge the last few in a row and the usual rhythm of new entries, few
# enough that a preview rebuilding on every save never grows the table without end.
KEPT_FETCHES = 200
_CHUNK = 500  # keys per IN (...): well under SQLite's limit on bound parameters


@dataclass(frozen=True, slots=True, kw_only=True)
class KnownEntry:
    """An entry a source showed: its key (the app layer's hash of its address and title) and the GUID it came under."""

    key: str
    guid: str | None
    post_id: str
    first_seen: datetime
    published: datetime


_FETCH = ("source", "kind", "at", "error", "status", "entries", "new_entries", "size", "seconds")
_ENTRY = ("key", "guid", "post_id", "first_seen", "published")


class SourceFetches:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reads = reads_of(engine)

    def known(self, source: str, keys: Collection[str]) -> dict[str, KnownEntry]:
        """The entries of ``source`` among ``keys`` that it showed before, by key."""
        wanted = sorted(set(keys))
        with self.reads.connect() as conn:
            return {entry.key: entry for entry in _known(conn, source, wanted)}

    def record(self, fetch: FetchRecord, new: Sequence[KnownEntry]) -> None:
        """Store one fetch and the entries it showed for the first time (one already stored, by another build at the
        same moment, is kept as it was); the oldest fetches past :data:`KEPT_FETCHES` are dropped."""
        with self.engine.begin() as conn:
            conn.execute(sa.insert(source_fetches).values(**{name: getattr(fetch, name) for name in _FETCH}))
            stored = {entry.key for entry in _known(conn, fetch.source, sorted({entry.key for entry in new}))}
            rows = [{"source": fetch.source, **{name: getattr(entry, name) for name in _ENTRY}} for entry in new if entry.key not in stored]
            if rows:
                conn.execute(sa.insert(source_entries), rows)
            cutoff = conn.execute(
                sa.select(source_fetches.c.id)
                .where(source_fetches.c.source == fetch.source)
                .order_by(source_fetches.c.at.desc(), source_fetches.c.id.desc())
                .offset(KEPT_FETCHES)
                .limit(1)
            ).scalar()
            if cutoff is not None:
                conn.execute(sa.delete(source_fetches).where(source_fetches.c.source == fetch.source, source_fetches.c.id <= cutoff))

    def history(self, source: str, limit: int = KEPT_FETCHES) -> list[FetchRecord]:
        """The latest fetches of ``source``, the latest first."""
        query = (
            sa.select(source_fetches)
            .where(source_fetches.c.source == source)
            .order_by(source_fetches.c.at.desc(), source_fetches.c.id.desc())
            .limit(limit)
        )
        with self.reads.connect() as conn:
            return [from_row(FetchRecord, _FETCH, row) for row in conn.execute(query).mappings()]

    def dates(self, source: str, until: datetime, limit: int) -> list[datetime]:
        """The publication dates of the latest ``limit`` entries ``source`` has shown dated up to ``until``, oldest first."""
        query = (
            sa.select(source_entries.c.published)
            .where(source_entries.c.source == source, source_entries.c.published <= until)
            .order_by(source_entries.c.published.desc())
            .limit(limit)
        )
        with self.reads.connect() as conn:
            return sorted(conn.execute(query).scalars())

    def count(self, source: str) -> int:
        """How many entries ``source`` has shown."""
        with self.reads.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).where(source_entries.c.source == source)).scalar_one())


def _known(conn: Connection, source: str, keys: Sequence[str]) -> Iterator[KnownEntry]:
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        query = sa.select(source_entries).where(source_entries.c.source == source, source_entries.c.key.in_(chunk))
        yield from (_entry(row) for row in conn.execute(query).mappings())


def _entry(row: Any) -> KnownEntry:
    return from_row(KnownEntry, _ENTRY, row)
