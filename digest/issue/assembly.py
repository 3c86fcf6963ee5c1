"""The Weekly Digest of one window: ``build_issue`` gathers, selects, groups and freezes it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypedDict

from digest.config import Edition, Publication, Scope, SourceSpec
from digest.issue.editorial import Curation, IssueFile, curate, issue_file_path, read_issue_file
from digest.issue.grouping import by_reader_interest, group_posts, summarise_outlets, unknown_themes
from digest.issue.language import language_problems, not_in_language
from digest.issue.meaning import Meaning, meaning_of, post_text
from digest.issue.roundup import roundup_sections
from digest.issue.selection import Selection, select_posts
from digest.issue.stories import fold_stories
from digest.models import (
    Digest,
    Editorial,
    Excluded,
    ExclusionKind,
    Judgement,
    Placed,
    PlacementKind,
    Post,
    Problem,
    ReaderInterest,
    Section,
    SectionOrder,
    Stats,
    Window,
    issue_id,
    last_day,
)
from digest.render.i18n import automatic_preheader, span_of
from digest.sources import Gathered, gather_all


def issue_title(window: Window, newsletter: Publication, edition: Edition | None = None) -> str:
    """The title format (the edition's subject, else the newsletter's title) filled in: {name}, and {date} (= {end},
    the window's last day), {start} and {month} (the window's first month, "November 2026") in the reader's language."""
    from digest.render.i18n import format_day, format_month

    day = last_day(window, newsletter.timezone)
    start = window.start.astimezone(newsletter.timezone)
    end = format_day(day, newsletter.language)
    found = (edition.subject if edition else "") or newsletter.title_format
    month = format_month(start, newsletter.language)
    return found.format(name=newsletter.name, date=end, end=end, start=format_day(start, newsletter.language), month=month)


@dataclass(frozen=True, slots=True, kw_only=True)
class EditionParts:
    """What an edition brings to its issue's assembly: the edition, and for a round-up the month's archive page and
    readers' aggregate clicks per post id (None: not counted)."""

    edition: Edition
    archive_url: str = ""
    clicks: Mapping[str, int] | None = None


def _preheader(
    editorial: Editorial | None, edition: Edition, newsletter: Publication, sections: Sequence[Section], outlets: int, window: Window
) -> str:
    """The issue file's preheader, else the edition's, else the newsletter's, else the one written from the counts."""
    given = (editorial.preheader if editorial else None) or edition.preheader or newsletter.preheader
    if given:
        return given
    posts = sum(len(section.posts) for section in sections)
    themes = [section.theme for section in sections]
    return automatic_preheader(posts, outlets, themes, newsletter.language, span_of(window.start, window.end))


