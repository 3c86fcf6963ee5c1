"""Finding and reading the local files of a source: globs, folders, and text that may not be UTF-8."""

from __future__ import annotations

import glob
from pathlib import Path

from digest.errors import SourceError


def expand(location: Path, pattern: str) -> list[Path]:
    """A file, every ``pattern`` file under a folder, or a glob; sorted, so runs are repeatable."""
    text = str(location)
    if any(ch in text for ch in "*?["):
        # Path.glob takes no absolute patterns, so the glob module it is.
        return sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())  # noqa: PTH207
    if location.is_dir():
        return sorted(p for p in location.glob(pattern) if p.is_file())
    if location.is_file():
        return [location]
    raise SourceError(str(location), "no such file or folder")


def read_text(path: Path, label: str) -> str:
    """The file's text, or a SourceError saying why not (empty, not UTF-8, unreadable)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceError(label, f"cannot read: {exc.strerror or exc}") from exc
    if not raw.strip():
        raise SourceError(label, "empty file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise SourceError(f"{label}:{line}", f"not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})") from exc
