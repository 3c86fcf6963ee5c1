"""The round-up stage: a monthly (or any edition with ``roundup``) shows per theme its strongest posts, not all.

Per theme the posts are ranked: the editor's pins first (in the editor's order), then the stories told by the most
outlets (a post and its ``also``), then readers' aggregate clicks where they were counted, then the newest. The first
``cap`` stay; the rest are counted in ``Section.more`` (and kept in ``Section.beyond``, which digest.json holds) with
the month's archive page in ``Section.more_url``, which lists every post of the month, so a post beyond the cap is not
missed, only not mailed. Pure: nothing read, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from digest.models import OutletGroup, Post, Section


def roundup_sections(
    sections: Sequence[Section],
    cap: int,
    archive_url: str,
    pinned: Sequence[str] = (),
    clicks: Mapping[str, int] | None = None,
) -> tuple[Section, ...]:
    """``sections`` with each theme's posts ranked and cut to ``cap`` (``more``: how many were cut, ``more_url``:
    ``archive_url``). ``clicks``: post id → readers' aggregate clicks; None (not counted): the rank skips them."""
    return tuple(_cut(section, cap, archive_url, pinned, clicks) for section in sections)


def rank(posts: Sequence[Post], pinned: Sequence[str] = (), clicks: Mapping[str, int] | None = None) -> list[Post]:
    """The posts strongest first: pinned (in the editor's order), then told by more outlets, then clicked more
    (when counted), then newer; the title last, so the order is the same whoever builds it."""
    pins = {post_id: n for n, post_id in enumerate(pinned)}
    counted = clicks or {}

    def strength(post: Post) -> tuple[int, int, int, float, str]:
        return (
            pins.get(post.id, len(pins)),
            -(1 + len(post.also)),
            -counted.get(post.id, 0),
            -_timestamp(post.published),
            post.title,
        )

    return sorted(posts, key=strength)


def _timestamp(moment: datetime) -> float:
    return moment.timestamp()


def _cut(section: Section, cap: int, archive_url: str, pinned: Sequence[str], clicks: Mapping[str, int] | None) -> Section:
    ranked = rank(section.posts, pinned, clicks)
    kept, beyond = ranked[:cap], len(ranked) - cap
    return replace(
        section,
        outlets=by_outlet(kept),
        more=max(beyond, 0),
        more_url=archive_url if beyond > 0 else "",
        beyond=tuple(ranked[cap:]),
    )


def by_outlet(posts: Sequence[Post]) -> tuple[OutletGroup, ...]:
    """The ranked posts as one group per outlet, the outlets in the order of their strongest post and each outlet's
    posts in the rank's order. (Groups of runs of one outlet kept the rank's order exactly, but showed a reader
    "City Desk" twice in one theme whenever another outlet's post ranked between two of its own.)"""
    groups: dict[str | None, list[Post]] = {}
    for post in posts:
        groups.setdefault(post.outlet, []).append(post)
    return tuple(OutletGroup(outlet=outlet, posts=tuple(found)) for outlet, found in groups.items())
