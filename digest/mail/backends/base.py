"""What every backend shares: one interface, replies, and the two kinds of failure.

Like Django's mail backends, a backend is chosen by name and everything goes
through the same path: a real send, a dry run's test send and the tests.
A backend opens *transports* (an SMTP connection, say); the delivery code
runs up to ``backend.parallel`` of them at once.

``Transport.send`` calls ``before_data`` before the message itself is handed
over, so the ledger can record "sending" at that point: over SMTP after the
recipient is accepted and before DATA, or, with a server that offers
PIPELINING, while the server reads MAIL, RCPT and DATA sent in one write (a
refused recipient then was announced too; no byte of the message is written
before ``before_data`` returns). A transport that fails after the message was
being written says so (``TransientError.message_sent``).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from digest.mail.message import Envelope

_ENHANCED = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")


@dataclass(frozen=True, slots=True)
class Reply:
    code: int
    text: str

    def __str__(self) -> str:
        return f"{self.code} {self.text}".strip()

    @property
    def enhanced(self) -> str | None:
        """The RFC 3463 enhanced status code (``5.1.1``) when the text starts with one."""
        match = _ENHANCED.match(self.text)
        return ".".join(match.groups()) if match else None

    @property
    def is_bounce(self) -> bool:
        """A permanent failure of the *address* (5.1.x, or a bare 550/551/553), as opposed to of the sender."""
        enhanced = self.enhanced
        if enhanced is not None:
            return enhanced.startswith("5.1.")
        return self.code in (550, 551, 553)

    @property
    def refuses_sender(self) -> bool:
        """Digest's envelope sender refused, whichever command it answers ("550 5.1.8 … Sender address rejected", a
        bare "550 Sender verify failed": Postfix checks the sender at RCPT): our setup, every copy would meet it."""
        return (self.enhanced or "")[1:] in (".1.7", ".1.8") or _SENDER_REFUSED.search(self.text) is not None

    @property
    def is_throttle(self) -> bool:
        """ "Slower, later" from the relay itself (452 too many recipients or no storage, 4.3.x its own trouble, 4.4.x
        routing, 4.5.x protocol limits, 4.7.x policy and rate): never a sign the reader is gone."""
        return self.code == 452 or (self.enhanced or "").startswith(("4.3.", "4.4.", "4.5.", "4.7."))

    @property
    def refuses_relaying(self) -> bool:
        """The relay will not relay for us ("554 5.7.1 Relay access denied", a bare "550 relay not permitted"):
        our setup, whatever address it is said of; every copy would meet it."""
        return _RELAYING.search(self.text) is not None

    @property
    def is_sender_problem(self) -> bool:
        """5.7.x: policy, authentication or reputation: the sender's problem, not the reader's address."""
        return (self.enhanced or "").startswith("5.7.")


_SENDER_REFUSED = re.compile(r"\bsender\b[^.;]{0,40}\b(rejected|refused|denied)\b|\bsender verif(y|ication) failed\b", re.IGNORECASE)
_RELAYING = re.compile(
    r"\brelay(ing)?\b[^.;]*\b(denied|not permitted|not allowed|prohibited|refused)\b|\b(not permitted|unable|not allowed) to relay\b",
    re.IGNORECASE,
)


class Transport(Protocol):
    def send(self, envelope: Envelope, data: bytes, before_data: Callable[[], None]) -> Reply:
        """Hand over one message; returns the 2xx reply or raises TransientError/PermanentError."""
        ...

    def close(self) -> None: ...


class Backend(Protocol):
    name: str
    parallel: int  # how many transports may be open at once

    def open(self) -> Transport:
        """A new transport; raises TransientError if it cannot be opened now."""
        ...

    def describe(self) -> str:
        """Where messages go, for people (never with secrets)."""
        ...


class RateLimiter:
    """Spaces messages evenly over the connections that share it; ``rate`` 0 means no limit."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.next = time.monotonic()
        self.lock = threading.Lock()

    def wait(self, stop: threading.Event) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            slot = max(self.next, now)
            self.next = slot + self.interval
        if slot > now:
            stop.wait(slot - now)
