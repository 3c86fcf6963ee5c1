"""A post's picture: from front matter and from every place a feed may put one; only https; always an alt."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import lxml.html

from digest.config import Scope, SourceSpec
from digest.issue.assembly import build_issue
from digest.issue.selection import window_between
from digest.models import Image
from digest.render import render_issue
from digest.sources.base import first_image

from conftest import Served, body_route, write
from support.feeds import gather
from support.settings import overridden

Make = Callable[..., Scope]


def test_front_matter_image_and_alt(tmp_path: Path, make_settings: Make) -> None:
    write(
        tmp_path / "content" / "a.md",
        '---\ntitle: Pier\ndate: 2026-11-18\nimage: "https://img.example/pier.jpg"\nimage_alt: "The pier at dusk"\n---\n\nBody.\n',
    )
    write(tmp_path / "content" / "b.md", "---\ntitle: Plain\ndate: 2026-11-18\nimage: http://img.example/x.jpg\n---\n\nBody.\n")
    write(tmp_path / "content" / "c.md", "---\ntitle: No alt given\ndate: 2026-11-18\nimage: https://img.example/c.jpg\n---\n\nBody.\n")
    write(
        tmp_path / "content" / "d.md",
        '---\ntitle: Decorative\ndate: 2026-11-18\nimage: https://img.example/d.jpg\nimage_alt: ""\n---\n\nBody.\n',
    )
    settings = make_settings(sources=(SourceSpec(kind="markdown", location="content"),))
    digest = build_issue(settings, window_between(date(2026, 11, 16), date(2026, 11, 20), settings.newsletter.timezone), settings_now())
    images = {post.title: post.image for post in digest.posts}
    assert images == {
        "Pier": Image(url="https://img.example/pier.jpg", alt="The pier at dusk"),
        "No alt given": Image(url="https://img.example/c.jpg"),
        "Decorative": Image(url="https://img.example/d.jpg", alt=""),
    }
    [problem] = [p for p in digest.problems if p.where.startswith("content/b.md")]
    assert problem.where == "content/b.md:4" and "image must be an absolute https URL" in problem.message
    # In the email: beside the text, 120 px wide, alt always present: the source's, empty when it marks the picture
    # decorative, else the post's title (issue 22, item 20: the lead picture is never informative-but-silent).
    html = render_issue(digest, settings).html
    thumbs = lxml.html.fromstring(html).find_class("thumb")
    assert {(img.get("src"), img.get("alt")) for img in thumbs} == {
        ("https://img.example/pier.jpg", "The pier at dusk"),
        ("https://img.example/c.jpg", "No alt given"),
        ("https://img.example/d.jpg", ""),
    }
    # No size from the source: no height, so a blocked picture keeps no empty box.
    assert all(img.get("width") == "120" and img.get("height") is None for img in thumbs)
    assert ".thumb { float: none !important;" in html  # above the text on phones
    none = render_issue(digest, overridden(settings, images="none")).html
    assert "https://img.example/pier.jpg" not in none


def settings_now() -> object:
    from datetime import UTC, datetime

    return datetime(2026, 11, 20, 9, tzinfo=UTC)


FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>Pictures</title>
<item><title>Thumb</title><link>https://p.example/1</link><pubDate>Wed, 18 Nov 2026 10:00:00 GMT</pubDate>
  <media:thumbnail url="https://img.example/thumb.jpg" width="240" height="160"/><description>a</description></item>
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
        "Thumb": Image(url="https://img.example/thumb.jpg", width=240, height=160),
        "Content": Image(url="https://img.example/content.jpg"),
        "Enclosure": Image(url="https://img.example/enclosure.png"),
        "Inline": Image(url="https://img.example/inline.jpg", alt='A "quoted" alt'),
        "None": None,
    }
    assert all("<img" not in post.excerpt_html for post in posts)  # the picture is the image field, never raw HTML


def test_a_picture_whose_size_the_source_gave_keeps_no_box_when_images_are_blocked(tmp_path: Path, make_settings: Make) -> None:
    """Issue 31. Reproduction: a feed's media:thumbnail with width 240 and height 160 gave the picture a height
    attribute (80); a client that blocks images keeps that box (319 × 239 on a phone, where the width is the
    column's and the height follows the attributes' shape). Now no picture has a height, in attributes or CSS:
    the width alone, and its own shape once loaded."""
    feed = write(tmp_path / "pictures.xml", FEED)
    settings = make_settings(sources=(SourceSpec(kind="feed", location=str(feed)),))
    digest = build_issue(settings, window_between(date(2026, 11, 16), date(2026, 11, 20), settings.newsletter.timezone), settings_now())
    assert Image(url="https://img.example/thumb.jpg", width=240, height=160) in {post.image for post in digest.posts}
    thumbs = lxml.html.fromstring(render_issue(digest, settings).html).find_class("thumb")
    assert len(thumbs) == 4 and "https://img.example/thumb.jpg" in {img.get("src") for img in thumbs}
    for img in thumbs:
        assert img.get("width") == "120" and img.get("height") is None, lxml.html.tostring(img)
        assert "height" not in (img.get("style") or ""), img.get("style")  # nor a CSS height that a client keeps


def test_first_image_takes_only_https_src_and_alt() -> None:
    assert first_image('<img src="https://a.example/x.png" onerror="alert(1)" alt=hi>') == Image(url="https://a.example/x.png", alt="hi")
    assert first_image('<img src="https://a.example/x.png" width="300" height="200px">') == Image(
        url="https://a.example/x.png", width=300, height=200
    )
    assert first_image('<img src="https://a.example/x.png" alt="" width="300">') == Image(url="https://a.example/x.png", alt="")
    assert first_image("<img src='//a.example/x.png'><img src=data:image/png;base64,AAAA>") is None
    assert first_image('<img alt="no src">') is None


def _png(width: int, height: int) -> bytes:
    """A plain grey PNG of this size (zlib and struct: no imaging library needed)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80\x80\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def test_on_a_phone_a_picture_is_never_enlarged_and_a_blocked_one_keeps_no_box(
    tmp_path: Path, make_settings: Make, http_server: Served
) -> None:
    """Issue 22, item 20. Reproduction: at 375 px a 240 px picture was shown 319 × 200 (enlarged), and with images
    blocked a 200 px blank box stayed. In Debian's chromium, at 375 px: the loaded picture is at most its own
    240 px, the desktop one 120 px, and a picture that does not load takes no more than a line."""
    from support.browser import launch, real_browser

    sync_playwright, executable = real_browser()  # type: ignore[misc]
    write(
        tmp_path / "content" / "a.md",
        "---\ntitle: Pier\ndate: 2026-11-18\nimage: https://img.example/pier.png\nimage_alt: The pier\n---\n\nBody.\n",
    )
    settings = make_settings(sources=(SourceSpec(kind="markdown", location="content"),))
    digest = build_issue(settings, window_between(date(2026, 11, 16), date(2026, 11, 20), settings.newsletter.timezone), settings_now())
    html = render_issue(digest, settings).html
    http_server.routes["/pier.png"] = body_route(_png(240, 160), "image/png")
    http_server.routes["/loaded.html"] = body_route(
        html.replace("https://img.example/pier.png", f"{http_server.base}/pier.png").encode(), "text/html"
    )
    http_server.routes["/blocked.html"] = body_route(
        html.replace("https://img.example/pier.png", f"{http_server.base}/gone.png").encode(), "text/html"
    )
    sizes = {}
    with sync_playwright() as playwright:  # type: ignore[operator]
        browser = launch(playwright, executable)
        try:
            for width in (375, 320, 800):
                for page_name in ("loaded", "blocked"):
                    page = browser.new_page(viewport={"width": width, "height": 900})
                    page.goto(f"{http_server.base}/{page_name}.html")
                    page.wait_for_load_state("load")
                    sizes[(width, page_name)] = page.evaluate(
                        "(() => { const r = document.querySelector('img.thumb').getBoundingClientRect(); return [r.width, r.height]; })()"
                    )
                    page.close()
        finally:
            browser.close()
    for width in (375, 320):
        loaded_w, loaded_h = sizes[(width, "loaded")]
        assert loaded_w <= 240 and abs(loaded_h - loaded_w * 160 / 240) < 2, (width, sizes)  # its own shape, never enlarged
        assert sizes[(width, "blocked")][1] <= 30, (width, sizes)  # no blank box
    assert sizes[(800, "loaded")] == [120, 80], sizes  # beside the text on a desktop, its shape kept


