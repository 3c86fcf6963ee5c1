"""Posts from author-page text archives.

The format, as such pages are saved::

    Author: <site or author name>
    <name>, <bio>, Email: …, Twitter: …      (the header: free lines)

    <title line>
    Posted on: 2019/10/20                    (sometimes just "Posted on:")
    [Author, ]Outlet, October 20 2019:… excerpt … <link text repeating the title>

Each post is anchored on its ``Posted on:`` line: the title is the last
non-blank line before it, the body everything up to the next post's title.
The body's first paragraph usually opens with a dateline, from which come the
outlet, the author (absent when only an outlet is named) and the item's own
date. Non-breaking spaces, ``…``, dashes and typos are normal in this data.
"""

from __future__ import annotations

import html
import re
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import ClassVar

from digest.config import Scope, SourceSpec
from digest.config.kinds import ARCHIVE, SourceKind
from digest.models import Fetch, Post, Problem, SeenEntry, Window
from digest.models.errors import SourceError, SourceUnavailableError
from digest.sources.base import Gathered, clean_text, make_excerpt, post_id, problem_of, registered, sanitise_html, source_label
from digest.sources.dates import at_midnight, parse_day
from digest.sources.files import decode_text, expand, read_text
from digest.sources.http import TEXT_TYPES, fetch

_POSTED = re.compile(r"^\s*posted\s+on\s*:\s*(.*)$", re.IGNORECASE)
_AUTHOR = re.compile(r"^\s*author\s*:\s*(.*)$", re.IGNORECASE)
_DATE_WORDS = r"(?:[A-Za-z]{3,}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}|\d{1,2}(?:st|nd|rd|th)?\s+[A-Za-z]{3,}\.?,?\s+\d{4})"
_DATELINE = re.compile(
    rf"^(?P<prefix>[^:]{{1,200}}?),\s*(?P<date>{_DATE_WORDS})\s*(?::\s*(?:…|\.\.\.)?|…|\.\.\.)\s*(?P<rest>.*)$",
    re.DOTALL,
)
# One character for one character, so positions in the folded text match the original.
_FOLD = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"})


@dataclass(frozen=True, slots=True)
class Dateline:
    outlet: str
    author: str | None
    day: date
    rest: str


def parse_dateline(paragraph: str) -> Dateline | None:
    """``[Author, ]Outlet, Month DD YYYY:… rest``; None when the paragraph has no dateline."""
    match = _DATELINE.match(paragraph)
    if not match:
        return None
    day = parse_day(match["date"])
    if day is None:
        return None
    parts = [clean_text(p) for p in match["prefix"].split(",") if clean_text(p)]
    if not parts:
        return None
    author, outlet = (None, parts[0]) if len(parts) == 1 else (parts[0], ", ".join(parts[1:]))
    return Dateline(outlet=outlet, author=author, day=day, rest=match["rest"])


def strip_link_text(excerpt: str, title: str) -> str:
    """Drop the trailing link text where it repeats the title (and a stray " ." before it)."""
    folded, wanted = excerpt.translate(_FOLD).casefold(), title.translate(_FOLD).casefold()
    if wanted and folded.endswith(wanted) and len(folded) > len(wanted):
        excerpt = excerpt[: len(excerpt) - len(wanted)].rstrip()
        excerpt = re.sub(r"\s+\.$", "", excerpt)
    return excerpt


