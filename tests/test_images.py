"""A post's picture: from front matter and from every place a feed may put one; only https; always an alt."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date
from pathlib import Path

import lxml.html
from test_feed_source import gather

from digest.config import Settings, SourceSpec
from digest.issue import build_issue
from digest.models import Image
from digest.render import render_issue
from digest.selection import window_between
from digest.sources.base import first_image

from conftest import write

Make = Callable[..., Settings]


def test_front_matter_image_and_alt(tmp_path: Path, make_settings: Make) -> None:
    write(
        tmp_path / "content" / "a.md",
        '---\ntitle: Pier\ndate: 2026-11-18\nimage: "https://img.example/pier.jpg"\nimage_alt: "The pier at dusk"\n---\n\nBody.\n',
    )
    write(tmp_path / "content" / "b.md", "---\ntitle: Plain\ndate: 2026-11-18\nimage: http://img.example/x.jpg\n---\n\nBody.\n")
    write(tmp_path / "content" / "c.md", "---\ntitle: Decorative\ndate: 2026-11-18\nimage: https://img.example/c.jpg\n---\n\nBody.\n")
    settings = make_settings(sources=(SourceSpec(kind="markdown", location="content"),))
    digest = build_issue(settings, window_between(date(2026, 11, 16), date(2026, 11, 20), settings.timezone), settings_now())
    images = {post.title: post.image for post in digest.posts}
    assert images == {
        "Pier": Image(url="https://img.example/pier.jpg", alt="The pier at dusk"),
        "Decorative": Image(url="https://img.example/c.jpg"),
    }
    [problem] = [p for p in digest.problems if p.where.startswith("content/b.md")]
    assert problem.where == "content/b.md:4" and "image must be an absolute https URL" in problem.message
    # In the email: beside the text, width and height set, alt always present (empty when decorative).
    html = render_issue(digest, settings).html
    thumbs = lxml.html.fromstring(html).find_class("thumb")
    assert {(img.get("src"), img.get("alt")) for img in thumbs} == {
        ("https://img.example/pier.jpg", "The pier at dusk"),
        ("https://img.example/c.jpg", ""),
    }
    assert all(img.get("width") == "120" and img.get("height") == "90" for img in thumbs)
    assert ".thumb { float: none !important;" in html  # above the text on phones
    none = render_issue(digest, dataclasses.replace(settings, images="none")).html
    assert "https://img.example/pier.jpg" not in none


def settings_now() -> object:
    from datetime import UTC, datetime

    return datetime(2026, 11, 20, 9, tzinfo=UTC)


FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>Pictures</title>
<item><title>Thumb</title><link>https://p.example/1</link><pubDate>Wed, 18 Nov 2026 10:00:00 GMT</pubDate>
  <media:thumbnail url="https://img.example/thumb.jpg"/><description>a</description></item>
<item><title>Content</title><link>https://p.example/2</link><pubDate>Wed, 18 Nov 2026 10:00:00 GMT</pubDate>
  <media:content url="https://img.example/video.mp4" type="video/mp4"/><media:content url="https://img.example/content.jpg" medium="image"/><description>b</description></item>
<item><title>Enclosure</title><link>https://p.example/3</link><pubDate>Wed, 18 Nov 2026 10:00:00 GMT</pubDate>
  <enclosure url="https://img.example/enclosure.png" type="image/png" length="100"/><description>c</description></item>
<item><title>Inline</title><link>https://p.example/4</link><pubDate>Wed, 18 Nov 2026 10:00:00 GMT</pubDate>
  <description><![CDATA[<p><img src="http://img.example/insecure.jpg"><img src="https://img.example/inline.jpg" alt="A &quot;quoted&quot; alt"> Text.</p>]]></description></item>
<item><title>None</title><link>https://p.example/5</link><pubDate>Wed, 18 Nov 2026 10:00:00 GMT</pubDate>
  <description><![CDATA[<p><img src="javascript:alert(1)"> No picture.</p>]]></description></item>
</channel></rss>
"""


def test_feed_images_from_every_place(tmp_path: Path, make_settings: Make) -> None:
    feed = write(tmp_path / "pictures.xml", FEED)
    posts, problems = gather(make_settings(), str(feed))
    assert problems == []
    images = {post.title: post.image for post in posts}
    assert images == {
        "Thumb": Image(url="https://img.example/thumb.jpg"),
        "Content": Image(url="https://img.example/content.jpg"),
        "Enclosure": Image(url="https://img.example/enclosure.png"),
        "Inline": Image(url="https://img.example/inline.jpg", alt='A "quoted" alt'),
        "None": None,
    }
    assert all("<img" not in post.excerpt_html for post in posts)  # the picture is the image field, never raw HTML


def test_first_image_takes_only_https_src_and_alt() -> None:
    assert first_image('<img src="https://a.example/x.png" onerror="alert(1)" alt=hi>') == Image(url="https://a.example/x.png", alt="hi")
    assert first_image("<img src='//a.example/x.png'><img src=data:image/png;base64,AAAA>") is None
    assert first_image('<img alt="no src">') is None
