from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from digest.config import Scope, SourceSpec
from digest.sources.markdown import MarkdownSource

from conftest import LONDON, write

GOOD = """---
title: "Trams & buses: a plan"
date: 2026-11-18T08:30:00+00:00
url: https://example.org/trams
outlet: Tram & Town
author: Luis Ferreira
tags: [transport, city]
theme: Getting Around
---

The **first** paragraph, with a [link](https://example.org/more).

A second paragraph that is not in the excerpt.
"""


def gather(settings: Scope, location: str = "content") -> tuple[list, list]:  # type: ignore[type-arg]
    result = MarkdownSource(SourceSpec(kind="markdown", location=location), settings).gather()
    return list(result.posts), list(result.problems)


def test_front_matter_and_first_paragraph(tmp_path: Path, make_settings: Callable[..., Scope]) -> None:
    write(tmp_path / "content" / "a" / "post.md", GOOD)
    posts, problems = gather(make_settings())
    assert problems == []
    [post] = posts
    assert post.title == "Trams & buses: a plan"
    assert post.published == datetime(2026, 11, 18, 8, 30, tzinfo=LONDON)
    assert post.url == "https://example.org/trams"
    assert (post.outlet, post.author, post.theme) == ("Tram & Town", "Luis Ferreira", "Getting Around")
    assert post.tags == ("transport", "city")
    assert post.excerpt_text == "The first paragraph, with a link."
    assert "<strong>first</strong>" in post.excerpt_html
    assert 'href="https://example.org/more"' in post.excerpt_html
    assert "second paragraph" not in post.excerpt_html
    assert post.source == "markdown:content/a/post.md"


def test_summary_wins_and_long_text_is_cut(tmp_path: Path, make_settings: Callable[..., Scope]) -> None:
    write(tmp_path / "content" / "s.md", "---\ntitle: S\ndate: 2026-11-18\nsummary: Short *summary*.\n---\n\nBody.\n")
    write(tmp_path / "content" / "l.md", "---\ntitle: L\ndate: 2026-11-18\n---\n\n" + " ".join(f"w{i}" for i in range(200)) + "\n")
    posts, _ = gather(make_settings(excerpt_words=10))
    by_title = {p.title: p for p in posts}
    assert by_title["S"].excerpt_html == "<p>Short <em>summary</em>.</p>"
    assert by_title["L"].excerpt_text == "w0 w1 w2 w3 w4 w5 w6 w7 w8 w9 …"
    assert by_title["S"].published == datetime(2026, 11, 18, tzinfo=LONDON)


def test_ids_are_stable_and_from_url_else_source_title_date(tmp_path: Path, make_settings: Callable[..., Scope]) -> None:
    write(tmp_path / "content" / "a.md", GOOD)
    write(tmp_path / "content" / "b.md", "---\ntitle: No link\ndate: 2026-11-18\n---\nx\n")
    first, _ = gather(make_settings())
    second, _ = gather(make_settings())
    assert [p.id for p in first] == [p.id for p in second]
    assert len({p.id for p in first}) == 2
    moved = write(tmp_path / "content" / "c.md", GOOD)  # same url, other file: same post
    third, _ = gather(make_settings())
    assert [p.id for p in third].count(first[0].id) == 2
    moved.unlink()


def test_bad_files_are_reported_with_line_and_the_rest_goes_on(tmp_path: Path, make_settings: Callable[..., Scope]) -> None:
    content = tmp_path / "content"
    write(content / "good.md", GOOD)
    write(content / "yaml.md", "---\ntitle: ok\ndate: 2026-11-18\ntags: [unclosed\n---\nbody\n")
    write(content / "date.md", "---\ntitle: ok\noutlet: X\ndate: next tuesday\n---\nbody\n")
    write(content / "latin1.md", "---\ntitle: caf\xe9\ndate: 2026-11-18\n---\n".encode("latin-1"))
    write(content / "empty.md", "")
    write(content / "nofence.md", "Just text, no front matter.\n")
    write(content / "notitle.md", "---\ndate: 2026-11-18\n---\nbody\n")
    write(content / "badurl.md", "---\ntitle: t\ndate: 2026-11-18\nurl: javascript:alert(1)\n---\nbody\n")
    write(content / "list.md", "---\n- a\n- b\n---\nbody\n")
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in content.rglob("*")}

    posts, problems = gather(make_settings())

    assert [p.title for p in posts] == ["Trams & buses: a plan"]
    found = {str(p.where): p.message for p in problems}
    assert "content/yaml.md:4" in found and "not valid YAML" in found["content/yaml.md:4"]
    assert found["content/date.md:4"].startswith("unparsable date 'next tuesday'")
    assert found["content/latin1.md:2"] == "not UTF-8 (byte 0xe9 at offset 14)"
    assert found["content/empty.md"] == "empty file"
    assert "no front matter" in found["content/nofence.md:1"]
    assert "no 'title'" in found["content/notitle.md:2"]
    assert "absolute http(s)" in found["content/badurl.md:4"]
    assert "mapping" in found["content/list.md:2"]
    assert len(problems) == 8
    # Nothing in the content folder was modified, added or removed.
    assert before == {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in content.rglob("*")}