def assemble_digest(
    gathered: Gathered,
    window: Window,
    newsletter: Publication,
    now: datetime,
    unrenderable: Mapping[str, str] | None = None,
    issue_file: IssueFile | None = None,
    meaning: Meaning | None = None,
    interest: ReaderInterest | None = None,
    parts: EditionParts | None = None,
    known_id: str | None = None,
) -> Digest:
    """The Digest for ``window`` from posts already gathered. No I/O and no clock of its own.

    ``unrenderable`` (post id → why) names posts that broke the email on their own (see
    :func:`digest.render.render_leaving_out`): they are excluded and reported, and the issue goes on without them.
    ``issue_file`` is the editor's file for this issue (:mod:`digest.issue.editorial`), read by the caller. ``meaning``
    (:func:`digest.issue.meaning.meaning_of`) places posts by what they are about and folds one story told by two
    outlets; None: keywords and titles. ``interest``: what readers clicked lately, for ``[grouping] order = "readers"``;
    ``parts``: the edition (None: the default): its subject, preheader, intro, and a round-up's cap per theme.
    ``known_id``: the id of the issue of this window stored already; None: the window's, slug's and edition's.
    """
    selection = select_posts(gathered.posts, window, newsletter.selection, gathered.not_new)
    if unrenderable:
        selection, gathered = _leave_out(selection, gathered, unrenderable)
    keys = newsletter.theme_keys
    curation = (
        curate(issue_file, selection.selected, selection.excluded, newsletter.theme_names, markdown_intro, keys) if issue_file else None
    )
    selected = curation.selected if curation else selection.selected
    excluded = curation.excluded if curation else selection.excluded
    stories = fold_stories(selected, keep_apart=curation.included if curation else (), alike=meaning.alike(selected) if meaning else None)
    selected, excluded = stories.shown, (*excluded, *stories.folded)
    problems = _problems(gathered, curation, selected, newsletter)
    editorial = curation.editorial if curation else None
    sections = group_posts(
        selected,
        newsletter.themes,
        newsletter.fallback_theme,
        newsletter.fallback_description,
        overrides=curation.themes if curation else None,
        pinned=curation.pinned if curation else (),
        language=newsletter.language,
        **_by_meaning(selected, meaning, newsletter),
        notes={kept.post.id: kept.reason for kept in stories.kept_apart},
    )
    order = None
    if newsletter.section_order is SectionOrder.READERS:
        sections, order = by_reader_interest(sections, interest, newsletter.fallback_theme)
    sections, editorial, edition = _edition_stage(sections, editorial, newsletter, parts, curation.pinned if curation else ())
    posts = [post for section in sections for post in section.posts]
    placements = placements_of(sections, excluded, curation.included if curation else (), newsletter, meaning)
    outlets = summarise_outlets(posts)
    return Digest(
        issue_id=known_id or issue_id(window, newsletter.timezone, newsletter.slug, newsletter.folded_edition(edition)),
        newsletter=newsletter.name,
        title=issue_title(window, newsletter, edition),
        edition=edition.name,
        preheader=_preheader(editorial, edition, newsletter, sections, len(outlets), window),
        window=window,
        timezone=str(newsletter.timezone),
        sections=sections,
        outlet_summary=outlets,
        excluded=tuple(sorted(excluded, key=lambda e: (e.post.published, e.post.title))),
        problems=problems,
        stats=Stats(
            gathered=len(gathered.posts) + gathered.distant,
            selected=len(selected),
            excluded=len(excluded),
            problems=len(problems),
            distant=gathered.distant,
        ),
        generated_at=now,
        editorial=editorial,
        placements=placements,
        interest=interest,
        order=order,
    )


def _edition_stage(
    sections: tuple[Section, ...], editorial: Editorial | None, newsletter: Publication, parts: EditionParts | None, pinned: Sequence[str]
) -> tuple[tuple[Section, ...], Editorial | None, Edition]:
    """What the edition (``parts``'s, else the default) does to the issue: a round-up's sections cut at its cap per
    theme, its own intro; and the edition."""
    edition = parts.edition if parts else newsletter.edition()
    if edition.roundup:
        archive, clicks = (parts.archive_url, parts.clicks) if parts else ("", None)
        sections = roundup_sections(sections, edition.cap_per_theme, archive, pinned, clicks)
    return sections, _with_intro(editorial, edition), edition


def _with_intro(editorial: Editorial | None, edition: Edition) -> Editorial | None:
    """The editor's issue file's intro, else the edition's own (``intro``, Markdown), else none."""
    if not edition.intro or (editorial is not None and editorial.intro_html):
        return editorial
    html, text = markdown_intro(edition.intro), edition.intro.strip()
    if editorial is not None:
        return replace(editorial, intro_html=html, intro_text=text)
    return Editorial(file="", intro_html=html, intro_text=text)


def _problems(gathered: Gathered, curation: Curation | None, selected: Sequence[Post], newsletter: Publication) -> tuple[Problem, ...]:
    """What the issue's summary says went wrong or needs a look: the sources', the issue file's, the themes'."""
    return (
        *gathered.problems,
        *(curation.problems if curation else ()),
        *unknown_themes(selected, newsletter.themes, newsletter.fallback),
        *language_problems(selected, newsletter),  # said, not changed: the post stays where it is placed
    )


