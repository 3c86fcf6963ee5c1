"""One story, many outlets: shown once with "Also in", the rest listed as excluded, the editor able to split them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from digest.config import Settings, SourceSpec
from digest.issue.assembly import build_issue
from digest.issue.selection import window_between
from digest.issue.stories import canonical_url
from digest.models import ExclusionKind
from digest.render import render_issue

from conftest import write

Make = Callable[..., Settings]
NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)


def test_canonical_urls() -> None:
    same = [
        "https://www.paper.example/2026/11/lanes/",
        "http://paper.example/2026/11/lanes?utm_source=x&utm_medium=email",
        "https://paper.example/2026/11/lanes/amp/",
        "https://amp.paper.example/2026/11/lanes#comments",
        "https://paper.example/2026/11/lanes?fbclid=abc",
    ]
    assert len({canonical_url(url) for url in same}) == 1
    assert canonical_url("https://paper.example/2026/11/lanes?page=2") != canonical_url(same[0])
    assert canonical_url("https://paper.example/2026/11/other") != canonical_url(same[0])


def post(tmp_path: Path, slug: str, title: str, outlet: str, url: str, day: int) -> None:
    write(
        tmp_path / "content" / f"{slug}.md",
        f'---\ntitle: "{title}"\ndate: 2026-11-{day:02d}T10:00:00Z\nurl: {url}\noutlet: "{outlet}"\n---\n\nText about {slug}.\n',
    )


def lanes_story(tmp_path: Path) -> None:
    """One story told by two outlets, under different titles and URLs."""
    post(tmp_path, "a", "Council votes to keep the London Road bus lanes all day", "Harbour Gazette", "https://gazette.example/lanes", 16)
    post(
        tmp_path,
        "b",
        "London Road bus lanes: council votes to keep them all day",
        "Riverside Radio",
        "https://radio.example/news/lanes",
        17,
    )


def build(tmp_path: Path, make_settings: Make) -> tuple[Settings, object]:
    settings = make_settings(sources=(SourceSpec(kind="markdown", location="content"),))
    return settings, build_issue(settings, window_between(date(2026, 11, 13), date(2026, 11, 20), settings.timezone), NOW)


def test_one_story_from_three_outlets_is_shown_once(tmp_path: Path, make_settings: Make) -> None:
    lanes_story(tmp_path)
    post(tmp_path, "c", "Opinion", "Weekly Post", "https://www.gazette.example/lanes/?utm_source=feed", 18)  # same page as a
    post(tmp_path, "d", "Choir concert moves to the lifeboat house", "Weekly Post", "https://weekly.example/choir", 18)
    post(tmp_path, "e", "Bus lanes", "Weekly Post", "https://weekly.example/short", 18)  # short title: URL only
    settings, digest = build(tmp_path, make_settings)
    shown = {p.title: p for p in digest.posts}  # type: ignore[attr-defined]
    assert set(shown) == {
        "Council votes to keep the London Road bus lanes all day",
        "Choir concert moves to the lifeboat house",
        "Bus lanes",
    }
    lead = shown["Council votes to keep the London Road bus lanes all day"]
    assert [(item.outlet, item.url) for item in lead.also] == [
        ("Riverside Radio", "https://radio.example/news/lanes"),
        ("Weekly Post", "https://www.gazette.example/lanes/?utm_source=feed"),
    ]
    folded = [item for item in digest.excluded if item.kind is ExclusionKind.SAME_STORY]  # type: ignore[attr-defined]
    assert len(folded) == 2 and all(item.reason.startswith('same story as "Council votes') for item in folded)
    stats = digest.stats  # type: ignore[attr-defined]
    assert stats.gathered == stats.selected + stats.excluded + stats.distant
    rendered = render_issue(digest, settings)  # type: ignore[arg-type]
    assert "Also in: " in rendered.html and 'href="https://radio.example/news/lanes"' in rendered.html
    assert "Also in: Riverside Radio [" in rendered.text


def test_the_editor_splits_a_story_with_include(tmp_path: Path, make_settings: Make) -> None:
    lanes_story(tmp_path)
    write(tmp_path / "content" / "issues" / "2026-11-19.md", "---\ninclude: [https://radio.example/news/lanes]\n---\n")
    _, digest = build(tmp_path, make_settings)
    assert len(digest.posts) == 2 and all(not p.also for p in digest.posts)  # type: ignore[attr-defined]


def test_titles_that_differ_in_their_numbers_are_different_stories(tmp_path: Path, make_settings: Make) -> None:
    post(tmp_path, "a", "Council meeting on the harbour budget, 17 November", "Harbour Gazette", "https://gazette.example/17", 17)
    post(tmp_path, "b", "Council meeting on the harbour budget, 18 November", "Harbour Gazette", "https://gazette.example/18", 18)
    _, digest = build(tmp_path, make_settings)
    assert len(digest.posts) == 2  # type: ignore[attr-defined]
