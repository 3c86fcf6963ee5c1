"""The editor preview: every view over real HTTP, the checks on broken fixtures, and a real browser."""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from digest.web.preview import create_preview_app

from conftest import REPO, LiveServer, Served, body_route, http_request, write
from mailserver import SmtpServer
from support.browser import launch, real_browser
from support.preview import WINDOW, page_token
from support.project import make_project
from support.web import FORM

ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture
def preview(tmp_path: Path) -> Iterator[tuple[LiveServer, Path]]:
    config = make_project(tmp_path)
    server = LiveServer(create_preview_app(config))
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
    assert code == 200 and json.loads(model)["issue_id"] == "2025-03-02-b21c5b" and json.loads(model)["checks"] == []
    # as_of means the issue of the latest schedule slot (Fridays 09:00) at or before that moment.
    code, _, page = http_request("GET", f"{server.base}/?as_of=2025-03-07T10:00")
    assert code == 200 and "Golden Gazette Weekly Digest – March 7, 2025" in page


def test_the_headers_box_shows_encoded_words_decoded(preview: tuple[LiveServer, Path]) -> None:
    """Issue 31: the Headers box showed the subject as it goes out, RFC 2047 encoded words and all
    ("Subject: =?utf-8?q?Golden_Gazette…?="). Now it shows it as written; the headers without any, as they are."""
    import lxml.html

    server, _ = preview
    code, _, page = http_request("GET", f"{server.base}/?{WINDOW}")
    assert code == 200
    headers = lxml.html.fromstring(page).get_element_by_id("headers").text_content()
    assert "\nSubject: Golden Gazette Weekly Digest – March 2, 2025\n" in headers
    assert "=?" not in headers, headers
    assert "\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\n" in headers and '\nTo: "Sample Reader" <' in headers


def test_checks_flag_each_broken_case(preview: tuple[LiveServer, Path]) -> None:
    server, config = preview
    broken = (REPO / "digest" / "templates" / "email" / "digest.mjml.j2").read_text(encoding="utf-8")
    anchor = '<mj-text>\n          <p class="kicker">{{ newsletter }}</p>'
    assert anchor in broken  # the test breaks the template there: it must still be there
    broken = broken.replace(
        anchor, '<mj-text>\n          <img src="https://x.example/a.png"><a href="/relative">r</a> {{ "{{" }} left over\n' + anchor[10:]
    )
    link = '<a href="{{ links.unsubscribe }}">{{ _("Unsubscribe in one click") }}</a>'
    assert link in broken
    broken = broken.replace(link, "")
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
    server = LiveServer(create_preview_app(config, watch=False))
    try:
        token = page_token(server)
        body = f"address=editor%40example.org&{WINDOW}&csrf={token}".encode()
        code, _, answer = http_request("POST", f"{server.base}/send-test", body, FORM)
        assert code == 200 and json.loads(answer)["ok"], answer
        [received] = smtp_server.handler.received
        assert received.recipient == "editor@example.org" and received.parse()["Subject"].startswith("[TEST] Golden Gazette")
        assert http_request("POST", f"{server.base}/send-test", f"address=nope&csrf={token}".encode(), FORM)[0] == 400
    finally:
        server.stop()


