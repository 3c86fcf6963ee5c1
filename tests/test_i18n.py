"""The reader's language: the sample issue in French has no English fixed phrase left; dates follow the locale."""

from __future__ import annotations

import email
import re
from datetime import UTC, date, datetime
from email.policy import default
from pathlib import Path

import pytest

from digest.app.issues import Newsletter, WindowRequest
from digest.config import load_settings
from digest.render.i18n import available, format_day, translations
from digest.send.delivery import compile_issue
from digest.store import Store

from conftest import REPO
from support.settings import overridden

NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)
ENGLISH = (
    "View in your browser",
    "In this issue",
    " posts ",
    " outlets",
    "Outlets this week",
    "You are receiving",
    "Unsubscribe",
    "Read at",
    "first published",
    "Also in",
    "Editor",
    "Nothing new",
    "Other sources",
    "LINKS",
    "November",
    "because you subscribed",
)


@pytest.mark.parametrize(
    ("language", "with_year", "without_year"),
    [
        ("en", "November 20, 2026", "November 20"),
        ("en-US", "November 20, 2026", "November 20"),
        ("en-GB", "20 November 2026", "20 November"),
        ("fr", "20 novembre 2026", "20 novembre"),
        ("fr-CA", "20 novembre 2026", "20 novembre"),
        ("xx", "November 20, 2026", "November 20"),  # unknown: English, never a failed send
    ],
)
def test_dates_follow_the_locale(language: str, with_year: str, without_year: str) -> None:
    assert format_day(date(2026, 11, 20), language) == with_year
    assert format_day(date(2026, 11, 20), language, with_year=False) == without_year


def test_catalogs() -> None:
    assert "fr" in available()
    french = translations("fr")
    assert french.gettext("In this issue") == "Dans ce numéro"
    assert french.ngettext("%(num)d post", "%(num)d posts", 1) % {"num": 1} == "1 article"
    assert french.ngettext("%(num)d post", "%(num)d posts", 2) % {"num": 2} == "2 articles"
    assert translations("fr-CA").gettext("In this issue") == "Dans ce numéro"  # the base language's catalog
    assert translations("de").gettext("In this issue") == "In this issue"  # no catalog: the English source


def test_the_sample_issue_in_french(tmp_path: Path) -> None:
    settings = overridden(
        load_settings(REPO / "config" / "digest.toml", environ={}),
        language="fr",
        title_format="{name} – la lettre du {start} au {end}",
        cache_dir=tmp_path / "cache",
        output_dir=tmp_path / "out",
        editorial_dir=tmp_path / "issues",
        secret_key="k",
    )
    (tmp_path / "issues").mkdir()
    (tmp_path / "issues" / "2026-11-20.md").write_text(
        "---\nnote: {https://harbourgazette.example/2026/11/bus-lane-hours: Bien vu.}\n---\n"
    )
    newsletter = Newsletter(settings, lambda: Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}"))
    built = newsletter.build(newsletter.target(WindowRequest(as_of="2026-11-20T09:00"), NOW).window, NOW)
    assert built.digest.title == "Open Streets – la lettre du 13 novembre 2026 au 20 novembre 2026"
    raw = compile_issue(built.issue, settings).render(1, "lectrice@example.org", "Lectrice")
    message = email.message_from_bytes(raw, policy=default)
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    fixed_html = _without_posts(html, built)
    fixed_text = _without_posts(text, built)
    for phrase in ENGLISH:
        assert phrase not in fixed_html, phrase
        assert phrase not in fixed_text, phrase
    for phrase in (
        "Dans ce numéro",
        "Voir dans votre navigateur",
        "Se désinscrire en un clic",
        "Lire sur Harbour Gazette",
        "Le mot de la rédaction",
    ):
        assert phrase in html, phrase
    assert "LIENS" in text and "novembre" in text and "articles de" in built.digest.preheader
    # Issue 22, item 22: French typography, a narrow no-break space (U+202F) before the colon and the percent sign.
    nnbsp = "\u202f"
    assert f"médias{nnbsp}: " in built.digest.preheader and "médias: " not in built.digest.preheader
    assert f"Voir dans votre navigateur{nnbsp}:" in text and f"Se désinscrire en un clic{nnbsp}:" in text
    assert f"adresse{nnbsp}:" in text and f"Le mot de la rédaction{nnbsp}:" in html
    assert re.search(f"\\d{nnbsp}%", html) and re.search(f"\\(\\d+{nnbsp}%\\)", text)
    assert not re.search(r"\(\d+%\)", text) and not re.search(r">\d+%", html)  # the outlets table, both parts


def _without_posts(part: str, built: object) -> str:
    """The part without the posts' own text (their titles, excerpts and outlets are content, in English here)."""
    for post in built.digest.posts:  # type: ignore[attr-defined]
        for piece in (post.title, post.excerpt_text, post.outlet or "", post.author or ""):
            for line in piece.split(". "):
                part = part.replace(line, "")
    return part


def test_the_window_is_named_by_its_span_in_every_catalog() -> None:
    """A journey (issue 35): a monthly round-up said "Outlets this week" and "Nothing new was published this week"."""
    from datetime import timedelta

    from digest.render.i18n import NO_NEW_POSTS, NOTHING_NEW, OUTLETS_IN, Span, span_of

    start = datetime(2026, 3, 29, tzinfo=UTC)
    assert span_of(start, start + timedelta(hours=23)) is Span.DAY  # a local day at the spring change
    assert span_of(start, start + timedelta(days=1)) is Span.DAY
    assert span_of(start, start + timedelta(days=7)) is Span.WEEK
    assert span_of(start, start + timedelta(days=28)) is span_of(start, start + timedelta(days=31)) is Span.MONTH
    assert span_of(start, start + timedelta(days=14)) is span_of(start, start + timedelta(days=90)) is Span.OTHER
    french = translations("fr")
    for table in (NOTHING_NEW, NO_NEW_POSTS, OUTLETS_IN):
        assert set(table) == set(Span)
        said = [french.gettext(table[span]) for span in Span]
        assert all(text != table[span] for text, span in zip(said, Span, strict=True)) and len(set(said)) == len(Span)
