"""Where posts come from: Markdown files, RSS/Atom feeds and author-page archives.

::

    base.py      what every source shares: the Source protocol, post ids, sanitising, excerpts, pictures
    markdown.py  content/**/*.md with YAML front matter, read in parallel, through the post index
    index.py     the post index: what each file yielded, so a repeated run reads only what changed
    feed.py      RSS 0.9x/1.0/2.0 and Atom, files or URLs (http.py: the fetch, with its deadline and caps)
    archive.py   author-page text archives
    files.py     paths and globs
    dates.py     the many ways sources write dates, read into aware datetimes

The kinds are one table, :mod:`digest.config.kinds` (each kind's name and the file endings it reads); the class
that reads a kind is in the module of its name and registers itself for it (``@registered``, in base.py), and
``open_source`` below opens a source by its kind, importing only that kind's module.
"""

from __future__ import annotations

import importlib

from digest.config import Scope, SourceSpec, source_kind
from digest.models import Fetch, Post, Problem, Window
from digest.sources.base import READERS, Gathered, Source

__all__ = ["Gathered", "Source", "gather_all", "open_source"]


def open_source(spec: SourceSpec, settings: Scope) -> Source:
    """The Source object for a spec, by the class registered for its kind; only that kind's module is imported
    (Markdown brings YAML, markdown-it and a process pool). An unknown kind is a ConfigError naming the known ones."""
    kind = source_kind(spec.kind)
    importlib.import_module(f"{__name__}.{kind.name}")  # the module named after the kind registers its class
    return READERS[kind.name](spec, settings)


def gather_all(specs: tuple[SourceSpec, ...], settings: Scope, near: Window | None = None) -> Gathered:
    """Every post of every source (published in ``near``, when given), in source order, and every problem met."""
    posts: list[Post] = []
    problems: list[Problem] = []
    fetches: list[Fetch] = []
    distant = 0
    for spec in specs:
        result = open_source(spec, settings).gather(near)
        kept = result.posts if near is None else [post for post in result.posts if post.published in near]
        posts.extend(kept)
        problems.extend(result.problems)
        fetches.extend(result.fetches)
        distant += result.distant + len(result.posts) - len(kept)
    return Gathered(tuple(posts), tuple(problems), distant, tuple(fetches))
