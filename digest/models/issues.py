"""An issue from its sections to its frozen form: the Digest the stages build, the RenderedIssue the render makes,
the Layout its theme views are cut from, and the StoredIssue every send of it uses (the store maps its row)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Literal

from digest.models.placement import Placed, ReaderInterest, TrackedLink
from digest.models.posts import Excluded, ExclusionKind, Post, Problem, Window


@dataclass(frozen=True, slots=True, kw_only=True)
class OutletGroup:
    """The posts of one outlet inside a section; ``outlet`` None is "no outlet"."""

    outlet: str | None
    posts: tuple[Post, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Section:
    """One theme of the issue: its outlets, and why each post landed here."""

    theme: str
    description: str
    outlets: tuple[OutletGroup, ...]
    reasons: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    automatic: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({})
    )  # post id → digest's theme, where the editor moved it
    # A round-up (digest.issue.roundup): the theme's posts beyond its cap, not shown here but listed on the archive
    # page of ``more_url`` ("and 14 more in the archive"); 0: every post of the theme is shown.
    more: int = 0
    more_url: str = ""
    # Those posts, strongest first: kept in the issue's digest.json so the month's archive page can list them (a
    # round-up carries them there, not in its mail).
    beyond: tuple[Post, ...] = ()

    @property
    def posts(self) -> tuple[Post, ...]:
        return tuple(post for group in self.outlets for post in group.posts)


@dataclass(frozen=True, slots=True, kw_only=True)
class OutletShare:
    """How much of the issue one outlet supplied."""

    outlet: str
    count: int
    share: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Stats:
    """Counts of one build, for the summary and for monitoring: gathered = selected + excluded + distant."""

    gathered: int
    selected: int
    excluded: int  # listed in Digest.excluded
    problems: int
    distant: int = 0  # outside Window.widened(): counted in gathered, not listed


@dataclass(frozen=True, slots=True, kw_only=True)
class Editorial:
    """What the editor's issue file did to this issue (see :mod:`digest.issue.editorial`)."""

    file: str  # the issue file, relative to the project root
    subject: str | None = None  # the Subject header, in place of the title
    preheader: str | None = None
    intro_html: str = ""  # sanitised, like post HTML
    intro_text: str = ""
    notes: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # post id → the editor's note
    changes: tuple[str, ...] = ()  # each change, for people: 'excluded "…"', 'pinned "…"'


@dataclass(frozen=True, slots=True, kw_only=True)
class Digest:
    """The Weekly Digest: everything the renderers need, nothing they must look up."""

    issue_id: str
    newsletter: str
    title: str
    preheader: str
    window: Window
    timezone: str
    sections: tuple[Section, ...]
    outlet_summary: tuple[OutletShare, ...]
    excluded: tuple[Excluded, ...]
    problems: tuple[Problem, ...]
    stats: Stats
    generated_at: datetime
    editorial: Editorial | None = None  # None: no issue file
    placements: tuple[Placed, ...] = ()  # each post's automatic and final theme, and the editor's exclusions
    interest: ReaderInterest | None = None  # what readers clicked in recent issues, per theme (None: nothing counted)
    order: str | None = None  # why the sections are in this order, when [grouping] order = "readers"
    edition: str = "weekly"  # the edition (digest.config.editions) this is an issue of

    @property
    def subject(self) -> str:
        """The Subject header: the editor's, else the title."""
        return (self.editorial.subject if self.editorial else None) or self.title

    @property
    def posts(self) -> tuple[Post, ...]:
        return tuple(post for section in self.sections for post in section.posts)

    def excluded_by_kind(self) -> dict[ExclusionKind, int]:
        """How many listed exclusions of each kind, in the enum's order (kinds with none left out)."""
        counts = dict.fromkeys(ExclusionKind, 0)
        for item in self.excluded:
            counts[item.kind] += 1
        return {kind: count for kind, count in counts.items() if count}

    @property
    def failed_sources(self) -> tuple[Problem, ...]:
        return tuple(problem for problem in self.problems if problem.source_failed)


