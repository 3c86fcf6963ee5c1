"""The memory backend: messages kept in a list, for the preview's test send and for embedding."""

from __future__ import annotations

import threading
from collections.abc import Callable

from digest.mail.message import Envelope
from digest.models import Reply


class MemoryBackend:
    name = "memory"
    parallel = 1

    def __init__(self) -> None:
        self.sent: list[tuple[Envelope, bytes]] = []
        self._lock = threading.Lock()

    def open(self) -> MemoryBackend:
        return self

    def send(self, envelope: Envelope, data: bytes, before_data: Callable[[], None]) -> Reply:
        before_data()
        with self._lock:
            self.sent.append((envelope, data))
        return Reply(250, "kept in memory")

    def close(self) -> None:
        pass

    def describe(self) -> str:
        return "memory"
