"""How well digest places posts, measured against the editor: ``digest themes report``.

Every frozen issue keeps each post's automatic theme and the one it went out
in (:class:`digest.models.Placed`); a post the editor moved counts as a miss
for its automatic theme, and teaches the next builds (digest.issue.meaning). What
teaches them is listed on the desk (:func:`taught_labels`), where one placement
can be forgotten (:func:`forget_placement`), as ``digest themes forget-label``
does by title (:func:`forget_label`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from digest.app.hints import scope_hint
from digest.config import Publication, Scope
from digest.models import PlacementKind
from digest.models.errors import LabelError
from digest.store import PastLabel, PastPlacement, Store


@dataclass(frozen=True, slots=True, kw_only=True)
class ThemeScore:
    theme: str
    posts: int  # posts that went out in this theme
    matched: int  # of which digest had put there itself

    @property
    def rate(self) -> float:
        return self.matched / self.posts if self.posts else 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ThemeReport:
    issues: tuple[tuple[str, int, int], ...]  # each issue, oldest first: (id, posts placed, of which digest placed right)
    themes: tuple[ThemeScore, ...]  # in the config's order, the fallback last
    confusions: tuple[tuple[str, str, int], ...]  # (digest's theme, the editor's, how many), most common first
    excluded: int  # posts the editor left out

    @property
    def posts(self) -> int:
        return sum(score.posts for score in self.themes)

    @property
    def rate(self) -> float:
        return sum(score.matched for score in self.themes) / self.posts if self.posts else 0.0


def theme_report(newsletter: Publication, store: Store, since: datetime | None = None) -> ThemeReport:
    """The automatic themes against the editor's final ones over the issues since ``since`` (all: None)."""
    past = store.placements.since(since)
    placed = [p for p in past if p.theme is not None]
    return ThemeReport(
        issues=_by_issue(placed),
        themes=tuple(_score(name, placed) for name in _names(newsletter, placed)),
        confusions=_confusions(placed),
        excluded=sum(1 for p in past if p.kind is PlacementKind.EXCLUDED),
    )


def _by_issue(placed: list[PastPlacement]) -> tuple[tuple[str, int, int], ...]:
    issues: dict[str, list[PastPlacement]] = {}
    for item in placed:
        issues.setdefault(item.issue_id, []).append(item)
    return tuple((issue, len(items), sum(1 for i in items if i.automatic == i.theme)) for issue, items in issues.items())


def _names(newsletter: Publication, placed: list[PastPlacement]) -> list[str]:
    """The config's themes and fallback, then any theme an old issue went out with that the config no longer has."""
    gone = sorted({p.theme for p in placed if p.theme is not None and p.theme not in newsletter.theme_names})
    return [*newsletter.theme_names, *gone]


def _score(name: str, placed: list[PastPlacement]) -> ThemeScore:
    mine = [p for p in placed if p.theme == name]
    return ThemeScore(theme=name, posts=len(mine), matched=sum(1 for p in mine if p.automatic == name))


def _confusions(placed: list[PastPlacement]) -> tuple[tuple[str, str, int], ...]:
    moved = Counter((p.automatic or "?", p.theme or "?") for p in placed if p.automatic != p.theme)
    return tuple((automatic, final, count) for (automatic, final), count in moved.most_common(5))


@dataclass(frozen=True, slots=True, kw_only=True)
class Teaching:
    """What later builds learn from: the labels of the frozen issues."""

    confirmed: int  # posts that went out where digest put them
    corrected: int  # posts the editor moved or brought in (weighted more)
    forgotten: int  # labels the editor took back (`digest themes forget-label`)


def teaching(newsletter: Publication, store: Store) -> Teaching:
    """How many labels the frozen issues give the next build, by kind."""
    return _counted(store.placements.taught(newsletter.theme_keys), store)


def _counted(taught: list[PastLabel], store: Store) -> Teaching:
    corrected = sum(1 for label in taught if label.corrected)
    return Teaching(confirmed=len(taught) - corrected, corrected=corrected, forgotten=store.placements.forgotten_count())


SHORTEST_TITLE = 3  # characters of a title's start that may name a label (one letter would name half the list)


def forget_label(store: Store, wanted: str, issue_id: str | None = None) -> PastLabel:
    """Stop learning from one post's placement: ``wanted`` is its post id or the start of its title (case aside);
    raises LabelError when that names no label still taught (saying when it was forgotten already, or went out in
    another issue), or several (each named, to choose from)."""
    wanted = wanted.strip()
    everywhere = store.placements.find(wanted)
    if len(wanted) < SHORTEST_TITLE:
        everywhere = [label for label in everywhere if label.post_id == wanted]  # a title's first letters name no one
    if not everywhere and len(wanted) < SHORTEST_TITLE:
        raise LabelError(f"give the post id, or at least {SHORTEST_TITLE} characters of the start of its title")
    found = [label for label in everywhere if label.issue_id == issue_id or issue_id is None]
    taught = [label for label in found if label.taught]
    if not taught:
        raise LabelError(_not_taught(wanted, issue_id, found, everywhere))
    if len(taught) > 1:
        raise LabelError(
            f"{len(taught)} placements match {wanted!r}: name one by its issue and post id",
            tuple((label.issue_id, label.post_id, label.text) for label in taught),
        )
    store.placements.forget(taught[0].issue_id, taught[0].post_id)
    return taught[0]


