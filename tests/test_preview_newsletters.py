"""The preview of an install of several newsletters (issue 34, item 4): each under /n/SLUG/ with its own desk, token
and live reload, a switcher between them by name; with one newsletter, no switcher and every address as before."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.app.approval import approval_state, preview_link
from digest.app.issues import Newsletter, WindowRequest
from digest.config import load_config
from digest.store import Store
from digest.web.preview import create_preview_app

from conftest import LiveServer, http_request
from support.browser import launch, real_browser
from support.preview import CULTURE, FIRST, WINDOW, token_of, two_newsletter_project
from support.project import make_project
from support.web import FORM, no_follow, post

CULTURE_FILE = "content/issues/culture/2025-03-02.md"
FIRST_FILE = "content/issues/2025-03-02.md"


@pytest.fixture
def two(tmp_path: Path) -> Iterator[tuple[LiveServer, Path]]:
    config = two_newsletter_project(tmp_path, approval=True)
    server = LiveServer(create_preview_app(config, watch=False))
    yield server, config
    server.stop()


def page_of(server: LiveServer, slug: str, query: str = WINDOW) -> str:
    code, _, page = http_request("GET", f"{server.base}/n/{slug}/?{query}")
    assert code == 200, page
    return page


def test_one_newsletter_keeps_its_addresses_and_has_no_switcher(tmp_path: Path) -> None:
    server = LiveServer(create_preview_app(make_project(tmp_path), watch=False))
    try:
        code, _, page = http_request("GET", f"{server.base}/?{WINDOW}")
        assert code == 200 and 'id="newsletters"' not in page
        assert 'action="/desk/post"' in page and 'src="/email.html?' in page and 'new EventSource("/events")' in page
        assert http_request("GET", f"{server.base}/n/golden-gazette/")[0] == 404
    finally:
        server.stop()


def test_each_newsletter_is_served_under_its_path_with_a_switcher_by_name(two: tuple[LiveServer, Path]) -> None:
    server, _ = two
    # The root leads to the newsletter shown first, keeping the query (a draft mail's link, an old bookmark).
    code, headers, _ = no_follow("GET", f"{server.base}/?{WINDOW}", {})
    assert code == 307 and headers["location"] == f"/n/{FIRST}/?{WINDOW}"
    first, culture = page_of(server, FIRST), page_of(server, CULTURE)
    for page, current in ((first, FIRST), (culture, CULTURE)):
        assert '<nav id="newsletters" aria-label="Newsletters">' in page
        assert f'href="/n/{FIRST}/" data-slug="{FIRST}"' in page and ">Golden Gazette</a>" in page
        assert f'href="/n/{CULTURE}/" data-slug="{CULTURE}"' in page and ">Culture Monthly</a>" in page
        assert f'data-slug="{current}" aria-current="page"' in page
        assert f'action="/n/{current}/desk/post"' in page and f'src="/n/{current}/email.html?' in page
        assert f'new EventSource("/n/{current}/events")' in page
    assert "The harbour choir sings Bach" in culture and "The harbour choir sings Bach" not in first
    assert "Ferry fares" in first and "Ferry fares" not in culture
    # Every view of the newsletter is under its path; the root's own views are not (no address is ambiguous).
    code, _, text = http_request("GET", f"{server.base}/n/{CULTURE}/email.txt?{WINDOW}")
    assert code == 200 and "The harbour choir sings Bach" in text
    code, _, html = http_request("GET", f"{server.base}/n/{CULTURE}/email.html?{WINDOW}")
    assert code == 200 and "The harbour choir sings Bach" in html
    assert http_request("GET", f"{server.base}/n/{CULTURE}/readers")[0] == 200
    assert http_request("GET", f"{server.base}/email.html?{WINDOW}")[0] == 404
    assert http_request("GET", f"{server.base}/n/nothing/")[0] == 404
    # The Host guard and the framing rules hold under every newsletter's path.
    code, _, _ = http_request("GET", f"{server.base}/n/{CULTURE}/?{WINDOW}", headers={"Host": "rebind.attacker.example"})
    assert code == 400
    _, headers, _ = http_request("GET", f"{server.base}/n/{CULTURE}/?{WINDOW}")
    named = {name.lower(): value for name, value in headers.items()}
    assert named["x-frame-options"] == "SAMEORIGIN" and "frame-ancestors 'self'" in named["content-security-policy"]


def test_newsletter_picks_the_one_shown_first(tmp_path: Path) -> None:
    server = LiveServer(create_preview_app(two_newsletter_project(tmp_path), watch=False, newsletter=CULTURE))
    try:
        code, headers, _ = no_follow("GET", f"{server.base}/", {})
        assert code == 307 and headers["location"] == f"/n/{CULTURE}/"
    finally:
        server.stop()


def test_a_token_of_one_newsletters_page_never_acts_on_anothers_desk(two: tuple[LiveServer, Path]) -> None:
    server, config = two
    root = config.parent.parent
    first_token, culture_token = token_of(page_of(server, FIRST)), token_of(page_of(server, CULTURE))
    assert first_token != culture_token
    window = dict(urllib.parse.parse_qsl(WINDOW))
    exclude = {"action": "exclude", "post": "https://golden.example/culture/choir"} | window
    for path, fields in (
        (f"/n/{CULTURE}/desk/post", exclude),
        (f"/n/{CULTURE}/desk/issue", {"subject": "Taken over"} | window),
        (f"/n/{CULTURE}/desk/approve", window),
        (f"/n/{CULTURE}/desk/forget-label", {"issue": "x", "post": "y"}),
    ):
        assert post(f"{server.base}{path}", fields | {"csrf": first_token})[0] == 403, path
    code, _, said = http_request(
        "POST",
        f"{server.base}/n/{CULTURE}/send-test",
        urllib.parse.urlencode({"csrf": first_token, "address": "a@example.org"}).encode(),
        FORM,
    )
    assert code == 403 and "not from this preview page" in said
    assert not (root / CULTURE_FILE).exists()
    # Its own page's token acts on its own issue file only, and leads back under its path.
    code, headers = post(f"{server.base}/n/{CULTURE}/desk/post", exclude | {"csrf": culture_token})
    assert code == 303 and headers["location"] == f"/n/{CULTURE}/?{WINDOW}"
    assert "https://golden.example/culture/choir" in (root / CULTURE_FILE).read_text(encoding="utf-8")
    assert not (root / FIRST_FILE).exists()
    assert "The harbour choir sings Bach" not in http_request("GET", f"{server.base}/n/{CULTURE}/email.txt?{WINDOW}")[2]


def test_approving_one_newsletters_issue_leaves_the_others_unapproved(two: tuple[LiveServer, Path]) -> None:
    server, config = two
    culture_token = token_of(page_of(server, CULTURE))
    code, headers = post(f"{server.base}/n/{CULTURE}/desk/approve", {"csrf": culture_token} | dict(urllib.parse.parse_qsl(WINDOW)))
    assert code == 303 and headers["location"] == f"/n/{CULTURE}/?{WINDOW}"
    assert '<span id="approval">approved by the preview at' in page_of(server, CULTURE)
    assert '<span id="approval">not approved; to approve it: digest' in page_of(server, FIRST)
    # The store says the same, each newsletter's own.
    whole = load_config(config)
    now = datetime.now(UTC)
    states = {}
    for scope in whole.scopes():
        store = Store.open(scope.install.database_url, newsletter=scope.newsletter.slug)
        try:
            newsletter = Newsletter(scope, store)
            target = newsletter.target(WindowRequest(since="2025-02-24", until="2025-03-03"), now)
            states[scope.newsletter.slug] = approval_state(newsletter, target).approved
            link = preview_link(newsletter, target)
        finally:
            store.close()
        # The draft mail's link opens its own newsletter's page.
        assert link.startswith(f"http://127.0.0.1:8000/n/{scope.newsletter.slug}/?as_of="), link
        code, _, page = http_request("GET", server.base + link.removeprefix("http://127.0.0.1:8000"))
        assert code == 200 and f'data-slug="{scope.newsletter.slug}" aria-current="page"' in page
    assert states == {CULTURE: True, FIRST: False}


@pytest.mark.slow(10)
def test_in_a_real_browser_the_switcher_shows_the_others_issue_and_its_desk(tmp_path: Path) -> None:
    """Keyboard to the other newsletter: its coming issue, its address (a reload stays on it), its desk, its live reload."""
    sync_playwright, executable = real_browser()  # type: ignore[misc]
    config = two_newsletter_project(tmp_path)
    root = config.parent.parent
    server = LiveServer(create_preview_app(config))
    try:
        with sync_playwright() as playwright:  # type: ignore[operator]
            browser = launch(playwright, executable)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(f"{server.base}/?{WINDOW}")
                assert page.url == f"{server.base}/n/{FIRST}/?{WINDOW}"
                page.frame_locator("#phone").locator("h3", has_text="Ferry fares").wait_for()
                page.focus(f'#newsletters a[data-slug="{FIRST}"]')
                page.keyboard.press("Tab")  # the next link of the switcher: Culture Monthly
                page.keyboard.press("Enter")
                page.wait_for_url(f"{server.base}/n/{CULTURE}/")
                page.frame_locator("#phone").locator("h3", has_text="The harbour gallery reopens").wait_for()
                assert page.frame_locator("#phone").locator("h3", has_text="Ferry fares").count() == 0
                page.reload()
                assert page.url == f"{server.base}/n/{CULTURE}/"
                assert page.locator('#newsletters a[aria-current="page"]').inner_text() == "Culture Monthly"
                # Its desk: Exclude acts on its own issue file and comes back to its page.
                page.locator('#posts tr[data-ref="https://golden.example/culture/gallery"] button[data-action="exclude"]').click()
                page.wait_for_url(f"{server.base}/n/{CULTURE}/?#post-*")
                page.locator("#excluded", has_text="The harbour gallery reopens").wait_for()
                files = list((root / "content" / "issues" / CULTURE).glob("*.md"))
                assert len(files) == 1 and "https://golden.example/culture/gallery" in files[0].read_text(encoding="utf-8")
                assert not list((root / "content" / "issues").glob("*.md"))
                # Its live reload: saving one of its posts reloads its page.
                post_file = root / "content" / CULTURE / "gallery.md"
                post_file.write_text(
                    post_file.read_text(encoding="utf-8").replace("gallery reopens", "gallery opens late"), encoding="utf-8"
                )
                started = time.monotonic()
                page.locator("#excluded", has_text="The harbour gallery opens late").wait_for(timeout=15000)
                print(f"switcher: live reload after a file change {(time.monotonic() - started) * 1000:.0f} ms")
            finally:
                browser.close()
    finally:
        server.stop()
