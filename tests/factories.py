"""Building posts for tests without a source."""

from __future__ import annotations

from datetime import datetime

from digest.models import Post
from digest.sources.base import post_id


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
