"""Posts from Markdown files with YAML front matter (``content/**/*.md``).

Front matter keys: ``title`` and ``date`` (required); ``url``, ``outlet``,
``author``, ``tags`` (list or comma-separated), ``theme``, ``summary``.
The excerpt is ``summary`` when given, else the body's first paragraph.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path
from typing import ClassVar

import yaml
from markdown_it import MarkdownIt

from digest.config import Scope, SmtpOptions, SourceSpec, is_url
from digest.config.kinds import MARKDOWN, SourceKind
from digest.models import Post, Problem, Window
from digest.models.errors import SourceError
from digest.sources.base import (
    Gathered,
    clean_text,
    image_of,
    make_excerpt,
    post_id,
    problem_of,
    registered,
    sanitise_html,
    source_label,
    visible_text,
)
from digest.sources.dates import parse_moment
from digest.sources.files import find, path_order, read_text
from digest.sources.index import (
    INDEX_VERSION,
    NO_STAMP,
    PostIndex,
    Row,
    Stamp,
    post_from_row,
    post_row,
    problem_from_row,
    problem_row,
    stamp_of,
)

log = logging.getLogger(__name__)

# Files per worker task, and the fewest files worth starting worker processes for: starting them costs
# about 0.4 s, which reading 4,000 files in two processes instead of one about wins back (bench/gather.py).
PARALLEL_CHUNK = 500
PARALLEL_MIN = 4_000

_FENCE = re.compile(r"\A---[ \t]*\r?\n(.*?)(?:\r?\n)---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
MAX_FRONT_MATTER = 64 * 1024  # characters; a post's front matter is a few lines
MAX_TAGS = 100
KNOWN_KEYS = frozenset({"title", "date", "url", "outlet", "author", "tags", "theme", "summary", "image", "image_alt"})

# libyaml's safe loader when PyYAML was built with it: front matter parsing was 60 % of gather time without it.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# What a stored post depends on besides the file and the settings: this code and the libraries it calls.
_PARSER = hashlib.sha256(
    "|".join(
        [str(INDEX_VERSION), *(version(name) for name in ("PyYAML", "markdown-it-py", "nh3"))]
        + [module.read_text(encoding="utf-8") for module in sorted(Path(__file__).parent.glob("*.py"))]
    ).encode("utf-8")
).hexdigest()[:16]

# Raw HTML is allowed through the parser and then sanitised, like HTML from any other source.
_markdown = MarkdownIt("commonmark", {"html": True})
# The same parser stopping at blocks: inline parsing of a whole post was a third of reading it.
_blocks = MarkdownIt("commonmark", {"html": True}).disable("inline")


# What may start a block other than a paragraph, or interrupt one (CommonMark): headings, quotes, lists,
# rules, setext underlines, fences, HTML, link reference definitions; and digits, for ordered lists.
_BLOCK_STARTS = frozenset("#>-+*=_`~<[|0123456789")


def _plain_lead(body: str) -> str | None:
    """The first paragraph's inline text when the body plainly opens with one, else None (parse the blocks).

    Plainly: its first lines up to a blank line start with no block marker,
    no tab and under four spaces of indent (so no code block), and hold no
    ``[`` (a reference link could be defined anywhere below) and no ``<``.
    Then CommonMark makes them one paragraph, with this text, and nothing
    else of the body can change how it renders.
    """
    lines: list[str] = []
    for line in body.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        stripped = line.lstrip(" ")
        if not stripped.strip(" \t"):
            if lines:
                break
            continue  # blank lines before the paragraph
        if stripped[0] in _BLOCK_STARTS or "\t" in line[: len(line) - len(stripped) + 1] or len(line) - len(stripped) >= 4:
            return None
        lines.append(line)
    text = "\n".join(lines).strip()
    if not text or "[" in text or "<" in text or "\0" in text:
        return None
    return text


def markdown_html(body: str) -> str:
    """A Markdown text as sanitised HTML (the editor's intro note, say)."""
    return sanitise_html(_markdown.render(body))


def lead_html(body: str) -> str:
    """The body's sanitised HTML, as far as the excerpt needs: its first paragraph, when that is certain.

    The excerpt is the first ``<p>`` of the sanitised body. When the body
    plainly opens with a paragraph, only that is parsed. Otherwise, when the blocks
    before it and the paragraph itself hold no raw HTML (no ``<`` at all),
    that paragraph is the first ``<p>`` of the whole render, so only it is
    parsed inline, rendered and sanitised. Otherwise (raw HTML, autolinks,
    no paragraph) the whole body is: the answer is the same either way.
    """
    plain = _plain_lead(body)
    if plain is not None:
        return sanitise_html(f"<p>{_markdown.renderInline(plain)}</p>")
    env: dict[str, object] = {}
    tokens = _blocks.parse(body, env)
    for position, token in enumerate(tokens):
        if token.type == "html_block" or (token.type == "inline" and "<" in token.content):
            break
        if token.type == "paragraph_open" and not token.hidden:
            inline = tokens[position + 1]
            if "<" in inline.content:
                break
            # parseInline runs the whole core chain on it (text_join too), with the references the blocks defined.
            [parsed] = _markdown.parseInline(inline.content, env)
            paragraph = [tokens[position], parsed, tokens[position + 2]]
            return sanitise_html(_markdown.renderer.render(paragraph, _markdown.options, env))
    return sanitise_html(_markdown.render(body))


@registered
class MarkdownSource:
    """Markdown posts, through the post index: a repeated run parses only the files that changed."""

    kind: ClassVar[SourceKind] = MARKDOWN

    def __init__(self, spec: SourceSpec, settings: Scope) -> None:
        self.spec = spec
        self.settings = settings
        self.labels = _Labels(spec, settings)

    def gather(self, near: Window | None = None) -> Gathered:
        """Every post (or, given ``near``, those published in it: the rest only counted) and every problem."""
        location = self.settings.install.resolve(self.spec.location)
        try:
            paths = find(location, self.kind.folder_ending)
        except SourceError as exc:
            return Gathered(problems=(problem_of(exc),))
        # The editor's issue files (content/issues/) are Markdown too, but not posts.
        editorial = os.path.join(self.settings.newsletter.editorial_dir, "")  # noqa: PTH118 (a string prefix for 100,000 paths)
        paths = [path for path in paths if not path.startswith(editorial)]
        index = PostIndex.open(self.settings.install.cache_dir, str(location), self._fingerprint())
        if index is not None:
            try:
                return self._gather_indexed(paths, index, near)
            except sqlite3.Error as exc:
                log.warning("the post index failed (%s): reading every file", exc)
            finally:
                index.close()
        rows = [row for chunk in self._read_chunks([(path, NO_STAMP) for path in paths]) for row in chunk]
        return _assemble(rows, near)

    def _gather_indexed(self, paths: list[str], index: PostIndex, near: Window | None) -> Gathered:
        # This loop runs once per file of the folder on every run: a stat and a lookup, no more.
        known = index.known()
        changed: list[tuple[str, Stamp]] = []
        gone: list[str] = []
        matched = stored = 0  # files the index knows; of those unchanged, how many hold a post
        problems: list[str] = []  # unchanged files that hold a problem
        for path in paths:
            stamp = stamp_of(path)
            if stamp is None:
                gone.append(path)
                continue
            entry = known.get(path)
            if entry is not None:
                matched += 1
            if entry is None or entry[:-1] != stamp:
                changed.append((path, stamp))
            elif entry[-1] == "P":
                stored += 1
            else:
                problems.append(path)
        removed = (known.keys() - set(paths) if matched < len(known) else set()) | set(gone)
        fresh: list[Row] = []
        for chunk in self._read_chunks(changed):  # stored as they come, while the workers read on
            index.add(known, chunk)
            fresh += chunk
        index.finish(known, removed)
        stale = {path for path, _ in changed} | removed  # rows read before the save that no longer speak for a file

        bounds = (near.start.timestamp(), near.end.timestamp()) if near is not None else None
        loaded = [(path, post) for path, post in index.posts(bounds) if path not in stale]
        result = _assemble(fresh, near, loaded, list(index.problems(problems)))
        return replace(result, distant=result.distant + stored - len(loaded))

    def _fingerprint(self) -> str:
        """Everything that shapes a post besides the file: a change empties this source's index."""
        install, newsletter = self.settings.install, self.settings.newsletter
        return f"{_PARSER}|{self.spec!r}|{install.root}|{newsletter.timezone}|{newsletter.excerpt_words}"

    def _read_chunks(self, files: list[tuple[str, Stamp]]) -> Iterator[list[Row]]:
        """Read the files, in order, in chunks; a large batch (a first run) in one process per core."""
        chunks = [files[n : n + PARALLEL_CHUNK] for n in range(0, len(files), PARALLEL_CHUNK)]
        done = 0
        workers = min(os.cpu_count() or 1, len(chunks)) if len(files) >= PARALLEL_MIN else 1
        if workers >= 2:
            # Secrets stay in this process: a reader needs none.
            install, newsletter = self.settings.install, self.settings.newsletter
            settings = Scope(replace(install, secret_key=None, smtp=SmtpOptions()), replace(newsletter, dkim=None))
            method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
            try:
                # Not fork: the preview and the scheduler call this from threads, and forking a threaded process is unsafe.
                pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method))
                try:
                    for rows in pool.map(_read_chunk, [(self.spec, settings, chunk) for chunk in chunks]):
                        done += 1
                        yield rows
                    return
                finally:  # also when the caller stops early: the chunks not started are not read for nothing
                    pool.shutdown(cancel_futures=True)
            except (BrokenProcessPool, OSError) as exc:  # no processes to be had here: read the rest in this one
                log.warning("could not read files in %d processes (%s): reading them in this one", workers, exc)
        for chunk in chunks[done:]:
            yield [self._row(path, stamp) for path, stamp in chunk]

    def _row(self, path: str, stamp: Stamp) -> Row:
        try:
            return post_row(path, stamp, self.read(Path(path)))
        except SourceError as exc:
            return problem_row(path, stamp, Problem(where=exc.where, message=exc.message))

    def read(self, path: Path) -> Post:
        """One post from one file; raises SourceError with file and line on bad input."""
        label, source = self.labels.of(path)
        text = read_text(path, label)
        match = _FENCE.match(text)
        if not match:
            raise SourceError(f"{label}:1", "no front matter (the file must start with a '---' line and a closing '---')")
        if len(match.group(1)) > MAX_FRONT_MATTER:
            raise SourceError(f"{label}:1", f"front matter is {len(match.group(1)):,} bytes, more than the {MAX_FRONT_MATTER:,} allowed")
        # Control and invisible characters go before YAML sees them: YAML refuses a raw one (the post
        # would be lost for a stray byte), and an escaped one ("\x01") would reach the email.
        front = visible_text(match.group(1), keep="\t\n\r")
        try:
            refuse_yaml_references(front, label)
            meta = yaml.load(front, Loader=_SafeLoader)  # noqa: S506 (a safe loader: libyaml's or PyYAML's)
        except yaml.YAMLError as exc:
            raise yaml_error(exc, label) from exc
        if not isinstance(meta, dict):
            raise SourceError(f"{label}:2", "front matter must be a mapping of keys to values")

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
        published = parse_moment(meta["date"], self.settings.newsletter.timezone)
        if published is None:
            raise SourceError(
                where("date"), f"unparsable date {str(meta['date'])!r} (use ISO 8601, e.g. 2026-11-20 or 2026-11-20T09:30+00:00)"
            )
        url = _string(meta, "url", where)
        if url is not None and not is_url(url):
            raise SourceError(where("url"), f"url must be absolute http(s), got {url!r}")
        tags = _tags(meta.get("tags"), where)
        image = None
        if (image_url := _string(meta, "image", where)) is not None:
            alt = _string(meta, "image_alt", where)  # "" on purpose marks a decorative picture; absent, the title stands in
            image = image_of(image_url, "" if alt is None and meta.get("image_alt") == "" else alt)
            if image is None:
                raise SourceError(where("image"), f"image must be an absolute https URL, got {image_url!r}")

        summary = _string(meta, "summary", where)
        source_html = sanitise_html(_markdown.render(summary)) if summary else lead_html(text[match.end() :])
        excerpt_html, excerpt_text = make_excerpt(source_html, self.settings.newsletter.excerpt_words)
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
            image=image,
        )


