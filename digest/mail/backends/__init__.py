"""Backends by name: ``smtp``, ``outbox``, ``console``, ``memory``, a module each.

``base.py`` holds what they share (the interface, replies, the two kinds of failure); ``relays.py`` spreads
``smtp`` over several relays ([[smtp.relays]]).
"""

from __future__ import annotations

from digest.config import Settings
from digest.mail.backends.base import Backend, Transport
from digest.mail.backends.console import ConsoleBackend
from digest.mail.backends.memory import MemoryBackend
from digest.mail.backends.outbox import OutboxBackend
from digest.mail.backends.smtp import SmtpBackend

__all__ = ["Backend", "Transport", "get_backend"]


def get_backend(settings: Settings) -> Backend:
    """The backend the settings name (``delivery.backend`` or ``DIGEST_BACKEND``)."""
    name = settings.delivery.backend
    if name == "smtp":
        if settings.relays:
            from digest.mail.backends.relays import RelayPool

            return RelayPool(settings.relays, settings.delivery.connections, settings.relay_cooldown)
        return SmtpBackend(settings.smtp, settings.delivery.connections)
    if name == "console":
        return ConsoleBackend()
    if name == "memory":
        return MemoryBackend()
    return OutboxBackend(settings.delivery.outbox_dir)