def test_a_sized_picture_that_does_not_load_takes_no_more_than_a_line_in_a_browser(
    tmp_path: Path, make_settings: Make, http_server: Served
) -> None:
    """Issue 31, in Debian's chromium: the feed's picture with its size given (240 × 160) that does not load was
    a 319 × 239 blank at 375 px; now it takes no more than a line, at 375 px and on a desktop."""
    from support.browser import launch, real_browser

    sync_playwright, executable = real_browser()  # type: ignore[misc]
    feed = write(tmp_path / "pictures.xml", FEED)
    settings = make_settings(sources=(SourceSpec(kind="feed", location=str(feed)),))
    digest = build_issue(settings, window_between(date(2026, 11, 16), date(2026, 11, 20), settings.newsletter.timezone), settings_now())
    html = render_issue(digest, settings).html.replace("https://img.example/thumb.jpg", f"{http_server.base}/gone.jpg")
    http_server.routes["/blocked.html"] = body_route(html.encode(), "text/html")
    heights = {}
    with sync_playwright() as playwright:  # type: ignore[operator]
        browser = launch(playwright, executable)
        try:
            for width in (375, 800):
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.goto(f"{http_server.base}/blocked.html")
                page.wait_for_load_state("load")
                heights[width] = page.evaluate(
                    f"document.querySelector('img[src=\"{http_server.base}/gone.jpg\"]').getBoundingClientRect().height"
                )
                page.close()
        finally:
            browser.close()
    assert all(height <= 30 for height in heights.values()), heights
