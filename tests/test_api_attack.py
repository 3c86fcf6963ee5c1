"""What an attack from outside on the API found (issue 36), each over real HTTP against a real server on 127.0.0.1
with a real SQLite file: bodies that crashed the reader (a 500 instead of a problem), a write token's double opt-in
mailing an address that asked to be forgotten, a forget saying it ended a subscription that had ended before, and a
refusal naming where the server keeps its files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest.cli import main
from digest.store import Store
from digest.web.public import create_public_app

from conftest import LiveServer
from mailserver import SmtpServer
from support.api import SECRET, Served, call, digest_in_process, new_token
from support.project import ISSUE, fill, make_config
from support.two_newsletters import ADDED, FIRST, install_of, two_newsletter_install


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    running = Served(make_config(tmp_path, None))
    yield running
    running.stop()


def mails(tmp_path: Path) -> list[str]:
    return [path.read_text(encoding="utf-8") for path in sorted((tmp_path / "outbox").rglob("*.eml"))]


def test_a_body_json_cannot_hold_is_a_problem_never_a_500(served: Served) -> None:
    """Nesting deeper than the parser recurses (10 KB of brackets) raised RecursionError, and a lone surrogate
    (``"\\ud800"``, JSON text but no Unicode) raised UnicodeEncodeError at the keyed hash: both were 500s."""
    token = served.token("crm", "subscribers:write")
    for raw in (b"[" * 5000 + b"]" * 5000, b'{"email": "a@example.org", "name": ' + b'{"a": ' * 2000 + b"1" + b"}" * 2000 + b"}"):
        status, headers, body = call(served.base, "POST", "/api/v1/subscribers", token, raw)
        assert status == 400 and headers["content-type"] == "application/problem+json" and body["type"].endswith("not-json"), body
    for raw in (b'{"email": "\\ud800@example.org", "confirmed": true}', b'{"email": "a@example.org", "name": "\\udfff"}'):
        status, headers, body = call(served.base, "POST", "/api/v1/subscribers", token, raw)
        assert status == 400 and headers["content-type"] == "application/problem+json" and "surrogate" in body["detail"], body
    status, _, body = call(served.base, "PATCH", "/api/v1/subscribers/1", token, b'{"themes": ["\\ud83d"]}')
    assert status == 400 and "surrogate" in body["detail"], body
    status, _, body = call(served.base, "POST", "/api/v1/subscribers", token, '{"email": "zo\u00eb@example.org"}'.encode())
    assert status == 422, body  # a real non-ASCII character is read as such: refused for what it is, not as unreadable


def test_a_write_tokens_double_opt_in_never_mails_an_address_that_asked_to_be_forgotten(served: Served, tmp_path: Path) -> None:
    """The README: a person who asked to be forgotten is never added back by the API (409). A write token's
    ``"confirmed": false`` went through the sign-up and mailed them a confirmation (the check for someone who left
    looked for their row, and a forget leaves none: only the keyed hash)."""
    person, _ = served.store.subscribers.add("ada@example.org", "Ada")
    write = served.token("crm", "subscribers:write")
    assert call(served.base, "DELETE", f"/api/v1/subscribers/{person.person_id}", write)[0] == 200
    for email in ("ada@example.org", "ADA@Example.org"):
        status, _, body = call(served.base, "POST", "/api/v1/subscribers", write, {"email": email, "confirmed": False})
        assert status == 409 and "forgotten" in body["detail"], body
    assert served.store.subscribers.get("ada@example.org") is None and mails(tmp_path) == []
    form = served.token("website", "subscribers:create")  # a form: the person typing may come back by confirming
    status, _, body = call(served.base, "POST", "/api/v1/subscribers", form, {"email": "ada@example.org"})
    assert status == 202 and body["accepted"], body


def test_a_forget_names_only_the_subscriptions_it_ended(served: Served) -> None:
    """``ended`` is what the forget ended: a subscription they had left before was over already."""
    person, _ = served.store.subscribers.add("ada@example.org", "Ada")
    write = served.token("crm", "subscribers:write")
    assert call(served.base, "POST", f"/api/v1/subscribers/{person.person_id}/unsubscribe", write)[0] == 200
    status, _, body = call(served.base, "DELETE", f"/api/v1/subscribers/{person.person_id}", write)
    assert status == 200 and body == {"forgotten": True, "ended": []}, body
    bo, _ = served.store.subscribers.add("bo@example.org", "Bo")
    status, _, body = call(served.base, "DELETE", f"/api/v1/subscribers/{bo.person_id}", write)
    assert status == 200 and body == {"forgotten": True, "ended": ["golden-gazette"]}, body


def test_a_send_refusal_names_no_path_of_the_server(tmp_path: Path) -> None:
    """A refusal worded for the operator at the console (``Set newsletter.address in /srv/…/digest.toml``, a source
    ``/srv/…/content/culture: no .md file``) told a token's holder where the server keeps its files: the API says the
    file's name, and a path under the project folder from there."""
    config = make_config(tmp_path, None, backend="smtp")
    with config.open("a", encoding="utf-8") as out:  # a relay that is not this host: the postal address is required
        out.write('\n[smtp]\nhost = "mail.example.org"\n')
    fill(config, 1).close()
    running = Served(config)
    try:
        token = running.token("sender", "sends:write")
        status, _, body = call(running.base, "POST", "/api/v1/sends", token, {"issue": ISSUE, "dry_run": True})
        assert status == 409 and "newsletter.address" in body["detail"], body
        root = running.settings.install.root.resolve()
        assert str(tmp_path) not in json.dumps(body) and str(root) not in json.dumps(body), body
        assert "digest.toml" in body["detail"], body  # which file, still
    finally:
        running.stop()


