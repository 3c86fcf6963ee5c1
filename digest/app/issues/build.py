"""Building an issue: the posts the sources yield, the issue of a window gathered, grouped and rendered,
and the frozen form it would be stored in. Nothing here stores anything."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType

from digest.app.clicks import counted_links, post_clicks, reader_copy, reader_interest
from digest.app.health import record_fetches
from digest.app.issues.core import NewsletterCore
from digest.config import SourceSpec
from digest.issue.assembly import EditionParts, assemble_digest, gather_for, issue_file_of
from digest.issue.meaning import meaning_of
from digest.issue.meaning.classifier import Label, LabelSource
from digest.issue.selection import select_posts
from digest.models import Digest, OnStep, Post, Problem, ReaderInterest, RenderedIssue, StoredIssue, TrackedLink, Window, routes
from digest.models.serialize import digest_to_json
from digest.render import render_leaving_out
from digest.render.checks import GMAIL_CLIP_BYTES
from digest.sources import Gathered, gather_all
from digest.store import database_exists


@dataclass(frozen=True, slots=True, kw_only=True)
class Listed:
    """The posts of ``digest posts``, and every problem met gathering them."""

    posts: tuple[Post, ...]
    problems: tuple[Problem, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Built:
    """An issue built and rendered now, stored nowhere."""

    digest: Digest
    rendered: RenderedIssue
    issue: StoredIssue  # the frozen form it would be stored in


def post_print(post: Post) -> str:
    """A fingerprint of what a reader sees of a post, to tell a frozen copy gone stale."""
    parts = [post.title, post.url or "", post.outlet or "", post.author or "", post.excerpt_html, post.theme or ""]
    if post.image is not None:  # only when there is one: the prints of posts without stay as they were
        parts += [post.image.url, post.image.alt or ""]
    parts += [f"{item.outlet}\0{item.url}" for item in post.also]
    seen = "\0".join(parts)
    return hashlib.sha256(seen.encode("utf-8")).hexdigest()[:16]


def frozen_form(digest: Digest, rendered: RenderedIssue, now: datetime, links: tuple[TrackedLink, ...] = ()) -> StoredIssue:
    """The issue as it is stored: the rendered parts, what each post looked like, and its counted links."""
    return StoredIssue(
        id=digest.issue_id,
        window_start=digest.window.start,
        window_end=digest.window.end,
        subject=rendered.subject,
        preheader=rendered.preheader,
        html=rendered.html,
        text=rendered.text,
        post_ids=tuple(post.id for post in digest.posts),
        checks=rendered.checks,
        created_at=now,
        post_prints=MappingProxyType({post.id: post_print(post) for post in digest.posts}),
        model=json.dumps(digest_to_json(digest), ensure_ascii=False),
        layout=rendered.layout.to_json() if rendered.layout is not None else None,
        placements=digest.placements,
        links=links,
    )


class Building(NewsletterCore):
    """The use case that builds: gather, select, group and render, storing nothing."""

    def _taught(self) -> list[Label]:
        """The editor's labels, from the posts of frozen issues (confirmed, and corrected), for meaning to learn
        from; none without a database (a build alone creates none) or with meaning off."""
        if not self.settings.newsletter.meaning.enabled or (
            self._store is None and not database_exists(self.settings.install.database_url)
        ):
            return []
        return [
            Label(text, theme, LabelSource.CORRECTED if corrected else LabelSource.CONFIRMED)
            for text, theme, corrected in self.store.placements.labels(self.settings.newsletter.theme_keys)
        ]

    def _remembered(self, gathered: Gathered, window: Window | None, now: datetime | None) -> Gathered:
        """Each fetch recorded for the sources' health, and what the memory of their entries says of this gathering
        (:mod:`digest.app.health`); nothing without a database (a build alone creates none) or a moment to record."""
        if now is None or not gathered.fetches or (self._store is None and not database_exists(self.settings.install.database_url)):
            return gathered
        return record_fetches(self.store, gathered, window, now)

    def _interest(self) -> ReaderInterest | None:
        """What readers clicked lately, per theme: for the desk, and for ``[grouping] order = "readers"``; none without
        a database (a build alone creates none)."""
        if self._store is None and not database_exists(self.settings.install.database_url):
            return None
        return reader_interest(self.store)

    def posts(self, window: Window | None, sources: Sequence[SourceSpec] | None = None, now: datetime | None = None) -> Listed:
        """The posts the sources yield, oldest first: those the window selects, or (None) every one. Given ``now``,
        the fetches are recorded at that moment for the sources' health."""
        gathered = gather_all(tuple(sources or self.settings.newsletter.sources), self.settings, window.widened() if window else None)
        gathered = self._remembered(gathered, window, now)
        if window is None:
            chosen = tuple(sorted(gathered.posts, key=lambda p: (p.published, p.title)))
        else:
            chosen = select_posts(gathered.posts, window, self.settings.newsletter.selection, gathered.not_new).selected
        return Listed(posts=chosen, problems=gathered.problems)

    def _parts(self, window: Window) -> EditionParts:
        """The edition this issue is of; for a round-up, the archive page of its window's month and the clicks its
        posts had in the issues of that window (none without a database)."""
        if not self.edition.roundup:
            return EditionParts(edition=self.edition)
        return self._cut_to(window, self.edition.cap_per_theme)

    def _cut_to(self, window: Window, cap: int) -> EditionParts:
        """This issue made as a round-up of ``cap`` posts a theme (:func:`fitted`: an issue Gmail would clip)."""
        zone = self.settings.newsletter.timezone
        first = window.start.astimezone(zone)
        archive = routes.archive_at(self.settings.newsletter.archive_url, self.settings.base_url)
        has_store = self._store is not None or database_exists(self.settings.install.database_url)
        return EditionParts(
            edition=replace(self.edition, roundup=True, cap_per_theme=cap),
            archive_url=routes.month_archive(archive, first.year, first.month),
            clicks=post_clicks(self.store, window) if has_store else None,
        )

    def build(self, window: Window, now: datetime, sources: Sequence[SourceSpec] | None = None, on_step: OnStep | None = None) -> Built:
        """Gather, select, group and render the issue of ``window`` (of this edition); stores nothing. Raises RenderError."""
        gathered = self._remembered(gather_for(self.settings, window, sources), window, now)
        issue_file = issue_file_of(self.settings, window, self.edition)
        meaning = meaning_of(self.settings, self._taught(), on_step)
        interest = self._interest()
        parts = self._parts(window)
        known = self.issue_id_of(window)
        newsletter = self.settings.newsletter

        def made(parts: EditionParts) -> tuple[Digest, RenderedIssue]:
            digest = assemble_digest(
                gathered, window, newsletter, now, issue_file=issue_file, meaning=meaning, interest=interest, parts=parts, known_id=known
            )
            return render_leaving_out(
                digest,
                self.settings,
                lambda unrenderable: assemble_digest(
                    gathered, window, newsletter, now, unrenderable, issue_file, meaning, interest, parts, known
                ),
                reader_copy(self.settings),
            )

        digest, rendered = fitted(made, parts, lambda cap: self._cut_to(window, cap))
        return Built(
            digest=digest, rendered=rendered, issue=frozen_form(digest, rendered, now, counted_links(self.settings.newsletter, digest))
        )


