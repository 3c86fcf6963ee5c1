"""Bounces, complaints and mailed unsubscribes, from a real send to a real SMTP server back into the list.

The send runs with DKIM and VERP on; the bounce fixtures (tests/fixtures/bounces/,
written after RFC 3464, RFC 5965 and the formats Postfix and Exim write) are
filled in with what the SMTP server really received: the envelope sender each
copy went out with, its recipient, its Message-ID, its List-Unsubscribe mailto.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.app.bounces import EventKind, process_message
from digest.config import BounceOptions, Scope, theme_key
from digest.mail.backends import get_backend
from digest.mail.dkim import DkimSigner, load_key, new_key
from digest.models import SubscriberStatus
from digest.send.delivery import compile_issue, send_issue
from digest.store import Store

from conftest import FIXTURES
from mailserver import Received, SmtpServer
from support.cli import in_process
from support.dkim import verified
from support.settings import overridden

BOUNCES = FIXTURES / "bounces"
READERS = ("hard", "soft", "complains", "leaves", "away", "exim", "fine")


@pytest.fixture
def sent(delivery_settings: Callable[..., Scope], smtp_server: SmtpServer, tmp_path: Path) -> tuple[Scope, Store, dict[str, Received]]:
    """The sample issue sent, DKIM-signed and with VERP, to one subscriber per case; what the server received, by reader."""
    from support.issues import sample_issue

    key = tmp_path / "dkim.pem"
    key.write_bytes(new_key("rsa"))
    base = delivery_settings(smtp_server.port)
    settings = overridden(
        base,
        bounces=BounceOptions(address="bounces@openstreets.example", unsubscribe_address="unsubscribe@openstreets.example"),
        dkim=DkimSigner((load_key(key, domain=base.newsletter.sender.domain, selector="news"),)),
    )
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    for reader in READERS:
        store.subscribers.add(f"{reader}@example.org")
    issue = sample_issue(settings)
    store.issues.save(issue)
    report = send_issue(store, compile_issue(issue, settings), get_backend(settings.install), settings.install.delivery)
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


def test_every_copy_carries_its_own_return_path_and_mailto(sent: tuple[Scope, Store, dict[str, Received]]) -> None:
    settings, _, received = sent
    senders = {copy.sender for copy in received.values()}
    assert len(senders) == len(READERS)  # one per copy
    for copy in received.values():
        local, _, domain = copy.sender.partition("@")
        assert re.fullmatch(r"bounces\+[a-z2-7]{26}", local) and domain == "openstreets.example" and len(local) <= 64
        message = copy.parse()
        assert re.search(r"<mailto:unsubscribe\+[a-z2-7]{26}@openstreets\.example\?subject=unsubscribe>", str(message["List-Unsubscribe"]))
        assert str(message["Feedback-ID"]).strip().startswith(f"{settings_issue(message)}:")
        assert settings.newsletter.dkim is not None and verified(copy.data, settings.newsletter.dkim) == [True]


def settings_issue(message: object) -> str:
    return str(message["Message-ID"]).strip("<").partition(".")[0]  # type: ignore[index]


def test_what_comes_back_updates_the_list(sent: tuple[Scope, Store, dict[str, Received]]) -> None:
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


def forged(name: str, copy: Received, n: int = 0) -> bytes:
    """A fixture filled in as a forger could: the victim's real address (and Message-ID), but the plain bounce
    address instead of the copy's own signed return path, which only the victim's mailbox ever saw."""
    return bounce(name, dataclasses.replace(copy, sender="bounces@openstreets.example"), n)


QMAIL = (
    "From: MAILER-DAEMON@mx.example.net\r\nTo: bounces@openstreets.example\r\nSubject: failure notice\r\n"
    "Message-ID: <qmail-{n}@mx.example.net>\r\n{extra}\r\n"
    "Hi. This is the qmail-send program at mx.example.net.\r\n"
    "I'm afraid I wasn't able to deliver your message to the following addresses.\r\n"
    "This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n"
    "<{victim}>:\r\nSorry, no mailbox here by that name. (#5.1.1)\r\n\r\n"
    "--- Below this line is a copy of the message.\r\n\r\nSubject: Open Streets\r\n\r\nhello\r\n"
)


def test_a_report_without_our_token_changes_nobody_and_waits_for_review(sent: tuple[Scope, Store, dict[str, Received]]) -> None:
    """The attacks of the audit: each forged report names a victim by address or Message-ID, none changes them."""
    from digest.app.bounces import review
    from digest.models import ReviewState
    from digest.models.errors import ReviewError

    settings, store, received = sent
    original = received["complains"].parse()
    only_message_id = (
        "From: fbl@isp.example\r\nTo: bounces@openstreets.example\r\nMessage-ID: <arf-forged@isp.example>\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=feedback-report; boundary="x"\r\n\r\n'
        "--x\r\nContent-Type: text/plain\r\n\r\nA complaint.\r\n"
        "--x\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nVersion: 1\r\n\r\n"
        f"--x\r\nContent-Type: text/rfc822-headers\r\n\r\nTo: complains@example.org\r\nMessage-ID: {original['Message-ID']}\r\n"
        "--x--\r\n"
    ).encode()
    attacks = {
        "hard": forged("dsn-hard-postfix.eml", received["hard"]),  # Final-Recipient names the victim
        "complains": forged("arf-complaint.eml", received["complains"]),  # Original-Rcpt-To names the victim
        "exim": only_message_id.replace(b"complains@", b"exim@"),  # a To: header and a quoted Message-ID only
        "away": QMAIL.format(n=1, victim="away@example.org", extra="").encode(),  # a qmail text bounce, no token
    }
    for victim, raw in attacks.items():
        outcome = process_message(raw, settings, store)
        assert outcome.review is ReviewState.UNATTRIBUTED and outcome.subscriber is None, (victim, outcome)
        assert outcome.named == (f"{victim}@example.org",) or victim == "exim", (victim, outcome.named)
        assert "nothing changed" in outcome.describe() and "digest bounces review" in outcome.describe()
        assert status_of(store, victim)[0] == SubscriberStatus.ACTIVE, victim
    # Three soft bounces to the plain address do not add up to a hard one.
    for n in range(1, 4):
        assert process_message(forged("dsn-soft-mailbox-full.eml", received["soft"], n), settings, store).review is not None
    assert status_of(store, "soft")[0] == SubscriberStatus.ACTIVE
    # A vacation notice marked Auto-Submitted that quotes an error line is an auto-reply, never a bounce.
    vacation = QMAIL.format(n=2, victim="fine@example.org", extra="Auto-Submitted: auto-replied\r\n").replace(
        "MAILER-DAEMON@mx.example.net", "fine@example.org"
    )
    assert process_message(vacation.encode(), settings, store).kind is EventKind.AUTO_REPLY
    assert status_of(store, "fine")[0] == SubscriberStatus.ACTIVE
    # A token for another list (another key) names nobody here either.
    forged_token = received["fine"].sender.replace(received["fine"].sender[8:20], "aaaaaaaaaaaa")
    outcome = process_message(
        bounce("dsn-hard-postfix.eml", dataclasses.replace(received["away"], sender=forged_token, recipient="x@nowhere.example")),
        settings,
        store,
    )
    assert outcome.subscriber is None and status_of(store, "away")[0] == SubscriberStatus.ACTIVE

    # A person reviews: each waiting report is listed; applying one changes exactly the subscriber it names.
    waiting = store.events.awaiting_review()
    assert len(waiting) == 8 and all(event.review is ReviewState.UNATTRIBUTED for event in waiting)
    hard = next(event for event in waiting if event.named and event.named.addresses == ("hard@example.org",))
    assert hard.id is not None and hard.issue_id == settings_issue(received["hard"].parse())  # from the quoted Message-ID
    assert "marked bounced" in review(hard.id, apply_to=None, dismiss=False, settings=settings, store=store)
    assert status_of(store, "hard")[0] == SubscriberStatus.BOUNCED
    with pytest.raises(ReviewError, match="not waiting for review"):
        review(hard.id, apply_to=None, dismiss=False, settings=settings, store=store)
    arf = next(event for event in waiting if event.named and event.named.addresses == ("complains@example.org",))
    assert arf.id is not None
    with pytest.raises(ReviewError, match=r"does not name fine@example\.org"):
        review(arf.id, apply_to="fine@example.org", dismiss=False, settings=settings, store=store)
    assert "dismissed" in review(arf.id, apply_to=None, dismiss=True, settings=settings, store=store)
    assert status_of(store, "complains")[0] == SubscriberStatus.ACTIVE
    assert len(store.events.awaiting_review()) == 6


def test_one_malformed_message_never_stops_the_others(sent: tuple[Scope, Store, dict[str, Received]]) -> None:
    """An empty message and garbage made flufl.bounce raise IndexError, deep nesting RecursionError: each is now
    stored as unrecognised with the reason, and the next message is read as usual."""
    settings, store, received = sent
    deep = b"From: a@example.net\r\nMessage-ID: <deep@example.net>\r\n" + b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i) for i in range(3000)
    )
    for raw in (b"", b"\x00\xff garbage", deep):
        outcome = process_message(raw, settings, store)
        assert outcome.kind is EventKind.UNRECOGNISED and not outcome.duplicate
    stored = [event for event in (store.events.get(n) for n in range(1, 4)) if event is not None]
    assert len(stored) == 3 and all(event.diagnostic.startswith("could not be read: ") for event in stored), stored
    assert process_message(bounce("dsn-hard-postfix.eml", received["hard"]), settings, store).effect == "marked bounced"


Run = Callable[..., "subprocess.CompletedProcess[bytes]"]


def digest_command(settings: Scope, tmp_path: Path, *, bounces: str = "", **environ: str) -> Run:
    """`python -m digest` with a config for the store and bounce addresses of ``settings``: in this process (see
    support.cli), or a real subprocess on a pseudo-terminal when the test is about what a terminal shows."""
    config = tmp_path / "digest.toml"
    config.write_text(
        f'[newsletter]\nname = "Open Streets"\nsender = "Open Streets <digest@openstreets.example>"\n'
        f'base_url = "https://news.example.org"\n[store]\nurl = "{settings.install.database_url}"\n'
        '[bounces]\naddress = "bounces@openstreets.example"\nunsubscribe_address = "unsubscribe@openstreets.example"\n' + bounces,
        encoding="utf-8",
    )
    inherited = ("DIGEST_", "SMTP_", "IMAP_")
    secret = {"DIGEST_SECRET_KEY": settings.install.secret_key or ""}
    env = {k: v for k, v in os.environ.items() if not k.startswith(inherited)} | secret

    def digest(
        *args: str, stdin: bytes | None = None, terminal: bool = False, typed: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        if terminal or typed is not None:
            return on_terminal([sys.executable, "-m", "digest", "--config", str(config), *args], env | environ, typed)
        return in_process(["--config", str(config), *args], env=secret | environ, drop=inherited, input=stdin, text=False)

    return digest


def on_terminal(command: list[str], env: dict[str, str], typed: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """``command`` with its output on a pseudo-terminal, as an operator runs it: click strips ``ESC[…m`` from
    output that goes to a pipe, never from a terminal. Standard output and error together in ``stdout``.
    ``typed``: what the person types (standard input is the terminal too); None: no input, not a terminal."""
    import pty
    import tty

    leader, follower = pty.openpty()
    tty.setraw(follower)  # no \n → \r\n: the bytes as the program wrote them
    stdin = follower if typed is not None else subprocess.DEVNULL
    process = subprocess.Popen(command, stdin=stdin, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    if typed:
        os.write(leader, typed)  # kept by the terminal until the program reads it
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the program ended and closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return subprocess.CompletedProcess(command, process.wait(timeout=60), b"".join(chunks), b"")


def test_bounces_process_reads_files_and_stdin_and_status_shows_the_rates(
    sent: tuple[Scope, Store, dict[str, Received]], tmp_path: Path
) -> None:
    settings, _, received = sent
    digest = digest_command(settings, tmp_path)
    config = tmp_path / "digest.toml"
    (tmp_path / "hard.eml").write_bytes(bounce("dsn-hard-postfix.eml", received["hard"]))
    (tmp_path / "complaint.eml").write_bytes(bounce("arf-complaint.eml", received["complains"]))
    done = digest("bounces", "process", str(tmp_path / "hard.eml"), str(tmp_path / "complaint.eml"), str(tmp_path / "missing.eml"))
    out = done.stdout.decode()
    assert done.returncode == 65 and b"missing.eml: cannot read" in done.stderr  # the others were still read
    assert "hard.eml: hard 5.1.1 for hard@example.org" in out and "marked bounced" in out
    assert "complaint.eml: complaint for complains@example.org" in out
    piped = digest("bounces", "process", stdin=bounce("unsubscribe-mail.eml", received["leaves"]))
    assert piped.returncode == 0 and b"stdin: unsubscribe for leaves@example.org" in piped.stdout
    again = digest("bounces", "process", str(tmp_path / "hard.eml"))
    assert again.returncode == 0 and b"read before, nothing changed" in again.stdout
    # A poison message is read (unrecognised) and the next file still is; a forged one waits for a person.
    (tmp_path / "empty.eml").write_bytes(b"")
    (tmp_path / "forged.eml").write_bytes(forged("dsn-hard-postfix.eml", received["exim"]))
    mixed = digest("bounces", "process", str(tmp_path / "empty.eml"), str(tmp_path / "forged.eml"))
    said = mixed.stdout.decode()
    assert mixed.returncode == 0 and "empty.eml: unrecognised" in said and "Traceback" not in mixed.stderr.decode(), mixed
    assert "forged.eml: hard 5.1.1 without a token of ours (names exim@example.org)" in said and "nothing changed" in said
    listed = digest("bounces", "review").stdout.decode()
    assert "names exim@example.org: on the list (active)" in listed, listed
    apply_line = next(line for line in listed.splitlines() if line.strip().startswith("apply:"))
    command = apply_line.split("apply: ", 1)[1].split()
    assert command[:3] == ["digest", "--config", str(config)], command  # the hint names the config
    applied = digest(*command[3:])
    assert applied.returncode == 0 and b"applied to exim@example.org: marked bounced" in applied.stdout, applied
    assert digest("bounces", "review").stdout.decode().startswith("No report is waiting")
    assert digest("bounces", "review", "--dismiss", "999").returncode == 1
    report = digest("status")
    text = report.stdout.decode()
    assert "returned: 2 hard bounce(s), 1 complaint(s), 1 unsubscribe(s) by mail" in text, text  # one applied on review
    assert f"complaints {1 / len(READERS):.2%}" in text and "over Gmail's and Yahoo's limit of 0.3 %" in text
    shown = digest("subscribers", "show", "hard@example.org").stdout.decode()
    assert "returned         1 bounce(s)" in shown and "5.1.1" in shown


def test_bounces_fetch_reads_the_mailbox_over_imap_and_files_each_message(sent: tuple[Scope, Store, dict[str, Received]]) -> None:
    """Dovecot holds what the MTA delivered to the bounce address; fetch reads it over TLS, applies it, files it away."""
    import imaplib

    from digest.app.bounces import fetch_mailbox as fetch

    from imapserver import dovecot

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
            forged("dsn-hard-postfix.eml", received["fine"]),  # names fine@ without our token: waits for review
            b"\x00\xff not a message\r\n",  # flufl.bounce raised on this and the fetch stopped at it for good
        ]
        for raw in deliveries:
            assert mailbox.append("INBOX", None, None, raw)[0] == "OK"
        reading = server.reading(settings)
        report = fetch(reading, store)
        assert report.read == len(deliveries)
        kinds = [outcome.kind for _, outcome in report.outcomes]
        assert kinds.count(EventKind.SOFT) == 3 and kinds.count(EventKind.UNRECOGNISED) == 2
        assert sum(outcome.duplicate for _, outcome in report.outcomes) == 1
        assert status_of(store, "hard")[0] == SubscriberStatus.BOUNCED
        assert status_of(store, "soft")[0] == SubscriberStatus.BOUNCED
        assert status_of(store, "complains")[0] == SubscriberStatus.UNSUBSCRIBED
        assert status_of(store, "leaves")[0] == SubscriberStatus.UNSUBSCRIBED
        assert status_of(store, "away")[0] == SubscriberStatus.ACTIVE
        assert status_of(store, "fine")[0] == SubscriberStatus.ACTIVE

        def count(folder: str) -> int:
            kind, data = mailbox.select(folder)
            assert kind == "OK", data
            return int(data[0] or 0)

        assert (count("INBOX"), count("Processed"), count("Unrecognised")) == (0, len(deliveries) - 3, 3)
        assert fetch(reading, store).read == 0  # nothing left, nothing read twice
        # A wrong password or an untrusted certificate is one clear error, not a traceback.
        from digest.models.errors import DeliveryError

        with pytest.raises(DeliveryError, match="refused the login"):
            fetch(overridden(reading, bounces=dataclasses.replace(reading.install.bounces, imap_password="wrong")), store)
        with pytest.raises(DeliveryError, match=r"cannot reach|certificate"):
            fetch(overridden(reading, bounces=dataclasses.replace(reading.install.bounces, imap_ca_file=None)), store)
        mailbox.logout()


def test_metrics_and_health_read_the_store(sent: tuple[Scope, Store, dict[str, Received]]) -> None:
    """/metrics in the Prometheus text format (parsed back with prometheus_client), behind a token; /healthz as JSON."""
    import json
    from datetime import timedelta

    from prometheus_client.parser import text_string_to_metric_families

    from digest.store import now_utc
    from digest.web.public import create_public_app

    from conftest import LiveServer, http_request

    settings, store, received = sent
    process_message(bounce("dsn-hard-postfix.eml", received["hard"]), settings, store)
    process_message(bounce("arf-complaint.eml", received["complains"]), settings, store)
    store.leases.acquire("scheduler", "host:4242:abc", now_utc() + timedelta(seconds=40))
    server = LiveServer(create_public_app(overridden(settings, metrics_token="scrape-me"), store))
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
        # The public health answer is the status alone: no host, pid or lease owner for anyone who asks.
        code, _, body = http_request("GET", f"{server.base}/healthz")
        assert code == 200 and json.loads(body) == {"status": "ok"}
    finally:
        server.stop()
    # Without a token the public app has no /metrics at all: its counts would tell who is on the list.
    server = LiveServer(create_public_app(settings, store))
    try:
        assert http_request("GET", f"{server.base}/metrics")[0] == 404
    finally:
        server.stop()
    # On the metrics address (an internal network) health says more.
    from digest.web.metrics import create_metrics_app

    server = LiveServer(create_metrics_app(store, None, host="127.0.0.1", key_of=theme_key))
    try:
        code, _, body = http_request("GET", f"{server.base}/healthz")
        health = json.loads(body)
        assert code == 200 and health["database"].startswith("ok") and health["scheduler"]["running"] is True
        assert health["scheduler"]["owner"] == "host:4242:abc"
    finally:
        server.stop()


# A mail whose Message-ID (and diagnostic) holds a NUL byte: PostgreSQL refused the row, `bounces process` died
# with a traceback (exit 1) before the genuine bounce after it, and `bounces fetch` met it again on every poll.
NUL_MAIL = b"From: someone@example.net\r\nTo: bounces@openstreets.example\r\nSubject: a\x00b\r\nMessage-ID: <nul\x00@example.net>\r\n\r\nhi\x00\r\n"


def nul_bounce(copy: Received) -> bytes:
    """A genuine hard bounce (our token) whose Message-ID and Diagnostic-Code hold NUL bytes."""
    raw = bounce("dsn-hard-postfix.eml", copy)
    return raw.replace(b"Message-Id: <", b"Message-Id: <\x00").replace(
        b"Recipient address rejected:\r\n", b"Recipient\x00 address rejected:\r\n"
    )


def unsubscribe_with(copy: Received, body: str) -> bytes:
    """The reader of ``copy`` unsubscribing by mail (our token), the body ``body`` after the headers."""
    raw = bounce("unsubscribe-mail.eml", copy)
    return raw[: raw.index(b"Content-Type:")] + body.encode()


# Both pass Dovecot as they are (it serves a raw NUL as 0x80): a base64 body that decodes to NUL (PostgreSQL refused
# it), and a UTF-7 body that decodes to a lone surrogate (it has no UTF-8 form: both stores refused it).
BASE64_NUL = "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\ndW5zdWJzY3JpYmUAIG1lIHBsZWFzZQ==\r\n"
UTF7_SURROGATE = "Content-Type: text/plain; charset=utf-7\r\n\r\nunsubscribe +2AA- me\r\n"


def stored_texts(store: Store) -> list[str]:
    events = [event for event in (store.events.get(n) for n in range(1, 50)) if event is not None]
    return [text for event in events for text in (event.key, event.diagnostic, event.named.encode() if event.named else "")]


def test_a_nul_in_a_mail_is_stored_cleaned_and_the_next_message_is_applied(
    sent: tuple[Scope, Store, dict[str, Received]], tmp_path: Path
) -> None:
    """On both stores: the NUL becomes U+FFFD where the text is kept, each message is read for what it is (the
    plain one unrecognised, the genuine bounce applied: a NUL means nothing, so no real bounce is lost to it),
    and the message after them is applied; exit 0."""
    settings, store, received = sent
    digest = digest_command(settings, tmp_path)
    (tmp_path / "nul.eml").write_bytes(NUL_MAIL)
    (tmp_path / "hard-nul.eml").write_bytes(nul_bounce(received["hard"]))
    (tmp_path / "utf7.eml").write_bytes(unsubscribe_with(received["fine"], UTF7_SURROGATE))
    (tmp_path / "genuine.eml").write_bytes(bounce("arf-complaint.eml", received["complains"]))
    files = [str(tmp_path / name) for name in ("nul.eml", "hard-nul.eml", "utf7.eml", "genuine.eml")]
    done = digest("bounces", "process", *files)
    out = done.stdout.decode()
    assert done.returncode == 0 and b"Traceback" not in done.stderr, done
    assert "nul.eml: unrecognised" in out and "hard-nul.eml: hard 5.1.1 for hard@example.org" in out, out
    assert "utf7.eml: unsubscribe for fine@example.org" in out and "genuine.eml: complaint for complains@example.org" in out, out
    assert status_of(store, "hard")[0] == SubscriberStatus.BOUNCED
    assert status_of(store, "fine")[0] == SubscriberStatus.UNSUBSCRIBED
    assert status_of(store, "complains")[0] == SubscriberStatus.UNSUBSCRIBED
    reason = status_of(store, "hard")[1] or ""
    assert "\x00" not in reason and "Recipient\ufffd address rejected" in reason, reason
    texts = stored_texts(store)
    assert len(texts) == 12 and "<nul\ufffd@example.net>" in texts and "unsubscribe \ufffd me" in texts, texts
    assert not any("\x00" in text or re.search("[\ud800-\udfff]", text) for text in texts)
    again = digest("bounces", "process", *files)  # the cleaned Message-ID is the same key: read once
    assert again.returncode == 0 and again.stdout.decode().count("read before, nothing changed") == 4, again


def test_a_stored_text_never_holds_what_a_store_refuses() -> None:
    from digest.mail.bounces import Reading
    from digest.models.text import storable

    assert storable("a\x00b\udcffc\x1bd") == "a\ufffdb\ufffdc\x1bd"  # control characters are kept: shown escaped
    reading = Reading(kind=EventKind.HARD, key="<\x00@x>", status="5.1.1", diagnostic="\udc80", addresses=("a\x00@b",))
    assert (reading.key, reading.diagnostic, reading.addresses) == ("<\ufffd@x>", "\ufffd", ("a\ufffd@b",))


# What the audit sent: an OSC 52 clipboard write and ESC[8m (hidden text) in a Diagnostic-Code and an address;
# in a text bounce's words a bidi override and a C1 CSI. Each reached the operator's terminal raw.
OSC52, HIDDEN, BIDI, CSI = "\x1b]52;c;ZWNobyBvd25lZA==\x07", "\x1b[8m", "\u202e", "\x9b"


def hostile_dsn(copy: Received, n: int = 0) -> bytes:
    """A forged hard bounce naming the reader of ``copy`` and a second address, escapes in its diagnostic and address."""
    raw = forged("dsn-hard-postfix.eml", copy, n)
    raw = raw.replace(b"Diagnostic-Code: smtp; 550", f"Diagnostic-Code: smtp; {OSC52}{HIDDEN}550".encode())
    second = f"\r\nFinal-Recipient: rfc822; evil{HIDDEN}@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n".encode()
    return raw.replace(b"    User unknown in virtual mailbox table\r\n", b"    User unknown in virtual mailbox table\r\n" + second, 1)


def hostile_text_bounce(victim: str) -> bytes:
    """A qmail bounce without our token whose first words hold a bidi override, a C1 CSI and escapes."""
    extra = "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
    text = QMAIL.format(n=7, victim=victim, extra=extra)
    return text.replace("program at mx.example.net", f"program at mx.{BIDI}ten{CSI}8m{OSC52}{HIDDEN}.example.net").encode()


def test_for_terminal_shows_what_a_terminal_would_obey_and_keeps_real_text() -> None:
    from digest.models.text import for_terminal

    hostile = "a\x1b[8mb\x07\x9b\x7f\u202e\u2066\u200b\u2028\udc80\U000e0041\ufffe\n\t\r"
    assert for_terminal(hostile) == r"a\x1b[8mb\x07\x9b\x7f\u202e\u2066\u200b\u2028\udc80\U000e0041\ufffe\n\t\r"
    real = "José 東京 👩\u200d💻 \u00a0\u200c!"  # letters, an emoji built with ZWJ, a no-break space, ZWNJ
    assert for_terminal(real) == real
    assert for_terminal("one\ntwo\x1b", keep="\n") == "one\ntwo\\x1b"


def shown_not_obeyed(out: bytes) -> str:
    """``out`` as text, asserting that no character a terminal acts on is in it (but the newlines ending lines)."""
    text = out.decode()
    raw = {ch for ch in text if ch != "\n" and not ch.isprintable() and ch != "\u00a0"}
    assert not raw, (raw, text)
    return text


@pytest.mark.slow(8)
def test_text_from_a_mail_reaches_the_terminal_shown_never_obeyed(sent: tuple[Scope, Store, dict[str, Received]], tmp_path: Path) -> None:
    """On a real terminal (a pty): `bounces process`, `bounces review` (list, apply, refusal) and `subscribers show`
    print every escape a stranger wrote as its visible form (\\x1b, \\u202e, \\x9b), none as what a terminal obeys."""
    settings, _, received = sent
    digest = digest_command(settings, tmp_path)
    (tmp_path / "dsn.eml").write_bytes(hostile_dsn(received["exim"]))
    (tmp_path / "qmail.eml").write_bytes(hostile_text_bounce("away@example.org"))
    done = digest("bounces", "process", str(tmp_path / "dsn.eml"), str(tmp_path / "qmail.eml"), terminal=True)
    said = shown_not_obeyed(done.stdout)
    assert done.returncode == 0 and r"names exim@example.org, evil\x1b[8m@example.net" in said, said
    text = shown_not_obeyed(digest("bounces", "review", terminal=True).stdout)
    assert r"\x1b]52;c;ZWNobyBvd25lZA==\x07\x1b[8m550 5.1.1" in text and r"names evil\x1b[8m@example.net: not on the list" in text
    assert r"mx.\u202eten\x9b8m\x1b]52;c;" in text, text
    report = next(int(line.split()[1].rstrip(":")) for line in text.splitlines() if "qmail" in line)
    applied = digest("bounces", "review", "--apply", str(report), terminal=True)
    assert applied.returncode == 0 and "marked bounced" in shown_not_obeyed(applied.stdout)
    refused = digest("bounces", "review", "--apply", str(report - 1), terminal=True)  # it names two addresses: which?
    assert refused.returncode == 1 and r"evil\x1b[8m@example.net" in shown_not_obeyed(refused.stdout), refused
    hinted = [line.split("apply: ", 1)[1].split() for line in text.splitlines() if f"--apply {report - 1} " in line]
    assert len(hinted) == 1 and hinted[0][-2:] == ["--address", "exim@example.org"], hinted  # the one on the list, whole
    applied = digest(*hinted[0][3:], terminal=True)
    assert applied.returncode == 0 and "applied to exim@example.org: marked bounced" in shown_not_obeyed(applied.stdout), applied
    shown = shown_not_obeyed(digest("subscribers", "show", "away@example.org", terminal=True).stdout)
    assert r"status_reason    5.1.1 Hi. This is the qmail-send program at mx.\u202eten\x9b8m\x1b]52;c;" in shown, shown
    as_json = digest("subscribers", "show", "away@example.org", "--json", terminal=True).stdout
    assert "\\u202e" in shown_not_obeyed(as_json)
    assert json.loads(as_json)["subscriber"]["status_reason"].startswith(f"5.1.1 Hi. This is the qmail-send program at mx.{BIDI}ten{CSI}")


def test_bounces_fetch_stores_what_a_store_refused_cleaned_and_goes_on(
    sent: tuple[Scope, Store, dict[str, Received]], tmp_path: Path
) -> None:
    """`digest bounces fetch` (a subprocess, on a terminal) over Dovecot, the mails put in its Maildir as an MTA
    delivers them. The text a store refused (a NUL from a base64 body, a lone surrogate from a UTF-7 one) is
    stored cleaned and each mail applied, on both stores, and the next fetch finds nothing left: it used to
    fail on the same mail at every poll. The names a forged report gives are printed shown, not obeyed."""
    import imaplib

    from imapserver import MAIL_UID, dovecot

    settings, store, received = sent
    with dovecot() as server:
        maildir = server.folder / "Maildir"
        deliveries = (
            NUL_MAIL,
            unsubscribe_with(received["leaves"], BASE64_NUL),
            unsubscribe_with(received["fine"], UTF7_SURROGATE),
            bounce("arf-complaint.eml", received["complains"]),
            hostile_dsn(received["exim"]),
        )
        for n, raw in enumerate(deliveries):
            for part in ("tmp", "new", "cur"):
                (maildir / part).mkdir(parents=True, exist_ok=True)
            (maildir / "new" / f"17650000{n}.M{n}P1.test").write_bytes(raw)
        for path in (maildir, *maildir.rglob("*")):
            os.chown(path, MAIL_UID, MAIL_UID)
        digest = digest_command(
            settings,
            tmp_path,
            bounces=f'imap_ca_file = "{server.ca_file}"\n',
            IMAP_HOST=server.host,
            IMAP_PORT=str(server.port),
            IMAP_USERNAME=server.user,
            IMAP_PASSWORD=server.password,
        )
        done = digest("bounces", "fetch", terminal=True)
        said = shown_not_obeyed(done.stdout)
        assert done.returncode == 0 and "Read       5 message(s) from INBOX" in said, said
        assert said.count(": unrecognised") == 1 and said.count(": unsubscribe for") == 2, said
        assert r"names exim@example.org, evil\x1b[8m@example.net" in said, said
        for reader in ("leaves", "fine", "complains"):
            assert status_of(store, reader)[0] == SubscriberStatus.UNSUBSCRIBED, reader
        texts = stored_texts(store)
        assert "unsubscribe\ufffd me please" in texts and "unsubscribe \ufffd me" in texts, texts
        again = digest("bounces", "fetch")
        assert again.returncode == 0 and b"Read       0 message(s)" in again.stdout, again
        mailbox = server.client()
        assert isinstance(mailbox, imaplib.IMAP4_SSL)
        counts = {folder: int(mailbox.select(folder)[1][0] or 0) for folder in ("INBOX", "Processed", "Unrecognised")}
        assert counts == {"INBOX": 0, "Processed": 3, "Unrecognised": 2}, counts  # the NUL mail and the forged report
        mailbox.logout()


@pytest.mark.slow(3)
def test_a_flood_of_forged_reports_is_dismissed_in_one_command(sent: tuple[Scope, Store, dict[str, Received]], tmp_path: Path) -> None:
    """210 forged reports (the audit's flood): `bounces review --dismiss-all` asks on a terminal, needs --yes
    without one (the refusal names the whole command), takes --before DATE, says how many it dismissed, changes
    no subscriber, and dismissing again dismisses nothing. Only the reports counted for the person are dismissed."""
    import sqlalchemy as sa

    from digest.app.bounces import dismiss_all, waiting_reports
    from digest.models import ReviewState
    from digest.store.schema import mail_events

    settings, store, _ = sent
    for n in range(210):
        assert process_message(QMAIL.format(n=n, victim="fine@example.org", extra="").encode(), settings, store).review is not None
    with store.engine.begin() as conn:  # the first 10 read in October
        conn.execute(sa.update(mail_events).where(mail_events.c.id <= 10).values(received_at=datetime(2026, 10, 5, tzinfo=UTC)))
    digest = digest_command(settings, tmp_path)
    unattended = digest("bounces", "review", "--dismiss-all", "--before", "2026-11-01")
    assert (
        unattended.returncode == 2
        and f"--config {tmp_path / 'digest.toml'} bounces review --dismiss-all --before 2026-11-01 --yes`".encode() in unattended.stderr
    ), unattended
    declined = digest("bounces", "review", "--dismiss-all", "--before", "2026-11-01", typed=b"n\n")
    said = shown_not_obeyed(declined.stdout)
    assert (
        declined.returncode == 2
        and "Dismiss 10 waiting report(s) read before 2026-11-01 00:00 UTC?" in said
        and "nothing dismissed" in said
    ), said
    assert waiting_reports(store).count == 210
    confirmed = digest("bounces", "review", "--dismiss-all", "--before", "2026-11-01", typed=b"y\n")
    assert confirmed.returncode == 0 and "10 report(s) read before 2026-11-01 00:00 UTC dismissed" in confirmed.stdout.decode(), confirmed
    assert waiting_reports(store).count == 200
    listed = digest("bounces", "review").stdout.decode()
    assert (
        "200 report(s) waiting" in listed
        and f"Dismiss them all at once (a flood of forged ones): digest --config {tmp_path / 'digest.toml'} bounces review --dismiss-all"
        in listed
    )
    everything = digest("bounces", "review", "--dismiss-all", "--yes")
    assert everything.returncode == 0 and everything.stdout.decode().startswith("200 report(s) dismissed: nothing changed"), everything
    again = digest("bounces", "review", "--dismiss-all", "--yes")
    assert again.returncode == 0 and again.stdout.decode().startswith("No report is waiting for review: nothing dismissed"), again
    assert all(event.review is ReviewState.DISMISSED for event in (store.events.get(n) for n in (1, 11, 210)) if event is not None)
    assert status_of(store, "fine")[0] == SubscriberStatus.ACTIVE
    # A report read after the person counted waits for them: it was not in what they confirmed.
    process_message(QMAIL.format(n=500, victim="fine@example.org", extra="").encode(), settings, store)
    flood = waiting_reports(store)
    process_message(QMAIL.format(n=501, victim="fine@example.org", extra="").encode(), settings, store)
    assert (flood.count, dismiss_all(store, flood), waiting_reports(store).count) == (1, 1, 1)
    for wrong in (("--before", "2026-11-01"), ("--dismiss-all", "--before", "yesterday"), ("--dismiss-all", "--dismiss", "3")):
        refused = digest("bounces", "review", *wrong)
        assert refused.returncode == 2 and b"error" in refused.stderr.lower(), (wrong, refused)


def test_the_schedulers_bounce_poll_logs_what_a_mail_names_shown(
    sent: tuple[Scope, Store, dict[str, Received]], capfd: pytest.CaptureFixture[str]
) -> None:
    """`digest schedule` logs each message its poll of the mailbox read, with the addresses a report names: on a
    terminal, the escapes in them are shown. A JSON log line (which escapes C0 itself) is written in ASCII
    escapes when it holds a bidi or C1 control."""
    import imaplib
    import logging

    from digest.app.scheduling import Scheduler
    from digest.cli.logs import JsonFormatter, configure

    from imapserver import dovecot

    settings, store, received = sent
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    with dovecot() as server:
        mailbox = server.client()
        assert isinstance(mailbox, imaplib.IMAP4_SSL)
        assert mailbox.append("INBOX", None, None, hostile_dsn(received["exim"], 1))[0] == "OK"
        mailbox.logout()
        try:
            configure(logging.INFO, "human")
            Scheduler(server.reading(settings), store).fetch_bounces()
        finally:
            root.handlers[:] = saved[0]
            root.setLevel(saved[1])
    logged = capfd.readouterr().err
    assert "\x1b" not in logged and r"names exim@example.org, evil\x1b[8m@example.net" in logged, logged
    record = logging.LogRecord("digest", logging.INFO, __file__, 1, "bounces: uid %s: %s", ("1", f"names {BIDI}gnp.exe"), None)
    line = JsonFormatter().format(record)
    assert BIDI not in line and json.loads(line)["event"] == f"bounces: uid 1: names {BIDI}gnp.exe"