def test_dangerous_html_never_survives(tmp_path: Path, make_settings: Callable[..., Scope]) -> None:
    write(
        tmp_path / "content" / "x.md",
        "---\ntitle: x\ndate: 2026-11-18\n---\n\n"
        '<p onclick="steal()">Hi <script>alert(1)</script><a href="javascript:alert(2)">click</a> '
        '<img src=x onerror=alert(3)><iframe src="https://evil.example"></iframe><a href="https://ok.example" style="x">ok</a></p>\n',
    )
    [post], _ = gather(make_settings())
    lowered = post.excerpt_html.lower()
    for bad in ("<script", "onclick", "javascript:", "onerror", "<iframe", "<img", "style="):
        assert bad not in lowered
    assert 'href="https://ok.example"' in post.excerpt_html
    assert "alert" not in post.excerpt_text


def test_missing_location_is_a_problem_not_a_crash(make_settings: Callable[..., Scope]) -> None:
    posts, problems = gather(make_settings(), "no/such/folder")
    assert posts == []
    assert problems[0].message == "no such file or folder"


LEAD_CASES = [
    "Plain first paragraph.\n\nSecond.",
    "Hello \\*not emphasis\\* and &amp; entities &copy; and `code` spans.",
    "A `code <b>` span.",
    "# Heading first\n\nThen the *paragraph* with a [ref link][r].\n\n[r]: https://example.org/r 'Title'",
    "Setext heading\n===\n\nPara with hard  \nbreak and trailing backslash\\\nbreak.",
    "- tight\n- list\n\nParagraph after a tight list.",
    "- loose\n\n- list\n\nAfter.",
    "> quoted **first**\n> paragraph\n\nAfter the quote.",
    "<div><p>raw html first</p></div>\n\nThen markdown.",
    "Autolink <https://example.org/a> in the first paragraph.",
    "```\ncode\n\nwith a blank line\n```\n\nAfter the fence.",
    "    indented code\n\nAfter the code.",
    "![an image](https://example.org/i.png) alone.",
    "[only]: https://example.org/def",
    "",
    'Ünïcödé — “quotes” and a [link](https://example.org/ü?q=1&r=2 "t").',
    "Link to [javascript](javascript:alert(1)) is dropped.",
    "Text with a <span onclick=x>inline tag</span>.",
    "***\n\nAfter a rule.",
]


def test_lead_html_matches_the_whole_render() -> None:
    """The shortcut for the excerpt gives what rendering the whole body gives, or falls back to it."""
    from digest.sources.base import make_excerpt
    from digest.sources.markdown import _markdown, lead_html, sanitise_html

    shortcuts = 0
    for body in LEAD_CASES:
        whole = sanitise_html(_markdown.render(body))
        shortcuts += lead_html(body) != whole
        assert make_excerpt(lead_html(body), 60) == make_excerpt(whole, 60), body
        assert make_excerpt(lead_html(body), 3) == make_excerpt(whole, 3), body
    assert shortcuts >= 8  # the cases without raw HTML took the shortcut


def test_lead_html_matches_the_whole_render_on_random_bodies() -> None:
    """Bodies made of every kind of block, in random order: the shortcuts must never change the excerpt."""
    import random

    from digest.sources.base import make_excerpt
    from digest.sources.markdown import _markdown, _plain_lead, lead_html, sanitise_html

    lines = ["Plain words here", "more *words* `code`", "# Heading", "  ## Heading indented", "> quoted", "- item", "* star item",
             "+ plus item", "1. first", "2) second", "    indented code", "   three spaces", "\tTabbed", "```", "~~~", "***",
             "---", "===", "___", "[ref]: https://example.org/ref", "see [a link][ref]", "<div>", "a <b>tag</b>", "",
             "", "trailing spaces  ", "back\\\\slash", "\\# not a heading", "&amp; &copy;", "x" * 30, "Über café", "|a|b|",
             "auto <https://example.org>", "_under_ **strong**", "line\r", "12 is a number", "-not a list"]  # fmt: skip
    lines += ["Plain words here", "Another plain line", "with *emphasis* and `code`", "", "trailing spaces  "] * 3
    rng = random.Random(11)
    shortcuts = 0
    for _ in range(3000):
        body = "\n".join(rng.choice(lines) for _ in range(rng.randrange(1, 9)))
        whole = sanitise_html(_markdown.render(body))
        assert make_excerpt(lead_html(body), 60) == make_excerpt(whole, 60), repr(body)
        shortcuts += _plain_lead(body) is not None
    assert shortcuts > 400  # the plain shortcut was taken often enough to be tested