def test_a_token_made_with_a_newsletter_named_is_refused_for_it_would_reach_every_one(tmp_path: Path) -> None:
    """``digest --newsletter culture api-tokens create culture-crm …`` made an install-wide token in silence: its
    operator, reading the option's "the newsletter this is about", gave a culture CRM a token that reaches every list."""
    config = make_config(tmp_path, None)
    for named in (("--newsletter", "golden-gazette", "api-tokens", "create"), ("api-tokens", "create", "--newsletter", "golden-gazette")):
        made = digest_in_process(config, *named, "crm", "--scope", "subscribers:write")
        assert made.exit_code == 2 and "reaches every newsletter" in made.output and "dgt_" not in made.output, made.output
    made = CliRunner().invoke(
        main,
        ["--config", str(config), "api-tokens", "create", "crm", "--scope", "subscribers:write"],
        env={"DIGEST_SECRET_KEY": SECRET, "DIGEST_NEWSLETTER": "golden-gazette"},
    )
    assert made.exit_code == 2 and "DIGEST_NEWSLETTER=golden-gazette" in made.output, made.output
    assert "No API tokens" in digest_in_process(config, "api-tokens", "list").output
    assert digest_in_process(config, "api-tokens", "create", "crm", "--scope", "subscribers:write").exit_code == 0
    assert "every newsletter" in digest_in_process(config, "api-tokens", "create", "--help").output


def test_a_subscriber_event_carries_the_edition_it_says_changed(served: Served) -> None:
    """A PATCH of the edition made a subscriber.updated with ``changed: ["edition"]`` and no edition in its data:
    a receiver learnt that it changed, never to what."""
    person, _ = served.store.subscribers.add("ada@example.org", "Ada")
    write = served.token("crm", "subscribers:write")
    assert call(served.base, "PATCH", f"/api/v1/subscribers/{person.person_id}", write, {"edition": "weekly"})[0] == 200
    events = [(kind, json.loads(raw)["data"]) for _, kind, raw in served.store.webhooks.events(person.id)]
    assert events[0][0] == "subscriber.created" and events[0][1]["edition"] is None, events  # none chosen: the first
    [changed] = [data for kind, data in events if kind == "subscriber.updated"]
    assert changed["changed"] == ["edition"] and changed["edition"] == "weekly", changed


def test_an_add_with_themes_is_one_event_holding_them(served: Served) -> None:
    """``"confirmed": true`` with themes stored the person, then their themes, in two transactions: a
    subscriber.created saying every theme (``themes: null``), then a subscriber.updated. One request, one change."""
    write = served.token("crm", "subscribers:write")
    body = {"email": "ada@example.org", "themes": ["harbour"], "confirmed": True}
    status, _, answer = call(served.base, "POST", "/api/v1/subscribers", write, body)
    assert status == 201 and answer["subscriber"]["subscriptions"][0]["themes"] == ["harbour"], answer
    held = served.store.subscribers.get("ada@example.org")
    assert held is not None
    events = [(kind, json.loads(raw)["data"]) for _, kind, raw in served.store.webhooks.events(held.id)]
    assert [kind for kind, _ in events] == ["subscriber.created"] and events[0][1]["themes"] == ["harbour"], events


