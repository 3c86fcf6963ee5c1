"""The links of an issue that clicks are counted on, and the issue as a reader's copy shows them.

With ``[tracking] clicks = "aggregate"`` every link to a post (and each "Also
in" link to another outlet's telling) is numbered in the order the issue
shows it; the frozen issue keeps the numbers with their destinations
(:class:`digest.models.TrackedLink`), and the copy that is rendered and sent
carries ``base_url/r/<token>`` in their place. The token names the issue and
the number, the same in every copy: nothing in it says who got the copy.
Only web links are counted; a link of any other kind stays as it is.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from typing import TypeGuard

from digest.models import Digest, Post, TrackedLink


def _counted(url: str | None) -> TypeGuard[str]:
    return url is not None and url.lower().startswith(("https://", "http://"))


def tracked_links(digest: Digest) -> tuple[TrackedLink, ...]:
    """Every counted link of ``digest``, numbered from 1 in the order the issue shows them."""
    found: list[TrackedLink] = []
    for section in digest.sections:
        for post in section.posts:
            for url, outlet in ((post.url, post.outlet), *((item.url, item.outlet) for item in post.also)):
                if _counted(url):
                    found.append(TrackedLink(len(found) + 1, post.id, url, section.theme, outlet))
    return tuple(found)


def through_redirect(digest: Digest, href: Callable[[int], str]) -> Digest:
    """``digest`` with each counted link replaced by ``href(number)``: what the reader's copy shows (the
    numbering is :func:`tracked_links`'s, walked the same way)."""
    numbers = itertools.count(1)

    def shown(url: str | None) -> str | None:
        return href(next(numbers)) if _counted(url) else url

    def post_of(post: Post) -> Post:
        url = shown(post.url)
        also = tuple(replace(item, url=shown(item.url)) for item in post.also)
        return replace(post, url=url, also=also)

    sections = tuple(
        replace(section, outlets=tuple(replace(group, posts=tuple(post_of(post) for post in group.posts)) for group in section.outlets))
        for section in digest.sections
    )
    return replace(digest, sections=sections)
