"""A reader's own choices, the rules once: which themes they get (by key), a pause, and the edition.

The sign-up form and the preferences page call these, and so would any command that sets a reader's choices;
each entry point only reads what was typed and puts the answer into words. The rules: a posted value counts only
when it names a configured theme (by key, or by the name older forms posted); at least one theme is chosen (a
reader who wants none unsubscribes); every theme is stored as "every theme" (None), so a theme added later
reaches them too; a pause ends after today and within :data:`LONGEST_PAUSE`, and one that has ended is no pause.
Editions are offered only by a newsletter that has more than one (with one, the forms are as they were and a posted
edition is ignored); a posted one must name an edition the newsletter has.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from digest.config import Publication
from digest.models import paused_on

LONGEST_PAUSE = timedelta(days=366)  # a year, whatever day it starts


class ChoiceProblem(StrEnum):
    """Why a choice is not kept (each entry point words it)."""

    NO_THEME = "no-theme"  # nothing chosen that is a theme: no issue would reach them
    PAUSE_OUT_OF_RANGE = "pause-out-of-range"  # the pause ends today or before, or more than a year ahead
    NOT_SUBSCRIBED = "not-subscribed"  # they are not on the list now: there is nothing to set
    NO_EDITION = "no-edition"  # the edition posted is none the newsletter has (a form of another day, or forged)


@dataclass(frozen=True, slots=True)
class ThemeChoice:
    """The themes a reader chose, as keys in the config's order; ``every``: all of them (stored as "every theme",
    so a theme added later reaches them too)."""

    keys: tuple[str, ...]
    every: bool

    @property
    def stored(self) -> list[str] | None:
        """As the store keeps it: the keys, or None for every theme."""
        return None if self.every else list(self.keys)


def posted_choice(newsletter: Publication, posted: Iterable[object]) -> ThemeChoice:
    """The themes a form posted (the sign-up form, the preferences page): each value a theme's key, or its name, as
    forms embedded on other sites before keys posted it; anything else is ignored. The one place that reads a choice."""
    keys = newsletter.theme_keys
    by_name = {name.casefold(): key for key, name in keys.items()}
    wanted = {by_name.get(value.casefold(), value) for value in posted if isinstance(value, str)}
    chosen = tuple(key for key in keys if key in wanted)
    return ThemeChoice(chosen, every=len(chosen) == len(keys))


def stored_choice(newsletter: Publication, stored: tuple[str, ...] | None) -> ThemeChoice:
    """A stored choice (None: every theme) as the configured themes it holds; a key no theme has now is left out."""
    if stored is None:
        return ThemeChoice(tuple(newsletter.theme_keys), every=True)
    return posted_choice(newsletter, stored)


def offered_editions(newsletter: Publication) -> tuple[str, ...]:
    """The editions a reader may choose between: the newsletter's, first the default, when it has more than one."""
    names = tuple(edition.name for edition in newsletter.editions)
    return names if len(names) > 1 else ()


def posted_edition(newsletter: Publication, posted: object) -> str | ChoiceProblem | None:
    """The edition a form posted: its name; None when none is to be set (none posted, or the newsletter offers no
    choice); :attr:`ChoiceProblem.NO_EDITION` for a value that names none of its editions."""
    offered = offered_editions(newsletter)
    if not offered or not isinstance(posted, str) or not posted.strip():
        return None
    wanted = posted.strip().casefold()
    return wanted if wanted in offered else ChoiceProblem.NO_EDITION


@dataclass(frozen=True, slots=True)
class PauseRange:
    """The days a pause may end on, as of ``today``: from tomorrow to a year ahead."""

    first: date
    last: date

    def holds(self, day: date) -> bool:
        return self.first <= day <= self.last


def pause_range(today: date) -> PauseRange:
    return PauseRange(today + timedelta(days=1), today + LONGEST_PAUSE)


def reader_today(newsletter: Publication) -> date:
    """Today where the newsletter is read (``[newsletter] timezone``): the day a pause is measured from."""
    return datetime.now(newsletter.timezone).date()


def current_pause(paused_until: date | None, today: date) -> date | None:
    """A stored pause while it lasts; None once it has ended (the send's rule, :func:`digest.models.paused_on`)."""
    return paused_until if paused_on(paused_until, today) else None


def choice_problem(themes: ThemeChoice, pause: date | None, today: date) -> ChoiceProblem | None:
    """What stops this choice being kept, the themes first; None when it may be."""
    if not themes.keys:
        return ChoiceProblem.NO_THEME
    if pause is not None and not pause_range(today).holds(pause):
        return ChoiceProblem.PAUSE_OUT_OF_RANGE
    return None


@dataclass(frozen=True, slots=True)
class Preferences:
    """A reader's choices as their page shows them."""

    themes: ThemeChoice
    paused_until: date | None  # a pause that has not ended; None for none
    pause_range: PauseRange  # the days a new pause may end on
    edition: str = ""  # the edition they get (the newsletter's first when they chose none)
    editions: tuple[str, ...] = ()  # the editions they may choose between (none: the newsletter has one)
