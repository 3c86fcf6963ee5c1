"""Backends by name: ``smtp``, ``outbox``, ``console``, ``memory``, a module each.

``base.py`` holds what they share (the interface, replies, the two kinds of failure); ``relays.py`` spreads
``smtp`` over several relays ([[smtp.relays]]).
"""

from __future__ import annotations

from digest.config import Installation
from digest.mail.backends.base import Backend, Transport
from digest.mail.backends.console import ConsoleBackend
from digest.mail.backends.memory import MemoryBackend
from digest.mail.backends.outbox import OutboxBackend
from digest.mail.backends.smtp import SmtpBackend

__all__ = ["Backend", "Transport", "get_backend"]


def get_backend(install: Installation) -> Backend:
    """The backend the install name (``delivery.backend`` or ``DIGEST_BACKEND``)."""
    name = install.delivery.backend
    if name == "smtp":
        if install.relays:
            from digest.mail.backends.relays import RelayPool

            return RelayPool(install.relays, install.delivery.connections, install.relay_cooldown)
        return SmtpBackend(install.smtp, install.delivery.connections)
    if name == "console":
        return ConsoleBackend()
    if name == "memory":
        return MemoryBackend()
    return OutboxBackend(install.delivery.outbox_dir)
