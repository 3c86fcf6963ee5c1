"""The webhook deliverer: one pass over what is due, each event signed as Standard Webhooks says and posted.

Exactly once over HTTP means this: an event is posted until its receiver answers 2xx, always with the same
``webhook-id``, and the outbox records the success; a deliverer that dies between the receiver's answer and that
record leaves the delivery due again once its claim's lease runs out, so the receiver may see one id twice and
keeps it once (at-least-once delivery, made exactly-once by the receiver's dedupe on ``webhook-id``). Nothing is
lost: the event was committed with its change.

Retries back off from 30 seconds to 8 hours (:data:`BACKOFF`); an endpoint failing for three days with no success
between is disabled (``digest webhooks enable`` takes it back, and what waited for it goes then, in order). A later
event of one subscriber (or issue) waits for the earlier one to reach that endpoint (:mod:`digest.store.webhooks`).
An endpoint that fails is left alone for the rest of the pass: a receiver that is down costs one timeout a pass.
The secret is used to sign and for nothing else: never logged, never in a message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from digest.models import DeliveryPass, Outgoing
from digest.sources.http import Answer, post
from digest.store.webhooks import Webhooks

log = logging.getLogger(__name__)

# After the 1st, 2nd, … failed attempt, the next one is this much later (the last repeated): the first retry
# within a minute, as a receiver restarting is the common failure, then growing to hours.
BACKOFF = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
    timedelta(hours=8),
)
DISABLE_AFTER = timedelta(days=3)  # failing this long, with no success between: the endpoint is disabled
TIMEOUT = 10.0  # seconds for one POST in all (connect, send, answer)
ANSWER_CAP = 64 * 1024  # bytes of a receiver's answer read at most: only its status matters
LEASE = timedelta(minutes=2)  # a claim outlives one POST by far; a deliverer dead mid-post frees it after this
PASS_LIMIT = 1000  # deliveries in one pass at most: a pass ends, and the next one goes on

Poster = Callable[[str, bytes, dict[str, str]], Answer]


def retry_delay(attempts: int) -> timedelta:
    """How long after its ``attempts``-th failed attempt a delivery is tried again."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def signature(secret: bytes, message_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` value: ``v1,`` and the base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}``."""
    signed = f"{message_id}.{timestamp}.{body}".encode()
    return "v1," + base64.b64encode(hmac.new(secret, signed, hashlib.sha256).digest()).decode("ascii")


def headers_of(out: Outgoing, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "digest-webhooks",
        "webhook-id": out.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(out.secret, out.message_id, timestamp, out.body),
    }


def deliver_due(
    webhooks: Webhooks,
    now: datetime,
    *,
    allow_private: bool,
    poster: Poster | None = None,
    clock: Callable[[], float] = time.time,
) -> DeliveryPass:
    """Post every delivery due at ``now``, once each, then return what was done. ``now`` decides what is due and
    when a retry comes; ``clock`` stamps the signature (the receiver checks it against its own clock)."""
    send = poster or _poster(allow_private)
    delivered = failed = 0
    disabled: list[int] = []
    down: set[int] = set()  # endpoints that failed in this pass: the rest of theirs waits for the next (no pile of timeouts)
    for _ in range(PASS_LIMIT):
        out = webhooks.claim_next(now, LEASE, passing=down)
        if out is None:
            break
        answer = send(out.url, out.body.encode("utf-8"), headers_of(out, int(clock())))
        if answer.ok:
            webhooks.delivered(out, now)
            delivered += 1
            log.debug("webhook %s to endpoint %d: delivered", out.message_id, out.endpoint_id)
            continue
        failed += 1
        down.add(out.endpoint_id)
        problem = answer.problem or "no answer"
        retry_at = now + retry_delay(out.attempts)
        log.warning("webhook %s to endpoint %d (%s): %s; retried at %s", out.message_id, out.endpoint_id, site(out.url), problem, retry_at)
        if webhooks.failed(out, now, problem, retry_at, DISABLE_AFTER):
            disabled.append(out.endpoint_id)
            log.error("webhook endpoint %d (%s) disabled: failing for %s", out.endpoint_id, site(out.url), DISABLE_AFTER)
    return DeliveryPass(delivered=delivered, failed=failed, disabled=tuple(disabled))


def site(url: str) -> str:
    """An endpoint's URL as logged: its scheme and host only. Many receivers' URLs are their secret (a catch hook's
    path, a token in the query): whoever reads the log must not be able to post to them."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/…" if parts.path.strip("/") or parts.query else "", "", ""))


def _poster(allow_private: bool) -> Poster:
    def send(url: str, body: bytes, headers: dict[str, str]) -> Answer:
        return post(url, body, headers, timeout=TIMEOUT, max_bytes=ANSWER_CAP, allow_private=allow_private)

    return send
