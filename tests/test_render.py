from __future__ import annotations

import dataclasses
import html
import itertools
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from email.headerregistry import Address
from pathlib import Path

import jinja2
import lxml.html
import pytest

from digest import render_issue
from digest.config import Scope, load_settings
from digest.issue.assembly import build_issue
from digest.issue.selection import window_between
from digest.models import Digest, placeholders
from digest.models.errors import RenderError
from digest.render.checks import check_issue
from digest.render.inline import inline_css
from digest.render.mjml import compile_mjml, split_inline_css

from conftest import FIXTURES, REPO, write
from support.settings import overridden

REPO_TEMPLATES = REPO / "digest" / "templates" / "email"

PROJECT = FIXTURES / "project"
NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def settings() -> Scope:
    return load_settings(PROJECT / "config" / "digest.toml", environ={})


@pytest.fixture(scope="module")
def digest(settings: Scope) -> Digest:
    from datetime import date

    return build_issue(settings, window_between(date(2025, 2, 24), date(2025, 3, 3), settings.newsletter.timezone), NOW)


def test_mjml_media_queries_outlook_blocks_and_doctype_survive_inlining(digest: Digest, settings: Scope) -> None:
    page = render_issue(digest, settings).html
    assert page.startswith("<!doctype html>")
    assert re.search(r"@media only screen and \(min-width:480px\) \{ \.mj-column-per-100 \{ width:100% !important;", page)
    assert "<!--[if mso | IE]>" in page and "<![endif]-->" in page
    assert "<!--[if mso]>" in page
    # The newsletter's own inline CSS is inlined, and its media query stays in the head.
    tree = lxml.html.document_fromstring(page)
    h1 = tree.xpath("//h1")[0]
    assert "font-size:28px" in h1.get("style").replace(" ", "")
    assert "@media only screen and (max-width: 479px)" in page
    assert tree.get("lang") == "en"


def test_no_script_handler_or_javascript_link_reaches_the_html(digest: Digest, settings: Scope) -> None:
    rendered = render_issue(digest, settings)
    lowered = rendered.html.lower()
    assert "<script" not in lowered and "onclick" not in lowered and "javascript:" not in lowered
    assert "alert" not in rendered.html and "alert" not in rendered.text


def test_text_is_escaped_in_html_and_plain_in_text(digest: Digest, settings: Scope) -> None:
    rendered = render_issue(digest, settings)
    assert "Ferry fares &lt;frozen&gt; for a year &amp; a day" in rendered.html
    assert "Ferry fares <frozen> for a year & a day" in rendered.text
    assert "&amp;" not in rendered.text and "&lt;" not in rendered.text
    assert 'href="https://golden.example/ferry?a=1&amp;b=2"' in rendered.html


def test_post_without_url_has_no_dead_link(digest: Digest, settings: Scope) -> None:
    rendered = render_issue(digest, settings)
    tree = lxml.html.document_fromstring(rendered.html)
    heading = next(h for h in tree.xpath("//h3") if "harbour wall" in h.text_content())
    assert heading.xpath(".//a") == []
    assert all(a.get("href") for a in tree.iter("a"))
    text_line = next(line for line in rendered.text.splitlines() if "A long read" in line)
    assert "[" not in text_line  # no reference number for a post with no link


def test_plain_text_lines_fit_78_columns_and_links_are_numbered(digest: Digest, settings: Scope) -> None:
    text = render_issue(digest, settings).text
    for line in text.splitlines():
        assert len(line) <= 78 or re.fullmatch(r"(\[\d+\] )?\S+", line), line
    assert "* Ferry fares <frozen> for a year & a day [1]" in text
    assert "[1] https://golden.example/ferry?a=1&b=2" in text
    assert "\n-- \n" in text  # the signature separator keeps its space


def test_preheader_view_in_browser_and_unsubscribe_placeholders(digest: Digest, settings: Scope) -> None:
    rendered = render_issue(digest, settings)
    assert html.escape(rendered.preheader) in rendered.html
    assert f"https://golden.example/archive/{digest.issue_id}/" in rendered.html
    assert f"https://golden.example/archive/{digest.issue_id}/" in rendered.text
    for part in (rendered.html, rendered.text):
        assert placeholders.UNSUBSCRIBE_URL in part
        assert placeholders.RECIPIENT_EMAIL in part
    assert rendered.checks == ()


