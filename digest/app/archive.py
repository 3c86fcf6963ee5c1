"""The published archive: every sent issue as a web page, and Atom feeds of them, by the same code for
``digest publish DIR`` (a static site for any host) and ``digest serve`` (from the store).

- ``index.html``: the issues, newest first; with several editions a section of each edition's issues, and the
  months (also with one edition that is a round-up). A newsletter of one edition that is no round-up (an install
  made before editions) gets the page it always had.
- ``<issue-id>/index.html``: the "view in browser" copy of an issue of any edition, with no recipient's details in it.
- ``YYYY-MM/index.html``: every post the issues carried that was published in that month, by theme
  (:mod:`digest.app.archive_month`): where a round-up's "and N more in the archive" points.
- ``feed.atom``: one entry per issue of the first edition (as before editions), its whole HTML as the content.
- ``editions/<name>.atom``: the same of each other edition (a path no issue id or month can take).
- ``themes/<slug>.atom``: one entry per post of that theme, across the first edition's issues (issues frozen before
  the model was stored with them, schema v8, have no themes to give; a round-up would give its posts twice).

Ids are tag URIs built from the list id and the issue id (and the post id), so re-publishing
never changes them; ``updated`` is when the issue's first copy went out.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import jinja2

from digest.app.archive_month import ArchivedPost, carried, month_listing, month_page, month_path, months
from digest.config import Publication, Scope
from digest.models import IssueSummary, OnStep, StoredIssue, Window, last_day, placeholders, routes
from digest.store import Store

ATOM = "http://www.w3.org/2005/Atom"
_PAGES = jinja2.Environment(loader=jinja2.PackageLoader("digest", "web/templates"), autoescape=True, undefined=jinja2.StrictUndefined)
WEB_EMAIL = "your address"


@dataclass(frozen=True, slots=True)
class Page:
    path: str  # relative: "index.html", "2026-11-20-abcdef/index.html", "2026-11/index.html", "feed.atom", "themes/energy.atom"
    body: str
    media_type: str


@dataclass(frozen=True, slots=True)
class EditionSent:
    """One edition's sent issues (newest first, each with its first send time) and the path of its Atom feed."""

    name: str
    feed: str  # "feed.atom" for the first edition, "editions/<name>.atom" for another
    sent: tuple[tuple[StoredIssue, datetime], ...]


def edition_feed(newsletter: Publication, name: str) -> str:
    """The path of an edition's feed under the archive: ``feed.atom`` for the first (where readers of the feed made
    before editions are), ``editions/<name>.atom`` for another (the path of :data:`routes.EDITION_FEED`)."""
    first = newsletter.editions[0].name if newsletter.editions else name
    return "feed.atom" if name == first else routes.EDITION_FEED.link(edition=name).removeprefix(routes.ARCHIVE.link())


def sent_by_edition(settings: Scope, store: Store) -> list[EditionSent]:
    """Each edition's sent issues, in the config's order (the first the default)."""
    names = [edition.name for edition in settings.newsletter.editions] or [store.edition]
    return [EditionSent(name, edition_feed(settings.newsletter, name), tuple(store.of_edition(name).issues.sent())) for name in names]


def lists_months(newsletter: Publication) -> bool:
    """Whether the index links the month pages: with several editions, or one round-up. The page of a newsletter of
    one plain edition stays the one it had before editions (its month pages exist all the same)."""
    return len(newsletter.editions) > 1 or any(edition.roundup for edition in newsletter.editions)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "theme"


def web_copy(html: str, base_url: str) -> str:
    """An issue's HTML with the per-recipient placeholders replaced by neutral text (the pages that say where a
    reader's own links are)."""
    unsubscribe_help = routes.UNSUBSCRIBE_HELP.link(base_url)
    preferences_help = routes.PREFERENCES_HELP.link(base_url)
    return (
        html.replace(placeholders.RECIPIENT_EMAIL, WEB_EMAIL)
        .replace(placeholders.UNSUBSCRIBE_URL, unsubscribe_help)
        .replace(placeholders.PREFERENCES_URL, preferences_help)
    )


