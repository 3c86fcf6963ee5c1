"""The editor preview: every view over real HTTP, the checks on broken fixtures, and a real browser."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from digest.web.preview import create_app

from conftest import FIXTURES, REPO, LiveServer, http_request, write
from mailserver import SmtpServer

ARTIFACTS = REPO / "test-artifacts"
WINDOW = "since=2025-02-24&until=2025-03-03"


def make_project(tmp_path: Path, smtp_port: int | None = None) -> Path:
    """A copy of the fixture project (content, templates, config) that a test may edit."""
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "project", project)
    shutil.copy(FIXTURES / "archives" / "harbour-watch.txt", project / "content" / "harbour-watch.txt")
    config = project / "config" / "digest.toml"
    text = config.read_text(encoding="utf-8").replace("../archives/harbour-watch.txt", "content/harbour-watch.txt")
    text += f'\n[output]\ntemplates = "templates"\n[store]\nurl = "sqlite:///{tmp_path / "db.sqlite"}"\n'
    if smtp_port:
        text += f'\n[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\n'
    config.write_text(text, encoding="utf-8")
    (project / "templates").mkdir()
    return config


@pytest.fixture
def preview(tmp_path: Path) -> Iterator[tuple[LiveServer, Path]]:
    config = make_project(tmp_path)
    server = LiveServer(create_app(config))
    yield server, config
    server.stop()


def test_every_view_answers(preview: tuple[LiveServer, Path]) -> None:
    server, _ = preview
    code, _, page = http_request("GET", f"{server.base}/?{WINDOW}")
    assert code == 200
    for part in (
        'id="subject"',
        "Golden Gazette Weekly Digest – March 2, 2025",
        'id="desktop"',
        'id="phone"',
        'id="text"',
        'id="headers"',
        "All checks passed.",
    ):
        assert part in page
    assert "matched &#34;ferry&#34; in title" in page or 'matched "ferry" in title' in page  # theme reasons
    assert 'id="excluded"' in page and "before the window" in page  # excluded posts, with why
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in page and "To: &#34;Sample Reader&#34;" in page
    code, _, html = http_request("GET", f"{server.base}/email.html?{WINDOW}")
    assert code == 200 and html.startswith("<!doctype html>") and "%%" not in html
    code, _, text = http_request("GET", f"{server.base}/email.txt?{WINDOW}")
    assert code == 200 and "Ferry fares <frozen> for a year & a day" in text
    code, _, model = http_request("GET", f"{server.base}/digest.json?{WINDOW}")
    assert code == 200 and json.loads(model)["issue_id"] == "2025-03-02-0e7ceb" and json.loads(model)["checks"] == []
    # as_of means the issue of the latest schedule slot (Fridays 09:00) at or before that moment.
    code, _, page = http_request("GET", f"{server.base}/?as_of=2025-03-07T10:00")
    assert code == 200 and "Golden Gazette Weekly Digest – March 7, 2025" in page


def test_checks_flag_each_broken_case(preview: tuple[LiveServer, Path]) -> None:
    server, config = preview
    broken = (REPO / "digest" / "templates" / "email" / "digest.mjml.j2").read_text(encoding="utf-8")
    broken = broken.replace(
        "<mj-text>\n          <h2>{{ newsletter }}</h2>",
        '<mj-text>\n          <img src="https://x.example/a.png"><a href="/relative">r</a> {{ "{{" }} left over\n          <h2>{{ newsletter }}</h2>',
    )
    broken = broken.replace('<a href="{{ links.unsubscribe }}">Unsubscribe</a>', "")
    write(config.parent.parent / "templates" / "digest.mjml.j2", broken)
    write(config.parent.parent / "templates" / "digest.txt.j2", "{{ digest.title }}\n" + "x" * 90 + "\n{{ links.unsubscribe }}\n")
    _, _, page = http_request("GET", f"{server.base}/?{WINDOW}")
    for code in ("img-alt", "links", "leftover-markup", "unsubscribe", "text-width"):
        assert f'data-code="{code}"' in page, code
    assert "would stop a send" in page


def test_template_errors_are_shown_on_the_page(preview: tuple[LiveServer, Path]) -> None:
    server, config = preview
    write(config.parent.parent / "templates" / "digest.txt.j2", "line one\n{% if %}\n")
    code, _, page = http_request("GET", f"{server.base}/?{WINDOW}")
    assert code == 200 and 'id="failure"' in page and "digest.txt.j2:2" in page
    config.write_text(config.read_text() + '\n[window]\ndays = "seven"\n')
    code, _, page = http_request("GET", f"{server.base}/?{WINDOW}")
    assert code == 200 and 'id="failure"' in page  # the server survives a broken config too


def test_send_a_test_from_the_page(tmp_path: Path, smtp_server: SmtpServer) -> None:
    config = make_project(tmp_path, smtp_server.port)
    server = LiveServer(create_app(config, watch=False))
    try:
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        code, _, body = http_request("POST", f"{server.base}/send-test", f"address=editor%40example.org&{WINDOW}".encode(), form)
        assert code == 200 and json.loads(body)["ok"], body
        [received] = smtp_server.handler.received
        assert received.recipient == "editor@example.org" and received.parse()["Subject"].startswith("[TEST] Golden Gazette")
        assert http_request("POST", f"{server.base}/send-test", b"address=nope", form)[0] == 400
    finally:
        server.stop()


def _browser() -> object:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("Debian's chromium is not installed (make test installs it with apt-get when run as root)")
    return sync_playwright, executable


def test_in_a_real_browser(preview: tuple[LiveServer, Path]) -> None:
    sync_playwright, executable = _browser()  # type: ignore[misc]
    server, config = preview
    ARTIFACTS.mkdir(exist_ok=True)
    flags = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    with sync_playwright() as playwright:  # type: ignore[operator]
        browser = playwright.chromium.launch(executable_path=executable, args=flags)
        try:
            page = browser.new_page(viewport={"width": 1024, "height": 900})
            page.goto(f"{server.base}/?{WINDOW}")
            page.wait_for_selector("#subject")
            phone = page.frame_locator("#phone")
            phone.locator("h1").wait_for()
            page.screenshot(path=str(ARTIFACTS / "preview-1024.png"), full_page=True)
            # The phone frame is 375 px wide and its email has no horizontal scroll.
            frame = page.frame(url=lambda url: "email.html" in url)
            assert frame is not None
            widths = [
                f.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
                for f in page.frames
                if "email.html" in f.url
            ]
            assert any(client == 375 for _, client in widths), widths
            assert all(scroll <= client for scroll, client in widths), widths
            small = browser.new_page(viewport={"width": 375, "height": 800})
            small.goto(f"{server.base}/email.html?{WINDOW}")
            assert small.evaluate("document.documentElement.scrollWidth") <= 375
            small.screenshot(path=str(ARTIFACTS / "email-375.png"), full_page=True)
            # Editing a content file updates the open page, with no reload by the test.
            marker = page.evaluate("document.body.dataset.version")
            post = config.parent.parent / "content" / "posts" / "three.md"
            post.write_text(
                post.read_text(encoding="utf-8").replace("Choir concert in the net loft", "Choir concert moved to the lifeboat house"),
                encoding="utf-8",
            )
            page.wait_for_function(f"document.body && document.body.dataset.version !== {json.dumps(marker)}", timeout=15000)
            page.wait_for_selector("text=Choir concert moved to the lifeboat house", timeout=15000)
        finally:
            browser.close()
    assert os.path.getsize(ARTIFACTS / "preview-1024.png") > 10_000
