"""The API's narrow scope for a website's form (``subscribers:create``), its Host guard's answers, and one event per
change made through it: over real HTTP against a real server on 127.0.0.1 with a real SQLite file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.api import Served, call
from support.project import make_config


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    running = Served(make_config(tmp_path, None))
    yield running
    running.stop()


def mails(tmp_path: Path) -> list[str]:
    return [path.read_text(encoding="utf-8") for path in sorted((tmp_path / "outbox").rglob("*.eml"))]


def test_a_form_token_only_adds_by_double_opt_in_and_its_answer_never_says_who_was_there(served: Served, tmp_path: Path) -> None:
    served.store.subscribers.add("ada@example.org", "Ada")  # on the list already
    gone, _ = served.store.subscribers.add("cy@example.org")
    served.store.subscribers.set_status(gone.id, gone.status.UNSUBSCRIBED, "left")
    form = served.token("website", "subscribers:create")
    answers = []
    for email in ("new@example.org", "ada@example.org", "cy@example.org", "new@example.org"):
        status, headers, body = call(served.base, "POST", "/api/v1/subscribers", form, {"email": email, "name": "X"})
        answers.append((status, headers["content-type"], json.dumps(body, sort_keys=True)))
    assert len(set(answers)) == 1 and answers[0][0] == 202, answers  # new, on the list, gone, pending: one answer
    assert "subscriber" not in json.loads(answers[0][2])
    new = served.store.subscribers.get("new@example.org")
    assert new is not None and new.status == "pending"  # double opt-in: nothing goes to them until they click
    confirmations = [mail for mail in mails(tmp_path) if "/confirm/" in mail]
    assert (
        len(confirmations) == 2 and any("new@example.org" in m for m in confirmations) and any("cy@example.org" in m for m in confirmations)
    )
    assert not any("/confirm/" in mail and "ada@example.org" in mail for mail in mails(tmp_path))  # subscribed: no confirmation
    ada = served.store.subscribers.get("ada@example.org")
    assert ada is not None and ada.status == "active"
    status, _, body = call(served.base, "POST", "/api/v1/subscribers", form, {"email": "bo@example.org", "confirmed": True})
    assert status == 403 and "subscribers:write" in body["detail"] and served.store.subscribers.get("bo@example.org") is None
    for method, path, sent in (
        ("GET", f"/api/v1/subscribers/{ada.id}", None),
        ("GET", "/api/v1/subscribers", None),
        ("PATCH", f"/api/v1/subscribers/{ada.id}", {"name": "Eve"}),
        ("POST", f"/api/v1/subscribers/{ada.id}/unsubscribe", None),
        ("DELETE", f"/api/v1/subscribers/{ada.id}", None),
    ):
        status, _, body = call(served.base, method, path, form, sent)
        assert status == 403, (method, path, body)
    ada = served.store.subscribers.get("ada@example.org")
    assert ada is not None and ada.status == "active" and ada.name == "Ada"
    assert call(served.base, "POST", "/api/v1/subscribers", form, {"email": "not an address"})[0] == 422


def test_a_token_with_create_and_write_adds_confirmed_and_the_document_names_the_scope(served: Served) -> None:
    both = served.token("crm", "subscribers:create", "subscribers:write")
    status, _, body = call(served.base, "POST", "/api/v1/subscribers", both, {"email": "bo@example.org", "confirmed": True})
    assert status == 201 and body["subscriber"]["status"] == "active"
    status, _, document = call(served.base, "GET", "/api/v1/openapi.json", both)
    create = document["paths"]["/api/v1/subscribers"]["post"]
    assert "subscribers:create" in create["description"] and "202" in create["responses"]
    schema = create["responses"]["202"]["content"]["application/json"]["schema"]
    assert "subscribers:create" in document["info"]["description"] and schema != create["responses"]["201"]["content"]


def test_a_host_not_served_is_a_problem_under_the_api_and_plain_text_elsewhere(served: Served) -> None:
    token = served.token("crm", "subscribers:read")
    stranger = {"Host": "rebind.attacker.example"}
    status, headers, body = call(served.base, "GET", "/api/v1/subscribers", token, headers=stranger)
    assert status == 400 and headers["content-type"] == "application/problem+json", (headers, body)
    assert body["status"] == 400 and body["type"] == "urn:digest:problem:bad-host" and set(body) >= {"title", "detail"}
    status, headers, body = call(served.base, "POST", "/api/v1/subscribers", token, {"email": "a@example.org"}, headers=stranger)
    assert status == 400 and body["type"] == "urn:digest:problem:bad-host"
    status, headers, body = call(served.base, "GET", "/subscribe", None, headers=stranger)
    assert status == 400 and headers["content-type"].startswith("text/plain") and body == "Invalid host header"
    status, headers, body = call(served.base, "GET", "/api/v1/subscribers", token, headers={"Host": "golden.example"})
    assert status == 200 and headers["content-type"] == "application/json"  # a host it serves: the API's own answer
    status, _, body = call(served.base, "POST", "/api/v1/subscribers", token, b"{not json", headers={"Host": "golden.example"})
    assert status == 403 and body["type"] == "urn:digest:problem:forbidden"  # the app's own refusal goes through as it was


def test_an_attack_s_findings_a_body_or_a_repeated_query_never_picks_another_newsletter_and_no_one_who_left_is_mailed(
    served: Served, tmp_path: Path
) -> None:
    """An attack (issue 36 with 34) found a body's newsletter ignored where the operation takes no body (the query's
    was acted on), a repeated query parameter read as its last, and a write token's double opt-in mailing someone who
    had left (the README promises a 409)."""
    ada, _ = served.store.subscribers.add("ada@example.org", "Ada")
    write = served.token("crm", "subscribers:write", "subscribers:read")
    status, _, body = call(served.base, "POST", f"/api/v1/subscribers/{ada.id}/unsubscribe", write, {"newsletter": "another"})
    assert status == 400 and body["type"].endswith("unexpected-body"), body
    status, _, body = call(served.base, "GET", "/api/v1/subscribers?status=active&status=pending", write)
    assert status == 422 and "'status' is given more than once" in body["detail"], body
    ada_now = served.store.subscribers.get("ada@example.org")
    assert ada_now is not None and ada_now.status == "active"  # nothing acted on
    assert call(served.base, "POST", f"/api/v1/subscribers/{ada.id}/unsubscribe", write, {})[0] == 200  # {}: no body
    before = len(mails(tmp_path))
    status, _, body = call(served.base, "POST", "/api/v1/subscribers", write, {"email": "ada@example.org", "confirmed": False})
    assert status == 409 and "left" in body["detail"], body
    assert len(mails(tmp_path)) == before  # nobody mailed


def test_a_patch_sets_the_edition_with_the_themes_in_one_event_and_refuses_one_the_newsletter_lacks(served: Served) -> None:
    """Issue 36 ("update themes/edition/name") with issue 35's editions: the subscription's edition is shown and set."""
    person, _ = served.store.subscribers.add("eve@example.org", "Eve")
    token = served.token("crm", "subscribers:write", "subscribers:read")
    status, _, body = call(served.base, "GET", f"/api/v1/subscribers/{person.id}", token)
    assert status == 200 and body["subscriptions"][0]["edition"] is None  # none chosen: the newsletter's first
    status, _, body = call(served.base, "PATCH", f"/api/v1/subscribers/{person.id}", token, {"edition": "monthly"})
    assert status == 422 and body["type"].endswith("invalid") and "weekly" in body["detail"], body
    status, _, body = call(served.base, "PATCH", f"/api/v1/subscribers/{person.id}", token, {"edition": "weekly", "themes": ["harbour"]})
    assert status == 200 and body["subscriptions"][0]["edition"] == "weekly", body
    made = [json.loads(raw)["data"] for _, kind, raw in served.store.webhooks.events(person.id) if kind == "subscriber.updated"]
    assert [event["changed"] for event in made] == [["themes", "edition"]]
    stored = served.store.subscribers.get(subscriber_id=person.id)
    assert stored is not None and served.store.subscribers.record_of(stored.id)["subscriptions"][0]["edition"] == "weekly"


def test_a_patch_of_name_and_themes_is_one_change_with_one_event_naming_both(served: Served) -> None:
    person, _ = served.store.subscribers.add("ada@example.org", "Ada")
    token = served.token("crm", "subscribers:write")

    def updates() -> list[dict[str, object]]:
        return [json.loads(body)["data"] for _, kind, body in served.store.webhooks.events(person.id) if kind == "subscriber.updated"]

    status, _, body = call(served.base, "PATCH", f"/api/v1/subscribers/{person.id}", token, {"name": "Ada L", "themes": ["harbour"]})
    assert status == 200 and body["name"] == "Ada L", body
    made = updates()
    assert len(made) == 1 and made[0]["changed"] == ["name", "themes"], made
    assert made[0]["name"] == "Ada L" and made[0]["themes"] == ["harbour"]  # the row as the one change left it
    assert call(served.base, "PATCH", f"/api/v1/subscribers/{person.id}", token, {"name": "Ada L", "themes": ["harbour"]})[0] == 200
    assert len(updates()) == 1  # nothing changed: no event
    assert call(served.base, "PATCH", f"/api/v1/subscribers/{person.id}", token, {"name": "Ada"})[0] == 200
    assert [event["changed"] for event in updates()] == [["name", "themes"], ["name"]]
