"""Webhooks as the operator runs them: endpoints added (their URL checked, their secret made), listed, removed and
re-enabled; a delivery pass (``digest schedule``'s job, ``digest webhooks deliver``); events replayed to an endpoint.

The rules kept here, once: an endpoint's URL is https and reaches a public address, unless the installation says
private ones are meant (``DIGEST_WEBHOOKS_ALLOW_PRIVATE=1``: a test, a private network; then http:// too), checked
when it is added and again at each delivery (:func:`digest.sources.http.post` connects to the address it checked).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from urllib.parse import urlsplit

from digest.models import DeliveryPass, Endpoint, EventType, Refusal, RefusalKind, StoredEvent
from digest.models.errors import RefusedError
from digest.send.webhooks import deliver_due
from digest.sources.http import Resolver, addresses_of, is_internal, is_ip
from digest.store import Store

ALLOW_PRIVATE = "DIGEST_WEBHOOKS_ALLOW_PRIVATE"
SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix Standard Webhooks shows secrets with, no secret)
SECRET_BYTES = 24  # 192 random bits


def private_allowed(environ: Mapping[str, str]) -> bool:
    """Whether the environment allows endpoints on loopback and private addresses (and plain http)."""
    return environ.get(ALLOW_PRIVATE, "").strip().lower() in ("1", "true", "yes", "on")


def url_refusal(url: str, *, allow_private: bool, resolve: Resolver | None = None) -> Refusal | None:
    """Why ``url`` cannot be an endpoint, or None when it can (``resolve``: the host's addresses; the system's)."""
    parts = urlsplit(url.strip())
    hint = f"set {ALLOW_PRIVATE}=1 in the environment to allow loopback and private addresses (and http://)"
    host = parts.hostname
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http"):
        return Refusal(RefusalKind.WEBHOOK_URL, f"{url}: a webhook URL must be https://" + ("" if allow_private else f" ({hint})"))
    if not host:
        return Refusal(RefusalKind.WEBHOOK_URL, f"{url}: no host name in it")
    if parts.username or parts.password:
        return Refusal(RefusalKind.WEBHOOK_URL, f"{url}: a password in a URL is not kept; receivers check the signature instead")
    if allow_private:
        return None
    found = [] if is_ip(host) else (resolve or addresses_of)(host)
    if not found and not is_ip(host) and host.rstrip(".").lower() != "localhost":
        return Refusal(RefusalKind.WEBHOOK_URL, f"{url}: {host} does not resolve")
    if is_internal(host, lambda _host: found):
        return Refusal(RefusalKind.WEBHOOK_URL, f"{url}: {host} is a loopback or private address, refused ({hint})")
    return None


def shown_secret(secret: bytes) -> str:
    """An endpoint's secret as the operator copies it to the receiver: ``whsec_`` and base64 of its bytes."""
    return SECRET_PREFIX + base64.b64encode(secret).decode("ascii")


def add_endpoint(
    store: Store, url: str, events: Collection[EventType], now: datetime, *, allow_private: bool, resolve: Resolver | None = None
) -> tuple[Endpoint, str]:
    """Add an endpoint for ``events``; it and its secret as shown (``whsec_…``). Raises RefusedError for a URL
    :func:`url_refusal` refuses, or no events."""
    if (refusal := url_refusal(url, allow_private=allow_private, resolve=resolve)) is not None:
        raise RefusedError(refusal)
    if not events:
        raise RefusedError(Refusal(RefusalKind.WEBHOOK_URL, "name at least one event to send"))
    secret = secrets.token_bytes(SECRET_BYTES)
    return store.webhooks.add(url.strip(), frozenset(events), secret, now), shown_secret(secret)


def endpoints(store: Store) -> list[Endpoint]:
    return store.webhooks.endpoints()


def _no_such(endpoint_id: int) -> RefusedError:
    return RefusedError(Refusal(RefusalKind.NO_SUCH_WEBHOOK, f"no webhook endpoint has the id {endpoint_id}"))


def remove_endpoint(store: Store, endpoint_id: int) -> None:
    """Remove an endpoint and what was still to go to it; RefusedError when there is none of that id."""
    if not store.webhooks.remove(endpoint_id):
        raise _no_such(endpoint_id)


def enable_endpoint(store: Store, endpoint_id: int, now: datetime) -> None:
    """Take an endpoint back (disabled after days of failures): what waits for it goes at the next pass, in order."""
    if not store.webhooks.enable(endpoint_id, now):
        raise _no_such(endpoint_id)


def deliver(store: Store, now: datetime, *, allow_private: bool) -> DeliveryPass:
    """One pass over the deliveries due at ``now``."""
    return deliver_due(store.webhooks, now, allow_private=allow_private)


def replay(
    store: Store,
    endpoint_id: int,
    now: datetime,
    *,
    event_ids: Sequence[int] = (),
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """Queue events again to one endpoint (these ids, or those of its kinds made in [since, until)); how many.
    They go at the next delivery pass, each with the webhook-id it had. Raises RefusedError, queueing nothing, for
    an endpoint or an event id that names nothing, and for a range in which none of the endpoint's types was made:
    a replay that would send nothing says so."""
    endpoint = store.webhooks.get(endpoint_id)
    if endpoint is None:
        raise _no_such(endpoint_id)
    if unknown := sorted(set(event_ids) - store.webhooks.known(event_ids)):
        named = ", ".join(map(str, unknown))
        why = f"no stored event has the id {named} (an event is kept until it is delivered, then for [retention] webhook_events_days)"
        raise RefusedError(Refusal(RefusalKind.NOTHING_TO_REPLAY, why + "; nothing was queued"))
    count = store.webhooks.replay(endpoint_id, now, event_ids=event_ids, since=since, until=until)
    if not count:
        kinds = ", ".join(sorted(kind.value for kind in endpoint.events))
        span = f"from {since.isoformat() if since else 'the first'} until {until.isoformat() if until else 'now'}"
        raise RefusedError(Refusal(RefusalKind.NOTHING_TO_REPLAY, f"no event of endpoint {endpoint_id}'s types ({kinds}) was made {span}"))
    return count


def latest_events(store: Store, limit: int, kind: EventType | None = None) -> list[StoredEvent]:
    """The latest stored events (of ``kind``), newest first: what a replay names by id."""
    return store.webhooks.latest(limit, kind)
