"""The real mail path (issue 26): digest → Postfix (OpenDKIM verifying as its milter) → Maildirs that Dovecot
serves over IMAPS → `digest bounces fetch`. Postfix writes its own DSN for a recipient it cannot deliver to,
to the VERP address, and the fetch marks exactly that subscriber bounced; a reader's mailed one-click
unsubscribe travels the same way; the delivered copies carry OpenDKIM's ``dkim=pass``."""

from __future__ import annotations

import email
import os
import re
import smtplib
from collections.abc import Callable
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default
from email.utils import parseaddr
from pathlib import Path

import pytest

from digest.app.bounces import fetch_mailbox
from digest.config import BounceOptions, Scope
from digest.config.keys import DkimSigner, load_key
from digest.mail.backends import get_backend
from digest.mail.dkim import new_key
from digest.models import SubscriberStatus
from digest.send.delivery import compile_issue, send_issue
from digest.store import Store

from imapserver import MAIL_UID, dovecot
from mtaserver import DOMAIN, HOSTNAME, mail_path
from support.issues import sample_issue
from support.settings import overridden

SELECTOR = "mx2026"
READERS = ("reader1", "reader2")
GONE = "gone"  # no such mailbox at example.test: Postfix accepts it, then bounces it with its own DSN


def parsed(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=default)
    assert isinstance(message, EmailMessage)
    return message


@pytest.mark.slow(8)
def test_through_postfix_and_back(delivery_settings: Callable[..., Scope], tmp_path: Path) -> None:
    key_file = tmp_path / "dkim.pem"
    key_file.write_bytes(new_key("rsa"))
    key = load_key(key_file, domain=DOMAIN, selector=SELECTOR)
    mailboxes = {f"{reader}@{DOMAIN}": reader for reader in READERS} | {f"bounces@{DOMAIN}": "returns", f"unsubscribe@{DOMAIN}": "returns"}
    with mail_path(mailboxes, {f"{SELECTOR}._domainkey.{DOMAIN}": key.public_record()}) as mta:
        returns_home = mta.mail / "returns"
        returns_home.mkdir()
        os.chown(returns_home, MAIL_UID, MAIL_UID)
        base = delivery_settings(mta.port)
        settings = overridden(
            base,
            sender=Address(base.newsletter.sender.display_name, "digest", DOMAIN),
            bounces=BounceOptions(address=f"bounces@{DOMAIN}", unsubscribe_address=f"unsubscribe@{DOMAIN}"),
            dkim=DkimSigner((key,)),
        )
        store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
        for reader in (*READERS, GONE):
            store.subscribers.add(f"{reader}@{DOMAIN}")
        issue = sample_issue(settings)
        store.issues.save(issue)
        report = send_issue(store, compile_issue(issue, settings), get_backend(settings.install), settings.install.delivery)
        assert report.sent == 3  # Postfix took all three: the bounce comes later, as mail

        copies = {reader: parsed(mta.wait_for(reader, 1)[0]) for reader in READERS}
        for reader, copy in copies.items():
            results = " ".join(str(value) for value in copy.get_all("Authentication-Results") or [])
            assert results.startswith(HOSTNAME) and "dkim=pass" in results and f"header.d={DOMAIN}" in results, (
                f"{reader}: OpenDKIM did not pass the signature: {results!r}"
            )
            assert str(copy["Return-Path"]).startswith("<bounces+")  # the VERP address, as the MTA recorded it

        # Postfix's own DSN for the one it could not deliver, to the VERP address: into the returns mailbox.
        (dsn_file,) = mta.wait_for("returns", 1)
        dsn = parsed(dsn_file)
        assert dsn.get_content_type() == "multipart/report" and "MAILER-DAEMON" in str(dsn["From"])
        assert re.search(rf"bounces\+[a-z2-7]{{26}}@{DOMAIN}", str(dsn["Delivered-To"]) + str(dsn["To"]))

        # A reader leaves by the List-Unsubscribe mailto, through the same server: to the unsubscribe+ address.
        leaving = copies["reader2"]
        target = re.search(r"<mailto:([^>?]+)(?:\?[^>]*)?>", str(leaving["List-Unsubscribe"]))
        assert target is not None and target.group(1).startswith("unsubscribe+")
        note = EmailMessage()
        note["From"], note["To"], note["Subject"] = f"reader2@{DOMAIN}", target.group(1), "unsubscribe"
        note.set_content("unsubscribe")
        with smtplib.SMTP("127.0.0.1", mta.port) as client:
            client.send_message(note, from_addr=parseaddr(str(note["From"]))[1], to_addrs=[target.group(1)])
        mta.wait_for("returns", 2)

        with dovecot(f"bounces@{DOMAIN}", "mail-path-test", returns_home) as imap:
            reading = imap.reading(settings)
            fetched = fetch_mailbox(reading, store)
            assert fetched.read == 2
            assert fetch_mailbox(reading, store).read == 0  # filed away: nothing read twice

        def status(reader: str) -> SubscriberStatus:
            found = store.subscribers.get(f"{reader}@{DOMAIN}")
            assert found is not None
            return found.status

        assert status(GONE) is SubscriberStatus.BOUNCED
        assert status("reader2") is SubscriberStatus.UNSUBSCRIBED
        assert status("reader1") is SubscriberStatus.ACTIVE  # exactly that subscriber, and no other
