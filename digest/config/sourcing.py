"""Where posts come from: [[sources]] in the file and ``[kind:]location`` on a command line, and [feeds] (how
a feed is fetched)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from digest.config.kinds import KIND_NAMES, detect_kind, kind_problem
from digest.config.schema import DEFAULT_USER_AGENT, FeedFetch, SourceSpec
from digest.config.table import TableReader
from digest.config.validators import nonempty, positive
from digest.models.errors import ConfigError

# What a kind looks like before ``:`` (a word of two letters or more): not a drive letter, not a URL (``scheme://``).
_KIND_LIKE = re.compile(r"[A-Za-z][A-Za-z0-9_-]+")


def parse_source_spec(spec: str, outlet: str | None = None) -> SourceSpec:
    """``[kind:]location``: ``feed:https://…``, ``archive:pages/``, ``content/``; with no kind (or a URL's scheme,
    as ``https:`` is), the kind is guessed from the location. A word before the colon that names no kind
    (``rss:news.xml``) is refused naming the known ones, not read as a file of that name: ``./rss:news.xml`` is one."""
    kind, sep, rest = spec.partition(":")
    if sep and kind in KIND_NAMES:
        if not rest:
            raise ConfigError([f"source {spec!r}: nothing after {kind}:"])
        return SourceSpec(kind=kind, location=rest, outlet=outlet)
    if sep and _KIND_LIKE.fullmatch(kind) and not rest.startswith("//"):
        if rest[:1].isdigit():  # host:port, a URL without its scheme
            raise ConfigError([f"source {spec!r}: a URL needs its scheme: https://{spec} (or http://{spec})"])
        raise ConfigError([f"source {spec!r}: {kind} is no kind of source (one of {', '.join(KIND_NAMES)}); a path with a colon: ./{spec}"])
    if not spec.strip():
        raise ConfigError(["source: empty location"])
    return SourceSpec(kind=detect_kind(spec), location=spec, outlet=outlet)


def read_sources(top: TableReader) -> tuple[SourceSpec, ...]:
    top.seen.add("sources")
    raw = top.table.get("sources", [])
    if not isinstance(raw, list):
        top.fail("sources", "must be an array of tables ([[sources]])")
        return ()
    specs: list[SourceSpec] = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            top.fail(f"sources[{index}]", "must be a table with a location")
            continue
        reader = top.entry(entry, f"sources[{index}].")
        location = reader.get("location", str, "", nonempty)
        kind = reader.get("kind", str, "", kind_problem)
        outlet = reader.get("outlet", str, "") or None
        reader.finish()
        if "location" not in entry:
            reader.fail("location", "missing")
        if location:
            specs.append(SourceSpec(kind=kind or detect_kind(location), location=location, outlet=outlet))
    return tuple(specs)


def read_feeds(top: TableReader, root: Path) -> dict[str, Any]:
    feeds = top.sub("feeds")
    feed = FeedFetch(
        timeout=feeds.get("timeout", float, 10.0, positive),
        max_bytes=feeds.get("max_bytes", int, 5_000_000, positive),
        user_agent=feeds.get("user_agent", str, DEFAULT_USER_AGENT, nonempty),
        allow_private=feeds.get("allow_private", bool, False),
    )
    cache_dir = feeds.get("cache_dir", str, ".digest-cache", nonempty)
    feeds.finish()
    return {"feed": feed, "cache_dir": root / cache_dir}
