"""Bounces, complaints and mailed unsubscribes, from a real send to a real SMTP server back into the list.

The send runs with DKIM and VERP on; the bounce fixtures (tests/fixtures/bounces/,
written after RFC 3464, RFC 5965 and the formats Postfix and Exim write) are
filled in with what the SMTP server really received: the envelope sender each
copy went out with, its recipient, its Message-ID, its List-Unsubscribe mailto.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from test_dkim import verified

from digest.bounces import EventKind, process_message
from digest.config import BounceOptions, Settings
from digest.delivery import compile_issue, send_issue
from digest.mail.backends import get_backend
from digest.mail.dkim import DkimSigner, load_key, new_key
from digest.models import SubscriberStatus
from digest.store import Store

from conftest import FIXTURES
from mailserver import Received, SmtpServer

BOUNCES = FIXTURES / "bounces"
READERS = ("hard", "soft", "complains", "leaves", "away", "exim", "fine")


@pytest.fixture
def sent(
    delivery_settings: Callable[..., Settings], smtp_server: SmtpServer, tmp_path: Path
) -> tuple[Settings, Store, dict[str, Received]]:
    """The sample issue sent, DKIM-signed and with VERP, to one subscriber per case; what the server received, by reader."""
    from test_theme_views import sample_issue

    key = tmp_path / "dkim.pem"
    key.write_bytes(new_key("rsa"))
    base = delivery_settings(smtp_server.port)
    settings = dataclasses.replace(
        base,
        bounces=BounceOptions(address="bounces@openstreets.example", unsubscribe_address="unsubscribe@openstreets.example"),
        dkim=DkimSigner((load_key(key, domain=base.sender.domain, selector="news"),)),
    )
    store = Store.open(settings.database_url)
    for reader in READERS:
        store.subscribers.add(f"{reader}@example.org")
    issue = sample_issue(settings)
    store.issues.save(issue)
    report = send_issue(store, compile_issue(issue, settings), get_backend(settings), settings.delivery)
    assert report.sent == len(READERS)
    received = {m.recipient.partition("@")[0]: m for m in smtp_server.handler.received}
    return settings, store, received


def bounce(name: str, copy: Received, n: int = 0) -> bytes:
    """A fixture filled in for one received copy; ``n`` makes each use its own message."""
    message = copy.parse()
    mailto = re.search(r"mailto:([^?>]+)", str(message["List-Unsubscribe"]))
    assert mailto is not None
    text = (BOUNCES / name).read_text(encoding="utf-8")
    for placeholder, value in {
        "%%TO%%": copy.sender,
        "%%RCPT%%": copy.recipient,
        "%%MSGID%%": str(message["Message-ID"]),
        "%%UNSUB%%": mailto.group(1),
        "%%ID%%": f"{name.split('.')[0]}-{copy.recipient}-{n}",
    }.items():
        text = text.replace(placeholder, value)
    return text.replace("\n", "\r\n").encode()


def status_of(store: Store, reader: str) -> tuple[SubscriberStatus, str | None]:
    found = store.subscribers.get(f"{reader}@example.org")
    assert found is not None
    return found.status, found.status_reason


def test_every_copy_carries_its_own_return_path_and_mailto(sent: tuple[Settings, Store, dict[str, Received]]) -> None:
    settings, _, received = sent
    senders = {copy.sender for copy in received.values()}
    assert len(senders) == len(READERS)  # one per copy
    for copy in received.values():
        local, _, domain = copy.sender.partition("@")
        assert re.fullmatch(r"bounces\+[a-z2-7]{26}", local) and domain == "openstreets.example" and len(local) <= 64
        message = copy.parse()
        assert re.search(r"<mailto:unsubscribe\+[a-z2-7]{26}@openstreets\.example\?subject=unsubscribe>", str(message["List-Unsubscribe"]))
        assert str(message["Feedback-ID"]).strip().startswith(f"{settings_issue(message)}:")
        assert settings.dkim is not None and verified(copy.data, settings.dkim) == [True]


def settings_issue(message: object) -> str:
    return str(message["Message-ID"]).strip("<").partition(".")[0]  # type: ignore[index]


def test_what_comes_back_updates_the_list(sent: tuple[Settings, Store, dict[str, Received]]) -> None:
    settings, store, received = sent
    results = {
        "hard": process_message(bounce("dsn-hard-postfix.eml", received["hard"]), settings, store),
        "complains": process_message(bounce("arf-complaint.eml", received["complains"]), settings, store),
        "leaves": process_message(bounce("unsubscribe-mail.eml", received["leaves"]), settings, store),
        "away": process_message(bounce("vacation.eml", received["away"]), settings, store),
        "exim": process_message(bounce("exim-nonstandard.eml", received["exim"]), settings, store),
    }
    assert {reader: r.kind for reader, r in results.items()} == {
        "hard": EventKind.HARD,
        "complains": EventKind.COMPLAINT,
        "leaves": EventKind.UNSUBSCRIBE,
        "away": EventKind.AUTO_REPLY,
        "exim": EventKind.HARD,
    }
    issue_id = settings_issue(received["hard"].parse())
    assert results["hard"].status == "5.1.1" and results["hard"].issue_id == issue_id and results["hard"].subscriber == "hard@example.org"
    assert status_of(store, "hard")[0] == SubscriberStatus.BOUNCED and "5.1.1" in (status_of(store, "hard")[1] or "")
    assert status_of(store, "complains") == (SubscriberStatus.UNSUBSCRIBED, status_of(store, "complains")[1])
    assert (status_of(store, "complains")[1] or "").startswith("complained")
    assert status_of(store, "leaves")[0] == SubscriberStatus.UNSUBSCRIBED
    assert status_of(store, "away")[0] == SubscriberStatus.ACTIVE
    assert status_of(store, "exim")[0] == SubscriberStatus.BOUNCED
    # Soft bounces add up: the third within bounces.soft_days marks the reader bounced.
    for n in range(1, 4):
        outcome = process_message(bounce("dsn-soft-mailbox-full.eml", received["soft"], n), settings, store)
        assert outcome.kind == EventKind.SOFT and outcome.status == "4.2.2"
        assert status_of(store, "soft")[0] == (SubscriberStatus.BOUNCED if n == 3 else SubscriberStatus.ACTIVE), n
    # The same message read again changes nothing.
    store.subscribers.set_status(store.subscribers.get("hard@example.org").id, SubscriberStatus.ACTIVE, "test")  # type: ignore[union-attr]
    again = process_message(bounce("dsn-hard-postfix.eml", received["hard"]), settings, store)
    assert again.duplicate and status_of(store, "hard")[0] == SubscriberStatus.ACTIVE
    assert status_of(store, "fine")[0] == SubscriberStatus.ACTIVE


def test_a_bounce_without_our_token_is_matched_by_the_address_it_names(sent: tuple[Settings, Store, dict[str, Received]]) -> None:
    settings, store, received = sent
    copy = dataclasses.replace(received["hard"], sender="bounces@openstreets.example")  # a relay that rewrote the return path
    outcome = process_message(bounce("dsn-hard-postfix.eml", copy), settings, store)
    assert outcome.kind == EventKind.HARD and outcome.subscriber == "hard@example.org"
    assert outcome.issue_id == settings_issue(received["hard"].parse())  # from the quoted Message-ID
    # A token for another list (another key) names nobody here.
    forged = received["fine"].sender.replace(received["fine"].sender[8:20], "aaaaaaaaaaaa")
    outcome = process_message(
        bounce("dsn-hard-postfix.eml", dataclasses.replace(received["away"], sender=forged, recipient="x@nowhere.example")), settings, store
    )
    assert outcome.subscriber is None and status_of(store, "away")[0] == SubscriberStatus.ACTIVE


def test_bounces_process_reads_files_and_stdin_and_status_shows_the_rates(
    sent: tuple[Settings, Store, dict[str, Received]], tmp_path: Path
) -> None:
    settings, _, received = sent
    config = tmp_path / "digest.toml"
    config.write_text(
        f'[newsletter]\nname = "Open Streets"\nsender = "Open Streets <digest@openstreets.example>"\n'
        f'base_url = "https://news.example.org"\n[store]\nurl = "{settings.database_url}"\n'
        '[bounces]\naddress = "bounces@openstreets.example"\nunsubscribe_address = "unsubscribe@openstreets.example"\n',
        encoding="utf-8",
    )
    (tmp_path / "hard.eml").write_bytes(bounce("dsn-hard-postfix.eml", received["hard"]))
    (tmp_path / "complaint.eml").write_bytes(bounce("arf-complaint.eml", received["complains"]))
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "SMTP_"))} | {
        "DIGEST_SECRET_KEY": settings.secret_key or ""
    }

    def digest(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "digest", "--config", str(config), *args], input=stdin, capture_output=True, env=environ, timeout=60
        )

    done = digest("bounces", "process", str(tmp_path / "hard.eml"), str(tmp_path / "complaint.eml"), str(tmp_path / "missing.eml"))
    out = done.stdout.decode()
    assert done.returncode == 1 and b"missing.eml: cannot read" in done.stderr  # the others were still read
    assert "hard.eml: hard 5.1.1 for hard@example.org" in out and "marked bounced" in out
    assert "complaint.eml: complaint for complains@example.org" in out
    piped = digest("bounces", "process", stdin=bounce("unsubscribe-mail.eml", received["leaves"]))
    assert piped.returncode == 0 and b"stdin: unsubscribe for leaves@example.org" in piped.stdout
    again = digest("bounces", "process", str(tmp_path / "hard.eml"))
    assert again.returncode == 0 and b"read before, nothing changed" in again.stdout
    report = digest("status")
    text = report.stdout.decode()
    assert "returned: 1 hard bounce(s), 1 complaint(s), 1 unsubscribe(s) by mail" in text, text
    assert f"complaints {1 / len(READERS):.2%}" in text and "over Gmail's and Yahoo's limit of 0.3 %" in text
    shown = digest("subscribers", "show", "hard@example.org").stdout.decode()
    assert "returned         1 bounce(s)" in shown and "5.1.1" in shown


def test_bounces_fetch_reads_the_mailbox_over_imap_and_files_each_message(sent: tuple[Settings, Store, dict[str, Received]]) -> None:
    """Dovecot holds what the MTA delivered to the bounce address; fetch reads it over TLS, applies it, files it away."""
    import imaplib

    from imapserver import PASSWORD, USER, dovecot

    from digest.bounces.mailbox import fetch

    settings, store, received = sent
    with dovecot() as server:
        mailbox = server.client()
        assert isinstance(mailbox, imaplib.IMAP4_SSL)
        deliveries = [
            bounce("dsn-hard-postfix.eml", received["hard"]),
            bounce("arf-complaint.eml", received["complains"]),
            bounce("unsubscribe-mail.eml", received["leaves"]),
            bounce("vacation.eml", received["away"]),
            *(bounce("dsn-soft-mailbox-full.eml", received["soft"], n) for n in range(1, 4)),
            bounce("dsn-hard-postfix.eml", received["hard"]),  # the same bounce delivered twice
            b"From: someone@example.net\r\nTo: bounces@openstreets.example\r\nSubject: hello?\r\nMessage-ID: <q1@example.net>\r\n\r\nAre you there?\r\n",
        ]
        for raw in deliveries:
            assert mailbox.append("INBOX", None, None, raw)[0] == "OK"
        reading = dataclasses.replace(
            settings,
            bounces=dataclasses.replace(
                settings.bounces,
                imap_host=server.host,
                imap_port=server.port,
                imap_username=USER,
                imap_password=PASSWORD,
                imap_ca_file=server.ca_file,
            ),
        )
        report = fetch(reading, store)
        assert report.read == len(deliveries)
        kinds = [outcome.kind for _, outcome in report.outcomes]
        assert kinds.count(EventKind.SOFT) == 3 and kinds.count(EventKind.UNRECOGNISED) == 1
        assert sum(outcome.duplicate for _, outcome in report.outcomes) == 1
        assert status_of(store, "hard")[0] == SubscriberStatus.BOUNCED
        assert status_of(store, "soft")[0] == SubscriberStatus.BOUNCED
        assert status_of(store, "complains")[0] == SubscriberStatus.UNSUBSCRIBED
        assert status_of(store, "leaves")[0] == SubscriberStatus.UNSUBSCRIBED
        assert status_of(store, "away")[0] == SubscriberStatus.ACTIVE

        def count(folder: str) -> int:
            kind, data = mailbox.select(folder)
            assert kind == "OK", data
            return int(data[0] or 0)

        assert (count("INBOX"), count("Processed"), count("Unrecognised")) == (0, len(deliveries) - 1, 1)
        assert fetch(reading, store).read == 0  # nothing left, nothing read twice
        # A wrong password or an untrusted certificate is one clear error, not a traceback.
        from digest.errors import DeliveryError

        with pytest.raises(DeliveryError, match="refused the login"):
            fetch(dataclasses.replace(reading, bounces=dataclasses.replace(reading.bounces, imap_password="wrong")), store)
        with pytest.raises(DeliveryError, match=r"cannot reach|certificate"):
            fetch(dataclasses.replace(reading, bounces=dataclasses.replace(reading.bounces, imap_ca_file=None)), store)
        mailbox.logout()


def test_metrics_and_health_read_the_store(sent: tuple[Settings, Store, dict[str, Received]]) -> None:
    """/metrics in the Prometheus text format (parsed back with prometheus_client), behind a token; /healthz as JSON."""
    import json
    from datetime import timedelta

    from prometheus_client.parser import text_string_to_metric_families

    from digest.store import now_utc
    from digest.web.public import create_app

    from conftest import LiveServer, http_request

    settings, store, received = sent
    process_message(bounce("dsn-hard-postfix.eml", received["hard"]), settings, store)
    process_message(bounce("arf-complaint.eml", received["complains"]), settings, store)
    store.leases.acquire("scheduler", "host:4242:abc", now_utc() + timedelta(seconds=40))
    server = LiveServer(create_app(dataclasses.replace(settings, metrics_token="scrape-me"), store))
    try:
        assert http_request("GET", f"{server.base}/metrics")[0] == 401
        assert http_request("GET", f"{server.base}/metrics", headers={"Authorization": "Bearer wrong"})[0] == 401
        code, headers, body = http_request("GET", f"{server.base}/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert code == 200 and {k.lower(): v for k, v in headers.items()}["content-type"].startswith("text/plain; version=0.0.4")
        samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in text_string_to_metric_families(body) for s in f.samples}
        assert samples[("digest_deliveries", (("state", "sent"),))] == len(READERS)
        assert samples[("digest_returned", (("kind", "hard"),))] == 1 and samples[("digest_returned", (("kind", "complaint"),))] == 1
        assert samples[("digest_subscribers", (("status", "bounced"),))] == 1
        assert 30 < samples[("digest_scheduler_lease_seconds_left", ())] <= 40
        assert samples[("digest_send_workers", (("state", "alive"),))] == 0  # a one-process send has none
        code, _, body = http_request("GET", f"{server.base}/healthz")
        health = json.loads(body)
        assert code == 200 and health["database"].startswith("ok") and health["scheduler"]["running"] is True
        assert health["scheduler"]["owner"] == "host:4242:abc"
    finally:
        server.stop()
