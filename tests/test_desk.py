"""The editor's desk in the preview: each action writes the issue file, and the page shows the new build."""

from __future__ import annotations

import html
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from digest.config import load_settings
from digest.issue.editorial import read_issue_file
from digest.store import Store
from digest.web.preview import create_preview_app

from conftest import LiveServer, Served, body_route, http_request
from support.browser import launch, real_browser
from support.preview import WINDOW, page_token
from support.project import make_project
from support.web import FORM, post

ISSUE_FILE = "content/issues/2025-03-02.md"


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[tuple[LiveServer, Path]]:
    config = make_project(tmp_path)
    server = LiveServer(create_preview_app(config, watch=False))
    yield server, config
    server.stop()


def model(server: LiveServer) -> dict[str, object]:
    code, _, body = http_request("GET", f"{server.base}/digest.json?{WINDOW}")
    assert code == 200
    data: dict[str, object] = json.loads(body)
    return data


def titles(data: dict[str, object]) -> list[str]:
    return [post["title"] for section in data["sections"] for group in section["outlets"] for post in group["posts"]]  # type: ignore[attr-defined,index]


def refs(server: LiveServer) -> dict[str, str]:
    """Each post's title → the ref the desk's forms carry, read off the page."""
    _, _, page = http_request("GET", f"{server.base}/?{WINDOW}")
    found = re.findall(
        r'<tr id="(?:post|excluded)-[0-9a-f]+" data-ref="([^"]+)"><td>[^<]*</td><td>[^<]*</td><td>(?:<span[^>]*>[^<]*</span>)?([^<]+)</td>',
        page,
    )
    return {html.unescape(title): html.unescape(ref) for ref, title in found}


def act(server: LiveServer, token: str, action: str, ref: str, value: str = "") -> tuple[int, dict[str, str]]:
    fields = {"csrf": token, "action": action, "post": ref, "value": value} | dict(urllib.parse.parse_qsl(WINDOW))
    return post(f"{server.base}/desk/post", fields)


def test_each_action_writes_the_file_and_the_build_follows(desk: tuple[LiveServer, Path]) -> None:
    server, config = desk
    root = config.parent.parent
    token = page_token(server)
    before = titles(model(server))
    assert len(before) >= 3
    posts = refs(server)
    first, second = before[0], before[1]
    # Exclude: the post leaves the issue and the file says so; a 303 takes the browser back to the page.
    code, headers = act(server, token, "exclude", posts[first])
    assert code == 303 and headers["location"] == f"/?{WINDOW}", headers
    issue_file = read_issue_file(root / ISSUE_FILE, load_settings(config, environ={}))
    assert [ref.text for ref in issue_file.exclude] == [posts[first]]
    data = model(server)
    assert first not in titles(data)
    assert any(item["post"]["title"] == first and item["reason"] == "excluded by the editor" for item in data["excluded"])  # type: ignore[attr-defined,index]
    # Include takes it back (the editor's own exclude is removed, not countered).
    act(server, token, "include", posts[first])
    assert first in titles(model(server))
    assert read_issue_file(root / ISSUE_FILE, load_settings(config, environ={})).exclude == ()
    # A note, then a theme change.
    act(server, token, "note", posts[second], "Worth your  time.")
    data = model(server)
    assert "Worth your time." in data["editorial"]["notes"].values()  # type: ignore[index,union-attr]
    settings = load_settings(config, environ={})
    current = next(s["theme"] for s in data["sections"] if second in [p["title"] for g in s["outlets"] for p in g["posts"]])  # type: ignore[attr-defined]
    target = next(name for name in [*(t.name for t in settings.newsletter.themes), settings.newsletter.fallback_theme] if name != current)
    code, _ = act(server, token, "theme", posts[second], target)
    assert code == 303
    data = model(server)
    [section] = [s for s in data["sections"] if s["theme"] == target]  # type: ignore[attr-defined]
    assert second in [p["title"] for g in section["outlets"] for p in g["posts"]]
    # An unknown action or theme is refused, and changes nothing.
    text = (root / ISSUE_FILE).read_text(encoding="utf-8")
    assert act(server, token, "delete", posts[second])[0] == 400
    assert act(server, token, "theme", posts[second], "No such theme")[0] == 400
    assert act(server, token, "pin", "https://elsewhere.example/x")[0] == 400
    assert (root / ISSUE_FILE).read_text(encoding="utf-8") == text