def test_split_inline_css_takes_only_inline_blocks() -> None:
    source = '<mjml><mj-head><mj-style inline="inline">.a{color:red}</mj-style><mj-style>.b{color:blue}</mj-style></mj-head></mjml>'
    rest, css = split_inline_css(source)
    assert css == ".a{color:red}"
    assert "mj-style>.b{color:blue}" in rest and "inline" not in rest


def test_inline_css_leaves_mjml_styles_alone() -> None:
    html = compile_mjml(
        "<mjml><mj-body><mj-section><mj-column><mj-text css-class='x'>Hi</mj-text></mj-column></mj-section></mj-body></mjml>"
    )
    result = inline_css(html, "p { color: red } .x { color: blue }")
    assert html.count("<style") == result.count("<style")
    assert "!important" in result


def test_mjml_errors_become_render_errors() -> None:
    with pytest.raises(RenderError, match="MJML error"):
        compile_mjml("<mjml><mj-body><mj-section>")


def test_template_errors_name_the_file_and_line(tmp_path: Path, settings: Scope, digest: Digest) -> None:
    write(tmp_path / "digest.mjml.j2", "<mjml>\n<mj-body>\n{% if %}\n</mj-body></mjml>\n")
    broken = overridden(settings, templates_dir=tmp_path)
    with pytest.raises(RenderError) as caught:
        render_issue(digest, broken)
    assert caught.value.where.endswith("digest.mjml.j2:3")


def test_editor_templates_override_the_bundled_ones(tmp_path: Path, settings: Scope, digest: Digest) -> None:
    write(tmp_path / "digest.txt.j2", "Custom {{ digest.title }}\n{{ links.unsubscribe }}\n")
    rendered = render_issue(digest, overridden(settings, templates_dir=tmp_path))
    assert rendered.text.startswith("Custom Golden Gazette Weekly Digest")
    assert "<mjml" not in rendered.html  # the HTML template still comes from the package


