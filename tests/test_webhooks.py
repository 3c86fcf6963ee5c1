"""Webhooks: events written with their change (the outbox), delivered signed (Standard Webhooks), retried with backoff,
in order per subscriber, at least once with a stable id through a crash, to public addresses only unless allowed."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from digest.app.webhooks import add_endpoint, deliver, enable_endpoint, replay, url_refusal
from digest.config import Scope
from digest.models import ENDPOINT_STATE_WORDS, EVENT_WORDS, EndpointState, EventType, SubscriberStatus, routes
from digest.models.errors import RefusedError
from digest.send.webhooks import BACKOFF
from digest.store import Store
from digest.web.public import create_public_app

from conftest import LiveServer, http_request, link_token
from factories import make_stored_issue
from support.serving import serve_in_thread
from support.webhooks import Receiver, free_port, verify

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(delivery_settings: Callable[..., Scope]) -> Iterator[Store]:
    settings = delivery_settings()
    opened = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    yield opened
    opened.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A store on SQLite only, for what the database does not change (the suite's time is better spent elsewhere)."""
    opened = Store.open(f"sqlite:///{tmp_path / 'webhooks.sqlite'}")
    yield opened
    opened.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver()
    yield started
    started.stop()


def endpoint_for(store: Store, receiver: Receiver, *events: EventType) -> int:
    endpoint, secret = add_endpoint(store, receiver.url, events or tuple(EventType), T0, allow_private=True)
    receiver.secret = secret
    return endpoint.id


def test_every_event_and_endpoint_state_is_worded_once() -> None:
    assert set(EVENT_WORDS) == set(EventType)
    assert set(ENDPOINT_STATE_WORDS) == set(EndpointState)


