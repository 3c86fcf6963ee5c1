"""The outbox backend: one ``.eml`` file per recipient under ``outbox/<issue-id>/``.

The embedded default when no SMTP host is configured, so a first run
delivers somewhere a person can open. Files are written atomically, each
starting with the ``Return-Path`` a receiving server would add (the
envelope sender: with [bounces], the copy's own VERP address).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from digest.mail.message import Envelope
from digest.models import Reply

_UNSAFE = re.compile(r"[^A-Za-z0-9@._+-]+")


def file_name(label: str) -> str:
    """A file name for ``label`` that no other label gets: the label itself when every character is safe,
    else its safe characters, ``~`` (never in a safe label) and a hash of the exact label."""
    safe = _UNSAFE.sub("_", label)
    if safe == label:
        return f"{label}.eml"
    return f"{safe}~{hashlib.sha256(label.encode('utf-8')).hexdigest()[:12]}.eml"


class OutboxTransport:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, envelope: Envelope, data: bytes, before_data: Callable[[], None]) -> Reply:
        target = self.folder / envelope.issue_id / file_name(envelope.label)
        target.parent.mkdir(parents=True, exist_ok=True)
        before_data()
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(f"Return-Path: <{envelope.sender}>\r\n".encode("ascii", "replace"))
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
