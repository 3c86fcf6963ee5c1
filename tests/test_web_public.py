"""The unsubscribe and archive app, over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from digest.config import Scope
from digest.models import placeholders
from digest.models.tokens import Signer
from digest.store import Store
from digest.web.public import create_public_app

from conftest import LiveServer, http_request, link_token
from factories import make_stored_issue
from support.settings import overridden

ONE_CLICK = b"List-Unsubscribe=One-Click"


@pytest.fixture
def served(delivery_settings: Callable[..., Scope]) -> Iterator[tuple[LiveServer, Store, Scope]]:
    settings = delivery_settings()
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    for name in ("ada", "bo"):
        store.subscribers.add(f"{name}@example.org")
    server = LiveServer(create_public_app(settings, store))
    yield server, store, settings
    server.stop()


def token(settings: Scope, subscriber_id: int, store: Store | None = None) -> str:
    """A subscriber's link token: with their salt when ``store`` is given (rows made by the store have one)."""
    assert settings.install.secret_key is not None
    if store is not None:
        return link_token(settings, store, subscriber_id)
    return Signer(settings.install.secret_key, settings.newsletter.list_id).token(subscriber_id)


def status_of(store: Store, email: str) -> str:
    subscriber = store.subscribers.get(email)
    assert subscriber is not None
    return subscriber.status


def test_get_shows_a_confirmation_and_changes_nothing(served: tuple[LiveServer, Store, Scope]) -> None:
    server, store, settings = served
    code, headers, body = http_request("GET", f"{server.base}/u/{token(settings, 1, store)}")
    assert code == 200
    assert 'method="post"' in body and "a***@example.org" in body
    assert "ada@example.org" not in body
    assert "set-cookie" not in {k.lower() for k in headers}
    http_request("GET", f"{server.base}/u/{token(settings, 1, store)}")  # a mail scanner fetching twice
    assert status_of(store, "ada@example.org") == "active"


def test_one_click_post_unsubscribes_idempotently(served: tuple[LiveServer, Store, Scope]) -> None:
    server, store, settings = served
    url = f"{server.base}/u/{token(settings, 1, store)}"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    code, headers, body = http_request("POST", url, ONE_CLICK, form)
    assert code == 200 and "You are unsubscribed" in body
    assert "set-cookie" not in {k.lower() for k in headers}
    assert status_of(store, "ada@example.org") == "unsubscribed"
    assert http_request("POST", url, ONE_CLICK, form)[0] == 200  # again: same answer, nothing else changes
    assert status_of(store, "bo@example.org") == "active"
    assert http_request("GET", url)[2].count("You are unsubscribed") == 1


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # altered MAC
        lambda t: "2." + t.split(".")[1],  # another subscriber's id on this MAC
        lambda t: "1.",
        lambda t: "1",
        lambda t: "abc.def",
        lambda t: Signer("wrong key", "x").token(1),
    ],
)
def test_forged_tokens_get_404_and_change_nothing(served: tuple[LiveServer, Store, Scope], forge: Callable[[str], str]) -> None:
    server, store, settings = served
    bad = forge(token(settings, 1, store))
    assert http_request("GET", f"{server.base}/u/{bad}")[0] == 404
    assert http_request("POST", f"{server.base}/u/{bad}", ONE_CLICK)[0] == 404
    assert status_of(store, "ada@example.org") == "active" and status_of(store, "bo@example.org") == "active"