@registered
class ArchiveSource:
    kind: ClassVar[SourceKind] = ARCHIVE

    def __init__(self, spec: SourceSpec, settings: Scope) -> None:
        self.spec = spec
        self.settings = settings

    def gather(self, near: Window | None = None) -> Gathered:
        # Every entry is parsed either way: ``near`` is applied by gather_all.
        if self.spec.is_url:
            return self._gather_url()
        try:
            paths = expand(self.settings.install.resolve(self.spec.location), self.kind.folder_ending)
        except SourceError as exc:
            return Gathered(problems=(problem_of(exc),))
        posts: list[Post] = []
        problems: list[Problem] = []
        for path in paths:
            found, skipped = self.read(path)
            posts.extend(found)
            problems.extend(skipped)
        return Gathered(tuple(posts), tuple(problems))

    def _gather_url(self) -> Gathered:
        """An archive page fetched like a feed: timeout, size cap, conditional GET; the fetch reported for its health."""
        url = self.spec.location
        started = time.monotonic()
        try:
            fetched = fetch(url, self.settings.install.feed, self.settings.install.cache_dir, accept=TEXT_TYPES)
            text = decode_text(fetched.body, url)
        except SourceError as exc:
            status = exc.status if isinstance(exc, SourceUnavailableError) else None
            failed = Fetch(source=url, kind=self.kind.name, error=exc.message, status=status, seconds=time.monotonic() - started)
            return Gathered(problems=(problem_of(exc),), fetches=(failed,))
        posts, problems = self.parse(text, source_label(self.spec, self.settings.install), url)
        seen = tuple(SeenEntry(guid=None, url=p.url, title=p.title, published=p.published, post_id=p.id) for p in posts)
        record = Fetch(
            source=url,
            kind=self.kind.name,
            error=None,
            status=fetched.status,
            size=len(fetched.body),
            seconds=time.monotonic() - started,
            entries=seen,
        )
        return Gathered(tuple(posts), tuple(problems), fetches=(record,))

    def read(self, path: Path) -> tuple[list[Post], list[Problem]]:
        """The posts of one archive file, and a problem for each entry that could not be read."""
        label = source_label(self.spec, self.settings.install, str(path))
        where = label.split(":", 1)[1]
        try:
            text = read_text(path, where)
        except SourceError as exc:
            return [], [problem_of(exc)]
        return self.parse(text, label, where)

    def parse(self, text: str, label: str, where: str) -> tuple[list[Post], list[Problem]]:
        """The posts of one archive's text; ``label`` names the posts' source, ``where`` the problems'."""
        lines = text.splitlines()
        anchors = [i for i, line in enumerate(lines) if _POSTED.match(line)]
        if not anchors:
            return [], [Problem(where=where, message="no 'Posted on:' lines: not an author-page archive")]
        titles = [_previous_nonblank(lines, i) for i in anchors]
        site = _site_name(lines[: titles[0] if titles[0] is not None else anchors[0]])

        posts: list[Post] = []
        problems: list[Problem] = []
        for k, anchor in enumerate(anchors):
            title_at = titles[k]
            end = len(lines)
            if k + 1 < len(anchors):
                following = titles[k + 1]
                end = following if following is not None else anchors[k + 1]
            try:
                posts.append(self._post(lines, anchor, title_at, end, site, label, where))
            except SourceError as exc:
                problems.append(Problem(where=exc.where, message=exc.message))
        return posts, problems

    def _post(self, lines: list[str], anchor: int, title_at: int | None, end: int, site: str | None, label: str, where: str) -> Post:
        if title_at is None:
            raise SourceError(f"{where}:{anchor + 1}", "'Posted on:' with no title line before it; skipped")
        title = clean_text(lines[title_at])
        posted_raw = clean_text(_POSTED.match(lines[anchor])[1])  # type: ignore[index]
        paragraphs = _paragraphs(lines[anchor + 1 : end])
        dateline = parse_dateline(paragraphs[0]) if paragraphs else None
        if dateline is not None:
            paragraphs[0] = dateline.rest

        posted = parse_day(posted_raw) if posted_raw else None
        if posted_raw and posted is None and dateline is None:
            raise SourceError(f"{where}:{anchor + 1}", f'"{title}": unparsable date "{posted_raw}" and no dateline; skipped')
        day = posted or (dateline.day if dateline else None)
        if day is None:
            raise SourceError(f"{where}:{anchor + 1}", f'"{title}": no date (empty "Posted on:" and no dateline); skipped')

        text_paragraphs = [clean_text(p) for p in paragraphs if clean_text(p)]
        if text_paragraphs:
            text_paragraphs[-1] = strip_link_text(text_paragraphs[-1], title)
        body_html = sanitise_html("".join(f"<p>{html.escape(p, quote=False)}</p>" for p in text_paragraphs if p))
        excerpt_html, excerpt_text = make_excerpt(body_html, self.settings.newsletter.excerpt_words)
        published = at_midnight(day, self.settings.newsletter.timezone)
        return Post(
            id=post_id(url=None, source=label, title=title, published=published),
            title=title,
            url=None,
            published=published,
            outlet=dateline.outlet if dateline else (self.spec.outlet or site),
            author=dateline.author if dateline else None,
            excerpt_html=excerpt_html,
            excerpt_text=excerpt_text,
            tags=(),
            theme=None,
            source=label,
            original_date=dateline.day if dateline else None,
        )


def _previous_nonblank(lines: list[str], index: int) -> int | None:
    for i in range(index - 1, -1, -1):
        if _POSTED.match(lines[i]):
            return None
        if clean_text(lines[i]):
            return i
    return None


def _site_name(header: list[str]) -> str | None:
    for line in header:
        if match := _AUTHOR.match(line):
            return clean_text(match[1]) or None
    return None


def _paragraphs(lines: list[str]) -> list[str]:
    paragraphs: list[str] = []
    current: list[str] = []
    for line in lines:
        if clean_text(line):
            current.append(line)
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs
