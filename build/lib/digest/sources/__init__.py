"""Where posts come from: Markdown files, RSS/Atom feeds and author-page archives."""

from digest.sources.base import Gathered, Source, gather_all, open_source

__all__ = ["Gathered", "Source", "gather_all", "open_source"]