def _not_taught(wanted: str, issue_id: str | None, found: list[PastLabel], everywhere: list[PastLabel]) -> str:
    """Why ``wanted`` names no label still taught, in the words that lead to the fix."""
    if found:
        return f"{wanted!r} names a placement forgotten already (issue {found[0].issue_id}): later builds do not learn from it"
    if issue_id is not None and everywhere:
        went = ", ".join(sorted({label.issue_id for label in everywhere}))
        return f"no placement in issue {issue_id} matches {wanted!r}; it went out in issue {went}"
    where = f" in issue {issue_id}" if issue_id else ""
    return f"no placement{where} has the post id or a title starting {wanted!r}"


def forget_placement(store: Store, issue_id: str, post_id: str) -> PastLabel:
    """The desk's Forget: builds stop learning from the placement of post ``post_id`` in issue ``issue_id`` (both
    exactly, as the desk's list names them). Raises LabelError saying what happened, and then nothing changed: no
    such placement, or (``forgotten``) one forgotten already, by another tab or the command line."""
    found = [label for label in store.placements.find(post_id, issue_id) if label.post_id == post_id]
    if not found:
        raise LabelError(f"issue {issue_id!r} has no placement of post {post_id!r} to forget")
    label = found[0]
    # forget() says whether it turned the label off: a second Forget racing this one finds it done already.
    if not (label.taught and store.placements.forget(issue_id, post_id)):
        raise LabelError(
            f'"{shown(label.text)}" (issue {issue_id}) is forgotten already: later builds do not learn from it', forgotten=True
        )
    return label


def forgotten_label(store: Store, issue_id: str, post_id: str) -> PastLabel | None:
    """The placement of ``post_id`` in ``issue_id`` if builds no longer learn from it (what the desk confirms after a
    Forget; an address naming one still taught confirms nothing), else None."""
    found = [label for label in store.placements.find(post_id, issue_id) if label.post_id == post_id and not label.taught]
    return found[0] if found else None


SHOWN_LABELS = 20  # the desk's list: the editor's own decisions first; a long list would bury them


@dataclass(frozen=True, slots=True, kw_only=True)
class TaughtLabels:
    """The desk's panel: the labels the next build learns from, the editor's corrections first."""

    shown: tuple[PastLabel, ...]  # corrections first, then placements kept; each newest issue first
    corrected: int  # all the labels taught, by kind
    confirmed: int
    forgotten: int
    idle: str  # why the labels teach nothing now (placement by meaning is off or cannot run); "" when they teach
    forget_hint: str  # the command that forgets a label not shown, by the start of its title

    @property
    def more(self) -> int:
        """Labels taught but not shown."""
        return self.corrected + self.confirmed - len(self.shown)

    @property
    def more_corrected(self) -> int:
        """Of those, the editor's corrections (a correction is never left out while a kept placement is shown)."""
        return self.corrected - sum(1 for label in self.shown if label.corrected)


TITLE_PLACEHOLDER = "START OF ITS TITLE"


def taught_labels(settings: Scope, store: Store, limit: int = SHOWN_LABELS) -> TaughtLabels:
    """What the next build learns from: the first ``limit`` labels (the editor's corrections first, each kind newest
    issue first) and how many there are, by kind."""
    taught = store.placements.taught(settings.newsletter.theme_keys)
    ordered = sorted(taught, key=lambda label: not label.corrected)  # stable: each kind keeps its newest first
    counted = _counted(taught, store)
    idle = ""
    if not settings.newsletter.meaning.enabled:
        idle = settings.newsletter.meaning.unavailable or 'placement by meaning is off ([grouping] meaning = "on" turns it on)'
    return TaughtLabels(
        shown=tuple(ordered[:limit]),
        corrected=counted.corrected,
        confirmed=counted.confirmed,
        forgotten=counted.forgotten,
        idle=idle,
        forget_hint=scope_hint(settings, "themes", "forget-label", TITLE_PLACEHOLDER),
    )


SHOWN = 70  # characters of a post's text in a line about its label


def shown(text: str) -> str:
    """A post's text (its title, then its excerpt) cut at a word, never mid-word, with an ellipsis when cut."""
    if len(text) <= SHOWN:
        return text
    cut = text[:SHOWN].rsplit(" ", 1)[0].rstrip(" .,;:")
    return f"{cut}…"
