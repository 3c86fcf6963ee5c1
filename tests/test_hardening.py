"""The findings of the attack on the running system (issue 11), each reproduced, each now refused.

Every test's docstring keeps the reproduction as the audit found it; the
test runs it against real parts (an SMTP server on 127.0.0.1, a real SQLite
file, real HTTP) and asserts what must happen instead.
"""

from __future__ import annotations

import email
from collections.abc import Callable
from email.policy import default
from pathlib import Path

from digest.addresses import normalise_address
from digest.config import Settings
from digest.delivery import compile_issue, send_issue
from digest.mail.backends import get_backend
from digest.mail.backends.outbox import file_name
from digest.store import Store
from digest.store.schema import subscribers
from digest.tokens import Signer

from factories import make_stored_issue
from mailserver import SmtpServer

Make = Callable[..., Settings]
ISSUE = "2026-11-20-abcdef"


def _store_with(settings: Settings, addresses: list[str]) -> Store:
    store = Store.open(settings.database_url)
    for address in addresses:
        store.subscribers.add(address)
    store.issues.save(make_stored_issue(ISSUE))
    return store


def _send(settings: Settings, store: Store) -> object:
    issue = store.issues.load(ISSUE)
    assert issue is not None
    return send_issue(store, compile_issue(issue, settings), get_backend(settings), settings.delivery)


def test_an_internationalised_domain_is_delivered_to_its_ascii_form(smtp_server: SmtpServer, delivery_settings: Make) -> None:
    """Finding 2. Reproduction: ``x@xn--80ak6aa92e.com`` as subscriber 10 of 1,000; it was stored in its
    Unicode form, smtplib raised UnicodeEncodeError at RCPT, the run stopped: each run sent 10, 990 stayed
    pending. Now it is stored and delivered in its ASCII (IDNA) form, and everyone is delivered."""
    assert normalise_address("x@xn--80ak6aa92e.com") == "x@xn--80ak6aa92e.com"
    assert normalise_address("X@пример.com") == "X@xn--e1afmkfd.com"
    settings = delivery_settings(smtp_server.port, connections=2)
    addresses = [f"r{n:03d}@example.org" for n in range(30)]
    addresses.insert(10, "x@xn--80ak6aa92e.com")
    store = _store_with(settings, addresses)
    report = _send(settings, store)
    assert report.complete and report.sent == 31, report  # type: ignore[attr-defined]
    received = {r.recipient: r for r in smtp_server.handler.received}
    assert set(received) == set(addresses)
    to = received["x@xn--80ak6aa92e.com"].data.split(b"\r\n\r\n", 1)[0]
    assert to.isascii()


def test_a_row_that_cannot_be_encoded_fails_alone(smtp_server: SmtpServer, delivery_settings: Make) -> None:
    """Finding 2. Reproduction: an address stored by an older release in a form with no ASCII spelling
    (here a non-ASCII local part written straight into the table) made the whole run fatal. Now that row
    fails with the reason, and every other reader is delivered."""
    settings = delivery_settings(smtp_server.port, connections=1)
    store = _store_with(settings, [f"r{n:03d}@example.org" for n in range(5)])
    with store.engine.begin() as conn:
        conn.execute(subscribers.update().where(subscribers.c.id == 3).values(email="jörg@example.org", email_key="jörg@example.org"))
    report = _send(settings, store)
    assert report.complete and report.fatal is None and report.sent == 4  # type: ignore[attr-defined]
    [failed] = [d for d in store.ledger.of(ISSUE) if d.state == "failed"]
    assert failed.subscriber_id == 3 and "cannot be sent to this address" in (failed.last_reply or "")
    assert len(smtp_server.handler.received) == 4


def test_outbox_file_names_never_collide(delivery_settings: Make, tmp_path: Path) -> None:
    """Finding 9. Reproduction: two IDN addresses both became ``j@_.com.eml``; the ledger said 2 sent and one
    file existed. Now each label has its own file, and the file holds its own recipient."""
    labels = ["j@ä.com", "j@ö.com", "j@_.com", "a b@example.org", "a_b@example.org"]
    assert len({file_name(label) for label in labels}) == len(labels)
    assert file_name("reader@example.org") == "reader@example.org.eml"  # a plain address keeps a readable name
    settings = delivery_settings(None)
    store = _store_with(settings, ["j@ä.com", "j@ö.com"])
    report = _send(settings, store)
    assert report.sent == 2  # type: ignore[attr-defined]
    files = sorted((tmp_path / "outbox" / ISSUE).glob("*.eml"))
    assert len(files) == 2
    recipients = {email.message_from_bytes(f.read_bytes(), policy=default)["To"] for f in files}
    assert recipients == {"j@xn--4ca.com", "j@xn--nda.com"}


