"""The outbox backend: one ``.eml`` file per recipient under ``outbox/<issue-id>/``.

The embedded default when no SMTP host is configured, so a first run
delivers somewhere a person can open. Files are written atomically.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from digest.mail.backends.base import Reply
from digest.mail.message import Envelope

_UNSAFE = re.compile(r"[^A-Za-z0-9@._+-]+")


class OutboxTransport:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, envelope: Envelope, data: bytes, before_data: Callable[[], None]) -> Reply:
        target = self.folder / envelope.issue_id / f"{_UNSAFE.sub('_', envelope.label)}.eml"
        target.parent.mkdir(parents=True, exist_ok=True)
        before_data()
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            Path(tmp).replace(target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return Reply(250, f"written to {target}")

    def close(self) -> None:
        pass


class OutboxBackend:
    name = "outbox"
    parallel = 1  # disk writes gain nothing from threads

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def open(self) -> OutboxTransport:
        return OutboxTransport(self.folder)

    def describe(self) -> str:
        return f"outbox folder {self.folder}"
