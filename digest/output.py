"""The output folder: ``<out>/<issue-id>/digest.{html,txt,json}``, written atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from digest.models import Digest, RenderedIssue
from digest.serialize import digest_to_json, dumps


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and a rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_issue(out_dir: Path, digest: Digest, rendered: RenderedIssue) -> Path:
    """Write the three files of an issue; returns its folder."""
    folder = out_dir / digest.issue_id
    model = digest_to_json(digest)
    model["subject"] = rendered.subject
    model["checks"] = [{"code": c.code, "level": c.level, "message": c.message} for c in rendered.checks]
    write_atomic(folder / "digest.html", rendered.html)
    write_atomic(folder / "digest.txt", rendered.text)
    write_atomic(folder / "digest.json", dumps(model))
    return folder
