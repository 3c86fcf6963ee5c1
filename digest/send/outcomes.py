"""How a run words the replies that end a reader's try or pause the run: a failure's record, and for our side's
failures, what to check (the settings a paused run names, RunEnd.OURS)."""

from __future__ import annotations

from digest.models import SENDER_SIDE, Reply
from digest.models.errors import TransientError

# The settings a paused run names when our side failed (RunEnd.OURS), by the kind of failure.
CONNECTION_SETTINGS = (
    "smtp.host, smtp.port and smtp.security (or SMTP_HOST, SMTP_PORT, SMTP_SECURITY; a relay's own under [[smtp.relays]]), "
    "that the relay is up, and delivery.connections if it takes fewer at once"
)
SENDER_SETTINGS = "newsletter.sender and bounces.address: the relay must accept them as the envelope sender"
RELAYING_SETTINGS = "that the relay lets digest send through it: SMTP_USERNAME and SMTP_PASSWORD, or the relay's list of hosts it serves"


def describe(reply: Reply, bounce: bool) -> str:
    if reply.is_sender_problem:
        return f"{reply} ({SENDER_SIDE}, the address was not bounced)"
    if bounce:
        return f"{reply} (address rejected: subscriber marked bounced)"
    return str(reply)


def ours_reason(why: str, check: str) -> str:
    """A paused run's reason when our side failed: what, whose, and what to check."""
    return f"{why} (our side, not the readers': check {check}; no reader was failed or bounced for it)"


def what_to_check(problem: TransientError) -> tuple[str, str]:
    """The reason and the settings a pause names for a failure every copy would meet."""
    if problem.reply.refuses_relaying:
        return f"relaying refused: {problem.reply}", RELAYING_SETTINGS
    if problem.at_sender:
        return f"MAIL FROM refused: {problem.reply}", SENDER_SETTINGS
    return str(problem.reply), CONNECTION_SETTINGS
