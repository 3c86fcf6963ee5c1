"""What ``digest send --dry-run`` (and every send's description) and ``digest status`` say about whether the mail
can be trusted and answered: whether DMARC can pass, and whether anything reads the mailbox each copy's
``mailto:`` points at. Read from the settings alone, once per command; the CLI words it.
"""

from __future__ import annotations

from dataclasses import dataclass

from digest.config import Installation, Scope
from digest.config.alignment import DmarcOutlook, dmarc_outlook

__all__ = ["Deliverability", "DmarcOutlook", "UnreadMailbox", "deliverability", "unread_mailbox"]


@dataclass(frozen=True, slots=True)
class UnreadMailbox:
    """Every copy names a mailbox (List-Unsubscribe's ``mailto:``, the VERP return path) that nothing declared
    reads: neither ``digest bounces fetch`` (IMAP_HOST) nor a pipe into ``digest bounces process``
    (``[bounces] piped = true``). A reader who unsubscribes by mail then stays on the list."""

    setting: str  # the key that puts the address in every copy: "bounces.address" or "delivery.unsubscribe_mailto"
    addresses: tuple[str, ...]  # as the copies carry them: "unsubscribe+<token>@news.example.org"
    bounces: bool  # the copies' return path is there too (VERP): no bounce is counted either


@dataclass(frozen=True, slots=True)
class Deliverability:
    """What the settings promise a receiver and a reader: DMARC's outlook, and a mailbox nothing reads."""

    dmarc: DmarcOutlook
    unread: UnreadMailbox | None  # None: no mailto in the copies, or something reads it


def deliverability(settings: Scope) -> Deliverability:
    return Deliverability(dmarc=dmarc_outlook(settings), unread=unread_mailbox(settings.install))


def unread_mailbox(install: Installation) -> UnreadMailbox | None:
    bounces = install.bounces
    if bounces.imap_host or bounces.piped:
        return None
    if bounces.address:  # each copy: MAIL FROM bounces+<token>@…, List-Unsubscribe <mailto:unsubscribe+<token>@…>
        tagged = (bounces.unsubscribe_address, bounces.address)
        return UnreadMailbox("bounces.address", tuple(address.replace("@", "+<token>@", 1) for address in tagged), bounces=True)
    if install.delivery.unsubscribe_mailto:
        return UnreadMailbox("delivery.unsubscribe_mailto", (install.delivery.unsubscribe_mailto,), bounces=False)
    return None
