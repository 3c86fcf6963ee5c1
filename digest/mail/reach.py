"""Our own public addresses asked as a reader's mail client asks them, for ``digest doctor``: ``/healthz``, and the
one-click unsubscribe POST (RFC 8058) with a token that unsubscribes nobody.

The host's name is resolved through the doctor's resolver (:class:`digest.mail.dns.Lookup`), not the system's, so
the answer is what the configured nameservers say; the TLS certificate is checked for the name, as a client would.
Redirects are reported, not followed: a mail client's one-click POST does not follow one either.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from digest.mail.dns import Answer

TIMEOUT = 10.0
BODY_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Reached:
    """What one request got: the HTTP status, or why there was none (``unresolved``: the name has no address)."""

    url: str
    status: int | None = None
    error: str | None = None
    unresolved: bool = False
    body: bytes = b""  # its first BODY_LIMIT bytes: enough to tell our own answer from another site's page

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def reach(
    url: str,
    addresses: Callable[[str], Answer],
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT,
) -> Reached:
    """One request to ``url`` (http or https), its host's address asked of ``addresses``; never raises."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    address = _literal(host)
    if address is None:
        found = addresses(host)
        if not found.records:
            return Reached(url, error=found.error or f"{host} has no address in DNS", unresolved=True)
        address = found.records[0]
    connection: http.client.HTTPConnection = (
        http.client.HTTPSConnection(host, port, timeout=timeout, context=ssl.create_default_context())
        if secure
        else http.client.HTTPConnection(host, port, timeout=timeout)
    )
    # The connection goes to the address our resolver gave; TLS still checks the certificate against the name.
    connection._create_connection = lambda _where, wait, source: socket.create_connection((address, port), wait, source)  # type: ignore[attr-defined]
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        status, body = response.status, response.read(BODY_LIMIT)
    except ssl.SSLError as exc:
        return Reached(url, error=f"TLS failed: {exc.reason or exc}")
    except (OSError, http.client.HTTPException) as exc:
        return Reached(url, error=f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    finally:
        connection.close()
    return Reached(url, status=status, body=body)


def _literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None
