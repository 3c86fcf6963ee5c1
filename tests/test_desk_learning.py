"""The desk's panel of what placement learns from the editor's past issues, and its Forget button, over real HTTP
and in a real browser.

The two tests share one frozen issue and one preview (a build with the model is slow); each forgets a label of its
own (the HTTP one the editor's move, the browser one a placement kept) and reads the counts before it forgets, so
either may run first.
"""

from __future__ import annotations

import re
import shlex
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from digest.app.themes import forgotten_label, taught_labels
from digest.config import Scope
from digest.store import Store
from digest.web.preview import create_preview_app

from conftest import LiveServer, http_request
from support.browser import launch, real_browser
from support.teaching import NOW, first_week, move, needs_model
from support.web import FORM, post

TITLE = "Draughty council houses to get new doors and windows"
NEXT_WEEK = "since=2026-11-08&until=2026-11-15"  # the issue after the frozen one: the build that learns


@dataclass(frozen=True)
class Desk:
    config: Path
    settings: Scope
    store: Store
    issue_id: str  # the frozen issue
    moved: str  # the post id of TITLE, which the editor moved by mistake
    server: LiveServer


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    config, settings, newsletter, target = first_week(tmp_path_factory.mktemp("learning"))
    move(settings, target, "https://example.org/w0-0", "Getting Around")  # TITLE's post
    built = newsletter.build(target.window, NOW)
    newsletter.freeze(built)
    [moved] = [p for p in built.issue.placements if p.text.startswith(TITLE)]
    assert moved.kind.value == "moved"
    server = LiveServer(create_preview_app(config, watch=False))
    yield Desk(config, settings, newsletter.store, target.issue_id, moved.post_id, server)
    server.stop()


def panel(server: LiveServer, path: str = f"/?{NEXT_WEEK}") -> tuple[str, int, str, list[tuple[str, str]]]:
    """The page's token, the version of the build it shows, its learning panel, and the (issue, post) of each label
    the panel lists, in order."""
    code, _, page = http_request("GET", server.base + path)
    assert code == 200, page
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    version = re.search(r'<body data-version="(\d+)">', page)
    assert token is not None and version is not None and 'id="learning"' in page
    section = page.split('<section id="learning">', 1)[1].split("</section>", 1)[0]
    rows = re.findall(r'<tr class="label" data-issue="([^"]+)" data-post="([^"]+)">', section)
    return token.group(1), int(version.group(1)), section, rows


@needs_model
def test_the_desk_lists_the_labels_placement_learns_from_and_forgets_one(desk: Desk) -> None:
    server, store = desk.server, desk.store
    before = taught_labels(desk.settings, store)
    kept, forgotten = before.confirmed, before.forgotten
    assert before.corrected == 1 and kept >= 2
    # The capped list puts the editor's correction first and says how many more, with the command that forgets one.
    capped = taught_labels(desk.settings, store, limit=1)
    assert [label.post_id for label in capped.shown] == [desk.moved] and (capped.more, capped.more_corrected) == (kept, 0)
    assert shlex.split(capped.forget_hint) == ["digest", "--config", str(desk.config), "themes", "forget-label", "START OF ITS TITLE"]

    token, version, section, rows = panel(server)
    assert f"(1 correction(s), {kept} placement(s) kept" in section
    assert rows[0] == (desk.issue_id, desk.moved) and len(rows) == kept + 1 and 'id="learning-more"' not in section
    first = section.split('<tr class="label"', 2)[1]
    assert "you moved it" in first and "teaches Getting Around" in first and f"issue {desk.issue_id}" in first
    assert "Draughty council houses to get new doors and windows. Tenants say the…" in first

    fields = {"issue": desk.issue_id, "post": desk.moved, "back": "learning"} | dict(urllib.parse.parse_qsl(NEXT_WEEK))
    # Without the page's token: refused, and the label still teaches.
    assert post(f"{server.base}/desk/forget-label", fields)[0] == 403
    assert forgotten_label(store, desk.issue_id, desk.moved) is None

    code, headers = post(f"{server.base}/desk/forget-label", fields | {"csrf": token})
    assert code == 303 and headers["location"].endswith("#learning"), headers
    assert forgotten_label(store, desk.issue_id, desk.moved) is not None
    assert not [
        text for text, _, _ in store.placements.labels(desk.settings.newsletter.theme_keys) if text.startswith(TITLE)
    ]  # what builds learn from
    # Back on the page, built again (the build shown before had learnt from the label): it says what was forgotten,
    # and lists it no more.
    _, rebuilt, section, rows = panel(server, headers["location"].split("#")[0])
    assert rebuilt > version
    assert (desk.issue_id, desk.moved) not in rows and len(rows) == kept
    assert f"(0 correction(s), {kept} placement(s) kept, {forgotten + 1} forgotten)" in section
    said = re.search(r'<p class="ok" id="forgot" role="status">([^<]+)</p>', section)
    assert said is not None and said.group(1).startswith("Forgotten: “Draughty council houses to get new doors"), section

    # Again (another tab, a stale page): it is forgotten already, and so said; nothing changes.
    def refused(extra: dict[str, str]) -> tuple[int, str]:
        data = urllib.parse.urlencode(fields | {"csrf": token} | extra).encode()
        code, _, body = http_request("POST", f"{server.base}/desk/forget-label", data, FORM)
        return code, body

    code, body = refused({})
    assert code == 409 and "is forgotten already: later builds do not learn from it; nothing changed" in body, body
    code, body = refused({"post": "nope"})
    assert code == 404 and f"issue '{desk.issue_id}' has no placement of post 'nope' to forget" in body, body
    assert store.placements.forgotten_count() == forgotten + 1


@needs_model
def test_forget_in_a_browser_lands_on_the_page_saying_so(desk: Desk) -> None:
    """The POST bumps the build's version, which the page's live reload hears: the page must go where the answer
    sends it (the confirmation), not reload itself."""
    sync_playwright, executable = real_browser()  # type: ignore[misc]
    with sync_playwright() as playwright:  # type: ignore[operator]
        browser = launch(playwright, executable)
        try:
            page = browser.new_page()
            page.goto(f"{desk.server.base}/?{NEXT_WEEK}")
            row = page.locator("#learning tr.label", has_text="kept where digest put it").first
            post_id = row.get_attribute("data-post")
            with page.expect_navigation():
                row.get_by_role("button", name=re.compile(r"^Forget ")).click()
            page.wait_for_load_state()
            assert "forgot_post=" in page.url and page.url.endswith("#learning"), page.url
            assert page.locator("#forgot").inner_text().startswith("Forgotten: “")
            assert page.locator(f'#learning tr[data-post="{post_id}"]').count() == 0
        finally:
            browser.close()
    assert post_id is not None and forgotten_label(desk.store, desk.issue_id, post_id) is not None