def archive_url(settings: Scope) -> str:
    """Where the archive lives: ``newsletter.archive_url``, else the public app's /archive."""
    return routes.archive_at(settings.newsletter.archive_url, settings.base_url)


def listing(newsletter: Publication, issues: Iterable[IssueSummary | StoredIssue], prefix: str) -> list[dict[str, str]]:
    """The archive index's lines: link (``prefix`` + id), subject and the window's days."""
    zone = newsletter.timezone
    return [
        {
            "url": f"{prefix}{issue.id}/",
            "subject": issue.subject,
            "start": f"{issue.window_start.astimezone(zone):%d %b}",
            # The window's last day, as the mail names it (its end is the first moment after it).
            "end": f"{last_day(Window(start=issue.window_start, end=issue.window_end), zone):%d %b %Y}",
        }
        for issue in issues
    ]


# What a published page may do, carried in the page itself since a static host sets no headers of ours:
# no script, no plug-in, styles inline, images over https. (frame-ancestors cannot be set this way: the
# README says how to add it on the web server.)
STATIC_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; form-action 'self'; base-uri 'none'"
_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)


def with_policy(page: str) -> str:
    """``page`` with :data:`STATIC_CSP` as the first element of its head."""
    meta = f'<meta http-equiv="Content-Security-Policy" content="{STATIC_CSP}">'
    found = _HEAD.search(page)
    return page[: found.end()] + meta + page[found.end() :] if found else meta + page


def edition_title(name: str) -> str:
    return name.replace("-", " ").capitalize()


def index_context(
    newsletter: Publication,
    editions: Sequence[tuple[str, Sequence[IssueSummary | StoredIssue]]],
    prefix: str,
    posts: Sequence[ArchivedPost],
) -> dict[str, object]:
    """The archive index's values (``archive.html``): ``editions``, each name with its sent issues (newest first);
    links start with ``prefix``. One edition: the page as before editions (its issues, ``feed.atom``); several: a
    section per edition, each with its feed. ``posts``: every post carried, for the months (:func:`lists_months`)."""
    context: dict[str, object] = {}
    if len(editions) == 1:
        context.update(issues=listing(newsletter, editions[0][1], prefix), feed="feed.atom")
    else:
        context["editions"] = [
            {"title": edition_title(name), "feed": prefix + edition_feed(newsletter, name), "issues": listing(newsletter, issues, prefix)}
            for name, issues in editions
        ]
    if lists_months(newsletter):
        context["months"] = [{**line, "url": prefix + line["url"]} for line in month_listing(posts, newsletter.language)]
    return context


def month_pages(settings: Scope, posts: Sequence[ArchivedPost]) -> list[Page]:
    """A page for each month a carried post was published in (``YYYY-MM/index.html``)."""
    result = []
    for year, month in months(posts):
        body = month_html(settings.newsletter, posts, year, month)
        if body is not None:
            result.append(Page(f"{month_path(year, month)}/index.html", with_policy(body), "text/html; charset=utf-8"))
    return result


def month_html(newsletter: Publication, posts: Sequence[ArchivedPost], year: int, month: int) -> str | None:
    return month_page(posts, year, month, newsletter=newsletter.name, language=newsletter.language, themes=newsletter.theme_names)


def feeds(settings: Scope, editions: Sequence[EditionSent]) -> list[Page]:
    """The Atom feeds: each edition's issues, and each theme's posts across the first edition's issues."""
    atom = "application/atom+xml; charset=utf-8"
    result = [Page(edition.feed, issues_feed(settings, list(edition.sent), edition.name, edition.feed), atom) for edition in editions]
    first = list(editions[0].sent) if editions else []
    for theme, entries in _theme_entries(first).items():
        result.append(Page(f"themes/{slug(theme)}.atom", theme_feed(settings, theme, entries), atom))
    return result


