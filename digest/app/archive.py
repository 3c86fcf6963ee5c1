"""The published archive: every sent issue as a web page, and Atom feeds of them, by the same code for
``digest publish DIR`` (a static site for any host) and ``digest serve`` (from the store).

- ``index.html``: the issues, newest first.
- ``<issue-id>/index.html``: the "view in browser" copy, with no recipient's details in it.
- ``feed.atom``: one entry per issue, its whole HTML as the content.
- ``themes/<slug>.atom``: one entry per post of that theme, across issues (issues frozen before the
  model was stored with them, schema v8, have no themes to give).

Ids are tag URIs built from the list id and the issue id (and the post id), so re-publishing
never changes them; ``updated`` is when the issue's first copy went out.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree as ET

import jinja2

from digest.config import Publication, Scope
from digest.models import IssueSummary, OnStep, StoredIssue, placeholders, routes
from digest.store import Store

ATOM = "http://www.w3.org/2005/Atom"
_PAGES = jinja2.Environment(loader=jinja2.PackageLoader("digest", "web/templates"), autoescape=True, undefined=jinja2.StrictUndefined)
WEB_EMAIL = "your address"


@dataclass(frozen=True, slots=True)
class Page:
    path: str  # relative: "index.html", "2026-11-20-abcdef/index.html", "feed.atom", "themes/energy.atom"
    body: str
    media_type: str


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
            "end": f"{issue.window_end.astimezone(zone):%d %b %Y}",
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


def pages(settings: Scope, sent: Iterable[tuple[StoredIssue, datetime]]) -> list[Page]:
    """Every page and feed of the archive for the issues ``sent`` (newest first, with their first send time)."""
    issues = list(sent)
    listed = listing(settings.newsletter, (issue for issue, _ in issues), "")
    common = {"newsletter": settings.newsletter.name, "language": settings.newsletter.language}
    index = _PAGES.get_template("archive.html").render(
        **common, issues=listed, feed="feed.atom", subscribe=routes.SUBSCRIBE.link(settings.base_url)
    )
    result = [Page("index.html", with_policy(index), "text/html; charset=utf-8")]
    for issue, _ in issues:
        copy = with_policy(web_copy(issue.html, settings.base_url))
        result.append(Page(f"{issue.id}/index.html", copy, "text/html; charset=utf-8"))
    result.append(Page("feed.atom", issues_feed(settings, issues), "application/atom+xml; charset=utf-8"))
    for theme, entries in _theme_entries(issues).items():
        result.append(Page(f"themes/{slug(theme)}.atom", theme_feed(settings, theme, entries), "application/atom+xml; charset=utf-8"))
    return result


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


def issues_feed(settings: Scope, issues: list[tuple[StoredIssue, datetime]]) -> str:
    """An Atom feed of the issues, each with its whole HTML (the web copy) as content."""
    base = archive_url(settings)
    feed = _feed(
        settings,
        _tag(settings.newsletter, "issues"),
        settings.newsletter.name,
        f"{base}/feed.atom",
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
    every = list(pages(settings, store.issues.sent()))
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
    issues, each one's web copy, the feeds."""

    def __init__(self, settings: Scope, store: Store) -> None:
        self.settings = settings
        self.store = store

    def listing(self, prefix: str) -> list[dict[str, str]]:
        return listing(self.settings.newsletter, self.store.issues.summaries(sent_only=True), prefix)

    def web_copy(self, issue_id: str) -> str | None:
        """The "view in browser" copy of a sent issue; None for one not sent (or not stored)."""
        if issue_id not in {item.id for item in self.store.issues.summaries(sent_only=True)}:
            return None
        stored = self.store.issues.load(issue_id)
        return web_copy(stored.html, self.settings.base_url) if stored is not None else None

    def feed(self, path: str) -> Page | None:
        """``feed.atom`` or ``themes/<theme>.atom``, as ``digest publish`` writes it."""
        return next((item for item in pages(self.settings, self.store.issues.sent()) if item.path == path), None)