def placements_of(
    sections: Sequence[Section], excluded: Sequence[Excluded], included: Sequence[str], newsletter: Publication, meaning: Meaning | None
) -> tuple[Placed, ...]:
    """Each post's automatic and final theme, and what digest would have done with each post the editor left out."""
    found = []
    for section in sections:
        for post in section.posts:
            automatic = section.automatic.get(post.id, section.theme)
            kind = (
                PlacementKind.INCLUDED
                if post.id in included
                else PlacementKind.MOVED
                if post.id in section.automatic
                else PlacementKind.KEPT
            )
            found.append(
                Placed(
                    post_id=post.id,
                    text=post_text(post),
                    automatic=automatic,
                    theme=section.theme,
                    kind=kind,
                    theme_key=newsletter.key_of(section.theme),
                )
            )
    left_out = [item.post for item in excluded if item.kind is ExclusionKind.EDITOR]
    if left_out:
        # Where digest would have put them, as group_posts places any post.
        for section in group_posts(
            left_out,
            newsletter.themes,
            newsletter.fallback_theme,
            language=newsletter.language,
            **_by_meaning(left_out, meaning, newsletter),
        ):
            found.extend(
                Placed(post_id=post.id, text=post_text(post), automatic=section.theme, theme=None, kind=PlacementKind.EXCLUDED)
                for post in section.posts
            )
    return tuple(found)


class _ByMeaning(TypedDict):
    near: Mapping[str, Sequence[float]] | None
    threshold: float
    judged: Mapping[str, Judgement] | None


def _by_meaning(posts: Sequence[Post], meaning: Meaning | None, newsletter: Publication) -> _ByMeaning:
    """What meaning says of ``posts`` for :func:`group_posts`: the classifier's judgements where labelled posts taught
    one, else each post's closeness to the themes; nothing without meaning."""
    judged = meaning.place(posts) if meaning is not None and meaning.place is not None else None
    if judged is not None and meaning is not None and meaning.place_foreign is not None:
        # A post surely in another language is read by the multilingual model, its classifier fitted on the same labels.
        foreign = [found.post for found in not_in_language(posts, newsletter.language)]
        judged = {**judged, **meaning.place_foreign(foreign)}
    near = meaning.near(posts) if meaning is not None and judged is None else None
    return _ByMeaning(near=near, threshold=newsletter.meaning.threshold, judged=judged)


def _leave_out(selection: Selection, gathered: Gathered, unrenderable: Mapping[str, str]) -> tuple[Selection, Gathered]:
    """The posts that broke the email on their own: excluded, with why, and reported as problems."""
    left_out = [post for post in selection.selected if post.id in unrenderable]
    selection = replace(
        selection,
        selected=tuple(post for post in selection.selected if post.id not in unrenderable),
        excluded=(
            *selection.excluded,
            *(Excluded(post=post, kind=ExclusionKind.UNRENDERABLE, reason=unrenderable[post.id]) for post in left_out),
        ),
    )
    problems = (Problem(where=post.source, message=f'"{post.title}": {unrenderable[post.id]}') for post in left_out)
    return selection, replace(gathered, problems=(*gathered.problems, *problems))


def markdown_intro(text: str) -> str:
    """The editor's intro note as sanitised HTML (Markdown, like a post)."""
    from digest.sources.markdown import markdown_html

    return markdown_html(text)


def build_issue(settings: Scope, window: Window, now: datetime, sources: Sequence[SourceSpec] | None = None) -> Digest:
    """Gather posts from ``sources`` (default: the configured ones) and assemble the Digest.

    Bad items and sources never raise: they are in ``Digest.problems``.
    """
    gathered = gather_for(settings, window, sources)
    return assemble_digest(
        gathered, window, settings.newsletter, now, issue_file=issue_file_of(settings, window), meaning=meaning_of(settings)
    )


def issue_file_of(settings: Scope, window: Window, edition: Edition | None = None) -> IssueFile:
    """The editor's file for ``window``'s issue of ``edition`` (None: the first; empty when there is none)."""
    return read_issue_file(issue_file_path(settings.newsletter, window, edition), settings)


def gather_for(settings: Scope, window: Window, sources: Sequence[SourceSpec] | None = None) -> Gathered:
    """Every post near ``window`` from ``sources`` (default: the configured ones), and every problem met."""
    specs = tuple(sources) if sources is not None else settings.newsletter.sources
    if not specs:
        return Gathered(problems=(Problem(where="config", message="no sources configured"),))
    return gather_all(specs, settings, window.widened())
