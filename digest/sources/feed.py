"""Posts from RSS 0.9x/1.0/2.0 and Atom feeds, local files or URLs, parsed by feedparser.

feedparser is only ever given bytes: URLs are fetched by :mod:`digest.sources.http`.
An entry with no date is reported and skipped, never dated "now".
"""

from __future__ import annotations

import calendar
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import feedparser

from digest.config import Scope, SourceSpec, is_url
from digest.config.kinds import FEED, SourceKind
from digest.models import Fetch, Image, Post, Problem, SeenEntry, Window
from digest.models.errors import SourceError, SourceUnavailableError
from digest.sources.base import (
    Gathered,
    clean_text,
    first_image,
    html_to_text,
    image_of,
    make_excerpt,
    post_id,
    problem_of,
    registered,
    sanitise_html,
    source_label,
)
from digest.sources.files import expand
from digest.sources.http import fetch


@registered
class FeedSource:
    kind: ClassVar[SourceKind] = FEED

    def __init__(self, spec: SourceSpec, settings: Scope) -> None:
        self.spec = spec
        self.settings = settings

    def gather(self, near: Window | None = None) -> Gathered:
        # Every entry is parsed either way: ``near`` is applied by gather_all.
        documents: list[tuple[str, str, bytes]] = []  # (label for problems, label for posts, bytes)
        problems: list[Problem] = []
        started = time.monotonic()
        status: int | None = None
        failure: str | None = None
        try:
            if self.spec.is_url:
                fetched = fetch(self.spec.location, self.settings.install.feed, self.settings.install.cache_dir)
                status = fetched.status
                documents.append((self.spec.location, source_label(self.spec, self.settings.install), fetched.body))
            else:
                for path in expand(self.settings.install.resolve(self.spec.location), self.kind.folder_ending):
                    label = source_label(self.spec, self.settings.install, str(path))
                    try:
                        documents.append((label.split(":", 1)[1], label, _read(path, label)))
                    except SourceError as exc:  # one unreadable file does not stop the others
                        problems.append(Problem(where=exc.where, message=exc.message))
        except SourceError as exc:
            problems.append(problem_of(exc))
            failure = exc.message
            status = exc.status if isinstance(exc, SourceUnavailableError) else status
        posts: list[Post] = []
        seen: list[SeenEntry] = []
        for where, label, body in documents:
            try:
                found, skipped = self.parse(body, where, label, seen)
            except SourceError as exc:
                problems.append(Problem(where=exc.where, message=exc.message))
                failure = failure or exc.message  # a URL that answers with no feed is a failed fetch all the same
                continue
            posts.extend(found)
            problems.extend(skipped)
            if skipped and not found:  # entries, none usable (no dates, say): nothing comes of it, as of a failure
                failure = failure or f"none of its {len(skipped)} entries could be read ({skipped[0].message})"
        if not self.spec.is_url:  # files on disk are read, not fetched: no fetch history (as Markdown folders)
            return Gathered(tuple(posts), tuple(problems))
        record = Fetch(
            source=self.spec.location,
            kind=self.kind.name,
            error=failure,
            status=status,
            size=sum(len(body) for _, _, body in documents),
            seconds=time.monotonic() - started,
            entries=tuple(seen),
        )
        return Gathered(tuple(posts), tuple(problems), fetches=(record,))

    def parse(self, body: bytes, where: str, label: str, seen: list[SeenEntry] | None = None) -> tuple[list[Post], list[Problem]]:
        """Posts and per-entry problems of one feed document; SourceError if it is no feed at all. Each entry read is
        added to ``seen`` (when given) with its GUID: what the app layer remembers to tell a reissued entry."""
        parsed: Any = feedparser.parse(body, sanitize_html=True, resolve_relative_uris=False)
        if not parsed.get("version"):
            reason = parsed.get("bozo_exception")
            raise SourceError(where, f"not an RSS or Atom feed ({reason})" if reason else "not an RSS or Atom feed")
        outlet = self.spec.outlet or clean_text(parsed.feed.get("title", "")) or None
        posts: list[Post] = []
        problems: list[Problem] = []
        for number, entry in enumerate(parsed.entries, start=1):
            title = html_to_text(entry.get("title", "")) or None
            name = f'entry {number} "{title}"' if title else f"entry {number}"
            if title is None:
                problems.append(Problem(where=where, message=f"{name}: no title; skipped"))
                continue
            stamp = entry.get("published_parsed") or entry.get("updated_parsed") or entry.get("created_parsed")
            if stamp is None:
                problems.append(Problem(where=where, message=f"{name}: no date (published or updated); skipped"))
                continue
            published = datetime.fromtimestamp(calendar.timegm(stamp), tz=UTC)
            link = entry.get("link")
            url = link if isinstance(link, str) and is_url(link) else None
            summary = _summary(entry)
            excerpt_html, excerpt_text = make_excerpt(sanitise_html(summary), self.settings.newsletter.excerpt_words)
            image = _image(entry, summary)
            tags = tuple(dict.fromkeys(clean_text(t.get("term") or "") for t in entry.get("tags", []) if clean_text(t.get("term") or "")))
            identity = post_id(url=url, source=label, title=title, published=published)
            if seen is not None:
                guid = entry.get("id")
                seen.append(SeenEntry(guid=str(guid) if guid else None, url=url, title=title, published=published, post_id=identity))
            posts.append(
                Post(
                    id=identity,
                    title=title,
                    url=url,
                    published=published,
                    outlet=outlet,
                    author=clean_text(entry.get("author", "")) or None,
                    excerpt_html=excerpt_html,
                    excerpt_text=excerpt_text,
                    tags=tags,
                    theme=None,
                    source=label,
                    original_date=None,
                    image=image,
                )
            )
        return posts, problems


def _read(path: Path, label: str) -> bytes:
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise SourceError(label.split(":", 1)[1], f"cannot read: {exc.strerror or exc}") from exc
    if not body.strip():
        raise SourceError(label.split(":", 1)[1], "empty file")
    return body


def _image(entry: Any, summary: str) -> Image | None:
    """The entry's picture: media:thumbnail, an image media:content, an image enclosure, else the first <img>."""
    for item in entry.get("media_thumbnail") or ():
        if image := image_of(item.get("url"), None, item.get("width"), item.get("height")):
            return image
    for item in entry.get("media_content") or ():
        is_image = item.get("medium") == "image" or str(item.get("type", "")).startswith("image/")
        if is_image and (image := image_of(item.get("url"), None, item.get("width"), item.get("height"))):
            return image
    for item in entry.get("enclosures") or ():
        if str(item.get("type", "")).startswith("image/") and (image := image_of(item.get("href") or item.get("url"))):
            return image
    for content in [*(c.get("value", "") for c in entry.get("content") or ()), summary]:
        if image := first_image(str(content)):
            return image
    return None


def _summary(entry: Any) -> str:
    summary = entry.get("summary")
    if summary:
        return str(summary)
    for content in entry.get("content", []):
        if content.get("value"):
            return str(content["value"])
    return ""
