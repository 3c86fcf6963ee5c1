"""A receiver that rate-limits: the test server answers ``421 4.7.28`` (Gmail's "unusual rate") to every recipient
for a while once it has taken ``after`` messages, then accepts again; and what it got, by recipient and Message-ID."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from aiosmtpd.smtp import SMTP, Envelope, Session

from mailserver import Handler

GMAIL_RATE = "421 4.7.28 Our system has detected an unusual rate of unsolicited mail originating from your IP address."


@dataclass
class Throttling(Handler):
    """Accepts ``after`` messages, answers ``reply`` to the next ``refusals`` recipients (whoever they are), then accepts."""

    after: int = 5
    refusals: int = 6
    reply: str = GMAIL_RATE
    refused: int = 0

    async def handle_RCPT(  # noqa: N802 (aiosmtpd hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        with self.lock:
            limited = len(self.received) >= self.after and self.refused < self.refusals
            self.refused += limited
        if limited:
            return self.reply
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    def copies(self) -> Counter[tuple[str, str]]:
        """How many copies arrived, by (recipient, Message-ID): a copy sent twice counts 2 even under a new ID."""
        with self.lock:
            return Counter((item.recipient, str(item.parse()["Message-ID"])) for item in self.received)
