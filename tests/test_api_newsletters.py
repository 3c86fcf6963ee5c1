"""The HTTP API over an install with two newsletters (issue 36 item 1, issue 34): a real server (`digest serve`'s app
over every newsletter, uvicorn on 127.0.0.1), a real HTTP client, a real database (SQLite, and PostgreSQL where it
answers), and the sign-up's confirmation mailed through a real SMTP server. One person on both newsletters, one
person id, a subscription each; each newsletter's list; an unsubscribe from one leaves the other active; a request
that names no newsletter is a 400 listing the slugs, an unknown one a 404."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from digest.store import Store
from digest.web.public import create_public_app

from conftest import LiveServer
from mailserver import SmtpServer
from support.api import call, new_token
from support.cli import cli
from support.two_newsletters import ADDED, FIRST, WINDOW, copies_to, install_of, two_newsletter_install

ADA = "ada@example.org"


@pytest.fixture
def served(tmp_path: Path, smtp_server: SmtpServer, database_url: str) -> Iterator[tuple[Path, str]]:
    """The install's config and the base URL of its app over both newsletters."""
    config = two_newsletter_install(tmp_path, smtp_server.port, database_url)
    whole = install_of(config)
    scopes = whole.scopes()
    store = Store.open(whole.install.database_url, newsletter=scopes[0].newsletter.slug)
    server = LiveServer(create_public_app(scopes[0], store, newsletters=scopes), proxy_headers=False)
    yield config, server.base
    server.stop()
    store.close()


def on(body: dict[str, Any]) -> dict[str, str]:
    """A subscriber's subscriptions: newsletter → status."""
    return {held["newsletter"]: held["status"] for held in body["subscriptions"]}


def test_one_person_two_subscriptions_each_newsletters_list_and_an_unsubscribe_from_one(served: tuple[Path, str]) -> None:
    config, base = served
    token = new_token(config, "crm", "subscribers:read", "subscribers:write")
    status, _, body = call(base, "POST", f"/api/v1/subscribers?newsletter={FIRST}", token, {"email": ADA, "name": "Ada", "confirmed": True})
    assert status == 201 and body["created"] and body["subscriber"]["status"] == "active", body
    person = body["subscriber"]["id"]
    status, _, body = call(base, "POST", "/api/v1/subscribers", token, {"email": ADA, "confirmed": True, "newsletter": ADDED})
    assert status == 201 and body["created"] and body["subscriber"]["id"] == person, body  # the same person, a second subscription
    assert on(body["subscriber"]) == {FIRST: "active", ADDED: "active"} and body["subscriber"]["name"] == "Ada"
    ids = {held["newsletter"]: held["id"] for held in body["subscriber"]["subscriptions"]}
    assert ids[FIRST] != ids[ADDED]  # each subscription has its own id (the one links and webhooks carry)
    call(base, "POST", "/api/v1/subscribers", token, {"email": "bo@example.org", "confirmed": True, "newsletter": ADDED})
    for slug, emails in ((FIRST, [ADA]), (ADDED, [ADA, "bo@example.org"])):
        status, _, page = call(base, "GET", f"/api/v1/subscribers?newsletter={slug}", token)
        assert status == 200 and [p["email"] for p in page["items"]] == emails, (slug, page)
        assert all(p["status"] == "active" for p in page["items"])
    status, _, body = call(base, "POST", f"/api/v1/subscribers/{person}/unsubscribe?newsletter={ADDED}", token)
    assert status == 200 and body["status"] == "unsubscribed" and on(body) == {FIRST: "active", ADDED: "unsubscribed"}, body
    assert install_status(config, FIRST, ADA) == "active" and install_status(config, ADDED, ADA) == "unsubscribed"
    status, _, body = call(base, "GET", f"/api/v1/subscribers/{person}", token)  # a person's own page names no newsletter
    assert status == 200 and body["status"] is None and on(body) == {FIRST: "active", ADDED: "unsubscribed"}, body
    assert call(base, "GET", f"/api/v1/subscribers/{person}?newsletter={FIRST}", token)[2]["status"] == "active"
    status, _, body = call(base, "PATCH", f"/api/v1/subscribers/{person}?newsletter={FIRST}", token, {"themes": ["harbour"]})
    assert status == 200 and [held["themes"] for held in body["subscriptions"]] == [["harbour"], None], body  # that one's alone
    status, _, body = call(base, "PATCH", f"/api/v1/subscribers/{person}?newsletter={ADDED}", token, {"themes": ["harbour"]})
    assert status == 422 and "news" in body["detail"], body  # each newsletter has its own themes
    status, _, body = call(base, "PATCH", f"/api/v1/subscribers/{person}?newsletter={ADDED}", token, {"themes": ["news"]})
    assert status == 409, body  # themes are chosen only while on that newsletter's list
    status, _, page = call(base, "GET", f"/api/v1/subscribers?newsletter={ADDED}&status=unsubscribed", token)
    assert [p["id"] for p in page["items"]] == [person]
    status, _, body = call(base, "DELETE", f"/api/v1/subscribers/{person}", token)
    assert status == 200 and body["ended"] == [FIRST], body  # the one still on: the other had ended by the unsubscribe above
    assert call(base, "GET", f"/api/v1/subscribers?newsletter={FIRST}", token)[2]["items"] == []