def test_archive_lists_sent_issues_without_recipient_data(served: tuple[LiveServer, Store, Scope]) -> None:
    server, store, _ = served
    store.issues.save(make_stored_issue("2026-11-20-abcdef", "Sent Issue"))
    store.issues.save(make_stored_issue("2026-11-27-fedcba", "Unsent Issue"))
    assert "No issue has been sent yet" in http_request("GET", f"{server.base}/archive/")[2]
    store.ledger.enqueue("2026-11-20-abcdef")
    store.ledger.mark_sending("2026-11-20-abcdef", 1)
    store.ledger.mark_sent("2026-11-20-abcdef", 1, "250 ok")
    code, _, listing = http_request("GET", f"{server.base}/archive/")
    assert code == 200 and "Sent Issue" in listing and "Unsent Issue" not in listing
    code, _, page = http_request("GET", f"{server.base}/archive/2026-11-20-abcdef/")
    assert code == 200 and "Café news" in page
    for private in (placeholders.RECIPIENT_EMAIL, placeholders.UNSUBSCRIBE_URL, "ada@example.org", "bo@example.org", "%%"):
        assert private not in page
    assert http_request("GET", f"{server.base}/archive/2026-11-27-fedcba/")[0] == 404
    assert http_request("GET", f"{server.base}/archive/nope/")[0] == 404


def test_the_root_leads_to_the_archive_and_its_sign_up(served: tuple[LiveServer, Store, Scope]) -> None:
    """Issue 22, item 12: ``GET /`` on digest serve was a plain-text 404."""
    import urllib.request

    server, _, _ = served

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    try:
        urllib.request.build_opener(NoRedirect).open(f"{server.base}/", timeout=10)
        raise AssertionError("no redirect")
    except urllib.error.HTTPError as exc:
        assert exc.code == 302 and exc.headers["Location"] == "/archive/"
    code, _, page = http_request("GET", f"{server.base}/")  # followed
    assert code == 200 and "Past issues" in page and 'href="/subscribe"' in page


def test_health_and_test_links(served: tuple[LiveServer, Store, Scope]) -> None:
    server, store, _ = served
    code, _, body = http_request("GET", f"{server.base}/healthz")
    assert code == 200 and json.loads(body) == {"status": "ok"}  # the status alone, for anyone
    assert http_request("POST", f"{server.base}/u/test", ONE_CLICK)[0] == 200
    assert status_of(store, "ada@example.org") == "active"


def test_the_link_in_a_delivered_message_unsubscribes_its_recipient(served: tuple[LiveServer, Store, Scope]) -> None:
    import email
    import re
    from email.policy import default

    from digest.send.delivery import compile_issue

    server, store, settings = served
    message = compile_issue(make_stored_issue(), overridden(settings, base_url=server.base))
    bo = store.subscribers.get("bo@example.org")
    assert bo is not None
    parsed = email.message_from_bytes(message.render(bo.id, bo.email, None, bo.link_salt), policy=default)  # as the send renders it
    [url] = [u for u in re.findall(r"<([^>]+)>", parsed["List-Unsubscribe"]) if u.startswith("http")]
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert http_request("POST", url, ONE_CLICK, {"Content-Type": "application/x-www-form-urlencoded"})[0] == 200
    assert status_of(store, "bo@example.org") == "unsubscribed" and status_of(store, "ada@example.org") == "active"


@pytest.mark.slow(4)
def test_an_unsubscribe_is_answered_at_once_while_a_large_send_writes_its_ledger(tmp_path: Path) -> None:
    """The endpoints run in a thread pool: a send holding SQLite's write lock between messages never stalls the server."""
    import signal
    import time

    from digest.config import load_settings
    from digest.models import DeliveryState, SubscriberStatus

    from support.cli import popen
    from support.project import ISSUE, fill, make_config

    config = make_config(tmp_path, None)  # the outbox backend, no pacing: the ledger is written as fast as it can be
    store = fill(config, 20_000)
    settings = overridden(load_settings(config, environ={}), secret_key="test-secret-key-for-the-suite-0123456789")
    server = LiveServer(create_public_app(settings, store))
    sender = popen(config, "send", "--issue", ISSUE, "--yes")
    try:
        deadline = time.monotonic() + 60
        while store.ledger.status([ISSUE])[0].counts[DeliveryState.SENT] < 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        timings = []
        for subscriber_id in (20_000, 19_000, 18_000, 17_000, 16_000):
            started = time.monotonic()
            code, _, body = http_request("POST", f"{server.base}/u/{token(settings, subscriber_id, store)}", b"")
            timings.append(time.monotonic() - started)
            assert code == 200 and "unsubscribed" in body.lower()
        assert sender.poll() is None, "the send finished before the requests: the test proved nothing"
        sent = store.ledger.status([ISSUE])[0].counts[DeliveryState.SENT]
        assert sent < 20_000
        assert max(timings) < 1.0, f"answers took {[round(t, 3) for t in timings]} s while the send was writing"
        subscriber = store.subscribers.get(subscriber_id=16_000)
        assert subscriber is not None and subscriber.status == SubscriberStatus.UNSUBSCRIBED
    finally:
        sender.send_signal(signal.SIGTERM)
        sender.communicate(timeout=60)
        server.stop()


