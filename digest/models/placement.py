"""Where posts were placed and what readers clicked: the editor's word on each post, the classifier's reading,
the counted links and the interest they show per theme."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PlacementKind(StrEnum):
    """What the editor did with the theme digest chose for a post, as the issue was frozen."""

    KEPT = "kept"  # the automatic theme stood
    MOVED = "moved"  # the editor put the post in another theme
    INCLUDED = "included"  # the editor brought in a post the rules had left out
    EXCLUDED = "excluded"  # the editor left the post out


@dataclass(frozen=True, slots=True)
class Judgement:
    """Where the classifier puts one post (digest.issue.meaning.classifier): its probability of each section, in the
    themes' order then the fallback, and, when the editor's past placements changed the choice, how."""

    probabilities: tuple[float, ...]
    taught: str | None = None  # 'taught by 3 of your past placements here (nearest: "…"); without them: Energy'
    note: str | None = None  # how the post was read, when not by the newsletter's model: "read by <model>"


@dataclass(frozen=True, slots=True)
class Placed:
    """One post of a frozen issue: the theme digest chose and the one it went out in (None: left out). The
    editor's moves and inclusions are examples that later issues learn from; all of them are what
    ``digest themes report`` counts."""

    post_id: str
    text: str  # title and excerpt, as the model reads them
    automatic: str | None
    theme: str | None
    kind: PlacementKind
    theme_key: str | None = None  # the theme's key: a label follows its theme through a rename (the key kept)


class ClickTracking(StrEnum):
    """``[tracking] clicks``: whether the links to posts go through the counting redirect."""

    OFF = "off"  # the posts' own URLs, byte for byte
    AGGREGATE = "aggregate"  # base_url/r/<token>: counts per issue, post and theme, nothing about the reader


@dataclass(frozen=True, slots=True)
class TrackedLink:
    """One counted link of a frozen issue: the redirect's token names its issue and ``number``, and the
    destination is read from here, never from the request. ``theme`` and ``outlet`` are what the report counts by."""

    number: int  # 1-based, in the order the issue shows its links
    post_id: str
    url: str  # the post's own URL (an "Also in" link: the other outlet's)
    theme: str
    outlet: str | None


@dataclass(frozen=True, slots=True)
class LinkClicks:
    """What the redirect counted for one link: people, and what it did not count (and why)."""

    link: TrackedLink
    clicks: int  # people following the link (once per client in a while)
    scanned: int  # fetches by link scanners: a scanner's name, or all of one copy's links within seconds
    repeated: int  # the same client again within the repeat window


class SectionOrder(StrEnum):
    """``[grouping] order``: the sections in the config's order, or by what readers clicked in recent issues."""

    CONFIG = "config"
    READERS = "readers"  # by clicks per post over the recent issues with counted links; ties, and the fallback, as configured


@dataclass(frozen=True, slots=True)
class ThemeInterest:
    """One theme in the recent issues with counted links: how many clicks its posts got, on how many links."""

    theme: str
    clicks: int
    links: int
    share: float  # of all the clicks of those issues

    @property
    def per_post(self) -> float:
        return self.clicks / self.links if self.links else 0.0


@dataclass(frozen=True, slots=True)
class ReaderInterest:
    """What readers clicked in the latest ``issues`` issues with counted links, per theme (most clicked first)."""

    issues: int
    themes: tuple[ThemeInterest, ...]

    def of(self, theme: str) -> ThemeInterest | None:
        return next((item for item in self.themes if item.theme == theme), None)
