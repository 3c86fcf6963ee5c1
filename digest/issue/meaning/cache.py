"""Vectors computed before, by model and text, in ``<cache_dir>/meaning.sqlite``: a repeated build computes none.

A cache, never the truth: a vector is found by the SHA-256 of the model's id
and the exact text, so another model or an edited post simply misses; a
cache that cannot be opened or written is logged and the vectors computed.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from digest.issue.meaning.model import Vectors

log = logging.getLogger(__name__)
# Vectors met in this process (key → bytes): the preview rebuilds on every saved file and the scheduler every week,
# and neither need read the same theme texts back from SQLite each time. Bounded: cleared past MEMO_MAX.
MEMO_MAX = 50_000
_memo: dict[str, bytes] = {}


def vector_key(model_id: str, text: str) -> str:
    """What the cache (and a seed file) knows a text's vector by: another model or another text, another key."""
    return hashlib.sha256(f"{model_id}\0{text}".encode()).hexdigest()


def cached_vectors(
    path: Path | None, model_id: str, texts: list[str], compute: Callable[[list[str]], Vectors], seed: Path | None = None
) -> Vectors:
    """A unit vector per text: those known from the cache at ``path``, or from the ``seed`` file shipped beside a
    starting set (:func:`write_seed`), the others computed (and remembered)."""
    import numpy as np

    keys = [vector_key(model_id, text) for text in texts]
    known: dict[str, bytes] = {key: _memo[key] for key in keys if key in _memo}
    if seed is not None and len(known) < len(set(keys)):
        seeded = _seed(seed)
        known.update({key: seeded[key] for key in keys if key in seeded and key not in known})
    conn = _open(path) if len(known) < len(set(keys)) else None
    if conn is not None:
        try:
            for start in range(0, len(keys), 500):
                chunk = [key for key in keys[start : start + 500] if key not in known]
                if not chunk:
                    continue
                query = f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(chunk))})"  # noqa: S608 (placeholders only)
                known.update(conn.execute(query, chunk).fetchall())
        except sqlite3.Error as exc:
            log.warning("meaning cache %s: %s; computing every vector", path, exc)
    missing = list(dict.fromkeys(key for key in keys if key not in known))  # each text once, in order
    if missing:
        text_of = dict(zip(keys, texts, strict=True))
        fresh = compute([text_of[key] for key in missing])
        for key, vector in zip(missing, fresh, strict=True):
            known[key] = vector.astype(np.float32).tobytes()
        if conn is not None:
            try:
                with conn:
                    conn.executemany("INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)", [(key, known[key]) for key in missing])
            except sqlite3.Error as exc:
                log.warning("meaning cache %s: %s; vectors not kept", path, exc)
    if conn is not None:
        conn.close()
    if len(_memo) + len(known) > MEMO_MAX:
        _memo.clear()
    _memo.update(known)
    return np.stack([np.frombuffer(known[key], dtype=np.float32) for key in keys]) if keys else np.zeros((0, 0), np.float32)


def _open(path: Path | None) -> sqlite3.Connection | None:
    if path is None:
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=10)
        conn.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        return conn
    except (OSError, sqlite3.Error) as exc:
        log.warning("meaning cache %s cannot be opened: %s; computing every vector", path, exc)
        return None


# Fits of the classifier met in this process (labels' key → bytes): the preview rebuilds on every saved file.
FITS_MAX = 16
_fits: dict[str, bytes] = {}


def remembered(path: Path | None, key: str, compute: Callable[[], bytes]) -> bytes:
    """What ``compute`` made for ``key`` before (this process, else the cache at ``path``), else made and kept."""
    if key in _fits:
        return _fits[key]
    conn = _open(path)
    found = None
    if conn is not None:
        try:
            conn.execute("CREATE TABLE IF NOT EXISTS fits (key TEXT PRIMARY KEY, fit BLOB NOT NULL)")
            row = conn.execute("SELECT fit FROM fits WHERE key = ?", (key,)).fetchone()
            found = bytes(row[0]) if row else None
        except sqlite3.Error as exc:
            log.warning("meaning cache %s: %s; fitting anew", path, exc)
    if found is None:
        found = compute()
        if conn is not None:
            try:
                with conn:
                    conn.execute("INSERT OR REPLACE INTO fits (key, fit) VALUES (?, ?)", (key, found))
            except sqlite3.Error as exc:
                log.warning("meaning cache %s: %s; fit not kept", path, exc)
    if conn is not None:
        conn.close()
    if len(_fits) >= FITS_MAX:
        _fits.clear()
    _fits[key] = found
    return found


@cache
def _seed(path: Path) -> dict[str, bytes]:
    """The vectors of a seed file, by key (read once per process); none when it cannot be read (a cache, never the truth)."""
    import numpy as np

    try:
        with np.load(path) as stored:
            return {str(key): row.astype(np.float32).tobytes() for key, row in zip(stored["keys"], stored["vectors"], strict=True)}
    except (OSError, ValueError, KeyError) as exc:
        log.warning("meaning seed %s cannot be read: %s; computing its vectors", path, exc)
        return {}


def write_seed(path: Path, model_id: str, texts: list[str], vectors: Vectors) -> None:
    """Keep ``texts``' vectors by ``model_id`` in ``path`` (an .npz): shipped beside a starting set, they spare a first
    build the model's work on it (``make starting-vectors``)."""
    import numpy as np

    keys = np.array([vector_key(model_id, text) for text in texts])
    with path.open("wb") as out:
        np.savez(out, keys=keys, vectors=vectors.astype(np.float32))
