"""The console backend: each message printed to standard output, as sent."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import BinaryIO

from digest.mail.message import Envelope
from digest.models import Reply

_lock = threading.Lock()


class ConsoleTransport:
    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    def send(self, envelope: Envelope, data: bytes, before_data: Callable[[], None]) -> Reply:
        before_data()
        with _lock:
            self.stream.write(f"----- message to {envelope.recipient} -----\n".encode())
            self.stream.write(data.replace(b"\r\n", b"\n"))
            self.stream.write(b"----- end -----\n")
            self.stream.flush()
        return Reply(250, "printed")

    def close(self) -> None:
        pass


class ConsoleBackend:
    name = "console"
    parallel = 1

    def __init__(self, stream: BinaryIO | None = None) -> None:
        self.stream = stream or sys.stdout.buffer

    def open(self) -> ConsoleTransport:
        return ConsoleTransport(self.stream)

    def describe(self) -> str:
        return "the console (standard output)"
