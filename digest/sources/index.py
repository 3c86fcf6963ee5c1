"""What each local file yielded last time, so that a repeated run parses only the files that changed.

A file is known by its path and stamp (size, mtime in nanoseconds, inode);
what it yielded is kept in ``<cache_dir>/index.sqlite``: the post as JSON
and its publication time (so that a run loads only the posts near its
window), or the problem that made it unreadable (reported again on every
run: an index must not make a broken file go quiet).

The index is a cache, never the truth: a source's rows are dropped when
anything that shapes a post changes (the fingerprint: the reading code and
its libraries, the time zone, the excerpt length, the source's settings),
and an index that cannot be opened is rebuilt or, failing that, not used at
all (logged). A file modified within the last two seconds is parsed but not
remembered: a second write within the clock's granularity could leave size
and mtime as they were ("racy" stamps, as git calls them).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

from digest.models import Post, Problem
from digest.models.serialize import post_from_json, post_to_json

log = logging.getLogger(__name__)

# Bump when what a row holds, or how a post is read from a file, changes.
INDEX_VERSION = 5
RACY_SECONDS = 2.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    id INTEGER PRIMARY KEY,
    location TEXT NOT NULL UNIQUE,
    fingerprint TEXT NOT NULL,
    stamps TEXT NOT NULL DEFAULT '{}'  -- JSON: path -> stamp + "P" (a post) or "X" (a problem), for every row in files
);
CREATE TABLE IF NOT EXISTS files (
    source INTEGER NOT NULL,
    path TEXT NOT NULL,
    stamp TEXT NOT NULL,     -- "size mtime_ns inode"
    published REAL,          -- UTC timestamp of the post, NULL when the file had a problem
    post TEXT,               -- the Post as JSON (post_to_json)
    problem TEXT,            -- the Problem as JSON
    UNIQUE (source, path)
);
CREATE INDEX IF NOT EXISTS files_published ON files (source, published);
"""

# What changes when a file's content may have: size, mtime in nanoseconds, and the inode (a file renamed
# into place), as "size mtime inode". Text, not a tuple: a repeated run compares 100,000 of them, and
# SQLite can hand them over as a dict without a line of Python per row.
Stamp = str
NO_STAMP: Stamp = "0 0 0"  # a file read without the index: never saved

# What reading one file gave, ready to store: path, stamp, and the post's UTC timestamp and JSON,
# or the problem's JSON. Workers build these, so the reading process only decodes the posts it needs.
Row = tuple[str, Stamp, float | None, str | None, str | None]


def stamp_of(path: str) -> Stamp | None:
    """The file's stamp; None if it vanished since it was listed."""
    try:
        st = os.stat(path)  # noqa: PTH116 (a str path: no Path per file)
    except FileNotFoundError:
        return None
    return f"{st.st_size} {st.st_mtime_ns} {st.st_ino}"


def settled(stamp: Stamp, now_ns: int) -> bool:
    """Old enough to trust: a later write would move mtime past it, not land in the same clock tick.

    Only mtime counts here: every write sets it to the current time, and a
    tool that sets it back (``cp -p``, ``rsync -t``) writes a new file, whose
    inode is part of the stamp.
    """
    return now_ns - int(stamp.split(" ")[1]) > RACY_SECONDS * 1e9


def post_row(path: str, stamp: Stamp, post: Post) -> Row:
    return (path, stamp, post.published.timestamp(), post_to_row(post), None)


def problem_row(path: str, stamp: Stamp, problem: Problem) -> Row:
    return (path, stamp, None, None, json.dumps([problem.where, problem.message], ensure_ascii=False))


def problem_from_row(text: str) -> Problem:
    where, message = json.loads(text)
    return Problem(where=where, message=message)


