"""The HTTP API (issue 36): its tokens and audit log, then its operations over real HTTP against a real server on
127.0.0.1 with a real SQLite file."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from digest.app.api import ApiAccess
from digest.store.schema import api_tokens

from conftest import REPO
from support.api import Served, call, digest_in_process, new_token, readme_curls, run_curl
from support.cli import cli, popen
from support.project import ISSUE, fill, make_config
from support.stores import store_of


def test_a_token_is_printed_once_alone_on_the_last_line_and_only_its_hash_is_kept(tmp_path: Path) -> None:
    config = make_config(tmp_path, None)
    done = cli(config, "api-tokens", "create", "website", "--scope", "subscribers:write", "--scope", "reports:read")
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip().splitlines()[-1]
    assert token.startswith("dgt_") and len(token) > 50 and " " not in token
    store = store_of(config)
    with store.engine.connect() as conn:
        rows = [dict(row) for row in conn.execute(sa.select(api_tokens)).mappings()]
    secret = token.split("_", 2)[2]  # the secret part may itself hold "_" (URL-safe base64): split at the first two only
    assert len(rows) == 1 and token not in json.dumps(rows, default=str) and secret not in json.dumps(rows, default=str)
    access = ApiAccess(store)
    found = access.authenticate(token)
    assert found is not None and found.name == "website"
    assert {scope.value for scope in found.scopes} == {"subscribers:write", "reports:read"}
    assert access.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B")) is None  # the secret part is checked
    assert access.authenticate("dgt_000000000000_" + token.split("_", 2)[2]) is None  # and the public part finds the row
    assert access.authenticate("Bearer " + token) is None


def test_tokens_are_listed_without_their_secret_and_a_revoked_one_stops_working(tmp_path: Path) -> None:
    config = make_config(tmp_path, None)
    listed = digest_in_process(config, "api-tokens", "list")
    assert "the API is off" in listed.output
    token = new_token(config, "crm", "subscribers:read")
    taken = digest_in_process(config, "api-tokens", "create", "crm", "--scope", "reports:read")
    assert taken.exit_code == 1 and "named 'crm' already" in taken.output
    listed = digest_in_process(config, "api-tokens", "list")
    assert "crm" in listed.output and "subscribers:read" in listed.output and "live" in listed.output
    assert token not in listed.output
    access = ApiAccess(store_of(config))
    assert access.enabled() and access.authenticate(token) is not None
    assert digest_in_process(config, "api-tokens", "revoke", "crm").exit_code == 0
    assert access.authenticate(token) is None and not access.enabled()
    assert "revoked" in digest_in_process(config, "api-tokens", "list").output
    assert digest_in_process(config, "api-tokens", "revoke", "crm").exit_code == 1
    again = new_token(config, "crm", "reports:read")  # a name is free again once its token is revoked
    assert access.authenticate(again) is not None


def test_a_bad_name_or_scope_is_refused(tmp_path: Path) -> None:
    config = make_config(tmp_path, None)
    assert digest_in_process(config, "api-tokens", "create", "a b", "--scope", "reports:read").exit_code == 2
    assert digest_in_process(config, "api-tokens", "create", "web", "--scope", "everything").exit_code == 2
    assert digest_in_process(config, "api-tokens", "create", "web").exit_code == 2  # a token with no scope does nothing


# -- the API over real HTTP ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with three readers (r00000… r00002@example.org) and the fixture issue frozen: built once (the
    build takes seconds), copied for each test."""
    where = tmp_path_factory.mktemp("seed")
    fill(make_config(where, None), 3).close()
    return where / "digest.sqlite"


@pytest.fixture
def served(seeded: Path, tmp_path: Path) -> Iterator[Served]:
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{seeded}{suffix}").exists():
            shutil.copy(f"{seeded}{suffix}", tmp_path / f"digest.sqlite{suffix}")
    running = Served(make_config(tmp_path, None))
    yield running
    running.stop()


