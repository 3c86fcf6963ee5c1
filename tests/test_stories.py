"""One story, many outlets: shown once with "Also in", the rest listed as excluded, the editor able to split them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from digest.config import Scope, SourceSpec
from digest.issue.assembly import build_issue
from digest.issue.selection import window_between
from digest.issue.stories import canonical_url
from digest.models import ExclusionKind
from digest.render import render_issue

from conftest import Served, body_route, write
from support.cli import digest as run_digest

Make = Callable[..., Scope]
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


def build(tmp_path: Path, make_settings: Make) -> tuple[Scope, object]:
    settings = make_settings(sources=(SourceSpec(kind="markdown", location="content"),))
    return settings, build_issue(settings, window_between(date(2026, 11, 13), date(2026, 11, 20), settings.newsletter.timezone), NOW)


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


SPOOFING_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Someone else</title><link>https://else.example/</link><description>x</description>
<item><title>Harbour walls collapse, residents told to leave</title><link>https://gazette.example/walls</link>
<pubDate>Sat, 14 Nov 2026 10:00:00 +0000</pubDate><description>Spoofed words on our link.</description></item>
<item><title>Walls of the harbour: the full repair story</title><link>http://www.gazette.example/walls/?utm_source=feed</link>
<pubDate>Sun, 15 Nov 2026 10:00:00 +0000</pubDate><description>More spoofed words.</description></item>
<item><title>Ferry timetable changes from December</title><link>https://else.example/ferry</link>
<pubDate>Mon, 16 Nov 2026 10:00:00 +0000</pubDate><description>Fewer boats on Sundays.</description></item>
</channel></rss>
"""


def test_a_feed_entry_claiming_our_posts_address_never_replaces_it(tmp_path: Path, http_server: Served) -> None:
    """Issue 31, item 4. Reproduction: a feed entry with the URL of a Markdown post and an earlier date was kept
    and the post itself dropped as its duplicate: the issue showed the stranger's title and excerpt on our link.
    Through a real build: our post and a feed served over HTTP, one entry with its exact address, one with a
    copy of it (http, www., a slash and a tracking parameter), which the story folding put above ours."""
    post(tmp_path, "walls", "Harbour walls repaired at last", "Harbour Gazette", "https://gazette.example/walls", 18)
    http_server.routes["/feed.xml"] = body_route(SPOOFING_FEED.encode(), "application/rss+xml")
    result = run_digest(
        *("build", "--source", f"markdown:{tmp_path / 'content'}", "--source", f"feed:{http_server.base}/feed.xml"),
        *("--since", "2026-11-13", "--until", "2026-11-20", "--out", str(tmp_path / "out")),
    )
    assert result.returncode == 0, result.stderr
    model = json.loads(next((tmp_path / "out").glob("*/digest.json")).read_text())
    shown = {p["url"]: p for s in model["sections"] for g in s["outlets"] for p in g["posts"]}
    assert shown["https://gazette.example/walls"]["title"] == "Harbour walls repaired at last"
    assert "Text about walls." in shown["https://gazette.example/walls"]["excerpt"]
    assert not shown["https://gazette.example/walls"]["also"]
    assert "https://else.example/ferry" in shown and len(shown) == 2
    claims = {item["post"]["title"]: item["reason"] for item in model["excluded"]}
    ours = f'carries the address of our post "Harbour walls repaired at last" from markdown:{tmp_path}/content/walls.md under another title: ours is kept'
    assert claims == {"Harbour walls collapse, residents told to leave": ours, "Walls of the harbour: the full repair story": ours}
    assert "Excluded   2 duplicates" in result.stdout


def test_our_post_leads_its_story_and_an_include_of_its_address_keeps_it(tmp_path: Path, make_settings: Make) -> None:
    """Issue 31, item 4: whatever the dates, another source's post never stands above ours. A feed's earlier post
    on the same story (alike titles, another address) is listed under ours as Also in; and the editor's include
    of our address keeps our post, never the feed's entry left out under the same id."""
    post(tmp_path, "walls", "Harbour walls repaired at last after the storm", "Harbour Gazette", "https://gazette.example/walls", 18)
    feed = SPOOFING_FEED.replace("https://else.example/ferry", "https://else.example/walls-story").replace(
        "Ferry timetable changes from December", "Harbour walls repaired at last after storm"
    )
    write(tmp_path / "feeds" / "else.xml", feed)
    write(tmp_path / "content" / "issues" / "2026-11-19.md", "---\ninclude: [https://gazette.example/walls]\n---\n")
    settings = make_settings(sources=(SourceSpec(kind="markdown", location="content"), SourceSpec(kind="feed", location="feeds/else.xml")))
    digest = build_issue(settings, window_between(date(2026, 11, 13), date(2026, 11, 20), settings.newsletter.timezone), NOW)
    ours = next(p for p in digest.posts if p.url == "https://gazette.example/walls")
    assert ours.title == "Harbour walls repaired at last after the storm" and ours.source == "markdown:content/walls.md"
    assert [item.url for item in ours.also] == []  # included: kept apart from the story, by the editor's word
    left_out = {item.post.title for item in digest.excluded}
    assert "Harbour walls collapse, residents told to leave" in left_out  # still listed, not lost behind our post's id
    write(tmp_path / "content" / "issues" / "2026-11-19.md", "---\n---\n")
    digest = build_issue(settings, window_between(date(2026, 11, 13), date(2026, 11, 20), settings.newsletter.timezone), NOW)
    ours = next(p for p in digest.posts if p.url == "https://gazette.example/walls")
    assert ours.title == "Harbour walls repaired at last after the storm"
    assert [item.url for item in ours.also] == ["https://else.example/walls-story"]