def _read_chunk(job: tuple[SourceSpec, Scope, list[tuple[str, Stamp]]]) -> list[Row]:
    """A worker process's share of :meth:`MarkdownSource._read_chunks`."""
    spec, settings, files = job
    source = MarkdownSource(spec, settings)
    return [source._row(path, stamp) for path, stamp in files]


def _assemble(
    rows: list[Row], near: Window | None, stored: Iterable[tuple[str, str]] = (), stored_problems: Iterable[tuple[str, str]] = ()
) -> Gathered:
    """Posts and problems in path order, from fresh rows and stored JSON; only the posts in ``near`` are decoded."""
    low, high = (near.start.timestamp(), near.end.timestamp()) if near is not None else (float("-inf"), float("inf"))
    posts = [(path, post) for path, _, published, post, _ in rows if post is not None and published is not None and low <= published < high]
    problems = [(path, problem) for path, _, _, _, problem in rows if problem is not None]
    distant = sum(1 for _, _, _, post, _ in rows if post is not None) - len(posts)
    posts += stored
    problems += stored_problems
    return Gathered(
        tuple(post_from_row(post) for _, post in sorted(posts, key=lambda pair: path_order(pair[0]))),
        tuple(problem_from_row(problem) for _, problem in sorted(problems, key=lambda pair: path_order(pair[0]))),
        distant,
    )


