"""Building posts for tests without a source."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from digest.models import Post
from digest.sources.base import post_id

if TYPE_CHECKING:
    from digest.models import StoredIssue


def make_post(
    title: str,
    published: datetime,
    *,
    url: str | None = None,
    outlet: str | None = "Outlet",
    excerpt: str = "",
    tags: tuple[str, ...] = (),
    theme: str | None = None,
    source: str = "markdown:test",
    author: str | None = None,
) -> Post:
    return Post(
        id=post_id(url=url, source=source, title=title, published=published),
        title=title,
        url=url,
        published=published,
        outlet=outlet,
        author=author,
        excerpt_html=f"<p>{excerpt}</p>" if excerpt else "",
        excerpt_text=excerpt,
        tags=tags,
        theme=theme,
        source=source,
    )


def make_stored_issue(issue_id: str = "2026-11-20-abcdef", subject: str = "Test Weekly Digest – November 20, 2026") -> StoredIssue:
    """A small frozen issue with both placeholders in both parts."""
    from datetime import UTC

    from digest.models import StoredIssue, placeholders

    now = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    return StoredIssue(
        id=issue_id,
        window_start=datetime(2026, 11, 13, 9, 0, tzinfo=UTC),
        window_end=now,
        subject=subject,
        preheader="Three posts",
        html=(
            '<!doctype html><html lang="en"><body><p>Caf\u00e9 news &amp; more</p>'
            f'<p>Sent to {placeholders.RECIPIENT_EMAIL}. <a href="{placeholders.UNSUBSCRIBE_URL}">Unsubscribe</a></p></body></html>\n'
        ),
        text=f"Café news & more\n\nSent to {placeholders.RECIPIENT_EMAIL}.\nUnsubscribe:\n{placeholders.UNSUBSCRIBE_URL}\n",
        post_ids=("a", "b", "c"),
        checks=(),
        created_at=now,
    )
