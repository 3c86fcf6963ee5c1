"""Issue 32, item 7: a post not in the newsletter's language is said in the build's warnings and at the desk;
a post is given a language only on strong evidence (an English post naming Rue de la Paix is English)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import lxml.html
import pytest

from digest.config import MeaningOptions, load_settings
from digest.issue.assembly import build_issue
from digest.issue.language import language_note, language_of, not_in_language
from digest.models import Window
from digest.web.preview import create_preview_app

from conftest import LiveServer, http_request, write
from support.cli import in_process
from support.project import make_project
from support.settings import overridden

SINCE, UNTIL = "2026-11-02", "2026-11-09"
WINDOW = Window(start=datetime(2026, 11, 2, tzinfo=UTC), end=datetime(2026, 11, 9, tzinfo=UTC))

FRENCH = (
    "Travaux rue du Moulin : la circulation est alternée",
    "La mairie prévient les riverains que le chantier durera jusqu'à vendredi.",
)
PAIX = ("Café on Rue de la Paix closes after twenty years", "The owners are retiring, and regulars held a farewell lunch on Saturday.")
ENGLISH = ("Food bank asks for tinned fruit", "Demand has doubled since the summer, the volunteers said, and the shelves are nearly empty.")
WELSH = (
    ("Treth y cyngor i godi pump y cant", "Cytunodd y cynghorwyr ar y gyllideb nos Fawrth ar ôl dadl hir."),
    ("Bws newydd rhwng yr orsaf a'r ysbyty", "Bydd y gwasanaeth yn rhedeg bob hanner awr o'r wythnos nesaf ymlaen."),
    ("Marchnad Nadolig yn dychwelyd i'r sgwâr", "Bydd tua deg ar hugain o stondinau yno o'r pumed hyd yr ugeinfed o Ragfyr."),
)


def project(root: Path, language: str, posts: tuple[tuple[str, str], ...]) -> Path:
    """A newsletter folder: a config in ``language`` (meaning off: keywords place the posts) and one Markdown
    file per post, all in the window."""
    config = write(
        root / "config" / "digest.toml",
        f'root = ".."\n\n[newsletter]\nname = "Town Notes"\ntimezone = "UTC"\nlanguage = "{language}"\nsender = "Town Notes <news@town.example>"\n'
        'base_url = "https://town.example"\n\n[[sources]]\nlocation = "content/posts"\n\n'
        '[grouping]\nmeaning = "off"\n\n[[themes]]\nname = "Town"\nkey = "town"\nkeywords = ["council", "cyngor"]\n',
    )
    for number, (title, excerpt) in enumerate(posts, start=1):
        write(
            root / "content" / "posts" / f"post-{number}.md",
            f'---\ntitle: "{title}"\ndate: 2026-11-0{number + 2}T09:00:00Z\nurl: https://town.example/{number}\n---\n\n{excerpt}\n',
        )
    return config


def run_build(config: Path, out: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return in_process(["--config", str(config), "build", "--since", SINCE, "--until", UNTIL, "--out", str(out), *options])


def test_a_french_post_in_an_english_newsletter_is_flagged_and_rue_de_la_paix_is_not(tmp_path: Path) -> None:
    config = project(tmp_path, "en-GB", (FRENCH, PAIX, ENGLISH))
    result = run_build(config, tmp_path / "out")
    assert result.returncode == 0, result.stderr  # said, not failed: the post stays in the issue
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, result.stderr
    assert "post-1.md: " in warnings[0] and warnings[0].endswith(f'"{FRENCH[0]}": in French; the newsletter is in English')
    assert "Rue de la Paix" not in result.stderr
    assert "Problems   1 (listed above)" in result.stdout
    assert "3 gathered = 3 selected" in result.stdout


def test_a_post_in_another_language_never_fails_a_strict_build_and_a_bad_post_still_does(tmp_path: Path) -> None:
    """The flag is advisory: nothing is wrong with the input. A file that cannot be read is, and --strict says so."""
    config = project(tmp_path, "en-GB", (FRENCH, ENGLISH))
    strict = run_build(config, tmp_path / "out", "--strict")
    assert strict.returncode == 0, strict.stderr
    assert "in French; the newsletter is in English" in strict.stderr
    write(tmp_path / "content" / "posts" / "broken.md", "---\ntitle: [unclosed\n---\n")
    failed = run_build(config, tmp_path / "out2", "--strict")
    assert failed.returncode == 1 and "1 problem(s) in the input (--strict): nothing written" in failed.stderr, failed.stderr


def test_a_welsh_newsletter_does_not_flag_its_welsh_posts(tmp_path: Path) -> None:
    config = project(tmp_path, "cy", (*WELSH, ENGLISH))
    digest = build_issue(load_settings(config, environ={}), WINDOW, datetime(2026, 11, 9, tzinfo=UTC))
    assert len(digest.posts) == 4
    flagged = [problem.message for problem in digest.problems]
    assert flagged == [f'"{ENGLISH[0]}": in English; the newsletter is in Welsh']


def test_with_meaning_on_the_flag_says_what_the_model_reads(tmp_path: Path) -> None:
    settings = load_settings(project(tmp_path, "en-GB", ()), environ={})
    assert language_note("fr", settings.newsletter) == "in French; the newsletter is in English"
    placing = overridden(settings, meaning=MeaningOptions(enabled=True))  # the packaged model, English only
    assert language_note("fr", placing.newsletter) == "in French; the model reads English"
    multilingual = overridden(placing, meaning=MeaningOptions(enabled=True, model=str(tmp_path / "multilingual")))
    assert language_note("fr", multilingual.newsletter) == "in French; the newsletter is in English"


@pytest.mark.parametrize(
    "text",
    [
        "Rue de la Paix",
        "Plans approved for Rue de la Paix car park",
        "Twinning visit to Châlons-en-Champagne goes ahead",
        "La Rochelle",
        "Q3 2026",
        # Mixed: a bilingual post has no one language, so it is never flagged in either.
        "Mae'r cyngor wedi cytuno ar y cynllun. The council has agreed the plan for the new school.",
    ],
)
def test_short_or_mixed_text_is_unsure(text: str) -> None:
    assert language_of(text) is None


@pytest.mark.parametrize(
    ("text", "language"),
    [
        (f"{FRENCH[0]}. {FRENCH[1]}", "fr"),
        (f"{PAIX[0]}. {PAIX[1]}", "en"),
        ("Neue Buslinie verbindet Bahnhof und Krankenhaus. Der Bus fährt ab nächster Woche alle dreißig Minuten.", "de"),
        ("Sube el impuesto municipal un cinco por ciento. Los concejales aprobaron el presupuesto el martes.", "es"),
        (f"{WELSH[0][0]}. {WELSH[0][1]}", "cy"),
        ("La biblioteca chiude il lunedì da gennaio. Il comune vuole risparmiare sul personale.", "it"),
        ("Nieuwe buslijn tussen station en ziekenhuis. De bus rijdt vanaf volgende week elk half uur.", "nl"),
        ("Nova linha de autocarro liga a estação ao hospital. O serviço começa na próxima semana.", "pt"),
    ],
)
def test_a_post_of_a_title_and_a_sentence_is_told(text: str, language: str) -> None:
    assert language_of(text) == language
    assert language_of(text) == language_of(text)  # the same answer every time


def test_the_newsletters_tag_is_read_as_its_base_language(tmp_path: Path) -> None:
    settings = load_settings(project(tmp_path, "en-GB", (ENGLISH, FRENCH)), environ={})
    digest = build_issue(settings, WINDOW, datetime(2026, 11, 9, tzinfo=UTC))
    assert [(found.post.title, found.language) for found in not_in_language(digest.posts, "en-GB")] == [(FRENCH[0], "fr")]
    assert not_in_language(digest.posts, "fr-CA")[0].post.title == ENGLISH[0]


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[LiveServer]:
    config = make_project(tmp_path)
    write(
        config.parent.parent / "content" / "posts" / "french.md",
        f'---\ntitle: "{FRENCH[0]}"\ndate: 2025-02-28T10:00:00Z\nurl: https://golden.example/travaux\n---\n\n{FRENCH[1]}\n',
    )
    server = LiveServer(create_preview_app(config, watch=False))
    yield server
    server.stop()


def test_the_desk_shows_the_flag_beside_the_post(desk: LiveServer) -> None:
    code, _, page = http_request("GET", f"{desk.base}/?since=2025-02-24&until=2025-03-03")
    assert code == 200
    tree = lxml.html.fromstring(page)
    rows = {row.get("data-ref"): row for row in tree.xpath('//section[@id="posts"]//tr')}
    french = rows["https://golden.example/travaux"]
    assert [flag.text_content() for flag in french.xpath('.//*[@class="language warning"]')] == ["in French; the newsletter is in English"]
    others = [row for ref, row in rows.items() if ref != "https://golden.example/travaux"]
    assert others and not any(row.xpath('.//*[@class="language warning"]') for row in others)
    # The checks list every problem of the build, this one with its file and title.
    checks = tree.get_element_by_id("checks").text_content()
    assert f'"{FRENCH[0]}": in French; the newsletter is in English' in checks


def test_the_detectors_model_is_unpacked_once_and_read_back_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 33, item 9: the wheel's model is LZMA-packed, half a second of CPU to undo in every build and send process;
    the first process keeps it unpacked in the user's cache, the next map it. The copy gives what the wheel's own
    loader gives, to the bit; a damaged copy is unpacked again; without a cache that can be written, only time is lost.
    (The wheel's model is unpacked twice here: by its loader, and by the first process.)"""
    import numpy as np
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier  # type: ignore[import-untyped]
    from py3langid.modelio import load_model  # type: ignore[import-untyped]

    from digest.issue import language

    packed = MODEL_DIR / MODEL_FILE
    wheel_parts = load_model(packed)
    ptc, pc, classes, nextmove, row, output = wheel_parts
    wheel = LanguageIdentifier(np.asarray(ptc), np.asarray(pc), classes, nextmove, output, norm_probs=True, tk_row=row)
    texts = [
        f"{FRENCH[0]}. {FRENCH[1]}",
        f"{PAIX[0]}. {PAIX[1]}",
        f"{WELSH[0][0]}. {WELSH[0][1]}",
        "Neue Buslinie verbindet Bahnhof und Krankenhaus.",
    ]
    expected = [wheel.classify(text) for text in texts]
    copies = tmp_path / "cache" / "digest"

    def detected() -> list[object]:
        language._identifier.cache_clear()
        return [language._identifier().classify(text) for text in texts]

    try:
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        assert detected() == expected  # unpacked from the wheel, and kept
        (kept,) = copies.iterdir()
        assert kept.name.startswith("langid-") and sorted(p.name for p in kept.iterdir()) == sorted(f"{n}.npy" for n in language._PARTS)
        read_back = language._unpacked(packed)
        assert read_back is not None
        for ours, theirs in zip(read_back, wheel_parts, strict=True):
            assert type(ours) is type(theirs) or (isinstance(ours, np.ndarray) and isinstance(theirs, np.ndarray))
            if isinstance(ours, np.ndarray):
                assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)
            else:
                assert ours == theirs and getattr(ours, "typecode", None) == getattr(theirs, "typecode", None)
        assert detected() == expected  # from the copy
        # A damaged copy (cut short) is removed, so that the process unpacking the wheel writes it again; another
        # model's copy written long ago, and one left aside by a writer killed long ago, go when it is.
        (kept / "ptc.npy").write_bytes((kept / "ptc.npy").read_bytes()[:1000])
        assert language._unpacked(packed) is None and not kept.exists()
        stale, recent, aside = copies / "langid-0123456789abcdef", copies / "langid-fedcba9876543210", copies / f".{kept.name}.999.beef"
        for made in (stale, recent, aside):
            made.mkdir()
        os.utime(stale, (time.time() - 2 * language.OTHER_MODEL_SECONDS,) * 2)
        os.utime(aside, (time.time() - 2 * language.ASIDE_SECONDS,) * 2)
        language._keep_unpacked(packed, wheel_parts)
        assert sorted(p.name for p in copies.iterdir()) == sorted([kept.name, recent.name])  # another install's, in use
        assert detected() == expected
        # Without a cache that can be written (a file where its folder would be), nothing is kept and nothing fails.
        monkeypatch.setenv("XDG_CACHE_HOME", str(write(tmp_path / "not-a-folder", "")))
        language._keep_unpacked(packed, wheel_parts)
        assert language._unpacked(packed) is None
    finally:
        language._identifier.cache_clear()  # the next test's detector is the user's cache's, as before
