"""The Weekly Digest of one window: ``build_issue`` gathers, selects, groups and freezes it."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, tzinfo

from digest.config import Settings, SourceSpec
from digest.grouping import group_posts, summarise_outlets
from digest.models import Digest, Excluded, ExclusionKind, Problem, Stats, Window
from digest.selection import select_posts
from digest.sources import Gathered, gather_all


def issue_id(window: Window, zone: tzinfo) -> str:
    """Stable for a window: its last local day, readable, and a short hash of the exact bounds."""
    exact = f"{window.start.timestamp():.0f}-{window.end.timestamp():.0f}"
    digest = hashlib.sha256(exact.encode("ascii")).hexdigest()[:6]
    return f"{last_day(window, zone):%Y-%m-%d}-{digest}"


def last_day(window: Window, zone: tzinfo) -> datetime:
    """The last moment inside the half-open window, in local time: the day an issue is named for."""
    return (window.end - timedelta(microseconds=1)).astimezone(zone)


def issue_title(window: Window, settings: Settings) -> str:
    day = last_day(window, settings.timezone)
    return settings.title_format.format(name=settings.name, date=f"{day:%B} {day.day}, {day.year}")


def assemble_digest(
    gathered: Gathered, window: Window, settings: Settings, now: datetime, unrenderable: Mapping[str, str] | None = None
) -> Digest:
    """The Digest for ``window`` from posts already gathered. Pure: no I/O, no clock.

    ``unrenderable`` (post id → why) names posts that broke the email on their
    own (see :func:`digest.render.render_leaving_out`): they are excluded and
    reported, and the issue goes on without them.
    """
    selection = select_posts(gathered.posts, window, settings.selection)
    if unrenderable:
        left_out = [post for post in selection.selected if post.id in unrenderable]
        selection = replace(
            selection,
            selected=tuple(post for post in selection.selected if post.id not in unrenderable),
            excluded=(
                *selection.excluded,
                *(Excluded(post=post, kind=ExclusionKind.UNRENDERABLE, reason=unrenderable[post.id]) for post in left_out),
            ),
        )
        gathered = replace(
            gathered,
            problems=(
                *gathered.problems,
                *(Problem(where=post.source, message=f'"{post.title}": {unrenderable[post.id]}') for post in left_out),
            ),
        )
    sections = group_posts(selection.selected, settings.themes, settings.fallback_theme, settings.fallback_description)
    posts = [post for section in sections for post in section.posts]
    outlets = summarise_outlets(posts)
    return Digest(
        issue_id=issue_id(window, settings.timezone),
        newsletter=settings.name,
        title=issue_title(window, settings),
        preheader=settings.preheader or _preheader(len(posts), len(outlets), [s.theme for s in sections]),
        window=window,
        timezone=str(settings.timezone),
        sections=sections,
        outlet_summary=outlets,
        excluded=tuple(sorted(selection.excluded, key=lambda e: (e.post.published, e.post.title))),
        problems=gathered.problems,
        stats=Stats(
            gathered=len(gathered.posts) + gathered.distant,
            selected=len(selection.selected),
            excluded=len(selection.excluded),
            problems=len(gathered.problems),
            distant=gathered.distant,
        ),
        generated_at=now,
    )


def build_issue(settings: Settings, window: Window, now: datetime, sources: Sequence[SourceSpec] | None = None) -> Digest:
    """Gather posts from ``sources`` (default: the configured ones) and assemble the Digest.

    Bad items and sources never raise: they are in ``Digest.problems``.
    """
    return assemble_digest(gather_for(settings, window, sources), window, settings, now)


def gather_for(settings: Settings, window: Window, sources: Sequence[SourceSpec] | None = None) -> Gathered:
    """Every post near ``window`` from ``sources`` (default: the configured ones), and every problem met."""
    specs = tuple(sources) if sources is not None else settings.sources
    if not specs:
        return Gathered(problems=(Problem(where="config", message="no sources configured"),))
    return gather_all(specs, settings, window.widened())


def _preheader(posts: int, outlets: int, themes: list[str]) -> str:
    if posts == 0:
        return "No new posts this week."
    lead = f"{posts} post{'s' if posts != 1 else ''} from {outlets} outlet{'s' if outlets != 1 else ''}"
    return f"{lead}: {', '.join(themes[:3])}{' and more' if len(themes) > 3 else ''}."