def test_the_interface_201_with_the_scope_401_without_a_token_403_without_the_scope(served: Served) -> None:
    person = {"email": "Ada@Example.org", "confirmed": True}
    status, _, body = call(served.base, "POST", "/api/v1/subscribers", None, person)
    assert status == 404 and body["type"] == "urn:digest:problem:api-off"  # no token yet: no API
    writer = served.token("website", "subscribers:write")
    reader = served.token("reports", "reports:read")
    status, headers, body = call(served.base, "POST", "/api/v1/subscribers", None, person)
    assert status == 401 and headers["content-type"] == "application/problem+json" and "bearer" in headers["www-authenticate"].lower()
    assert set(body) >= {"type", "title", "status", "detail"} and body["status"] == 401
    status, _, body = call(served.base, "POST", "/api/v1/subscribers", reader, person)
    assert status == 403 and "subscribers:write" in body["detail"]
    assert served.store.subscribers.get("ada@example.org") is None
    status, _, body = call(served.base, "POST", "/api/v1/subscribers", writer, person)
    assert status == 201 and body["created"] and not body["awaiting_confirmation"]
    assert body["subscriber"]["status"] == "active" and body["subscriber"]["email"] == "Ada@example.org"
    found = served.store.subscribers.get("ada@example.org")
    assert found is not None and found.status == "active"
    status, _, body = call(served.base, "POST", "/api/v1/subscribers", writer, person)
    assert status == 200 and not body["created"]  # on the list already: nothing new
    assert call(served.base, "POST", "/api/v1/subscribers", writer[:-2] + "xx", person)[0] == 401  # a wrong secret part
    shown = digest_in_process(served.config, "audit").output.splitlines()
    assert any("website" in line and "createSubscriber" in line and " 201  subscriber " in line for line in shown), shown
    assert any("(no valid token)" in line and " 401" in line for line in shown)
    assert any("reports" in line and " 403" in line for line in shown)
    assert not any("ada@example.org" in line.casefold() for line in shown)
    assert digest_in_process(served.config, "api-tokens", "revoke", "website").exit_code == 0
    assert call(served.base, "POST", "/api/v1/subscribers", writer, person)[0] == 401  # a revoked token