Level = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """One finding about a rendered issue; an ``error`` blocks a send."""

    code: str
    level: Level
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderedIssue:
    """The issue as it will be sent, before any recipient's details are filled in."""

    issue_id: str
    subject: str
    preheader: str
    html: str
    text: str
    checks: tuple[Check, ...] = ()
    # The marked render that theme views are cut from (Layout, below); None when the templates mark no themes.
    layout: Layout | None = None

    @property
    def errors(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if check.level == "error")


# 2: the "share" hole carries its percent sign ("43%", French "43 %"); a version 1 layout (frozen by an
# earlier release) has the sign after the hole in its HTML, so its hole gives the number alone.
LAYOUT_VERSION = 2
KNOWN_LAYOUTS = (1, 2)


@dataclass(frozen=True, slots=True, kw_only=True)
class Layout:
    """The marked render of a frozen issue, and what a view needs to count its posts again. How a view is cut
    from it is the render's (:mod:`digest.render.views`); this is what the issue keeps, as JSON."""

    html: str
    text: str
    themes: tuple[str, ...]  # each section's theme, in order, by name (what the reader reads)
    keys: tuple[str, ...]  # each section's theme key (what readers' choices hold)
    post_outlets: tuple[tuple[str, ...], ...]  # each section's posts' outlets (NO_OUTLET for none)
    outlets: tuple[str, ...]  # the whole issue's outlets table, in order
    language: str
    automatic_preheader: bool  # the preheader was written by the program, so each view gets its own
    version: int = LAYOUT_VERSION
    # Each post's publication time (UTC, ISO 8601), by post number (the sections' posts in order, as the templates'
    # "p N" marks number them): a reader's copy can leave out what an earlier issue carried. Empty: no cut (a layout of
    # before, or templates that do not mark every post).
    post_published: tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": LAYOUT_VERSION,
                "html": self.html,
                "text": self.text,
                "themes": self.themes,
                "keys": self.keys,
                "post_outlets": self.post_outlets,
                "outlets": self.outlets,
                "language": self.language,
                "automatic_preheader": self.automatic_preheader,
                "post_published": self.post_published,
            },
            ensure_ascii=False,
        )

    @classmethod
    def load(cls, raw: str | None, key_of: Callable[[str], str]) -> Layout | None:
        """The stored layout; None for none, or one in a format this release does not know. A layout frozen before
        theme keys has its sections' keys looked up by name (``key_of``: the config's, Publication.key_of)."""
        if raw is None:
            return None
        data = json.loads(raw)
        if data.get("version") not in KNOWN_LAYOUTS:
            return None
        themes = tuple(data["themes"])
        return cls(
            html=data["html"],
            text=data["text"],
            themes=themes,
            keys=tuple(data["keys"]) if "keys" in data else tuple(key_of(theme) for theme in themes),
            post_outlets=tuple(tuple(item) for item in data["post_outlets"]),
            outlets=tuple(data["outlets"]),
            language=data["language"],
            automatic_preheader=bool(data["automatic_preheader"]),
            version=int(data["version"]),
            post_published=tuple(data.get("post_published", ())),
        )

    def sections_for(self, keys: Iterable[str] | None) -> frozenset[int]:
        """The section numbers a reader of the themes with ``keys`` gets (None: every theme)."""
        if keys is None:
            return frozenset(range(1, len(self.keys) + 1))
        wanted = set(keys)
        return frozenset(number for number, key in enumerate(self.keys, 1) if key in wanted)


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredIssue:
    """A frozen issue: exactly what was previewed, and what every send of it uses."""

    id: str
    window_start: datetime
    window_end: datetime
    subject: str
    preheader: str
    html: str
    text: str
    post_ids: tuple[str, ...]
    checks: tuple[Check, ...]  # as frozen: an error-level one refuses a send unless forced
    created_at: datetime
    # {post id: fingerprint}: what each post looked like when frozen (empty for issues frozen before v3).
    post_prints: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    model: str | None = None  # digest.json of the issue (None for issues frozen before v8)
    layout: str | None = None  # Layout as JSON: None before v9, or when the templates mark no themes
    placements: tuple[Placed, ...] = ()  # kept in their own table (v14): read by Placements, not loaded with the issue
    links: tuple[TrackedLink, ...] = ()  # the counted links (v15; [tracking] clicks): read by Links, not loaded with the issue


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueSummary:
    id: str
    subject: str
    window_start: datetime
    window_end: datetime
    created_at: datetime