def test_pin_and_move_reorder_a_section(desk: tuple[LiveServer, Path]) -> None:
    server, config = desk
    token = page_token(server)
    data = model(server)
    [section] = [s for s in data["sections"] if sum(len(g["posts"]) for g in s["outlets"]) >= 2]  # type: ignore[attr-defined]
    order = [p["title"] for g in section["outlets"] for p in g["posts"]]
    posts = refs(server)
    last = order[-1]
    act(server, token, "up", posts[last])  # up on an unpinned post pins it: to the top of its section
    after = next(s for s in model(server)["sections"] if s["theme"] == section["theme"])  # type: ignore[attr-defined,index]
    assert next(p["title"] for g in after["outlets"] for p in g["posts"]) == last
    act(server, token, "pin", posts[order[0]])
    act(server, token, "up", posts[order[0]])  # above the other pin
    after = next(s for s in model(server)["sections"] if s["theme"] == section["theme"])  # type: ignore[attr-defined,index]
    # The rule (issue 22, item 3): the pinned posts' outlets move up whole, in the order of the pins, each
    # pinned post leading its outlet; no outlet is split into two groups with the same heading.
    groups = [(g["outlet"], [p["title"] for p in g["posts"]]) for g in after["outlets"]]  # type: ignore[index]
    assert groups[0][1][0] == order[0]
    holding_last = next(n for n, (_, titles) in enumerate(groups) if last in titles)
    assert holding_last in (0, 1) and (holding_last == 1 or groups[0][1][:2] == [order[0], last])
    assert groups[holding_last][1][0 if holding_last else 1] == last
    assert len({outlet for outlet, _ in groups}) == len(groups)
    act(server, token, "down", posts[order[0]])
    act(server, token, "down", posts[order[0]])  # down past the last pin: unpinned
    pins = read_issue_file(config.parent.parent / ISSUE_FILE, load_settings(config, environ={})).pin
    assert [ref.text for ref in pins] == [posts[last]]


def test_the_issue_form_sets_subject_preheader_and_intro(desk: tuple[LiveServer, Path]) -> None:
    server, _ = desk
    fields = {
        "csrf": page_token(server),
        "subject": "Tides,  ferries and a choir",
        "preheader": "What changed at the harbour",
        "intro": "Hello **readers**.\r\n\r\nSecond paragraph.",
    } | dict(urllib.parse.parse_qsl(WINDOW))
    code, headers = post(f"{server.base}/desk/issue", fields)
    assert code == 303 and headers["location"] == f"/?{WINDOW}"
    _, _, page = http_request("GET", f"{server.base}/?{WINDOW}")
    assert '<h1 id="subject">Tides, ferries and a choir</h1>' in page
    _, _, html = http_request("GET", f"{server.base}/email.html?{WINDOW}")
    assert "<strong>readers</strong>" in html and "Second paragraph." in html
    _, _, text = http_request("GET", f"{server.base}/email.txt?{WINDOW}")
    assert "Hello readers." in text
    assert model(server)["preheader"] == "What changed at the harbour"
    forged = {**fields, "csrf": "guessed", "subject": "Hijacked"}
    assert post(f"{server.base}/desk/issue", forged)[0] == 403


def test_an_intro_that_opens_with_a_rule_stays_intro_text(desk: tuple[LiveServer, Path]) -> None:
    """Issue 21 (low). Reproduction: with no subject or preheader, an intro starting with ``---`` became the
    file's own front matter, so typing YAML there set the subject and excluded posts."""
    server, config = desk
    intro = "---\nsubject: Hijacked\nexclude: [everything]\n---\nA quiet week."
    fields = {"csrf": page_token(server), "subject": "", "preheader": "", "intro": intro} | dict(urllib.parse.parse_qsl(WINDOW))
    assert post(f"{server.base}/desk/issue", fields)[0] == 303
    settings = load_settings(config)
    written = read_issue_file(config.parent.parent / ISSUE_FILE, settings)
    assert written.subject is None and not written.exclude and written.problems == ()
    assert written.intro.startswith("---") and "A quiet week." in written.intro
    assert model(server)["title"] != "Hijacked"