def test_double_opt_in_mails_a_confirmation_and_the_list_rules_hold(served: Served, tmp_path: Path) -> None:
    token = served.token("form", "subscribers:write", "subscribers:read")
    status, _, body = call(
        served.base, "POST", "/api/v1/subscribers", token, {"email": "bo@example.org", "name": "Bo", "themes": ["harbour"]}
    )
    assert status == 201 and body["awaiting_confirmation"] and body["subscriber"]["status"] == "pending", body
    assert body["subscriber"]["subscriptions"][0]["themes"] == ["harbour"]
    mailed = [path.read_text(encoding="utf-8") for path in (tmp_path / "outbox").rglob("*.eml")]
    assert len(mailed) == 1 and "bo@example.org" in mailed[0] and "/confirm/" in mailed[0]
    assert call(served.base, "POST", "/api/v1/subscribers", token, {"email": "bo@example.org"})[0] == 200  # awaiting: nothing new
    # Someone who left comes back only by their own confirmation; an operator's word is not enough.
    reader = served.store.subscribers.get("r00001@example.org")
    assert reader is not None
    call(served.base, "POST", f"/api/v1/subscribers/{reader.id}/unsubscribe", token)
    status, _, body = call(served.base, "POST", "/api/v1/subscribers", token, {"email": "r00001@example.org", "confirmed": True})
    assert status == 409 and body["type"] == "urn:digest:problem:refused" and "left the list" in body["detail"]
    for wrong, field in (
        ({"email": "not an address", "confirmed": True}, "email"),
        ({"email": "cy@example.org", "themes": ["no-such-theme"]}, "no-such-theme"),
        ({"email": "cy@example.org", "themes": []}, "at least one theme"),
        ({"email": "cy@example.org", "confirmed": "yes"}, "'confirmed' must be true or false"),
        ({"email": "cy@example.org", "admin": True}, "'admin' is not a field"),
        ({"name": "Cy"}, "'email' is required"),
        ([1, 2], "JSON object"),
    ):
        status, headers, body = call(served.base, "POST", "/api/v1/subscribers", token, wrong)
        assert status == 422 and headers["content-type"] == "application/problem+json" and field in json.dumps(body), (wrong, body)
    assert call(served.base, "POST", "/api/v1/subscribers", token, b"{not json")[0] == 400
    status, _, body = call(
        served.base, "POST", "/api/v1/subscribers", token, b"email=a", {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 415 and body["status"] == 415
    status, headers, body = call(served.base, "POST", "/api/v1/subscribers", token, {"email": "x" * 20_000 + "@example.org"})
    assert status == 413 and headers["content-type"] == "application/problem+json" and body["status"] == 413
    assert served.store.subscribers.get("cy@example.org") is None


def test_read_page_change_unsubscribe_and_forget(served: Served) -> None:
    token = served.token("crm", "subscribers:write", "subscribers:read")
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # the readers were added before this
    listed: list[dict[str, Any]] = []
    cursor = ""
    while True:  # two at a time: the cursor walks the list once, in id order
        status, _, page = call(served.base, "GET", f"/api/v1/subscribers?limit=2{cursor}", token)
        assert status == 200, page
        listed += page["items"]
        if page["next"] is None:
            break
        cursor = f"&after={page['next']}"
    assert [p["email"] for p in listed] == ["r00000@example.org", "r00001@example.org", "r00002@example.org"]
    first = listed[0]["id"]
    status, _, body = call(served.base, "PATCH", f"/api/v1/subscribers/{first}", token, {"name": "Ada", "themes": ["harbour", "homes"]})
    assert status == 200 and body["name"] == "Ada" and body["subscriptions"][0]["themes"] == ["harbour", "homes"], body
    status, _, page = call(served.base, "GET", "/api/v1/subscribers?theme=harbour", token)
    assert [p["id"] for p in page["items"]] == [first]
    status, _, page = call(served.base, "GET", f"/api/v1/subscribers?changed_since={since}", token)
    assert [p["id"] for p in page["items"]] == [first]  # what a CRM mirroring the list asks: who changed since
    assert call(served.base, "GET", "/api/v1/subscribers?changed_since=2026-12-01T09:00", token)[0] == 422  # no offset
    status, _, body = call(served.base, "POST", f"/api/v1/subscribers/{first}/unsubscribe", token)
    assert status == 200 and body["status"] == "unsubscribed"
    assert call(served.base, "POST", f"/api/v1/subscribers/{first}/unsubscribe", token)[0] == 200  # idempotent
    status, _, body = call(served.base, "PATCH", f"/api/v1/subscribers/{first}", token, {"themes": ["harbour"]})
    assert status == 409  # only someone on the list chooses themes
    status, _, page = call(served.base, "GET", "/api/v1/subscribers?status=unsubscribed", token)
    assert [p["id"] for p in page["items"]] == [first]
    assert call(served.base, "GET", "/api/v1/subscribers?status=gone", token)[0] == 422
    assert call(served.base, "GET", "/api/v1/subscribers?limit=0", token)[0] == 422
    status, _, body = call(served.base, "DELETE", f"/api/v1/subscribers/{first}", token)
    assert status == 200 and body == {"forgotten": True, "ended": []}, body  # unsubscribed above: this forget ended none
    assert call(served.base, "GET", f"/api/v1/subscribers/{first}", token)[0] == 404
    assert call(served.base, "GET", "/api/v1/subscribers/not-a-number", token)[0] == 404
    status, _, body = call(served.base, "POST", "/api/v1/subscribers", token, {"email": "r00000@example.org", "confirmed": True})
    assert status == 409 and "forgotten" in body["detail"]
    # The audit log names the forgotten by the keyed hash of their address only; everyone else by id too.
    shown = digest_in_process(served.config, "audit", "--last", "100").output
    assert "r00000@example.org" not in shown
    assert f"subscriber {first} " not in shown and "forgetSubscriber" in shown
    forgotten = [line for line in shown.splitlines() if "forgetSubscriber" in line or f"/{first}" in line]
    assert forgotten and all("subscriber #" in line for line in forgotten), forgotten
    assert "crm" in shown and "forgetSubscriber" in shown and "200" in shown


def test_ids_cursors_and_limits_are_ascii_digits_only(served: Served) -> None:
    """A superscript two passes str.isdigit() but not int() (a 500, plain text); an Arabic-Indic or fullwidth two passes
    both (another spelling of id 2): neither is an id, a cursor or a limit."""
    token = served.token("crm", "subscribers:read")
    two = call(served.base, "GET", "/api/v1/subscribers?limit=2", token)[2]["items"][1]["id"]
    assert call(served.base, "GET", f"/api/v1/subscribers/{two}", token)[0] == 200
    for digit in ("%C2%B2", "%D9%A2", "%EF%BC%92"):  # superscript two, Arabic-Indic two, fullwidth two
        for path in (f"/api/v1/subscribers/{digit}", f"/api/v1/subscribers?after={digit}", f"/api/v1/subscribers?limit={digit}"):
            status, headers, body = call(served.base, "GET", path, token)
            assert status in (404, 422) and headers["content-type"] == "application/problem+json", (path, status, body)


def test_issues_listed_shown_with_counts_and_their_frozen_copy(served: Served) -> None:
    token = served.token("editor", "issues:read", "issues:write")
    status, _, body = call(served.base, "GET", "/api/v1/issues", token)
    assert status == 200 and [item["id"] for item in body["items"]] == [ISSUE]
    status, _, issue = call(served.base, "GET", f"/api/v1/issues/{ISSUE}", token)
    assert status == 200 and issue["deliveries"]["sent"] == 0 and issue["posts"] > 0 and issue["approved"] is None, issue
    status, headers, html = call(served.base, "GET", f"/api/v1/issues/{ISSUE}/html", token)
    assert status == 200 and headers["content-type"].startswith("text/html") and issue["subject"].split()[0] in html
    status, headers, text = call(served.base, "GET", f"/api/v1/issues/{ISSUE}/text", token)
    assert status == 200 and headers["content-type"].startswith("text/plain") and text.strip()
    assert call(served.base, "GET", "/api/v1/issues/2020-01-01-000000", token)[0] == 404
    status, _, body = call(served.base, "POST", f"/api/v1/issues/{ISSUE}/approve", token)
    assert status == 409 and "nothing to approve" in body["detail"]  # the fixture's schedule asks for no approval


def test_the_report_has_the_figures_of_digest_report(served: Served) -> None:
    token = served.token("numbers", "reports:read")
    status, _, body = call(served.base, "GET", "/api/v1/reports", token)
    assert status == 404 and "nothing to report" in body["detail"]
    served.store.ledger.enqueue(ISSUE)
    for reader in list(served.store.subscribers.iter())[:2]:
        served.store.ledger.mark_sent(ISSUE, reader.id, "250 ok")
    status, _, body = call(served.base, "GET", f"/api/v1/reports?issue={ISSUE}&last=3", token)
    printed = json.loads(digest_in_process(served.config, "report", "--issue", ISSUE, "--last", "3", "--format", "json").stdout)
    printed.pop("generated_at")
    assert status == 200 and body == printed and body["issues"][0]["delivered"] == 2


def test_bounces_waiting_for_review_are_listed_applied_and_dismissed(served: Served) -> None:
    from digest.models import ReviewState
    from digest.store import MailEvent, Named

    token = served.token("desk", "bounces:read", "bounces:write")
    ids = [
        served.store.events.record(
            MailEvent(
                key=f"k{n}",
                kind="hard",
                subscriber_id=None,
                issue_id=ISSUE,
                status="5.1.1",
                diagnostic="no such user",
                review=ReviewState.UNATTRIBUTED,
                named=Named(addresses=(f"r0000{n}@example.org",)),
            )
        )
        for n in (1, 2)
    ]
    status, _, body = call(served.base, "GET", "/api/v1/bounces", token)
    assert status == 200 and [item["id"] for item in body["items"]] == ids
    assert body["items"][0]["named"] == [{"address": "r00001@example.org", "status": "active"}]
    status, _, body = call(served.base, "POST", f"/api/v1/bounces/{ids[0]}/apply", token, {})
    assert status == 200 and "r00001@example.org" in body["result"], body
    reader = served.store.subscribers.get("r00001@example.org")
    assert reader is not None and reader.status == "bounced"
    assert call(served.base, "POST", f"/api/v1/bounces/{ids[1]}/dismiss", token)[0] == 200
    assert call(served.base, "POST", f"/api/v1/bounces/{ids[1]}/dismiss", token)[0] == 409  # decided already
    assert call(served.base, "GET", "/api/v1/bounces", token)[2]["items"] == []


def test_each_token_has_its_rate_and_the_api_answers_only_its_host_names_without_cors(tmp_path: Path) -> None:
    config = make_config(tmp_path, None)
    running = Served(config, api_rate=(3, 60.0))
    try:
        token, other = running.token("busy", "subscribers:read"), running.token("calm", "subscribers:read")
        assert [call(running.base, "GET", "/api/v1/subscribers", token)[0] for _ in range(3)] == [200, 200, 200]
        status, headers, body = call(running.base, "GET", "/api/v1/subscribers", token)
        assert status == 429 and int(headers["retry-after"]) > 0 and body["status"] == 429
        assert call(running.base, "GET", "/api/v1/subscribers", other)[0] == 200  # another token's rate is its own
        host = "golden.example"  # the host of the fixture's base_url
        assert call(running.base, "GET", "/api/v1/openapi.json", other, headers={"Host": host})[0] == 200
        assert call(running.base, "GET", "/api/v1/openapi.json", other, headers={"Host": "rebind.attacker.example"})[0] == 400
        status, headers, _ = call(
            running.base,
            "OPTIONS",
            "/api/v1/subscribers",
            None,
            headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"},
        )
        assert status == 405 and not any(name.startswith("access-control-") for name in headers)
        assert call(running.base, "GET", "/api/v1/nothing-here", other)[2]["type"] == "urn:digest:problem:not-found"
    finally:
        running.stop()


def test_a_key_given_twice_is_refused_not_read_as_its_last(served: Served) -> None:
    """json keeps the last of two keys in silence: a filter in front reading the first would pass another request."""
    token = served.token("website", "subscribers:write")
    body = b'{"email": "checked@example.org", "email": "served@example.org", "confirmed": true}'
    status, headers, problem = call(served.base, "POST", "/api/v1/subscribers", token, body)
    assert status == 422 and headers["content-type"] == "application/problem+json", problem
    assert problem["errors"] == ["'email' is given more than once"]
    assert served.store.subscribers.get("served@example.org") is None and served.store.subscribers.get("checked@example.org") is None
    assert call(served.base, "POST", "/api/v1/subscribers", token, b'{"email": "once@example.org", "confirmed": true}')[0] == 201


def test_a_chunked_body_past_the_cap_is_a_413_problem_not_a_500(served: Served) -> None:
    """Without Content-Length the cap is found as the body streams, inside the API's own app, whose error middleware
    answered a plain-text 500 before the guard could answer its 413."""
    import http.client
    from urllib.parse import urlsplit

    token = served.token("website", "subscribers:write")
    where = urlsplit(served.base)
    connection = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port, timeout=10)
    body = json.dumps({"email": "big@example.org", "name": "a" * 20_000, "confirmed": True}).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connection.request("POST", "/api/v1/subscribers", body=iter([body[:8000], body[8000:]]), headers=headers, encode_chunked=True)
    answer = connection.getresponse()
    raw = answer.read()
    connection.close()
    assert answer.status == 413 and answer.getheader("content-type") == "application/problem+json", raw
    problem = json.loads(raw)
    assert problem["type"] == "urn:digest:problem:too-large" and served.store.subscribers.get("big@example.org") is None


def test_refused_requests_are_counted_by_an_ipv6_clients_64(served: Served) -> None:
    """Each 401 is written to the audit log; past 30 a minute a client gets 429s, not written. An IPv6 client has a
    /64 of addresses: counted one by one, it would write 401s without end by moving to the next."""
    import asyncio

    from starlette.requests import Request

    from digest.web.api import REFUSALS_PER_MINUTE, Api
    from digest.web.api_doc import OPERATIONS

    api = Api(served.settings, served.store)

    def refused_from(host: str) -> int:
        scope = {"type": "http", "method": "GET", "path": "/subscribers", "headers": [], "query_string": b"", "client": (host, 4000)}
        return asyncio.run(api.unauthenticated(OPERATIONS[0], Request(scope))).status_code

    assert [refused_from(f"2001:db8:1:2::{n:x}") for n in range(REFUSALS_PER_MINUTE + 1)] == [401] * REFUSALS_PER_MINUTE + [429]
    assert refused_from("2001:db8:1:2:ffff::1") == 429  # the same /64
    assert refused_from("2001:db8:1:3::1") == 401  # another network: its own allowance
    assert [refused_from(host) for host in ["192.0.2.7"] * REFUSALS_PER_MINUTE] == [401] * REFUSALS_PER_MINUTE
    assert refused_from("::ffff:192.0.2.7") == 429  # an IPv4 client seen through a dual-stack socket is that client
    assert refused_from("192.0.2.8") == 401


def test_a_send_has_its_dry_run_goes_out_once_and_shows_its_progress(served: Served, tmp_path: Path) -> None:
    token = served.token("sender", "sends:write")
    status, _, plan = call(served.base, "POST", "/api/v1/sends", token, {"issue": ISSUE, "dry_run": True})
    assert status == 200 and plan["to_send"] == 3 and not plan["started"] and plan["frozen"], plan
    assert not list((tmp_path / "outbox").rglob("*.eml"))  # a dry run sends nothing
    assert call(served.base, "POST", "/api/v1/sends", token, {"issue": ISSUE})[0] == 422  # dry_run is said, either way
    assert call(served.base, "POST", "/api/v1/sends", token, {"issue": "2020-01-01-000000", "dry_run": True})[0] == 404
    status, _, plan = call(served.base, "POST", "/api/v1/sends", token, {"issue": ISSUE, "dry_run": False})
    assert status == 202 and plan["started"], plan
    for _ in range(200):  # the send runs on a thread of the server: its progress says when it is done
        status, _, progress = call(served.base, "GET", f"/api/v1/sends/{ISSUE}", token)
        if progress["complete"] and not progress["running"]:
            break
        time.sleep(0.05)
    assert progress["deliveries"]["sent"] == 3 and progress["last_run"] == "complete", progress
    status, _, plan = call(served.base, "POST", "/api/v1/sends", token, {"issue": ISSUE, "dry_run": False})
    assert status == 200 and not plan["started"] and "nothing to send" in plan["note"]  # never twice
    assert len(list((tmp_path / "outbox").rglob("*.eml"))) == 3


def test_the_readmes_curl_lines_work_against_digest_serve(seeded: Path, tmp_path: Path) -> None:
    """Each curl line of the README's HTTP API section, sent by a real HTTP client to a real `digest serve`."""
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{seeded}{suffix}").exists():
            shutil.copy(f"{seeded}{suffix}", tmp_path / f"digest.sqlite{suffix}")
    config = make_config(tmp_path, None)
    token = new_token(config, "crm", "subscribers:read", "subscribers:write", "reports:read")
    store = store_of(config)
    store.ledger.enqueue(ISSUE)
    for reader in list(store.subscribers.iter()):
        store.ledger.mark_sent(ISSUE, reader.id, "250 ok")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = popen(config, "serve", "--port", str(port))
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            with contextlib.suppress(OSError):
                if call(base, "GET", "/api/v1/openapi.json", token)[0] == 200:
                    break
            time.sleep(0.05)
        lines = readme_curls(REPO / "README.md", "The HTTP API")
        answers = [run_curl(line, {"DIGEST": base, "TOKEN": token, "NEWSLETTER": "golden-gazette"}) for line in lines]
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert len(lines) == 6 and [status for status, _, _ in answers] == [200, 201, 201, 200, 200, 200], answers
    newsletters, signed_up, added, unsubscribed_before, unsubscribed, report = (body for _, _, body in answers)
    assert [n["slug"] for n in newsletters["items"]] == ["golden-gazette"] and newsletters["items"][0]["subscribers"]["active"] == 3
    assert signed_up["subscriber"]["status"] == "pending" and signed_up["awaiting_confirmation"]
    assert added["subscriber"]["status"] == "active"
    assert unsubscribed_before["items"] == [] and unsubscribed["status"] == "unsubscribed" and unsubscribed["id"] == 2
    assert report["issues"][0]["issue_id"] == ISSUE and report["issues"][0]["delivered"] == 3
    bo = store.subscribers.get("bo@example.org")
    assert bo is not None and bo.status == "active"


def test_tokens_people_and_the_audit_log_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    running = Served(make_config(tmp_path, None, database=postgres_url))
    try:
        token = running.token("crm", "subscribers:read", "subscribers:write")
        status, _, body = call(running.base, "POST", "/api/v1/subscribers", token, {"email": "ada@example.org", "confirmed": True})
        assert status == 201, body
        first = body["subscriber"]["id"]
        assert call(running.base, "PATCH", f"/api/v1/subscribers/{first}", token, {"name": "Ada", "themes": ["harbour"]})[0] == 200
        status, _, page = call(running.base, "GET", "/api/v1/subscribers?theme=harbour&limit=1", token)
        assert status == 200 and [p["name"] for p in page["items"]] == ["Ada"] and page["next"] is None
        status, _, page = call(running.base, "GET", "/api/v1/subscribers?after=99999999999999999", token)
        assert status == 200 and page["items"] == [], page
        assert call(running.base, "DELETE", f"/api/v1/subscribers/{first}", token)[0] == 200
        shown = digest_in_process(running.config, "audit").output
        assert "forgetSubscriber" in shown and f"subscriber {first} " not in shown
    finally:
        running.stop()


def test_with_approval_required_a_send_waits_for_the_editors_yes(seeded: Path, tmp_path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{seeded}{suffix}").exists():
            shutil.copy(f"{seeded}{suffix}", tmp_path / f"digest.sqlite{suffix}")
    config = make_config(tmp_path, None)
    config.write_text(config.read_text(encoding="utf-8") + '\n[schedule]\napproval = "required"\n', encoding="utf-8")
    running = Served(config)
    try:
        editor, sender = running.token("editor", "issues:read", "issues:write"), running.token("sender", "sends:write")
        assert call(running.base, "GET", f"/api/v1/issues/{ISSUE}", editor)[2]["approved"] is False
        status, _, body = call(running.base, "POST", "/api/v1/sends", sender, {"issue": ISSUE, "dry_run": True})
        assert status == 409 and "needs an approval" in body["detail"], body
        assert call(running.base, "POST", f"/api/v1/issues/{ISSUE}/approve", sender)[0] == 403  # sending is not approving
        status, _, body = call(running.base, "POST", f"/api/v1/issues/{ISSUE}/approve", editor)
        assert status == 200 and body == {"id": ISSUE, "subject": body["subject"], "approved_by": "API token editor"}, body
        status, _, issue = call(running.base, "GET", f"/api/v1/issues/{ISSUE}", editor)
        assert issue["approved"] is True and "API token editor" in issue["approval"]
        status, _, plan = call(running.base, "POST", "/api/v1/sends", sender, {"issue": ISSUE, "dry_run": True})
        assert status == 200 and plan["to_send"] == 3 and "approved by API token editor" in plan["approval"], plan
    finally:
        running.stop()
