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

import threading
import time
from collections.abc import Callable
from typing import Protocol

from digest.mail.message import Envelope
from digest.models import Reply


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

    def set_rate(self, rate: float) -> None:
        """A new pace from the next message on (a receiver asked for a slower one: :mod:`digest.send.pacing`)."""
        self.interval = 1.0 / rate if rate > 0 else 0.0

    def wait(self, stop: threading.Event) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            slot = max(self.next, now)
            self.next = slot + self.interval
        if slot > now:
            stop.wait(slot - now)