def test_a_one_click_unsubscribe_delivers_one_signed_event(delivery_settings: Callable[..., Scope], receiver: Receiver) -> None:
    settings = delivery_settings()
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    server = LiveServer(create_public_app(settings, store))
    try:
        bo, _ = store.subscribers.add("bo@example.org", "Bo")
        endpoint_for(store, receiver, EventType.SUBSCRIBER_UNSUBSCRIBED)
        url = routes.UNSUBSCRIBE.link(server.base, token=link_token(settings, store, bo.id))
        status, _, _ = http_request("POST", url, b"List-Unsubscribe=One-Click", {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 200
        assert deliver(store, datetime.now(UTC), allow_private=True).delivered == 1
        [got] = receiver.received
        assert got.verified and got.message_id.startswith("msg_")
        assert got.event["type"] == "subscriber.unsubscribed"
        assert got.event["data"]["email"] == "bo@example.org" and got.event["data"]["status"] == "unsubscribed"
        assert not verify("whsec_" + base64.b64encode(b"another secret, 24 bytes").decode(), got.headers, got.body)
        assert not verify(receiver.secret, got.headers, got.body + b" ")
        assert deliver(store, datetime.now(UTC) + timedelta(days=1), allow_private=True).delivered == 0  # once
    finally:
        server.stop()
        store.close()


def test_a_receiver_down_for_the_first_attempts_gets_the_event_once_when_back(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    endpoint, secret = add_endpoint(
        sqlite_store,
        f"http://127.0.0.1:{port}/hooks/catch/path-secret?key=query-secret",
        [EventType.SUBSCRIBER_UNSUBSCRIBED],
        T0,
        allow_private=True,
    )
    ada, _ = sqlite_store.subscribers.add("ada@example.org")
    sqlite_store.subscribers.set_status(ada.id, SubscriberStatus.UNSUBSCRIBED, "removed by an operator")
    now = datetime.now(UTC)
    assert deliver(sqlite_store, now, allow_private=True).failed == 1  # nothing listens
    assert deliver(sqlite_store, now + BACKOFF[0] - timedelta(seconds=1), allow_private=True).failed == 0  # not due yet
    assert deliver(sqlite_store, now + BACKOFF[0], allow_private=True).failed == 1  # still down: the next wait is longer
    later = now + BACKOFF[0] + BACKOFF[1]
    back = Receiver(port=port, secret=secret)
    try:
        assert deliver(sqlite_store, later - timedelta(seconds=1), allow_private=True).delivered == 0
        assert deliver(sqlite_store, later, allow_private=True).delivered == 1
        assert deliver(sqlite_store, later + timedelta(hours=9), allow_private=True).delivered == 0
        assert back.types() == ["subscriber.unsubscribed"] and back.received[0].verified
        assert "cannot post" in caplog.text  # the failures were logged…
        signed = back.received[0].headers["webhook-signature"].removeprefix("v1,")
        assert secret.removeprefix("whsec_") not in caplog.text and signed not in caplog.text  # …never the secret
        assert (
            f"127.0.0.1:{port}" in caplog.text and "path-secret" not in caplog.text and "query-secret" not in caplog.text
        )  # nor the URL's
        assert sqlite_store.webhooks.get(endpoint.id).state is EndpointState.ACTIVE  # type: ignore[union-attr]
    finally:
        back.stop()


def test_a_deliverer_that_dies_mid_post_leaves_the_event_due_again_with_the_same_id(store: Store, receiver: Receiver) -> None:
    endpoint_for(store, receiver, EventType.SUBSCRIBER_CREATED)
    store.subscribers.add("ada@example.org")
    now = datetime.now(UTC)
    lease = timedelta(minutes=2)
    claimed = store.webhooks.claim_next(now, lease)  # then the process dies: its outcome is never recorded
    assert claimed is not None
    assert deliver(store, now + lease - timedelta(seconds=1), allow_private=True).delivered == 0  # the claim holds
    assert deliver(store, now + lease, allow_private=True).delivered == 1
    assert [item.message_id for item in receiver.received] == [claimed.message_id]
    assert not store.webhooks.delivered(claimed, now)  # the dead claim records nothing over the new one


def test_a_later_event_of_a_subscriber_waits_for_the_earlier_one(store: Store, receiver: Receiver) -> None:
    endpoint_for(store, receiver, EventType.SUBSCRIBER_UPDATED, EventType.SUBSCRIBER_UNSUBSCRIBED)
    ada, _ = store.subscribers.add("ada@example.org")
    bo, _ = store.subscribers.add("bo@example.org")
    store.subscribers.set_preferences(ada.id, ["science"], None)
    receiver.failing = 1  # Ada's first event fails: it is due again in 30 s
    now = datetime.now(UTC)
    assert deliver(store, now, allow_private=True).failed == 1
    store.subscribers.set_status(ada.id, SubscriberStatus.UNSUBSCRIBED, "one-click unsubscribe")
    store.subscribers.set_status(bo.id, SubscriberStatus.UNSUBSCRIBED, "one-click unsubscribe")
    # Due now, both: Bo's goes; Ada's waits for her earlier event, not due yet.
    assert deliver(store, now + BACKOFF[0] / 2, allow_private=True).delivered == 1
    assert [(item.event["data"]["email"], item.event["type"]) for item in receiver.received] == [
        ("bo@example.org", "subscriber.unsubscribed")
    ]
    assert deliver(store, now + BACKOFF[0], allow_private=True).delivered == 2
    assert [(item.event["data"]["email"], item.event["type"]) for item in receiver.received][1:] == [
        ("ada@example.org", "subscriber.updated"),
        ("ada@example.org", "subscriber.unsubscribed"),
    ]


def test_an_endpoint_that_fails_is_left_alone_for_the_rest_of_the_pass(sqlite_store: Store, receiver: Receiver) -> None:
    endpoint_for(sqlite_store, receiver, EventType.SUBSCRIBER_CREATED)
    for name in ("ada", "bo", "cy"):
        sqlite_store.subscribers.add(f"{name}@example.org")
    receiver.failing = 1
    now = datetime.now(UTC)
    assert deliver(sqlite_store, now, allow_private=True).failed == 1 and receiver.hits == 1
    assert deliver(sqlite_store, now, allow_private=True).delivered == 2  # the next pass: the others, not the failed one
    assert deliver(sqlite_store, now + BACKOFF[0], allow_private=True).delivered == 1


def test_an_endpoint_failing_for_three_days_is_disabled_until_enabled(sqlite_store: Store, receiver: Receiver) -> None:
    endpoint = endpoint_for(sqlite_store, receiver, EventType.SUBSCRIBER_CREATED)
    sqlite_store.subscribers.add("ada@example.org")
    receiver.failing = 10_000
    now = datetime.now(UTC)
    when, disabled = now, ()
    while not disabled and when < now + timedelta(days=4):
        disabled = deliver(sqlite_store, when, allow_private=True).disabled
        when += BACKOFF[-1]
    assert disabled == (endpoint,) and when - now > timedelta(days=3)
    assert sqlite_store.webhooks.get(endpoint).state is EndpointState.DISABLED  # type: ignore[union-attr]
    assert deliver(sqlite_store, when + timedelta(days=1), allow_private=True).failed == 0  # nothing goes to it
    receiver.failing = 0
    enable_endpoint(sqlite_store, endpoint, when)
    assert deliver(sqlite_store, when, allow_private=True).delivered == 1 and receiver.types() == ["subscriber.created"]


def test_a_replay_sends_an_event_again_with_its_id(sqlite_store: Store, receiver: Receiver) -> None:
    endpoint = endpoint_for(sqlite_store, receiver, EventType.SUBSCRIBER_CREATED)
    sqlite_store.subscribers.add("ada@example.org")
    now = datetime.now(UTC)
    deliver(sqlite_store, now, allow_private=True)
    [(event_id, _, _)] = sqlite_store.webhooks.events()
    assert replay(sqlite_store, endpoint, now, event_ids=[event_id]) == 1
    assert replay(sqlite_store, endpoint, now, since=now - timedelta(hours=1)) == 1
    deliver(sqlite_store, now, allow_private=True)
    assert len({item.message_id for item in receiver.received}) == 1 and len(receiver.received) == 2
    with pytest.raises(RefusedError):
        replay(sqlite_store, endpoint + 1, now, event_ids=[event_id])


@pytest.mark.parametrize(
    "url",
    ["https://127.0.0.1/hooks", "https://localhost/hooks", "https://10.1.2.3/hooks", "https://[::1]/hooks", "https://inside.example/hooks"],
)
def test_a_loopback_or_private_url_is_refused_with_the_switch_named(url: str) -> None:
    refusal = url_refusal(url, allow_private=False, resolve=lambda _host: ["192.168.1.20"])
    assert refusal is not None and "DIGEST_WEBHOOKS_ALLOW_PRIVATE=1" in refusal.why
    assert url_refusal(url, allow_private=True) is None


@pytest.mark.parametrize("host", ["[64:ff9b::7f00:1]", "[::127.0.0.1]", "[2002:7f00:1::1]", "[2002:a9fe:a9fe::]", "[::ffff:10.0.0.1]"])
def test_an_ipv6_address_carrying_a_private_ipv4_one_is_refused(host: str) -> None:
    """NAT64 (64:ff9b::/96), the IPv4-compatible form, 6to4 (2002::/16): Python calls some of them global, but a
    translator or tunnel on the way reaches the IPv4 address inside (127.0.0.1, 169.254.169.254, 10.0.0.1)."""
    assert url_refusal(f"https://{host}/hooks", allow_private=False) is not None
    public = lambda _host: [host.strip("[]")]  # noqa: E731 (a name that resolves to it)
    assert url_refusal("https://hooks.example.com/in", allow_private=False, resolve=public) is not None
    assert url_refusal("https://[64:ff9b::5db8:d822]/hooks", allow_private=False) is None  # NAT64 of 93.184.216.34: public


def test_only_https_to_a_public_address_is_accepted_unless_private_is_allowed() -> None:
    public = lambda _host: ["93.184.216.34"]  # noqa: E731
    assert url_refusal("https://hooks.example.com/in", allow_private=False, resolve=public) is None
    assert url_refusal("http://hooks.example.com/in", allow_private=False, resolve=public) is not None
    assert url_refusal("http://127.0.0.1:8080/in", allow_private=True) is None
    assert url_refusal("ftp://127.0.0.1/in", allow_private=True) is not None


def test_a_delivery_to_a_private_address_is_refused_unless_allowed(sqlite_store: Store, receiver: Receiver) -> None:
    endpoint_for(sqlite_store, receiver, EventType.SUBSCRIBER_CREATED)  # added while allowed; the deliverer checks again
    sqlite_store.subscribers.add("ada@example.org")
    now = datetime.now(UTC)
    assert deliver(sqlite_store, now, allow_private=False).failed == 1 and receiver.hits == 0
    [endpoint] = sqlite_store.webhooks.endpoints()
    assert "loopback or private" in (endpoint.last_error or "")
    assert deliver(sqlite_store, now + BACKOFF[0], allow_private=True).delivered == 1


def test_no_event_without_its_change_and_no_change_without_its_event(store: Store, receiver: Receiver) -> None:
    endpoint_for(store, receiver)
    ada, _ = store.subscribers.add("ada@example.org")
    assert not store.subscribers.set_status(ada.id, SubscriberStatus.ACTIVE, "again")  # no change: no event
    store.subscribers.set_status(ada.id, SubscriberStatus.UNSUBSCRIBED, "removed")
    assert not store.subscribers.set_status(ada.id, SubscriberStatus.UNSUBSCRIBED, "removed again")
    assert not store.subscribers.set_preferences(ada.id, ["science"], None)  # not active: refused, no event
    store.issues.add_once(make_stored_issue())
    store.issues.add_once(make_stored_issue())  # stored already: not frozen again
    assert store.subscribers.rename(ada.id, "Ada") and store.subscribers.rename(ada.id, "Ada")  # the API's rename: once
    assert not store.subscribers.rename(ada.id + 100, "Nobody")
    assert [kind for _, kind, _ in store.webhooks.events()] == [
        EventType.SUBSCRIBER_CREATED,
        EventType.SUBSCRIBER_UNSUBSCRIBED,
        EventType.ISSUE_FROZEN,
        EventType.SUBSCRIBER_UPDATED,
    ]
    # An event that cannot be written takes its change with it: the transaction is one.
    from digest.store.schema import webhook_endpoints

    with store.engine.begin() as conn:
        conn.execute(webhook_endpoints.update().values(events="not json"))
    with pytest.raises(ValueError):
        store.subscribers.set_status(ada.id, SubscriberStatus.ACTIVE, "back")
    assert store.subscribers.get(subscriber_id=ada.id).status is SubscriberStatus.UNSUBSCRIBED  # type: ignore[union-attr]
    assert len(store.webhooks.events()) == 4


def test_forget_strips_the_person_from_events_still_to_go(sqlite_store: Store, receiver: Receiver) -> None:
    endpoint_for(sqlite_store, receiver)
    ada, _ = sqlite_store.subscribers.add("ada@example.org", "Ada Lovelace")
    sqlite_store.subscribers.forget(ada.id, "hash-of-ada")
    assert all("ada@" not in body and "Lovelace" not in body for _, _, body in sqlite_store.webhooks.events())
    deliver(sqlite_store, datetime.now(UTC), allow_private=True)
    assert receiver.types() == ["subscriber.created", "subscriber.forgotten"]
    # Stripped to the ids and the hash, and the newsletter whose subscription it was (no person's data in it).
    stripped = {"id": ada.id, "email_hash": "hash-of-ada", "newsletter": sqlite_store.newsletter, "person_id": ada.person_id}
    assert [item.event["data"] for item in receiver.received] == [stripped] * 2
    assert all(item.verified for item in receiver.received)


def test_an_issue_frozen_approved_and_sent_says_so_once_with_its_counts(sqlite_store: Store, receiver: Receiver) -> None:
    endpoint_for(sqlite_store, receiver, EventType.ISSUE_FROZEN, EventType.ISSUE_APPROVED, EventType.ISSUE_SENT)
    issue = make_stored_issue()
    ada, _ = sqlite_store.subscribers.add("ada@example.org")
    sqlite_store.subscribers.add("bo@example.org")
    sqlite_store.issues.add_once(issue)
    sqlite_store.approvals.approve(issue.id, "editor@example.org", "print", "file")
    sqlite_store.ledger.enqueue(issue.id)
    assert not sqlite_store.ledger.finish(issue.id)  # deliveries outstanding: not sent yet
    sqlite_store.ledger.mark_sent(issue.id, ada.id, "250 ok")
    sqlite_store.ledger.skip_inactive(issue.id)
    bo = sqlite_store.subscribers.get("bo@example.org")
    assert bo is not None
    sqlite_store.ledger.mark_failed(issue.id, bo.id, "550 no such user", bounce=True)
    assert sqlite_store.ledger.finish(issue.id) and not sqlite_store.ledger.finish(issue.id)
    bounced = [json.loads(body)["data"] for _, kind, body in sqlite_store.webhooks.events() if kind is EventType.SUBSCRIBER_BOUNCED]
    assert [(data["email"], data["status"]) for data in bounced] == [("bo@example.org", "bounced")]  # the send's own bounce
    deliver(sqlite_store, datetime.now(UTC), allow_private=True)
    assert receiver.types() == ["issue.frozen", "issue.approved", "issue.sent"]
    assert receiver.received[1].event["data"]["approved_by"] == "editor@example.org"
    assert receiver.received[2].event["data"]["counts"] == {"failed": 1, "sent": 1}
    assert json.loads(receiver.received[2].body)["data"]["id"] == issue.id


def test_the_command_prints_the_secret_last_and_refuses_a_private_url_naming_the_switch(tmp_path: Path, receiver: Receiver) -> None:
    from click.testing import CliRunner

    from digest.cli import main

    from support.project import make_config

    config = str(make_config(tmp_path, None))
    runner = CliRunner()
    add = ["--config", config, "webhooks", "add", receiver.url, "--event", "subscriber.created"]
    refused = runner.invoke(main, add, env={"DIGEST_WEBHOOKS_ALLOW_PRIVATE": None})
    assert refused.exit_code != 0 and "DIGEST_WEBHOOKS_ALLOW_PRIVATE=1" in refused.output
    added = runner.invoke(main, add, env={"DIGEST_WEBHOOKS_ALLOW_PRIVATE": "1"})
    assert added.exit_code == 0, added.output
    secret = added.output.strip().splitlines()[-1]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    listed = runner.invoke(main, ["--config", config, "webhooks", "list"])
    assert receiver.url in listed.output and "active" in listed.output and secret not in listed.output
    subscribed = runner.invoke(main, ["--config", config, "subscribers", "add", "ada@example.org"])
    assert subscribed.exit_code == 0, subscribed.output
    receiver.secret = secret
    delivered = runner.invoke(main, ["--config", config, "webhooks", "deliver"], env={"DIGEST_WEBHOOKS_ALLOW_PRIVATE": "1"})
    assert delivered.exit_code == 0 and delivered.output.startswith("1 delivered"), delivered.output
    assert receiver.types() == ["subscriber.created"] and receiver.received[0].verified


def test_a_send_that_completes_writes_its_issue_sent_once(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from digest.cli import main

    from support.project import ISSUE, fill, make_config

    config = make_config(tmp_path, None)
    store = fill(config, 3)
    try:
        runner = CliRunner()
        env = {"DIGEST_SECRET_KEY": "test-secret-key-for-the-suite-0123456789"}
        for _ in range(2):  # the second finds nothing left to send: no second issue.sent
            sent = runner.invoke(main, ["--config", str(config), "send", "--issue", ISSUE, "--yes"], env=env)
            assert sent.exit_code == 0, sent.output
        bodies = [json.loads(body) for _, kind, body in store.webhooks.events() if kind is EventType.ISSUE_SENT]
        assert [body["data"]["counts"] for body in bodies] == [{"sent": 3}]
    finally:
        store.close()


def test_https_goes_to_the_checked_address_with_the_host_certificate_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    import http.server
    import ssl

    import trustme

    from digest.sources import http as client

    authority = trustme.CA()

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    serving = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("hooks.example.com").configure_cert(serving)
    server.socket = serving.wrap_socket(server.socket, server_side=True)
    serve_in_thread(server)
    url = f"https://hooks.example.com:{server.server_address[1]}/in"
    here = lambda _host: ["127.0.0.1"]  # noqa: E731 (the name resolves to this machine: our own resolver, no DNS)
    try:
        untrusted = client.post(url, b"{}", {}, timeout=5, max_bytes=100, allow_private=True, resolve=here)
        assert untrusted.status is None and "CERTIFICATE_VERIFY_FAILED" in (untrusted.problem or "")
        plain = ssl.create_default_context

        def trusting() -> ssl.SSLContext:
            context = plain()
            authority.configure_trust(context)
            return context

        monkeypatch.setattr(client.ssl, "create_default_context", trusting)
        assert client.post(url, b"{}", {}, timeout=5, max_bytes=100, allow_private=True, resolve=here).ok
        refused = client.post(url, b"{}", {}, timeout=5, max_bytes=100, allow_private=False, resolve=here)
        assert refused.status is None and "loopback or private" in (refused.problem or "")
    finally:
        server.shutdown()
        server.server_close()


def test_a_receiver_that_hangs_or_answers_at_length_is_cut_short(receiver: Receiver) -> None:
    from digest.sources import http as client

    receiver.manner = "hangs"
    hung = client.post(receiver.url, b"{}", {}, timeout=0.5, max_bytes=100, allow_private=True)
    assert hung.status is None and "timed out" in (hung.problem or "")
    receiver.manner = "at length"
    answered = client.post(receiver.url, b"{}", {}, timeout=5, max_bytes=100, allow_private=True)
    assert answered.status == 500 and len(answered.problem or "") < 300


def test_done_when_a_subscriber_added_through_the_api_leaves_by_one_click_and_a_receiver_down_at_first_gets_it_once(
    tmp_path: Path, receiver: Receiver
) -> None:
    """Issue 36's "Done when", end to end: the API adds a reader with a scoped token; their one-click unsubscribe makes
    one subscriber.unsubscribed, which a receiver down for the first attempts gets exactly once, its signature verifying."""
    from support.api import Served, call
    from support.project import make_config

    served = Served(make_config(tmp_path, None))
    try:
        token = served.token("website", "subscribers:write")
        status, _, person = call(served.base, "POST", "/api/v1/subscribers", token, {"email": "ada@example.org", "confirmed": True})
        assert status == 201, person
        endpoint_for(served.store, receiver, EventType.SUBSCRIBER_UNSUBSCRIBED)
        ada = served.store.subscribers.get("ada@example.org")
        assert ada is not None and ada.status is SubscriberStatus.ACTIVE
        url = routes.UNSUBSCRIBE.link(served.base, token=link_token(served.settings, served.store, ada.id))
        assert http_request("POST", url, b"List-Unsubscribe=One-Click", {"Content-Type": "application/x-www-form-urlencoded"})[0] == 200
        receiver.failing = 2  # down for the first two attempts
        now = datetime.now(UTC)
        passes = [deliver(served.store, now + offset, allow_private=True) for offset in (timedelta(0), BACKOFF[0], BACKOFF[0] + BACKOFF[1])]
        assert [(done.delivered, done.failed) for done in passes] == [(0, 1), (0, 1), (1, 0)]
        assert deliver(served.store, now + timedelta(days=1), allow_private=True).delivered == 0
        [got] = receiver.received
        assert got.verified and got.event["type"] == "subscriber.unsubscribed" and got.event["data"]["email"] == "ada@example.org"
    finally:
        served.stop()


def test_the_readmes_receiver_takes_an_event_about_someone_forgotten_since(sqlite_store: Store) -> None:
    """The README's receiver, run as printed (its secret and port filled in): an unsubscribe whose person was
    forgotten before it went out carries no email; a receiver that assumed one failed on it, and the endpoint stalled."""

    from conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    code = readme.split("## Webhooks\n", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    serving = code.rstrip().splitlines()[-1]
    assert serving.startswith("HTTPServer(")
    port = free_port()
    endpoint, secret = add_endpoint(sqlite_store, f"http://127.0.0.1:{port}/hook", tuple(EventType), T0, allow_private=True)
    namespace: dict[str, Any] = {}
    exec(compile(code.replace(serving, "").replace('"whsec_…"', repr(secret)), "README.md", "exec"), namespace)
    server = namespace["HTTPServer"](("127.0.0.1", port), namespace["Hook"])
    serve_in_thread(server)
    try:
        ada, _ = sqlite_store.subscribers.add("ada@example.org", "Ada")
        sqlite_store.subscribers.set_status(ada.id, SubscriberStatus.UNSUBSCRIBED, "removed")
        sqlite_store.subscribers.forget(ada.id, "hash-of-ada")
        done = deliver(sqlite_store, datetime.now(UTC), allow_private=True)
        assert (done.delivered, done.failed) == (3, 0), sqlite_store.webhooks.get(endpoint.id)
        assert len(namespace["seen"]) == 3  # each handled once, by its webhook-id
    finally:
        server.shutdown()
        server.server_close()