def test_token_ids_are_ascii_digits_in_canonical_form() -> None:
    """Finding 10. Reproduction: ``01.<mac>`` and fullwidth ``１.<mac>`` were accepted for subscriber 1
    (malleable, not forgeable). Now only the spelling the signer makes is accepted."""
    signer = Signer("test-secret-key", "list.example.org")
    token = signer.token(1)
    mac = token.partition(".")[2]
    assert signer.verify(token) == 1
    for variant in (f"01.{mac}", f"\uff11.{mac}", f"\u0661.{mac}", f"+1.{mac}", f" 1.{mac}", f"1 .{mac}"):
        assert signer.verify(variant) is None, variant
    assert signer.verify(signer.token(0)) == 0


def test_connection_failures_count_toward_max_attempts(delivery_settings: Make) -> None:
    """Finding 11. Reproduction: with nothing listening on the SMTP port, a delivery stayed deferred at 0
    attempts run after run (a failed connection was never counted). Now every try counts and the row
    fails after max_attempts, saying why."""
    from mailserver import free_port

    settings = delivery_settings(free_port(), max_attempts=3, retry_base=0.01, max_wait=5.0, connections=1)
    store = _store_with(settings, ["reader@example.org"])
    report = _send(settings, store)
    assert report.complete  # type: ignore[attr-defined]
    [delivery] = store.ledger.of(ISSUE)
    assert delivery.state == "failed" and delivery.attempts == 3
    assert (delivery.last_reply or "").startswith("gave up after 3 attempts; last: 421 cannot connect")


def test_a_server_without_auth_is_a_configuration_error(smtp_server: SmtpServer, delivery_settings: Make) -> None:
    """Finding 11. Reproduction: with smtp.username set and a server that offers no AUTH, smtplib's
    "SMTP AUTH extension not supported" was taken as transient and retried until max_wait. Now the run
    stops at once with what to fix, and the reader stays pending for a corrected run."""
    settings = delivery_settings(smtp_server.port, smtp={"username": "digest", "password": "pw-123456", "allow_plain_auth": True})
    store = _store_with(settings, ["reader@example.org"])
    report = _send(settings, store)
    assert report.fatal is not None and "does not offer SMTP AUTH" in report.fatal and "smtp.security" in report.fatal  # type: ignore[attr-defined]
    assert report.counts["pending"] == 1 and report.counts["deferred"] == 0  # type: ignore[attr-defined]
    assert "pw-123456" not in report.fatal  # type: ignore[attr-defined]


def test_a_stale_fencing_number_changes_no_row(delivery_settings: Make) -> None:
    """Finding 3, at the ledger. A run whose lease was taken over (its fencing number is stale) writes
    nothing: not ``sending``, not ``sent``; the new holder's writes go through, and a released lease never
    starts its numbering again (a third holder gets a higher number than both)."""
    from datetime import timedelta

    import pytest

    from digest.errors import StoreError
    from digest.store import now_utc

    settings = delivery_settings(None)
    store = _store_with(settings, ["a@example.org", "b@example.org"])
    store.ledger.enqueue(ISSUE)
    lease = f"send:{ISSUE}"
    assert store.leases.acquire(lease, "first", now_utc() + timedelta(seconds=60)) is None
    first = store.leases.fence(lease, "first")
    # "first" is paused; its lease runs out; "second" takes over.
    assert store.leases.acquire(lease, "second", now_utc() + timedelta(seconds=60), at=now_utc() + timedelta(seconds=61)) is None
    second = store.leases.fence(lease, "second")
    assert first is not None and second is not None and second > first
    with store.ledger.writer((lease, first)) as stale, pytest.raises(StoreError, match="no longer holds the send lease"):
        stale.mark_sending(ISSUE, 1)
    with store.ledger.writer((lease, second)) as current:
        current.mark_sending(ISSUE, 1)
        current.mark_sent(ISSUE, 1, "250 ok")
    with store.ledger.writer((lease, first)) as stale, pytest.raises(StoreError):
        stale.mark_failed(ISSUE, 2, "550 late")
    states = {d.subscriber_id: d.state for d in store.ledger.of(ISSUE)}
    assert states == {1: "sent", 2: "pending"}
    # A row already handled is never taken again, even by the current holder.
    with store.ledger.writer((lease, second)) as current, pytest.raises(StoreError):
        current.mark_sending(ISSUE, 1)
    store.leases.release(lease, "second")
    assert store.leases.holder(lease) is None
    assert store.leases.acquire(lease, "third", now_utc() + timedelta(seconds=60)) is None
    third = store.leases.fence(lease, "third")
    assert third is not None and third > second
