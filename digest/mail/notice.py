"""Short notes to one person (a confirmation, a welcome, a draft for the editors), through the configured backend.

Not issues: no ledger, no List-Unsubscribe; DKIM-signed like them when [dkim] is set. Plain text, RFC 3834
``Auto-Submitted`` so that auto-responders stay quiet, a Message-ID of our
domain, optionally one attached message (the editors' draft).
"""

from __future__ import annotations

import email
import secrets
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from digest.config import Scope
from digest.mail.backends import Backend, get_backend
from digest.mail.dkim import sign_message
from digest.mail.message import Envelope
from digest.models import Reply


def send_notice(
    settings: Scope,
    to: str,
    subject: str,
    text: str,
    *,
    backend: Backend | None = None,
    attached: bytes | None = None,
    label: str = "notice",
) -> Reply:
    """Send one plain-text note to ``to``; raises DeliveryError (or a Transient/PermanentError) if it cannot."""
    message = EmailMessage(policy=SMTP)
    message["From"] = settings.newsletter.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now().astimezone())
    message["Message-ID"] = make_msgid(domain=settings.newsletter.sender.domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    if attached is not None:
        message.add_attachment(email.message_from_bytes(attached, policy=SMTP), filename="draft.eml")
    transport = (backend or get_backend(settings.install)).open()
    try:
        # Each note its own file in the outbox: two notes to one person must not overwrite each other.
        envelope = Envelope(
            sender=settings.newsletter.sender.addr_spec, recipient=to, issue_id="notices", label=f"{label}-{to}-{secrets.token_hex(4)}"
        )
        data = message.as_bytes()
        return transport.send(envelope, sign_message(settings.newsletter.dkim, data) if settings.newsletter.dkim else data, lambda: None)
    finally:
        transport.close()