def test_a_request_waiting_for_the_write_lock_does_not_stall_the_others(served: tuple[LiveServer, Store, Scope]) -> None:
    """One unsubscribe waits for SQLite's write lock (held here as a ledger writer would): the archive still answers at once."""
    import sqlite3
    import threading
    import time

    server, store, settings = served
    if not store.is_sqlite:
        pytest.skip("SQLite's database-wide write lock: PostgreSQL locks rows, so nothing here waits")
    path = store.engine.url.database
    assert path is not None
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the write lock, as a send's commit holds it
    answers: dict[str, tuple[int, float]] = {}

    def post() -> None:
        started = time.monotonic()
        code, _, _ = http_request("POST", f"{server.base}/u/{token(settings, 1, store)}", b"")
        answers["post"] = (code, time.monotonic() - started)

    waiting = threading.Thread(target=post)
    waiting.start()
    time.sleep(0.3)  # the unsubscribe is now waiting for the lock
    started = time.monotonic()
    code, _, _ = http_request("GET", f"{server.base}/archive/")
    archive_took = time.monotonic() - started
    time.sleep(1.5)
    holder.execute("COMMIT")
    holder.close()
    waiting.join(timeout=30)
    assert code == 200 and archive_took < 1.0, f"the archive took {archive_took:.2f} s while an unsubscribe waited for the lock"
    assert answers["post"][0] == 200 and answers["post"][1] >= 1.5  # it did wait, and then went through
    assert status_of(store, "ada@example.org") == "unsubscribed"


def test_foreign_host_names_get_no_page_and_no_redirect(served: tuple[LiveServer, Store, Scope]) -> None:
    """Issue 11, finding 12. Reproduction: ``GET /archive`` with ``Host: evil.example`` answered
    ``307 Location: http://evil.example/archive/``, and every page answered any Host. Now a foreign Host
    gets a 400; the host of base_url and loopback names are answered, and redirects stay on them."""
    import urllib.request

    server, store, settings = served
    for path in ("/archive", "/archive/", f"/u/{token(settings, 1, store)}", "/healthz"):
        code, headers, _ = http_request("GET", f"{server.base}{path}", headers={"Host": "evil.example"})
        assert code == 400 and "evil.example" not in headers.get("location", ""), path

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(f"{server.base}/archive", headers={"Host": "news.example.org"})
    try:
        opener.open(request, timeout=10)
        raise AssertionError("expected a redirect")
    except urllib.error.HTTPError as exc:
        # A path, never a host or a scheme (issue 31: behind a TLS proxy Starlette's own named http).
        assert exc.code == 302 and exc.headers["location"] == "/archive/"
    assert http_request("GET", f"{server.base}/archive/", headers={"Host": f"localhost:{server.port}"})[0] == 200