def pages(settings: Scope, editions: Sequence[EditionSent]) -> list[Page]:
    """Every page and feed of the archive for each edition's sent issues."""
    every = [issue for edition in editions for issue, _ in edition.sent]
    posts = carried(((issue.window_end, issue.model) for issue in every), settings.newsletter.timezone)
    context = index_context(settings.newsletter, [(edition.name, [issue for issue, _ in edition.sent]) for edition in editions], "", posts)
    common = {"newsletter": settings.newsletter.name, "language": settings.newsletter.language}
    index = _PAGES.get_template("archive.html").render(**common, **context, subscribe=routes.SUBSCRIBE.link(settings.base_url))
    result = [Page("index.html", with_policy(index), "text/html; charset=utf-8")]
    for issue in every:
        copy = with_policy(web_copy(issue.html, settings.base_url))
        result.append(Page(f"{issue.id}/index.html", copy, "text/html; charset=utf-8"))
    return [*result, *month_pages(settings, posts), *feeds(settings, editions)]


def _tag(newsletter: Publication, *parts: str) -> str:
    return f"tag:{newsletter.list_id},2026:" + "/".join(parts)


def _feed(settings: Scope, feed_id: str, title: str, self_url: str, updated: datetime | None) -> ET.Element:
    feed = ET.Element("feed", xmlns=ATOM)
    ET.SubElement(feed, "id").text = feed_id
    ET.SubElement(feed, "title").text = title
    ET.SubElement(feed, "updated").text = (updated or datetime.fromtimestamp(0).astimezone()).isoformat()
    ET.SubElement(feed, "link", rel="self", href=self_url)
    ET.SubElement(feed, "link", rel="alternate", href=f"{archive_url(settings)}/")
    author = ET.SubElement(feed, "author")
    ET.SubElement(author, "name").text = settings.newsletter.sender.display_name or settings.newsletter.name
    return feed


def issues_feed(settings: Scope, issues: list[tuple[StoredIssue, datetime]], edition: str = "", path: str = "feed.atom") -> str:
    """An Atom feed of the issues, each with its whole HTML (the web copy) as content: the first edition's at
    ``feed.atom`` (its id and title those of the feed before editions), another ``edition``'s at its ``path``."""
    base = archive_url(settings)
    first = path == "feed.atom"
    feed = _feed(
        settings,
        _tag(settings.newsletter, "issues") if first else _tag(settings.newsletter, "edition", edition),
        settings.newsletter.name if first else f"{settings.newsletter.name}: {edition_title(edition)}",
        f"{base}/{path}",
        max((s for _, s in issues), default=None),
    )
    for issue, sent_at in issues:
        entry = ET.SubElement(feed, "entry")
        ET.SubElement(entry, "id").text = _tag(settings.newsletter, "issue", issue.id)
        ET.SubElement(entry, "title").text = issue.subject
        ET.SubElement(entry, "updated").text = sent_at.isoformat()
        ET.SubElement(entry, "published").text = sent_at.isoformat()
        ET.SubElement(entry, "link", rel="alternate", href=f"{base}/{issue.id}/")
        ET.SubElement(entry, "summary").text = issue.preheader
        ET.SubElement(entry, "content", type="html").text = web_copy(issue.html, settings.base_url)
    return _xml(feed)


def _theme_entries(issues: list[tuple[StoredIssue, datetime]]) -> dict[str, list[tuple[StoredIssue, datetime, dict[str, object]]]]:
    themes: dict[str, list[tuple[StoredIssue, datetime, dict[str, object]]]] = {}
    for issue, sent_at in issues:
        if not issue.model:
            continue
        for section in json.loads(issue.model)["sections"]:
            bucket = themes.setdefault(section["theme"], [])
            for group in section["outlets"]:
                for post in group["posts"]:
                    bucket.append((issue, sent_at, post))
    return themes