def test_send_test_needs_the_pages_token_and_this_site(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """Issue 11, finding 1. Reproduction: ``POST /send-test`` with ``address=drive-by@attacker.example`` and
    no token, from any origin, made the preview send the unpublished issue to that address. Now a POST
    without the page's token, with a wrong one, or marked cross-site by the browser is refused, and
    nothing is sent."""
    config = make_project(tmp_path, smtp_server.port)
    server = LiveServer(create_preview_app(config, watch=False))
    try:
        token = page_token(server)
        url = f"{server.base}/send-test"
        body = f"address=drive-by%40attacker.example&{WINDOW}"
        assert http_request("POST", url, body.encode(), FORM)[0] == 403
        assert http_request("POST", url, f"{body}&csrf=guessed".encode(), FORM)[0] == 403
        with_token = f"{body}&csrf={token}".encode()
        for headers in (
            {"Origin": "http://localhost:8766"},
            {"Origin": "null"},
            {"Sec-Fetch-Site": "cross-site"},
            {"Sec-Fetch-Site": "same-site", "Origin": "http://localhost:8766"},
        ):
            code, _, answer = http_request("POST", url, with_token, FORM | headers)
            assert code == 403 and "refused" in answer, headers
        assert smtp_server.handler.received == []
        # The page's own request passes: same origin, with its token.
        same = {"Origin": server.base, "Sec-Fetch-Site": "same-origin"}
        assert http_request("POST", url, f"address=editor%40example.org&{WINDOW}&csrf={token}".encode(), FORM | same)[0] == 200
        assert [r.recipient for r in smtp_server.handler.received] == ["editor@example.org"]
    finally:
        server.stop()


def test_test_sends_are_rate_limited(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """Issue 11, finding 1. Reproduction: 50 test sends went out in 0.67 s. Now the sixth within a minute
    gets a 429 with Retry-After, and is not sent."""
    config = make_project(tmp_path, smtp_server.port)
    server = LiveServer(create_preview_app(config, watch=False))
    try:
        body = f"address=editor%40example.org&{WINDOW}&csrf={page_token(server)}".encode()
        codes = [http_request("POST", f"{server.base}/send-test", body, FORM)[:2] for _ in range(7)]
        assert [code for code, _ in codes] == [200] * 5 + [429] * 2
        assert 1 <= int({k.lower(): v for k, v in codes[5][1].items()}["retry-after"]) <= 60
        assert len(smtp_server.handler.received) == 5
    finally:
        server.stop()


@pytest.mark.parametrize("path", ["/", "/digest.json", "/email.html", "/events"])
def test_only_its_own_host_names_are_answered(preview: tuple[LiveServer, Path], path: str) -> None:
    """Issue 11, finding 1. Reproduction: ``curl -H 'Host: rebind.attacker.example:18000'`` got 200 on
    ``/``, ``/digest.json`` and ``/send-test``: DNS rebinding worked. Now any host but the preview's own
    names gets a 400."""
    server, _ = preview
    code, _, _ = http_request("GET", f"{server.base}{path}", headers={"Host": f"rebind.attacker.example:{server.port}"})
    assert code == 400
    code, _, _ = http_request("POST", f"{server.base}/send-test", b"address=a%40b.example", FORM | {"Host": "rebind.attacker.example"})
    assert code == 400
    if path != "/events":  # a stream: answered, never finished
        assert http_request("GET", f"{server.base}{path}?{WINDOW}", headers={"Host": f"localhost:{server.port}"})[0] == 200


def test_in_a_real_browser(preview: tuple[LiveServer, Path]) -> None:
    sync_playwright, executable = real_browser()  # type: ignore[misc]
    server, config = preview
    ARTIFACTS.mkdir(exist_ok=True)
    flags = ("--disable-quic", "--disable-background-networking", "--disable-component-update", "--disable-sync")
    with sync_playwright() as playwright:  # type: ignore[operator]
        browser = launch(playwright, executable, *flags)
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


def test_a_page_on_another_origin_cannot_send_a_test(tmp_path: Path, smtp_server: SmtpServer, http_server: Served) -> None:
    """Issue 11, finding 1, in a real browser. Reproduction: a page on ``http://localhost:8766`` that
    auto-submits ``<form action=http://127.0.0.1:18000/send-test>`` with ``address=drive-by@attacker.example``
    made the preview send the unpublished issue to that address. Now the browser's request is refused
    and nothing is sent; the preview's own form, in the same browser, still sends."""
    sync_playwright, executable = real_browser()  # type: ignore[misc]
    config = make_project(tmp_path, smtp_server.port)
    server = LiveServer(create_preview_app(config, watch=False))
    attack = (
        f'<!doctype html><form id="f" method="post" action="{server.base}/send-test">'
        '<input name="address" value="drive-by@attacker.example"><input name="csrf" value="guessed"></form>'
        '<script>document.getElementById("f").submit()</script>'
    ).encode()

    http_server.routes["/"] = body_route(attack, "text/html")
    other_origin = http_server.base.replace("127.0.0.1", "localhost")  # another origin, as in the audit
    try:
        with sync_playwright() as playwright:  # type: ignore[operator]
            browser = launch(playwright, executable)
            try:
                page = browser.new_page()
                with page.expect_response(f"{server.base}/send-test") as answer:
                    page.goto(other_origin + "/")
                assert answer.value.status == 403
                assert smtp_server.handler.received == []
                # The editor's own page, same browser: its form carries the token and is same-origin.
                page.goto(f"{server.base}/?{WINDOW}")
                page.fill("#send-test input[name=address]", "editor@example.org")
                page.click("#send-test button")
                page.wait_for_selector("#send-result.ok", timeout=15000)
            finally:
                browser.close()
        assert [r.recipient for r in smtp_server.handler.received] == ["editor@example.org"]
    finally:
        server.stop()


def test_a_bad_query_is_a_400_that_says_what_is_wrong_and_writes_nothing(preview: tuple[LiveServer, Path]) -> None:
    """Issue 21 (low) and 22 item 6. Reproductions: ``?as_of=0001-01-02`` answered 500; ``as_of=9999-12-31``
    wrote content/issues/9999-12-24.md; ``?as_of=garbage`` answered 200 with "Fix the file and save"."""
    server, config = preview
    root = config.parent.parent
    for query, said in (
        ("as_of=garbage", "is not an ISO 8601 date"),
        ("as_of=0001-01-02", "outside the dates digest works with"),
        ("as_of=9999-12-31", "outside the dates digest works with"),
        ("since=2026-11-13&as_of=2026-11-20", "give one or the other"),
    ):
        code, _, page = http_request("GET", f"{server.base}/?{query}")
        assert code == 400 and said in page and "Fix the file" not in page and f"the query ?{query}" in page.replace("&amp;", "&"), query
        token = page_token(server)
        fields = dict(urllib.parse.parse_qsl(query)) | {"csrf": token, "subject": "x", "preheader": "", "intro": ""}
        answer, _, _ = http_request("POST", f"{server.base}/desk/issue", urllib.parse.urlencode(fields).encode(), FORM)
        assert answer == 409, query
    assert not (root / "content" / "issues").exists() or list((root / "content" / "issues").glob("9999-*")) == []
