"""The sample issue (the repository's config and content, the Friday 20 November 2026 issue): frozen, sent with each
reader's views, or sent to a few readers by the newsletter."""

from __future__ import annotations

from datetime import date, datetime

from digest.app.issues import Newsletter, WindowRequest, frozen_form
from digest.config import Scope, theme_key
from digest.issue.assembly import build_issue
from digest.issue.selection import window_for
from digest.mail.backends import get_backend
from digest.models import Layout, SendReport, StoredIssue
from digest.render import render_issue
from digest.send.delivery import compile_issue, send_issue
from digest.store import Store

from conftest import REPO
from support.settings import overridden

NOW = datetime.fromisoformat("2026-11-20T09:00:00+00:00")


def sample_issue(settings: Scope) -> StoredIssue:
    """The sample issue (the repository's content) rendered for ``settings``, frozen."""
    settings = overridden(settings, root=REPO, editorial_dir=REPO / "content" / "issues")
    digest = build_issue(settings, window_for(NOW, settings.newsletter.window, settings.newsletter.timezone), NOW)
    return frozen_form(digest, render_issue(digest, settings), NOW)


def send_with_views(store: Store, settings: Scope, issue: StoredIssue) -> SendReport:
    """The issue sent as the newsletter sends it: each reader their themes, pauses counted from 20 November."""
    return send_issue(
        store,
        compile_issue(issue, settings, date=NOW),
        get_backend(settings.install),
        settings.install.delivery,
        layout=Layout.load(issue.layout, theme_key),
        today=date(2026, 11, 20),
    )


def sent_issue(settings: Scope, readers: int = 3) -> tuple[Store, Newsletter, str]:
    """The sample issue sent to ``readers`` subscribers: (store, newsletter, issue id)."""
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    for number in range(readers):
        store.subscribers.add(f"reader{number}@example.org")
    newsletter = Newsletter(settings, store)
    plan = newsletter.plan_send(newsletter.target(WindowRequest(as_of="2026-11-20T09:00"), NOW), NOW)
    assert newsletter.send(plan, NOW) is not None
    return store, newsletter, plan.issue.id