class PostIndex:
    """One source's rows in the index file. Use :meth:`open`; every method may raise sqlite3.Error."""

    def __init__(self, conn: sqlite3.Connection, source: int) -> None:
        self.conn = conn
        self.source = source
        self.changed = False  # rows added since the stamps were last stored

    @classmethod
    def open(cls, cache_dir: Path, location: str, fingerprint: str) -> PostIndex | None:
        """The index for the source at ``location``, emptied if its fingerprint changed; None (logged) if unusable."""
        path = cache_dir / "index.sqlite"
        for attempt in (1, 2):
            try:
                cache_dir.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(path, timeout=30, isolation_level=None)
                try:
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute("PRAGMA synchronous=OFF")  # a cache: a damaged one is rebuilt, so no fsync
                    _create(conn)
                    return cls(conn, _source_id(conn, location, fingerprint))
                except BaseException:
                    conn.close()
                    raise
            except sqlite3.DatabaseError as exc:
                if attempt == 1 and getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
                    log.warning("%s is damaged (%s): rebuilding it", path, exc)
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{path}{suffix}").unlink(missing_ok=True)
                    continue
                log.warning("cannot use the post index %s (%s): reading every file", path, exc)
                return None
            except OSError as exc:
                log.warning("cannot use the post index %s (%s): reading every file", path, exc)
                return None
        return None

    def close(self) -> None:
        self.conn.close()

    def known(self) -> dict[str, str]:
        """Every file the index holds for this source: path -> its stamp and a last character, "P" (a post) or "X" (a problem).

        Kept as one JSON document beside the rows and written with them: loading
        it costs a quarter of reading the same from 100,000 rows.
        """
        (stamps,) = self.conn.execute("SELECT stamps FROM sources WHERE id = ?", (self.source,)).fetchone()
        known: dict[str, str] = json.loads(stamps)
        return known

    def posts(self, between: tuple[float, float] | None = None) -> Iterator[tuple[str, str]]:
        """(path, post JSON) of the stored posts: all, or those published in ``[start, end)`` (UTC timestamps)."""
        if between is None:
            return self.conn.execute("SELECT path, post FROM files WHERE source = ? AND post IS NOT NULL", (self.source,))
        return self.conn.execute(
            "SELECT path, post FROM files WHERE source = ? AND published >= ? AND published < ?", (self.source, *between)
        )

    def problems(self, paths: Iterable[str]) -> Iterator[tuple[str, str]]:
        """(path, problem JSON) of the stored problems of ``paths``."""
        for path in paths:
            yield from self.conn.execute("SELECT path, problem FROM files WHERE source = ? AND path = ?", (self.source, path))

    def add(self, known: dict[str, str], rows: Iterable[Row]) -> None:
        """Remember what was read (settled files only), in a transaction of its own; ``known`` is updated to match.

        A run stores its rows chunk by chunk and ends with :meth:`finish`. A
        crash in between leaves rows that ``known`` (as stored) does not list:
        those files are read again and their rows replaced, nothing is lost.
        """
        now_ns = time.time_ns()
        kept = [
            (self.source, path, stamp, published, post, problem) for path, stamp, published, post, problem in rows if settled(stamp, now_ns)
        ]
        if not kept:
            return
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)", kept)
        for _, path, stamp, _, post, _ in kept:
            known[path] = stamp + ("P" if post is not None else "X")
        self.changed = True

    def finish(self, known: dict[str, str], removed: Iterable[str]) -> None:
        """Forget the files that are gone and store ``known``, in one transaction (nothing to do if nothing changed)."""
        gone = [(self.source, path) for path in removed]
        if not gone and not self.changed:
            return
        for _, path in gone:
            known.pop(path, None)
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.executemany("DELETE FROM files WHERE source = ? AND path = ?", gone)
            self.conn.execute("UPDATE sources SET stamps = ? WHERE id = ?", (json.dumps(known, ensure_ascii=False), self.source))
        self.changed = False


def _create(conn: sqlite3.Connection) -> None:
    """The tables, dropped and made anew when an index of another version is found (a cache needs no migration)."""
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        if conn.execute("PRAGMA user_version").fetchone()[0] != INDEX_VERSION:
            conn.execute("DROP TABLE IF EXISTS files")
            conn.execute("DROP TABLE IF EXISTS sources")
            for statement in _SCHEMA.split(";\n"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {INDEX_VERSION}")


def _source_id(conn: sqlite3.Connection, location: str, fingerprint: str) -> int:
    with conn:
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute("SELECT id, fingerprint FROM sources WHERE location = ?", (location,)).fetchone()
        if row is not None and row[1] == fingerprint:
            return int(row[0])
        if row is not None:
            log.info("%s: settings or program changed since the index was written: reading every file again", location)
            conn.execute("DELETE FROM files WHERE source = ?", (row[0],))
            conn.execute("UPDATE sources SET fingerprint = ?, stamps = '{}' WHERE id = ?", (fingerprint, row[0]))
            return int(row[0])
        cursor = conn.execute("INSERT INTO sources (location, fingerprint) VALUES (?, ?)", (location, fingerprint))
        assert cursor.lastrowid is not None
        return cursor.lastrowid


def post_to_row(post: Post) -> str:
    """The post as JSON: its digest.json form, and the name of its time zone (the JSON form keeps only the offset)."""
    zone = post.published.tzinfo.key if isinstance(post.published.tzinfo, ZoneInfo) else None
    return json.dumps({**post_to_json(post), "zone": zone}, ensure_ascii=False)


def post_from_row(text: str) -> Post:
    data = json.loads(text)
    return post_from_json(data, _zone(data["zone"]) if data["zone"] else None)


@functools.cache
def _zone(key: str) -> ZoneInfo:
    return ZoneInfo(key)
