"""Finding and reading the local files of a source: globs, folders, and text that may not be UTF-8."""

from __future__ import annotations

import glob
import os
from pathlib import Path

from digest.models.errors import SourceError, SourceUnavailableError


def expand(location: Path, suffix: str) -> list[Path]:
    """A file, every ``*suffix`` file under a folder, or a glob; sorted, so runs are repeatable."""
    return [Path(path) for path in find(location, suffix)]


def find(location: Path, suffix: str) -> list[str]:
    """:func:`expand` as strings: a content folder may hold 100,000 files, and a Path each costs more than the walk.

    Raises SourceUnavailableError when nothing is there: a missing path, a
    glob that matches no file, or a folder with no ``*suffix`` file in it.
    """
    text = str(location)
    if any(ch in text for ch in "*?["):
        # Path.glob takes no absolute patterns, so the glob module it is.
        found = sorted((p for p in glob.glob(text, recursive=True) if os.path.isfile(p)), key=path_order)  # noqa: PTH207, PTH113
        if not found:
            raise SourceUnavailableError(text, "the pattern matches no file")
        return found
    if location.is_dir():
        found = []
        _walk(text, suffix, found)
        if not found:
            raise SourceUnavailableError(text, f"no {suffix} file in this folder")
        return found
    if location.is_file():
        return [text]
    raise SourceUnavailableError(text, "no such file or folder")


def _walk(folder: str, suffix: str, found: list[str]) -> None:
    """Files ending in ``suffix`` under ``folder``, in path order; symlinked folders are not followed (no loops).

    Each folder's entries are sorted by name and visited in that order, which
    is the order sorting the whole list component by component would give.
    """
    with os.scandir(folder) as listing:
        entries = sorted(listing, key=lambda entry: entry.name)
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            _walk(entry.path, suffix, found)
        elif entry.name.endswith(suffix) and entry.is_file():
            found.append(entry.path)


def path_order(path: str) -> list[str]:
    """Path order (component by component), the order sorting Path objects gives."""
    return path.split(os.sep)  # noqa: PTH206 (strings on purpose: see find)


def read_text(path: Path, label: str) -> str:
    """The file's text, or a SourceError saying why not (unreadable, empty, not UTF-8)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceError(label, f"cannot read: {exc.strerror or exc}") from exc
    return decode_text(raw, label)


def decode_text(raw: bytes, label: str) -> str:
    """Bytes read from a file or a URL as text, or a SourceError saying why not (empty, not UTF-8)."""
    if not raw.strip():
        raise SourceError(label, "empty file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise SourceError(f"{label}:{line}", f"not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})") from exc