def test_templates_compile_once_and_an_edit_or_a_new_override_is_seen_at_once(
    tmp_path: Path, settings: Scope, digest: Digest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compiled templates are kept between renders, keyed by file and source: the preview's next render shows an
    edit made within the same clock tick (same size, same mtime) and a file that newly shadows the package's."""
    mine = overridden(settings, templates_dir=tmp_path)
    render_issue(digest, mine)  # the package's two templates, compiled (or already) and kept
    compiled: list[str | None] = []
    real_compile = jinja2.Environment.compile

    def counting(self: jinja2.Environment, source: str, name: str | None = None, *args: object, **kwargs: object) -> object:
        compiled.append(name)
        return real_compile(self, source, name, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    again = render_issue(digest, mine)
    assert compiled == []
    text = tmp_path / "digest.txt.j2"
    write(text, "First {{ digest.title }}\n{{ links.unsubscribe }}\n")
    assert render_issue(digest, mine).text.startswith("First Golden Gazette")
    stamp = text.stat()
    write(text, "Other {{ digest.title }}\n{{ links.unsubscribe }}\n")
    os.utime(text, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    edited = render_issue(digest, mine)
    assert edited.text.startswith("Other Golden Gazette")
    assert compiled == ["digest.txt.j2", "digest.txt.j2"]
    assert edited.html == again.html


def test_a_day_is_worked_out_at_each_render_never_kept_from_the_compile(
    tmp_path: Path, settings: Scope, digest: Digest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``None|day`` is today for Babel: a compiled template kept between renders must not keep the day it was compiled."""
    import digest.render.templates as templates

    calls = itertools.count(1)
    monkeypatch.setattr(templates, "format_day", lambda moment, language, with_year: f"day {next(calls)}")
    write(tmp_path / "digest.txt.j2", "Today {{ none|day }}\n{{ links.unsubscribe }}\n")
    mine = overridden(settings, templates_dir=tmp_path)
    first, second = (render_issue(digest, mine).text.splitlines()[0] for _ in range(2))
    assert first.startswith("Today day ") and second.startswith("Today day ") and first != second


def _checks(digest: Digest, html: str, text: str, subject: str = "Subject") -> dict[str, str]:
    return {c.code: c.level for c in check_issue(digest, subject, html, text)}


def test_checks_flag_each_broken_case(digest: Digest) -> None:
    unsub = f'<a href="{placeholders.UNSUBSCRIBE_URL}">u</a>'
    good_html = f'<html lang="en"><body>{unsub}</body></html>'
    good_text = f"Hello\n{placeholders.UNSUBSCRIBE_URL}\n"
    assert _checks(digest, good_html, good_text) == {}
    assert _checks(digest, good_html.replace(unsub, ""), good_text)["unsubscribe"] == "error"
    assert _checks(digest, good_html, "Hello\n")["unsubscribe"] == "error"
    assert _checks(digest, good_html.replace("<body>", '<body><img src="https://x/a.png">'), good_text)["img-alt"] == "error"
    assert _checks(digest, good_html.replace("<body>", '<body><a href="/relative">r</a>'), good_text)["links"] == "error"
    assert _checks(digest, good_html.replace("<body>", "<body>{{ oops }}"), good_text)["leftover-markup"] == "error"
    assert _checks(digest, good_html.replace("<body>", "<body><mj-text>"), good_text)["leftover-markup"] == "error"
    assert _checks(digest, good_html, good_text + "x" * 79 + "\n")["text-width"] == "warning"
    assert _checks(digest, good_html.replace("<body>", "<body>" + "x" * 105_000), good_text)["html-size"] == "error"
    assert _checks(digest, good_html.replace(' lang="en"', ""), good_text)["lang"] == "warning"
    assert _checks(digest, good_html, good_text, subject="")["subject"] == "error"
    assert _checks(digest, good_html, good_text, subject="s" * 90)["subject"] == "warning"
    empty = dataclasses.replace(digest, sections=())
    assert _checks(empty, good_html, good_text)["empty-issue"] == "error"


def test_sender_display_name_is_escaped(settings: Scope, digest: Digest) -> None:
    hostile = overridden(settings, sender=Address("<b>Bold</b>", "news", "golden.example"))
    assert "&lt;b&gt;Bold&lt;/b&gt;" in render_issue(digest, hostile).html


def test_build_reports_bad_sources_and_still_renders(make_settings: Callable[..., Scope], tmp_path: Path) -> None:
    write(tmp_path / "content" / "bad.md", "---\ntitle: [\n---\n")
    write(tmp_path / "content" / "good.md", "---\ntitle: Good\ndate: 2026-11-18\n---\nA tram.\n")
    from digest.config import SourceSpec

    settings = make_settings(
        sources=(SourceSpec(kind="markdown", location="content"), SourceSpec(kind="feed", location="http://127.0.0.1:9/x"))
    )
    from datetime import date

    built = build_issue(settings, window_between(date(2026, 11, 13), date(2026, 11, 20), settings.newsletter.timezone), NOW)
    assert [p.title for p in built.posts] == ["Good"]
    assert [p.where.split(":")[0] for p in built.problems] == ["content/bad.md", "http"]
    assert built.stats.problems == 2
    assert render_issue(built, settings).html


def test_template_syntax_in_content_is_content_not_leftover_markup(make_settings: Callable[..., Scope], tmp_path: Path) -> None:
    """A post about Jinja is content: the leftover-markup check judges the templates only."""
    write(
        tmp_path / "content" / "jinja.md",
        '---\ntitle: "Why {{ 7*7 }} prints 49, and {% raw %} does not"\ndate: 2026-11-18T10:00:00Z\n'
        "url: https://example.org/jinja\n---\n\nTemplates use <mj-text> and {{ braces }}; here they are only words.\n",
    )
    from digest.config import SourceSpec

    settings = make_settings(sources=(SourceSpec(kind="markdown", location="content"),))
    window = window_between(datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC), settings.newsletter.timezone)
    digest = build_issue(settings, window, datetime(2026, 11, 20, tzinfo=UTC))
    rendered = render_issue(digest, settings)
    assert "Why {{ 7*7 }} prints 49" in rendered.text and "Why {{ 7*7 }} prints 49" in rendered.html
    assert "leftover-markup" not in {check.code for check in rendered.checks}
    # The same content with a template that does leave markup behind is still caught.
    templates = tmp_path / "templates"
    bundled = (REPO_TEMPLATES / "digest.txt.j2").read_text(encoding="utf-8")
    write(templates / "digest.txt.j2", bundled + "\n{{ '{{' }} oops\n")
    broken = render_issue(digest, overridden(settings, templates_dir=templates))
    assert "leftover-markup" in {check.code for check in broken.errors}
