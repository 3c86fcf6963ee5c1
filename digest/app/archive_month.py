"""The archive's month pages (``<archive>/YYYY-MM/``): every post the newsletter's sent issues carried that was
published in that month, once each, grouped by theme.

A round-up mails each theme's strongest posts up to its cap and says "and N more in the archive", linking here
(:func:`digest.models.routes.month_archive`): the posts beyond the cap are in its ``digest.json`` (``beyond``), so
they are listed here with those it mailed and those the other editions' issues carried. A post carried by several
issues (a weekly's and the monthly's) is listed once, in the theme of the newest issue that carried it. Issues
frozen before the model was stored with them (schema v8) have nothing to give.

Only what a post says of itself is shown (title, link, outlet, day): nothing of any reader.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

import jinja2

_PAGES = jinja2.Environment(loader=jinja2.PackageLoader("digest", "web/templates"), autoescape=True, undefined=jinja2.StrictUndefined)
# A month's part of the archive's paths: never an issue's id (YYYY-MM-DD-…) nor a feed's file.
MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


@dataclass(frozen=True, slots=True)
class ArchivedPost:
    """One post as the month page lists it."""

    id: str
    title: str
    url: str  # "" when the post has no web address of its own (or one that is not http/https)
    outlet: str
    published: datetime
    theme: str


def _linkable(url: object) -> str:
    # A post's address becomes a link only when it is a web page: a "javascript:" or "data:" one is shown as text.
    text = str(url or "")
    return text if text.startswith(("https://", "http://")) else ""


def _of_model(model: dict[str, object], zone: tzinfo) -> Iterable[ArchivedPost]:
    sections = model.get("sections")
    for section in sections if isinstance(sections, list) else ():
        shown = [post for group in section.get("outlets", ()) for post in group.get("posts", ())]
        for post in (*shown, *section.get("beyond", ())):
            yield ArchivedPost(
                id=str(post["id"]),
                title=str(post["title"]),
                url=_linkable(post.get("url")),
                outlet=str(post.get("outlet") or ""),
                published=datetime.fromisoformat(str(post["published"])).astimezone(zone),
                theme=str(section["theme"]),
            )


def carried(issues: Iterable[tuple[datetime, str | None]], zone: tzinfo) -> list[ArchivedPost]:
    """Every post the issues carried (mailed, or counted beyond a round-up's cap), each once: the newest issue's (by
    the end of its window) placement wins. ``issues``: each one's window end and digest.json (None: frozen before
    v8, nothing to give). Dates in ``zone``, the newsletter's."""
    found: dict[str, ArchivedPost] = {}
    for _end, model in sorted(issues, key=lambda item: item[0], reverse=True):
        for post in _of_model(json.loads(model), zone) if model else ():
            found.setdefault(post.id, post)
    return list(found.values())


def months(posts: Iterable[ArchivedPost]) -> list[tuple[int, int]]:
    """The (year, month) of every post, newest first, each once: the months that have a page."""
    return sorted({(post.published.year, post.published.month) for post in posts}, reverse=True)


def month_of(segment: str) -> tuple[int, int] | None:
    """``2026-11`` as (2026, 11); None for anything else (an issue's id, a feed's name)."""
    found = MONTH.fullmatch(segment)
    return (int(found.group(1)), int(found.group(2))) if found else None


def month_path(year: int, month: int) -> str:
    """The month's part of its page's path: ``2026-11`` (as :func:`digest.models.routes.month_archive` builds it)."""
    return f"{year:04d}-{month:02d}"


def month_listing(posts: Iterable[ArchivedPost], language: str) -> list[dict[str, str]]:
    """The index's lines of months: link (relative to the index), the month's name, its posts' count."""
    from digest.render.i18n import format_month  # the render package loads premailer and MJML: only when a page is made

    counts: dict[tuple[int, int], int] = {}
    for post in posts:
        key = (post.published.year, post.published.month)
        counts[key] = counts.get(key, 0) + 1
    return [
        {"url": f"{month_path(year, month)}/", "name": format_month(date(year, month, 1), language), "count": str(counts[(year, month)])}
        for year, month in sorted(counts, reverse=True)
    ]


def month_page(
    posts: Iterable[ArchivedPost], year: int, month: int, *, newsletter: str, language: str, themes: Sequence[str]
) -> str | None:
    """The HTML of the month's page: its posts by theme (``themes``: the newsletter's order; any other after them, by
    name), each theme's oldest first; None when no post of the issues was published in that month."""
    from digest.render.i18n import format_day, format_month  # as above: not at the public app's start

    every = list(posts)
    chosen = [post for post in every if (post.published.year, post.published.month) == (year, month)]
    if not chosen:
        return None
    order = {name: n for n, name in enumerate(themes)}
    by_theme: dict[str, list[ArchivedPost]] = {}
    for post in chosen:
        by_theme.setdefault(post.theme, []).append(post)
    sections = [
        {
            "theme": theme,
            "posts": [
                {"title": post.title, "url": post.url, "outlet": post.outlet, "day": format_day(post.published.date(), language)}
                for post in sorted(by_theme[theme], key=lambda post: (post.published, post.title))
            ],
        }
        for theme in sorted(by_theme, key=lambda name: (order.get(name, len(order)), name))
    ]
    return _PAGES.get_template("archive_month.html").render(
        newsletter=newsletter,
        language=language,
        month=format_month(date(year, month, 1), language),
        count=len(chosen),
        sections=sections,
        index="../",
        nearby=_nearby(months(every), (year, month), language),
    )


def _nearby(pages: Sequence[tuple[int, int]], here: tuple[int, int], language: str) -> list[dict[str, str]]:
    """The months before and after ``here`` that have a page (``pages``: newest first), as links relative to this
    page: a week's issue that spans two months counts the posts it left out of the mail on one month's page ("and 14
    more in the archive"), and some of them are on the other's."""
    from digest.render.i18n import format_month

    earlier = [page for page in pages if page < here]
    later = [page for page in pages if page > here]
    found = [("prev", "← {}", earlier[0])] if earlier else []
    found += [("next", "{} →", later[-1])] if later else []
    return [
        {"rel": rel, "url": f"../{month_path(year, month)}/", "name": shape.format(format_month(date(year, month, 1), language))}
        for rel, shape, (year, month) in found
    ]