def test_tokens_never_reach_the_access_log(tmp_path: Path) -> None:
    """Issue 11, finding 12. Reproduction: ``digest serve``'s access log showed every valid
    ``/u/<token>`` in full. Now the real server, started as an operator starts it, logs the request
    with the token redacted."""
    import os
    import subprocess
    import sys
    import time

    from mailserver import free_port

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "SMTP_", "DATABASE_URL"))}
    env["DIGEST_SECRET_KEY"] = "test-secret-key-for-the-suite-0123456789"
    run = [sys.executable, "-m", "digest"]
    subprocess.run([*run, "init", str(tmp_path / "news"), "--name", "Harbour Notes"], env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        [*run, "serve", "--port", str(port)], cwd=tmp_path / "news", env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if http_request("GET", f"http://127.0.0.1:{port}/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        from digest.config import load_settings

        settings = load_settings(tmp_path / "news" / "config" / "digest.toml", environ=env)
        secret = Signer("test-secret-key-for-the-suite-0123456789", settings.newsletter.list_id).token(1)
        assert http_request("GET", f"http://127.0.0.1:{port}/u/{secret}")[0] in (200, 404)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=20)
    assert 'GET /u/<redacted> HTTP/1.1" 404' in output or 'GET /u/<redacted> HTTP/1.1" 200' in output, output
    assert secret not in output and secret.partition(".")[2] not in output


def test_every_public_page_carries_the_policy_headers(served: tuple[LiveServer, Store, Scope]) -> None:
    """Issue 13: a CSP with no script and no framing, nosniff, no referrer; no-store on token pages."""
    server, store, settings = served
    for path in ("/archive/", f"/u/{token(settings, 1, store)}", "/u/", "/u/forged.token", "/healthz", "/archive/nope/"):
        _, headers, _ = http_request("GET", f"{server.base}{path}")
        lowered = {k.lower(): v for k, v in headers.items()}
        csp = lowered["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp, path
        assert lowered["x-content-type-options"] == "nosniff" and lowered["referrer-policy"] == "no-referrer", path
    _, headers, _ = http_request("GET", f"{server.base}/u/{token(settings, 1, store)}")
    assert {k.lower(): v for k, v in headers.items()}["cache-control"] == "no-store"


@pytest.mark.slow(5)
def test_metrics_on_an_address_of_their_own(tmp_path: Path) -> None:
    """Issue 15: ``digest serve --metrics-address`` serves /metrics there only (the public address answers 404),
    with the same host rule; a malformed address is a usage error naming the option."""
    import os
    import subprocess
    import sys
    import time

    from prometheus_client.parser import text_string_to_metric_families

    from mailserver import free_port

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "SMTP_", "DATABASE_URL"))}
    env["DIGEST_SECRET_KEY"] = "test-secret-key-for-the-suite-0123456789"
    run = [sys.executable, "-m", "digest"]
    subprocess.run([*run, "init", str(tmp_path / "news"), "--name", "Harbour Notes"], env=env, check=True, capture_output=True)
    bad = subprocess.run([*run, "serve", "--metrics-address", "9100"], cwd=tmp_path / "news", env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "--metrics-address" in bad.stderr and "HOST:PORT" in bad.stderr
    port, metrics_port = free_port(), free_port()
    server = subprocess.Popen(
        [*run, "serve", "--port", str(port), "--metrics-address", f"127.0.0.1:{metrics_port}"],
        cwd=tmp_path / "news",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if http_request("GET", f"http://127.0.0.1:{metrics_port}/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        code, _, body = http_request("GET", f"http://127.0.0.1:{metrics_port}/metrics")
        assert code == 200
        names = {family.name for family in text_string_to_metric_families(body)}
        assert {"digest_deliveries", "digest_subscribers"} <= names
        assert http_request("GET", f"http://127.0.0.1:{port}/metrics")[0] == 404
        assert http_request("GET", f"http://127.0.0.1:{port}/healthz")[0] == 200  # load balancers still find it
        assert http_request("GET", f"http://127.0.0.1:{metrics_port}/metrics", headers={"Host": "evil.example"})[0] == 400
        # Found walking the issue: a second server on a taken metrics address ran on without metrics, saying nothing.
        taken = subprocess.run(
            [*run, "serve", "--port", str(free_port()), "--metrics-address", f"127.0.0.1:{metrics_port}"],
            cwd=tmp_path / "news",
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert taken.returncode != 0 and f"--metrics-address 127.0.0.1:{metrics_port}: cannot listen there" in taken.stderr
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=20)
    assert f"Metrics on http://127.0.0.1:{metrics_port}/metrics" in output


def test_a_counted_links_log_line_keeps_no_client_address() -> None:
    """Issue 25: the access log must not become the record of who followed which link when."""
    import logging

    from digest.web.guard import RedactTokens

    line = '%s - "%s %s HTTP/%s" %d'
    counted = logging.LogRecord(
        "uvicorn.access", logging.INFO, "", 0, line, ("203.0.113.9:5555", "GET", "/r/2026-11-27-bf3b6c.1.abc", "1.1", 302), None
    )
    other = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, line, ("203.0.113.9:5555", "GET", "/archive/", "1.1", 200), None)
    assert RedactTokens().filter(counted) and RedactTokens().filter(other)
    assert counted.getMessage() == '- - "GET /r/2026-11-27-bf3b6c.1.abc HTTP/1.1" 302'
    assert other.getMessage().startswith("203.0.113.9:5555 - ")  # elsewhere the address stays, for the operator


def icon_answer(base: str) -> tuple[int, dict[str, str], bytes]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{base}/favicon.ico", timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def check_icon(base: str) -> None:
    """A real icon: an ICO holding one 32 × 32 PNG, cached for days, small."""
    import struct

    code, headers, body = icon_answer(base)
    assert code == 200, (code, body[:200])
    assert headers["content-type"] == "image/x-icon" and "max-age=604800" in headers["cache-control"]
    reserved, kind, count = struct.unpack("<HHH", body[:6])
    width, height, _, _, _, _, size, offset = struct.unpack("<BBBBHHII", body[6:22])
    assert (reserved, kind, count, width, height, offset) == (0, 1, 1, 32, 32, 22) and size == len(body) - 22 < 1024
    png = body[offset:]
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and struct.unpack(">II", png[16:24]) == (32, 32)


def test_the_public_app_answers_favicon_ico_with_a_cached_icon(served: tuple[LiveServer, Store, Scope]) -> None:
    """Issue 31: /favicon.ico was a 404 (every browser asks for it on its first visit)."""
    server, _, _ = served
    check_icon(server.base)
    _, headers, _ = icon_answer(server.base)
    assert "default-src 'none'" in headers["content-security-policy"]  # the policy headers still come with it


def test_the_preview_answers_favicon_ico_with_a_cached_icon(tmp_path: Path) -> None:
    """Issue 31: the preview's /favicon.ico was a 404 too."""
    from digest.web.preview import create_preview_app

    from support.project import make_project

    server = LiveServer(create_preview_app(make_project(tmp_path), watch=False))
    try:
        check_icon(server.base)
    finally:
        server.stop()


def test_an_address_with_or_without_its_slash_is_never_redirected_to_a_host_or_scheme(served: tuple[LiveServer, Store, Scope]) -> None:
    """A journey found Starlette's slash redirects answering `/u/<token>/` with `http://news.example.org/u/<token>`
    behind a TLS proxy (a reader's token in a plain-http address), and `/archive` with an http URL."""
    import http.client
    from urllib.parse import urlsplit

    server, store, settings = served
    ada = store.subscribers.get("ada@example.org")
    assert ada is not None
    address = urlsplit(server.base)

    def answer(path: str) -> tuple[int, str | None]:
        connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=10)
        try:
            connection.request("GET", path, headers={"X-Forwarded-Proto": "https"})
            response = connection.getresponse()
            response.read()
            return response.status, response.getheader("location")
        finally:
            connection.close()

    assert answer("/archive") == (302, "/archive/")
    issue = make_stored_issue()
    assert answer(f"/archive/{issue.id}") == (302, f"/archive/{issue.id}/")
    for path in (f"/u/{token(settings, ada.id, store)}/", "/subscribe/"):
        status, location = answer(path)
        assert status == 404 and location is None, (path, status, location)