def test_a_forget_naming_a_newsletter_they_are_not_on_is_a_404_erasing_nothing(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """``GET /subscribers/{id}?newsletter=culture`` is a 404 for someone not on culture; ``DELETE`` with the same
    query erased the person from every newsletter: a culture CRM's clean-up of its own list wiped another's reader."""
    config = two_newsletter_install(tmp_path, smtp_server.port, f"sqlite:///{tmp_path / 'two.sqlite'}")
    scopes = install_of(config).scopes()
    store = Store.open(scopes[0].install.database_url, newsletter=scopes[0].newsletter.slug)
    server = LiveServer(create_public_app(scopes[0], store, newsletters=scopes), proxy_headers=False)
    try:
        token = new_token(config, "culture-crm", "subscribers:write", "subscribers:read")
        status, _, body = call(
            server.base, "POST", f"/api/v1/subscribers?newsletter={FIRST}", token, {"email": "ada@example.org", "confirmed": True}
        )
        assert status == 201, body
        person = body["subscriber"]["id"]
        assert call(server.base, "GET", f"/api/v1/subscribers/{person}?newsletter={ADDED}", token)[0] == 404
        status, _, body = call(server.base, "DELETE", f"/api/v1/subscribers/{person}?newsletter={ADDED}", token)
        assert status == 404 and ADDED in body["detail"], body
        status, _, body = call(server.base, "GET", f"/api/v1/subscribers/{person}", token)
        assert status == 200 and [held["status"] for held in body["subscriptions"]] == ["active"], body  # still on the first
        status, _, body = call(server.base, "DELETE", f"/api/v1/subscribers/{person}?newsletter={FIRST}", token)
        assert status == 200 and body == {"forgotten": True, "ended": [FIRST]}, body  # one of theirs named: the person goes
    finally:
        server.stop()
        store.close()


def test_401s_written_to_the_audit_log_are_bounded_whatever_the_addresses(served: Served) -> None:
    """Each client (an IPv6 one by its /64) has 30 written 401s a minute; past 10,000 clients the allowances are all
    forgotten (the memory stays bounded), so a sender with a /48 (65,536 /64s) wrote 401s to the audit log without end.
    Past the install's own allowance a 401 is still answered, but no longer written."""
    import asyncio

    from starlette.requests import Request

    from digest.web.api import REFUSALS_LOGGED_PER_MINUTE, Api
    from digest.web.api_doc import OPERATIONS

    served.token("crm", "subscribers:read")  # the API is on
    api = Api(served.settings, served.store)

    def refused_from(host: str) -> int:
        scope = {"type": "http", "method": "GET", "path": "/subscribers", "headers": [], "query_string": b"", "client": (host, 4000)}
        return asyncio.run(api.unauthenticated(OPERATIONS[0], Request(scope))).status_code

    answers = [refused_from(f"2001:db8:{n:x}::1") for n in range(REFUSALS_LOGGED_PER_MINUTE + 20)]
    assert answers == [401] * len(answers)  # each a new client: refused as such, never a 429
    written = [entry for entry in served.store.api.audit(100_000) if entry.token is None]
    assert len(written) == REFUSALS_LOGGED_PER_MINUTE, len(written)


def test_a_webhook_endpoint_added_with_a_newsletter_named_is_refused_for_it_gets_every_one(tmp_path: Path) -> None:
    """A re-walk: `digest --newsletter culture webhooks add …` added an endpoint that then got every newsletter's
    events (another newsletter's readers' addresses to a CRM meant for one): refused, as an API token's is."""
    config = make_config(tmp_path, None)
    made = CliRunner().invoke(
        main,
        [
            "--config",
            str(config),
            "--newsletter",
            "golden-gazette",
            "webhooks",
            "add",
            "https://crm.example.org/hook",
            "--event",
            "subscriber.created",
        ],
        env={"DIGEST_SECRET_KEY": SECRET},
    )
    assert made.exit_code == 2 and "a webhook endpoint (each event names its newsletter) reaches every newsletter" in made.output
    assert "whsec_" not in made.output
    listed = digest_in_process(config, "webhooks", "list")
    assert "crm.example.org" not in listed.output


def test_webhook_endpoints_and_events_listed_with_a_newsletter_named_say_they_are_every_newsletters(tmp_path: Path) -> None:
    """`digest --newsletter golden-gazette webhooks list` (or `events`, `replay`) showed the install's endpoints and
    every newsletter's events without a word, read as that newsletter's: each now says the name does not narrow them
    (on standard error), and without a name says nothing of it."""
    config = make_config(tmp_path, None)
    for command in (["webhooks", "list"], ["webhooks", "events"], ["webhooks", "replay", "1", "--event-id", "1"]):
        named = CliRunner().invoke(
            main, ["--config", str(config), "--newsletter", "golden-gazette", *command], env={"DIGEST_SECRET_KEY": SECRET}
        )
        assert "every newsletter's: --newsletter golden-gazette does not narrow them" in named.stderr, (command, named.output)
        plain = CliRunner().invoke(main, ["--config", str(config), *command], env={"DIGEST_SECRET_KEY": SECRET})
        assert "does not narrow" not in plain.output + plain.stderr, command
        unknown = CliRunner().invoke(main, ["--config", str(config), "--newsletter", "nope", *command], env={"DIGEST_SECRET_KEY": SECRET})
        assert unknown.exit_code == 2 and 'no newsletter "nope" here' in unknown.stderr, (command, unknown.stderr)
        assert "does not narrow" not in unknown.stderr, command