def test_a_sent_issue_is_locked(desk: tuple[LiveServer, Path], tmp_path: Path) -> None:
    server, config = desk
    token = page_token(server)
    posts = refs(server)
    settings = load_settings(config, environ={})
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    from datetime import UTC, datetime

    from digest.app.issues import Newsletter
    from digest.issue.selection import window_between

    window = window_between(datetime(2025, 2, 24, tzinfo=UTC).date(), datetime(2025, 3, 3, tzinfo=UTC).date(), settings.newsletter.timezone)
    built = Newsletter(settings, store).build(window, datetime(2025, 3, 3, tzinfo=UTC))
    store.issues.save(built.issue)
    store.subscribers.add("reader@example.org")
    store.ledger.enqueue(built.issue.id)
    store.ledger.mark_sending(built.issue.id, 1)
    _, _, page = http_request("GET", f"{server.base}/?{WINDOW}")
    assert "locked: it has been sent" in page and "<fieldset disabled>" in page and 'data-action="exclude"' not in page
    code, _ = act(server, token, "exclude", next(iter(posts.values())))
    assert code == 409
    assert not (config.parent.parent / ISSUE_FILE).exists()
    # Issue 22, item 5: the refusal says the desk is locked because the issue was sent.
    fields = {"csrf": token, "action": "exclude", "post": next(iter(posts.values()))} | dict(urllib.parse.parse_qsl(WINDOW))
    code, _, said = http_request("POST", f"{server.base}/desk/post", urllib.parse.urlencode(fields).encode(), FORM)
    assert code == 409 and "the desk is locked" in said and f"issue {built.issue.id} has been sent" in said


def test_in_a_real_browser_exclude_and_intro_reach_the_email(desk: tuple[LiveServer, Path]) -> None:
    """Click Exclude beside a post: it leaves the email frame and the file holds the change. Type an
    intro and save: it appears in the email. Keyboard only for the intro (Tab to the button, Enter)."""
    sync_playwright, executable = real_browser()  # type: ignore[misc]
    server, config = desk
    root = config.parent.parent
    with sync_playwright() as playwright:  # type: ignore[operator]
        browser = launch(playwright, executable)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{server.base}/?{WINDOW}")
            row = page.locator("#posts tr").first
            title = row.locator("td").nth(2).inner_text().strip()
            phone = page.frame_locator("#phone")
            phone.locator("h3", has_text=title).wait_for()
            started = time.monotonic()
            row.locator('button[data-action="exclude"]').click()
            page.wait_for_load_state("load")
            page.frame_locator("#phone").locator("h1").wait_for()
            elapsed = time.monotonic() - started
            assert page.frame_locator("#phone").locator("h3", has_text=title).count() == 0
            assert "exclude:" in (root / ISSUE_FILE).read_text(encoding="utf-8")
            assert page.locator("#excluded", has_text=title).count() == 1
            page.fill("#desk textarea[name=intro]", "A calm week at the **harbour**.")
            page.focus("#desk textarea[name=intro]")
            page.keyboard.press("Tab")
            page.keyboard.press("Enter")
            page.wait_for_load_state("load")
            page.frame_locator("#phone").locator("strong", has_text="harbour").wait_for(timeout=15000)
            assert "A calm week" in (root / ISSUE_FILE).read_text(encoding="utf-8")
            print(f"desk: exclude click to updated page {elapsed * 1000:.0f} ms")
        finally:
            browser.close()


def test_approve_from_the_desk_and_an_edit_unapproves(tmp_path: Path) -> None:
    config = make_project(tmp_path)
    config.write_text(config.read_text(encoding="utf-8") + '\n[schedule]\ncron = "0 9 * * mon"\napproval = "required"\n', encoding="utf-8")
    server = LiveServer(create_preview_app(config, watch=False))
    try:
        token = page_token(server)
        _, _, page = http_request("GET", f"{server.base}/?{WINDOW}")
        assert re.search(r'<span id="approval">not approved; to approve it: digest --config \S+ approve --issue 2025-03-02-', page)
        fields = {"csrf": token} | dict(urllib.parse.parse_qsl(WINDOW))
        assert post(f"{server.base}/desk/approve", fields)[0] == 303
        _, _, page = http_request("GET", f"{server.base}/?{WINDOW}")
        assert '<span id="approval">approved by the preview at' in page
        assert post(f"{server.base}/desk/approve", {**fields, "csrf": "guessed"})[0] == 403
        act(server, token, "exclude", next(iter(refs(server).values())))
        _, _, page = http_request("GET", f"{server.base}/?{WINDOW}")
        assert "the issue file was edited after the approval" in page
    finally:
        server.stop()