def theme_feed(settings: Scope, theme: str, entries: list[tuple[StoredIssue, datetime, dict[str, object]]]) -> str:
    """An Atom feed of one theme: each post the issues gave it, linking to the post and its issue."""
    base = archive_url(settings)
    feed = _feed(
        settings,
        _tag(settings.newsletter, "theme", slug(theme)),
        f"{settings.newsletter.name}: {theme}",
        f"{base}/themes/{slug(theme)}.atom",
        max((s for _, s, _ in entries), default=None),
    )
    for issue, sent_at, post in entries:
        entry = ET.SubElement(feed, "entry")
        ET.SubElement(entry, "id").text = _tag(settings.newsletter, "issue", issue.id, "post", str(post["id"]))
        ET.SubElement(entry, "title").text = str(post["title"])
        ET.SubElement(entry, "updated").text = sent_at.isoformat()
        ET.SubElement(entry, "link", rel="alternate", href=str(post["url"] or f"{base}/{issue.id}/"))
        ET.SubElement(entry, "link", rel="related", href=f"{base}/{issue.id}/")
        ET.SubElement(entry, "content", type="html").text = str(post["excerpt_html"])
    return _xml(feed)


def _xml(feed: ET.Element) -> str:
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") + "\n"


WRITING = "writing the archive"


def publish(settings: Scope, store: Store, folder: Path, on_step: OnStep | None = None) -> list[Path]:
    """Write the archive into ``folder`` (each file atomically); returns the files written. ``on_step``: the
    progress, file by file."""
    written: list[Path] = []
    every = list(pages(settings, sent_by_edition(settings, store)))
    for page in every:
        if on_step is not None:
            on_step(WRITING, len(written), len(every))
        target = folder / page.path
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(page.body)
        Path(tmp).replace(target)
        written.append(target)
    if on_step is not None:
        on_step(WRITING, len(written), len(every))
    return written


class Archive:
    """The archive as the public app serves it, read from the store at each request: the listing of the sent
    issues of each edition, each one's web copy, the month pages, the feeds."""

    def __init__(self, settings: Scope, store: Store) -> None:
        self.settings = settings
        self.store = store
        names = [edition.name for edition in settings.newsletter.editions] or [store.edition]
        self.editions = {name: store.of_edition(name) for name in names}

    def index(self, prefix: str) -> dict[str, object]:
        """The index page's values (:func:`index_context`), its links starting with ``prefix``."""
        editions = [(name, edition.issues.summaries(sent_only=True)) for name, edition in self.editions.items()]
        posts = self.posts() if lists_months(self.settings.newsletter) else []
        return index_context(self.settings.newsletter, editions, prefix, posts)

    def posts(self) -> list[ArchivedPost]:
        every = [issue for edition in self.editions.values() for issue in edition.issues.sent_models()]
        return carried(every, self.settings.newsletter.timezone)

    def web_copy(self, issue_id: str) -> str | None:
        """The "view in browser" copy of a sent issue of any edition; None for one not sent (or not stored)."""
        sent = {item.id for edition in self.editions.values() for item in edition.issues.summaries(sent_only=True)}
        if issue_id not in sent:
            return None
        stored = self.store.issues.load(issue_id)
        return web_copy(stored.html, self.settings.base_url) if stored is not None else None

    def month(self, year: int, month: int) -> str | None:
        """The month's page (``YYYY-MM/``); None when no post of a sent issue was published in it."""
        return month_html(self.settings.newsletter, self.posts(), year, month)

    def feed(self, path: str) -> Page | None:
        """``feed.atom``, ``editions/<name>.atom`` or ``themes/<theme>.atom``, as ``digest publish`` writes it."""
        editions = [
            EditionSent(name, edition_feed(self.settings.newsletter, name), tuple(edition.issues.sent()))
            for name, edition in self.editions.items()
        ]
        return next((item for item in feeds(self.settings, editions) if item.path == path), None)