def test_a_request_naming_no_newsletter_is_a_400_listing_them_and_an_unknown_one_a_404(served: tuple[Path, str]) -> None:
    config, base = served
    token = new_token(config, "all", "subscribers:read", "subscribers:write", "issues:read", "reports:read", "sends:write")
    for method, path, body in (
        ("GET", "/api/v1/subscribers", None),
        ("POST", "/api/v1/subscribers", {"email": ADA, "confirmed": True}),
        ("GET", "/api/v1/issues", None),
        ("GET", "/api/v1/reports", None),
        ("POST", "/api/v1/sends", {"dry_run": True}),
    ):
        status, headers, problem = call(base, method, path, token, body)
        assert status == 400 and headers["content-type"] == "application/problem+json", (path, problem)
        assert problem["type"] == "urn:digest:problem:newsletter-required" and FIRST in problem["detail"] and ADDED in problem["detail"]
        status, _, problem = call(base, method, path + "?newsletter=nope", token, body)
        assert status == 404 and problem["type"] == "urn:digest:problem:no-such-newsletter" and ADDED in problem["detail"], problem
    status, _, problem = call(base, "POST", f"/api/v1/subscribers?newsletter={FIRST}", token, {"email": ADA, "newsletter": ADDED})
    assert status == 422 and "newsletter" in problem["detail"], problem  # two different newsletters: which?
    assert install_status(config, FIRST, ADA) is None and install_status(config, ADDED, ADA) is None
    for slug in (FIRST, ADDED):  # issues and reports are each newsletter's
        assert call(base, "GET", f"/api/v1/issues?newsletter={slug}", token)[:3:2] == (200, {"items": []})
        assert call(base, "GET", f"/api/v1/reports?newsletter={slug}", token)[0] == 404  # nothing sent yet


def test_an_issue_is_its_newsletters_alone(served: tuple[Path, str], smtp_server: SmtpServer) -> None:
    """Issue ids are unique across newsletters: one named under another newsletter is none of its, never shown,
    approved, reported or sent as that newsletter's (its frozen copy to the other's list)."""
    config, base = served
    token = new_token(config, "all", "subscribers:write", "issues:read", "issues:write", "reports:read", "sends:write")
    call(base, "POST", f"/api/v1/subscribers?newsletter={ADDED}", token, {"email": ADA, "confirmed": True})
    call(base, "POST", f"/api/v1/subscribers?newsletter={FIRST}", token, {"email": "bo@example.org", "confirmed": True})
    sent = cli(config, "--newsletter", FIRST, "send", *WINDOW, "--yes")  # the first newsletter's issue, to Bo alone
    assert sent.returncode == 0, sent.stdout + sent.stderr
    status, _, listed = call(base, "GET", f"/api/v1/issues?newsletter={FIRST}", token)
    [issue] = [item["id"] for item in listed["items"]]
    assert call(base, "GET", f"/api/v1/issues?newsletter={ADDED}", token)[2] == {"items": []}
    assert call(base, "GET", f"/api/v1/issues/{issue}?newsletter={FIRST}", token)[0] == 200
    for method, path, body in (
        ("GET", f"/api/v1/issues/{issue}", None),
        ("GET", f"/api/v1/issues/{issue}/html", None),
        ("POST", f"/api/v1/issues/{issue}/approve", None),
        ("GET", f"/api/v1/reports?issue={issue}", None),
        ("GET", f"/api/v1/sends/{issue}", None),
        ("POST", "/api/v1/sends", {"issue": issue, "dry_run": False}),
    ):
        joined = "&" if "?" in path else "?"
        status, _, answer = call(base, method, f"{path}{joined}newsletter={ADDED}", token, body)
        assert status == 404, (path, answer)
    status, _, progress = call(base, "GET", f"/api/v1/sends/{issue}?newsletter={FIRST}", token)
    assert status == 200 and progress["deliveries"]["sent"] == 1 and progress["complete"], progress
    assert call(base, "GET", f"/api/v1/reports?issue={issue}&newsletter={FIRST}", token)[2]["issues"][0]["delivered"] == 1
    assert [copy.recipient for copy, _ in copies_to(smtp_server, ADA)] == []  # the culture list never got the first's issue


def test_the_newsletters_are_listed_with_their_counts_and_a_forms_sign_up_joins_the_one_named(
    served: tuple[Path, str], smtp_server: SmtpServer
) -> None:
    config, base = served
    form, reader = new_token(config, "website", "subscribers:create"), new_token(config, "crm", "subscribers:read")
    status, _, body = call(base, "POST", "/api/v1/subscribers", form, {"email": ADA, "newsletter": ADDED})
    assert status == 202 and body["accepted"], body
    assert call(base, "POST", "/api/v1/subscribers", form, {"email": ADA, "newsletter": ADDED})[:3:2] == (202, body)  # the same
    [(_, mail)] = copies_to(smtp_server, ADA)  # one confirmation (one per ten minutes at most), with the culture pages' link
    assert "/culture/confirm/" in mail.as_string() and install_status(config, ADDED, ADA) == "pending"
    assert install_status(config, FIRST, ADA) is None
    status, _, listed = call(base, "GET", "/api/v1/newsletters", reader)
    assert status == 200 and [(n["slug"], n["path"]) for n in listed["items"]] == [(FIRST, "/"), (ADDED, "/culture")], listed
    assert [n["subscribers"]["pending"] for n in listed["items"]] == [0, 1] and listed["items"][1]["name"] == "Culture Monthly"
    status, _, listed = call(base, "GET", "/api/v1/newsletters", form)  # a form's token learns the slugs, not the counts
    assert status == 200 and [n["subscribers"] for n in listed["items"]] == [None, None]


def install_status(config: Path, slug: str, address: str) -> str | None:
    """The status of ``address``'s subscription to ``slug`` as the database holds it (None: none)."""
    store = Store.open(install_of(config).install.database_url, newsletter=slug)
    try:
        found = store.subscribers.get(address)
        return str(found.status) if found is not None else None
    finally:
        store.close()