# An issue is fitted to this share of Gmail's clipping point: the HTML of each reader's copy is its own view of it,
# never larger, and the copy's links and address add a little.
FIT = 0.85


def fitted(
    made: Callable[[EditionParts], tuple[Digest, RenderedIssue]], parts: EditionParts, cut_to: Callable[[int], EditionParts]
) -> tuple[Digest, RenderedIssue]:
    """The issue ``made`` builds for ``parts``; when Gmail would clip its HTML (the html-size error that refuses a
    send), made again with fewer posts a theme (``cut_to``: the parts of a round-up of that many) until it fits, said
    as an advisory problem. The posts left out are counted under each theme ("and N more in the archive") and listed
    on the month's archive page, so none is missed, and a busy week's issue or a round-up never goes out clipped, nor
    not at all."""
    digest, rendered = made(parts)
    first = size = len(rendered.html.encode("utf-8"))
    if size <= GMAIL_CLIP_BYTES:
        return digest, rendered
    roundup = parts.edition.roundup
    configured = cap = parts.edition.cap_per_theme if roundup else max((len(s.posts) for s in digest.sections), default=1)
    while cap > 1 and size > GMAIL_CLIP_BYTES:
        cap = min(cap - 1, max(1, int(cap * GMAIL_CLIP_BYTES * FIT / size)))
        digest, rendered = made(cut_to(cap))
        size = len(rendered.html.encode("utf-8"))
    if cap == configured:
        return digest, rendered
    if roundup:
        shown = f"the round-up shows {cap} post(s) a theme, not cap_per_theme's {configured}: with {configured}"
    else:
        shown = f"the issue shows at most {cap} post(s) a theme (its largest theme has {configured}): with them all"
    said = Problem(
        where=f"edition {parts.edition.name}",
        message=(f"{shown} its HTML was {first / 1024:.0f} KB, which Gmail clips at 102 KB (the rest are on the month's archive page)"),
        advisory=True,
    )
    return replace(digest, problems=(*digest.problems, said)), rendered