class _Labels:
    """A file's names for problems (resolved, root-relative) and for posts (as configured, root-relative).

    Each folder is resolved once: resolving every file was a sixth of the
    time spent reading a large content folder.
    """

    def __init__(self, spec: SourceSpec, settings: Scope) -> None:
        self.spec = spec
        self.settings = settings
        self.folders: dict[Path, tuple[str, str]] = {}

    def of(self, path: Path) -> tuple[str, str]:
        folder = self.folders.get(path.parent)
        if folder is None:
            try:
                shown = str(path.parent.resolve().relative_to(self.settings.install.root))
            except ValueError:
                shown = str(path.parent)
            folder = self.folders[path.parent] = (shown, source_label(self.spec, self.settings.install, str(path.parent)))
        shown, source = folder
        return _join(shown, path.name), _join(source, path.name)


def _join(folder: str, name: str) -> str:
    if folder == ".":
        return name
    if folder.endswith(":."):
        return folder[:-1] + name
    return f"{folder}/{name}"


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
    if not all(isinstance(item, str | int | float) for item in items):
        raise SourceError(where("tags"), "each tag must be text (a list of words, not of lists or mappings)")
    if len(items) > MAX_TAGS:
        raise SourceError(where("tags"), f"{len(items)} tags, more than the {MAX_TAGS} allowed")
    return tuple(dict.fromkeys(clean_text(str(item)) for item in items if clean_text(str(item))))


def yaml_error(exc: yaml.YAMLError, label: str) -> SourceError:
    """A YAML error in front matter as a SourceError with the file line where the broken construct began
    (the context mark: more use to an editor than where parsing gave up)."""
    mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
    line = mark.line + 2 if mark is not None else 1  # +1 for the opening fence, +1 for 1-based
    reason = getattr(exc, "problem", None) or str(exc)
    return SourceError(f"{label}:{line}", f"front matter is not valid YAML: {reason}")


def refuse_yaml_references(front: str, label: str, first_line: int = 2) -> None:
    """Refuse YAML anchors and aliases: 330 bytes of them can stand for gigabytes of tags (a "billion
    laughs"), and front matter never needs them. Only text that could hold one is scanned.
    ``first_line`` is the file line of the front matter's first line (after the opening fence)."""
    if "&" not in front and "*" not in front:
        return
    for token in yaml.scan(front, Loader=_SafeLoader):
        if isinstance(token, yaml.AnchorToken | yaml.AliasToken):
            raise SourceError(
                f"{label}:{token.start_mark.line + first_line}",
                "front matter uses YAML anchors and aliases (& and *), which are not allowed",
            )
