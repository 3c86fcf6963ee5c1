"""Frozen issues: the first send (or ``build --freeze``) stores what was built, and every later send uses it.

So what an editor previewed is exactly what goes out, even if content
changes afterwards. A rebuild replaces the stored issue only while none of
its deliveries has been attempted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from digest.config import Settings, SourceSpec
from digest.errors import DigestError
from digest.issue import build_issue, issue_id
from digest.models import Digest, RenderedIssue, Window
from digest.render import render_issue
from digest.store import Store, StoredIssue


class RebuildRefusedError(DigestError):
    """The issue has deliveries already: what went out must stay what is stored."""


@dataclass(frozen=True, slots=True)
class Prepared:
    issue: StoredIssue
    created: bool  # built and stored now, rather than loaded
    digest: Digest | None  # the model, when built in this run


def freeze(digest: Digest, rendered: RenderedIssue, now: datetime) -> StoredIssue:
    return StoredIssue(
        id=digest.issue_id,
        window_start=digest.window.start,
        window_end=digest.window.end,
        subject=rendered.subject,
        preheader=rendered.preheader,
        html=rendered.html,
        text=rendered.text,
        post_ids=tuple(post.id for post in digest.posts),
        checks=tuple({"code": c.code, "level": c.level, "message": c.message} for c in rendered.checks),
        created_at=now,
    )


def prepare_issue(
    store: Store,
    settings: Settings,
    window: Window,
    now: datetime,
    *,
    sources: Sequence[SourceSpec] | None = None,
    rebuild: bool = False,
    save: bool = True,
) -> Prepared:
    """The stored issue for ``window``, building, rendering and storing it if there is none yet.

    ``rebuild`` builds it again and replaces the stored one; raises
    RebuildRefusedError once any delivery of it has been attempted. ``save=False``
    (a dry run) builds without storing. Raises RenderError on a template error.
    """
    wanted = issue_id(window, settings.timezone)
    stored = store.load_issue(wanted)
    if stored is not None and not rebuild:
        return Prepared(stored, False, None)
    if stored is not None and store.has_started(wanted):
        raise RebuildRefusedError(f"issue {wanted} has deliveries already; it cannot be rebuilt (what was sent must stay what is stored)")
    digest = build_issue(settings, window, now, sources)
    issue = freeze(digest, render_issue(digest, settings), now)
    if save:
        store.save_issue(issue, replace=stored is not None)
    return Prepared(issue, True, digest)


def error_checks(issue: StoredIssue) -> list[str]:
    return [f"{c['code']}: {c['message']}" for c in issue.checks if c.get("level") == "error"]
