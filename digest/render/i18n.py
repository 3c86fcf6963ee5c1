"""The reader's language: dates and counts by Babel (CLDR), the templates' fixed phrases by gettext.

``newsletter.language`` is a language tag (``en``, ``en-GB``, ``fr``). Dates
follow the locale's own order (``November 20, 2026`` for ``en`` and
``en-US``, ``20 November 2026`` for ``en-GB``, ``20 novembre 2026`` for
``fr``). Fixed phrases come from the catalogs in ``digest/locale/<lang>/``:
plain ``.po`` files, compiled in memory the first time a language is used,
so the repository holds no binary files. A language without a catalog falls
back to its base language (``fr-CA`` → ``fr``), then to the English source text.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from enum import StrEnum
from functools import cache
from importlib import resources
from types import MappingProxyType

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

DOMAIN = "digest"


class Span(StrEnum):
    """What an issue's window is called in its words: a daily's "today", a weekly's "this week", a monthly's."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    OTHER = "other"  # a window of another length (--since/--until, since-last after a pause)


def span_of(start: datetime, end: datetime) -> Span:
    """The span of the window [start, end): a day up to 26 hours (a local day is 23 to 25), a week up to 8 days,
    a month from 27 to 32 days."""
    hours = (end - start).total_seconds() / 3600
    if hours <= 26:
        return Span.DAY
    if hours <= 8 * 24:
        return Span.WEEK
    return Span.MONTH if 27 * 24 <= hours <= 32 * 24 else Span.OTHER


# The phrases that name the span, each a msgid of the catalogs (one table per phrase, every span in it).
NOTHING_NEW: Mapping[Span, str] = MappingProxyType(
    {
        Span.DAY: "Nothing new was published today.",
        Span.WEEK: "Nothing new was published this week.",
        Span.MONTH: "Nothing new was published this month.",
        Span.OTHER: "Nothing new was published in this period.",
    }
)
NO_NEW_POSTS: Mapping[Span, str] = MappingProxyType(
    {
        Span.DAY: "No new posts today.",
        Span.WEEK: "No new posts this week.",
        Span.MONTH: "No new posts this month.",
        Span.OTHER: "No new posts in this period.",
    }
)
OUTLETS_IN: Mapping[Span, str] = MappingProxyType(
    {
        Span.DAY: "Outlets today",
        Span.WEEK: "Outlets this week",
        Span.MONTH: "Outlets this month",
        Span.OTHER: "Outlets in this issue",
    }
)


@cache
def locale_of(language: str) -> Locale:
    """The Babel locale of a language tag; an unknown one reads as English rather than failing a send."""
    try:
        return Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def format_day(moment: date, language: str = "en", with_year: bool = True) -> str:
    """A day as readers of ``language`` write it: ``20 novembre 2026``, or ``20 novembre`` without the year."""
    locale = locale_of(language)
    if with_year:
        return str(format_date(moment, "long", locale=locale))
    return str(format_skeleton("MMMMd", moment, locale=locale))


def format_month(moment: date, language: str = "en") -> str:
    """A month as readers of ``language`` write it on its own: ``November 2026``, ``novembre 2026``."""
    return str(format_skeleton("yMMMM", moment, locale=locale_of(language)))


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalog for ``language`` (or its base language); English source text when there is none."""
    for name in dict.fromkeys((language.replace("-", "_"), language.split("-")[0].split("_")[0])):
        source = resources.files("digest").joinpath("locale", name, "LC_MESSAGES", f"{DOMAIN}.po")
        if source.is_file():
            catalog = read_po(io.BytesIO(source.read_bytes()), locale=name, domain=DOMAIN)
            compiled = io.BytesIO()
            write_mo(compiled, catalog)
            compiled.seek(0)
            return gettext.GNUTranslations(compiled)
    return gettext.NullTranslations()


def available() -> list[str]:
    """The languages that have a catalog (English, the source language, needs none)."""
    root = resources.files("digest").joinpath("locale")
    return sorted(["en", *(entry.name for entry in root.iterdir() if entry.is_dir())])


NNBSP = "\u202f"  # NARROW NO-BREAK SPACE: French puts it before : ; ! ? and between a number and %


def french(language: str) -> bool:
    return language.replace("_", "-").split("-")[0].lower() == "fr"


def colon(label: str, language: str) -> str:
    """``label:`` as the language writes it (French: a narrow no-break space before the colon)."""
    return f"{label}{NNBSP}:" if french(language) else f"{label}:"


def percent(share: float, language: str) -> str:
    """A share in whole percent as the language writes it: ``43%``, ``43 %`` in French (narrow no-break space)."""
    return f"{share * 100:.0f}{NNBSP}%" if french(language) else f"{share * 100:.0f}%"


def counts_phrase(posts: int, outlets: int, language: str) -> str:
    """``9 posts from 5 outlets``, in the reader's language."""
    catalog = translations(language)
    return (
        catalog.ngettext("%(num)d post", "%(num)d posts", posts) % {"num": posts}
        + " "
        + catalog.ngettext("from %(num)d outlet", "from %(num)d outlets", outlets) % {"num": outlets}
    )


def automatic_preheader(posts: int, outlets: int, themes: Sequence[str], language: str, span: Span = Span.WEEK) -> str:
    """The preheader the program writes when the editor gives none: counts and the first three themes."""
    catalog = translations(language)
    if posts == 0:
        return catalog.gettext(NO_NEW_POSTS[span])
    more = " " + catalog.gettext("and more") if len(themes) > 3 else ""
    return f"{colon(counts_phrase(posts, outlets, language), language)} {', '.join(themes[:3])}{more}."
