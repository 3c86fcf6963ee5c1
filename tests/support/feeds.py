"""A feed read by the feed source, as the build reads it."""

from __future__ import annotations

from digest.config import Scope, SourceSpec
from digest.sources.feed import FeedSource


def gather(settings: Scope, location: str) -> tuple[list, list]:  # type: ignore[type-arg]
    result = FeedSource(SourceSpec(kind="feed", location=location), settings).gather()
    return list(result.posts), list(result.problems)
