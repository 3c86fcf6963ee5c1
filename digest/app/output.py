"""What goes to files and pipes: an issue's folder ``<out>/<issue-id>/digest.{html,txt,json}`` (written
atomically), and the JSON forms of posts and of a digest."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from digest.models import Digest, Post, RenderedIssue
from digest.models.serialize import digest_to_json, dumps, post_to_json


def write_issue(out_dir: Path, digest: Digest, rendered: RenderedIssue) -> Path:
    """Write the three files of an issue into ``out_dir/<issue-id>/``; returns that folder.

    The files are written into a temporary folder beside it, which is then
    renamed into place: a reader (or a crash) never sees a folder with some
    new files and some old, and an earlier build stays whole until the new
    one is complete.
    """
    folder = out_dir / digest.issue_id
    model = digest_to_json(digest)
    model["subject"] = rendered.subject
    model["checks"] = [{"code": c.code, "level": c.level, "message": c.message} for c in rendered.checks]
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out_dir, prefix=f".{digest.issue_id}.", suffix=".tmp"))
    try:
        for name, text in (("digest.html", rendered.html), ("digest.txt", rendered.text), ("digest.json", dumps(model))):
            (staging / name).write_text(text, encoding="utf-8", newline="")
        staging.chmod(0o755)
        if folder.exists():
            # A folder cannot be renamed over a full one: move the old aside first, and remove it once the new is in place.
            old = Path(tempfile.mkdtemp(dir=out_dir, prefix=f".{digest.issue_id}.", suffix=".old"))
            folder.replace(old / "previous")
            staging.replace(folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.replace(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def posts_json(posts: Sequence[Post]) -> str:
    """The posts as ``digest posts --format json`` prints them."""
    return dumps([post_to_json(post) for post in posts])


def digest_json(digest: Digest, rendered: RenderedIssue | None = None, *, indent: int | None = None) -> str:
    """The digest's model as JSON (the preview's Model tab and /digest.json); with its render's checks when given."""
    model = digest_to_json(digest)
    if rendered is not None:
        model["checks"] = [{"code": c.code, "level": c.level, "message": c.message} for c in rendered.checks]
    return json.dumps(model, ensure_ascii=False, indent=indent)
