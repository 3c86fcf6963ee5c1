"""Posts from Markdown files with YAML front matter (``content/**/*.md``).

Front matter keys: ``title`` and ``date`` (required); ``url``, ``outlet``,
``author``, ``tags`` (list or comma-separated), ``theme``, ``summary``.
The excerpt is ``summary`` when given, else the body's first paragraph.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import yaml
from markdown_it import MarkdownIt

from digest.config import Settings, SourceSpec, is_url
from digest.errors import SourceError
from digest.models import Post, Problem
from digest.sources.base import Gathered, clean_text, make_excerpt, post_id, sanitise_html, source_label
from digest.sources.dates import parse_moment
from digest.sources.files import expand, read_text

_FENCE = re.compile(r"\A---[ \t]*\r?\n(.*?)(?:\r?\n)---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
KNOWN_KEYS = frozenset({"title", "date", "url", "outlet", "author", "tags", "theme", "summary"})

# libyaml's safe loader when PyYAML was built with it: front matter parsing was 60 % of gather time without it.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Raw HTML is allowed through the parser and then sanitised, like HTML from any other source.
_markdown = MarkdownIt("commonmark", {"html": True})


class MarkdownSource:
    def __init__(self, spec: SourceSpec, settings: Settings) -> None:
        self.spec = spec
        self.settings = settings

    def gather(self) -> Gathered:
        try:
            paths = expand(self.settings.resolve(self.spec.location), "**/*.md")
        except SourceError as exc:
            return Gathered(problems=(Problem(where=exc.where, message=exc.message),))
        posts: list[Post] = []
        problems: list[Problem] = []
        for path in paths:
            try:
                posts.append(self.read(path))
            except SourceError as exc:
                problems.append(Problem(where=exc.where, message=exc.message))
        return Gathered(tuple(posts), tuple(problems))

    def read(self, path: Path) -> Post:
        """One post from one file; raises SourceError with file and line on bad input."""
        label = _display(path, self.settings)
        text = read_text(path, label)
        match = _FENCE.match(text)
        if not match:
            raise SourceError(f"{label}:1", "no front matter (the file must start with a '---' line and a closing '---')")
        try:
            meta = yaml.load(match.group(1), Loader=_SafeLoader)  # noqa: S506 (a safe loader: libyaml's or PyYAML's)
        except yaml.YAMLError as exc:
            # The context mark is where the broken construct began: more use to an editor than where parsing gave up.
            mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
            line = mark.line + 2 if mark is not None else 1  # +1 for the opening fence, +1 for 1-based
            reason = getattr(exc, "problem", None) or str(exc)
            raise SourceError(f"{label}:{line}", f"front matter is not valid YAML: {reason}") from exc
        if not isinstance(meta, dict):
            raise SourceError(f"{label}:2", "front matter must be a mapping of keys to values")
        front = match.group(1)

        def where(key: str) -> str:
            return f"{label}:{_line_of(front, key)}"

        for key in meta:
            if key not in KNOWN_KEYS:
                raise SourceError(where(str(key)), f"unknown front matter key {key!r} (known: {', '.join(sorted(KNOWN_KEYS))})")
        title = _string(meta, "title", where)
        if title is None:
            raise SourceError(where("title") if "title" in meta else f"{label}:2", "front matter has no 'title'")
        if "date" not in meta:
            raise SourceError(f"{label}:2", "front matter has no 'date'")
        published = parse_moment(meta["date"], self.settings.timezone)
        if published is None:
            raise SourceError(
                where("date"), f"unparsable date {str(meta['date'])!r} (use ISO 8601, e.g. 2026-11-20 or 2026-11-20T09:30+00:00)"
            )
        url = _string(meta, "url", where)
        if url is not None and not is_url(url):
            raise SourceError(where("url"), f"url must be absolute http(s), got {url!r}")
        tags = _tags(meta.get("tags"), where)

        body_html = sanitise_html(_markdown.render(text[match.end() :]))
        summary = _string(meta, "summary", where)
        source_html = sanitise_html(_markdown.render(summary)) if summary else body_html
        excerpt_html, excerpt_text = make_excerpt(source_html, self.settings.excerpt_words)
        source = source_label(self.spec, self.settings, str(path))
        return Post(
            id=post_id(url=url, source=source, title=title, published=published),
            title=title,
            url=url,
            published=published,
            outlet=_string(meta, "outlet", where) or self.spec.outlet,
            author=_string(meta, "author", where),
            excerpt_html=excerpt_html,
            excerpt_text=excerpt_text,
            tags=tags,
            theme=_string(meta, "theme", where),
            source=source,
            original_date=None,
        )


def _display(path: Path, settings: Settings) -> str:
    try:
        return str(path.resolve().relative_to(settings.root))
    except ValueError:
        return str(path)


def _line_of(front: str, key: str) -> int:
    for number, line in enumerate(front.splitlines(), start=2):
        if line.startswith(f"{key}:"):
            return number
    return 1


def _string(meta: dict[object, object], key: str, where: Callable[[str], str]) -> str | None:
    value = meta.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str | int | float):
        raise SourceError(where(key), f"{key!r} must be text, got {type(value).__name__}")
    return clean_text(str(value)) or None


def _tags(value: object, where: Callable[[str], str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        items: list[object] = list(value.split(","))
    elif isinstance(value, list):
        items = value
    else:
        raise SourceError(where("tags"), "tags must be a list or comma-separated text")
    return tuple(dict.fromkeys(clean_text(str(item)) for item in items if clean_text(str(item))))