def test_after_approval_every_edit_of_what_is_sent_is_a_difference(tmp_path: Path) -> None:
    """Issue 22, item 2. Reproduction: after approving, an edit of the intro, subject or preheader left the
    preview saying "The stored copy matches this build" and ``send --dry-run``/``build`` printed no Differs line."""
    from support.cli import cli

    config = make_project(tmp_path)
    config.write_text(config.read_text(encoding="utf-8") + '\n[schedule]\ncron = "0 9 * * mon"\napproval = "required"\n', encoding="utf-8")
    server = LiveServer(create_preview_app(config, watch=False))
    window = [word for pair in urllib.parse.parse_qsl(WINDOW) for word in (f"--{pair[0]}", pair[1])]
    try:
        token = page_token(server)
        fields = {"csrf": token} | dict(urllib.parse.parse_qsl(WINDOW))
        assert post(f"{server.base}/desk/approve", fields)[0] == 303  # approving freezes the draft
        _, _, page = http_request("GET", f"{server.base}/?{WINDOW}")
        assert "The stored copy matches this build" in page
        for edit, said in (
            ({"subject": "A new subject", "preheader": "", "intro": ""}, "the subject edited"),
            ({"subject": "A new subject", "preheader": "Tides and ferries", "intro": ""}, "the preheader edited"),
            (
                {"subject": "A new subject", "preheader": "Tides and ferries", "intro": "A calm week."},
                "the body (intro, order or sections) edited",
            ),
        ):
            assert post(f"{server.base}/desk/issue", fields | edit)[0] == 303
            _, _, page = http_request("GET", f"{server.base}/?{WINDOW}")
            assert "The stored copy matches this build" not in page and said in page, said
        dry = cli(config, "send", *window, "--dry-run")
        assert "Differs" in dry.stdout + dry.stderr and "the body (intro, order or sections) edited" in dry.stdout + dry.stderr
        built = cli(config, "build", *window, "--out", str(tmp_path / "out"))
        assert "Differs    the frozen copy differs from this build:" in built.stdout
    finally:
        server.stop()


@pytest.mark.slow(5)
def test_the_desk_cannot_be_framed_by_another_page(desk: tuple[LiveServer, Path], http_server: Served) -> None:
    """Issue 21, finding 4. Reproduction: a page on another loopback origin framed the preview at 5 % opacity
    over a bait button; one click excluded a post. Now every preview page may be framed by the preview alone
    (frame-ancestors 'self', X-Frame-Options SAMEORIGIN): the framed page never loads and the click does nothing.
    The email view is sandboxed (CSP sandbox, and the iframes' own sandbox attribute)."""
    server, config = desk
    root = config.parent.parent
    for path in ("/", "/email.html", "/email.txt", "/digest.json"):
        _, headers, _ = http_request("GET", f"{server.base}{path}?{WINDOW}")
        lowered = {k.lower(): v for k, v in headers.items()}
        assert lowered["x-frame-options"] == "SAMEORIGIN" and "frame-ancestors 'self'" in lowered["content-security-policy"], path
    _, headers, _ = http_request("GET", f"{server.base}/email.html?{WINDOW}")
    assert "sandbox" in {k.lower(): v for k, v in headers.items()}["content-security-policy"]
    _, _, page_html = http_request("GET", f"{server.base}/?{WINDOW}")
    assert page_html.count('sandbox="allow-popups allow-popups-to-escape-sandbox"') == 2
    sync_playwright, executable = real_browser()  # type: ignore[misc]
    with sync_playwright() as playwright:  # type: ignore[operator]
        browser = launch(playwright, executable)
        try:
            own = browser.new_page(viewport={"width": 1280, "height": 900})
            own.goto(f"{server.base}/?{WINDOW}")
            button = own.locator('#posts tr button[data-action="exclude"]').first
            button.scroll_into_view_if_needed()
            box = button.bounding_box()
            scroll = own.evaluate("window.scrollY")
            assert box is not None
            own.close()
            attack = (
                "<!doctype html><body style='margin:0'><button style='position:absolute;left:0;top:0'>Win a prize</button>"
                f"<iframe id='victim' src='{server.base}/?{WINDOW}' style='opacity:0.05;position:absolute;left:0;top:{-scroll}px;"
                "width:1280px;height:5000px;border:0'></iframe></body>"
            ).encode()
            http_server.routes["/"] = body_route(attack, "text/html")
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(http_server.base.replace("127.0.0.1", "localhost") + "/")  # another origin, as in the audit
            page.wait_for_timeout(1500)
            framed = [frame for frame in page.frames if frame.parent_frame is not None]
            assert framed and all(frame.locator("#posts").count() == 0 for frame in framed)  # refused by the browser
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.wait_for_timeout(1000)
            issue_file = root / ISSUE_FILE
            assert not issue_file.exists() or "exclude:" not in issue_file.read_text(encoding="utf-8")
        finally:
            browser.close()
