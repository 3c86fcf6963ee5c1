"""Fetching a feed over HTTP ourselves: a deadline, a size cap, safe redirects, and conditional GET.

feedparser would fetch a URL by itself, with none of these, so it is only
ever handed bytes. The validators (ETag, Last-Modified) and the last body are
kept in the cache folder between runs; a ``304 Not Modified`` reuses the body.

- **One deadline for the whole fetch** (``feeds.timeout``): a socket timeout
  bounds each wait, but a server that drips one byte every half second never
  trips it. A timer shuts the connection's socket down when the deadline
  passes, whatever the fetch is doing (connecting, reading headers or body),
  and the fetch then reports a timeout, never a cut-off body.
- **Redirects** go only to http(s), and never from a public source to a
  loopback, private or link-local address (a feed must not be able to make
  digest fetch from inside the network it runs in), unless the source is
  itself local or ``feeds.allow_private`` is set.

The same client posts webhooks (:func:`post`): one deadline, the answer read up to a cap, no redirect followed,
and the connection made to the address that was checked (a host resolving elsewhere between the check and the
connection cannot turn it inward).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.client
import ipaddress
import json
import logging
import socket
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from digest.config import FeedFetch
from digest.models.errors import SourceUnavailableError

log = logging.getLogger(__name__)
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class Fetched:
    body: bytes
    status: int  # 200, or 304 when the cached body was reused
    content_type: str | None


FEED_TYPES = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"
TEXT_TYPES = "text/plain, text/*;q=0.8, */*;q=0.1"


def fetch(url: str, options: FeedFetch, cache_dir: Path, accept: str = FEED_TYPES) -> Fetched:
    """GET ``url`` with the cached validators; raises SourceUnavailableError saying what went wrong."""
    key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]
    meta_path = cache_dir / "feeds" / f"{key}.json"
    body_path = meta_path.with_suffix(".body")
    cached = _load_meta(meta_path) if body_path.is_file() else {}

    if not url.startswith(("http://", "https://")):
        raise SourceUnavailableError(url, "only http:// and https:// feed URLs are fetched")
    request = urllib.request.Request(url, headers={"User-Agent": options.user_agent, "Accept": accept})  # noqa: S310 (scheme checked above)
    if etag := cached.get("etag"):
        request.add_header("If-None-Match", etag)
    if modified := cached.get("last_modified"):
        request.add_header("If-Modified-Since", modified)

    deadline = _Deadline(options.timeout)
    opener = urllib.request.build_opener(
        _WatchedHTTP(deadline), _WatchedHTTPS(deadline), _SafeRedirects(url, options.allow_private, addresses_of)
    )
    try:
        with opener.open(request, timeout=options.timeout) as response:
            body = _read_capped(response, url, options)
            headers = response.headers
            status = response.status
        if deadline.expired:  # the socket was shut down under the read: what was read is cut off
            raise _timed_out(url, options)
    except urllib.error.HTTPError as exc:
        if exc.code == 304 and body_path.is_file():
            log.debug("%s: not modified, using the cached copy", url)
            return Fetched(body_path.read_bytes(), 304, cached.get("content_type"))
        raise SourceUnavailableError(url, f"HTTP {exc.code} {exc.reason}", exc.code) from exc
    except _RedirectRefused as exc:
        raise SourceUnavailableError(url, str(exc)) from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError) or deadline.expired:
            raise _timed_out(url, options) from exc
        raise SourceUnavailableError(url, f"cannot fetch: {exc.reason}") from exc
    except (OSError, http.client.HTTPException) as exc:
        if isinstance(exc, TimeoutError) or deadline.expired:
            raise _timed_out(url, options) from exc
        raise SourceUnavailableError(url, f"cannot fetch: {exc}") from exc
    finally:
        deadline.cancel()

    content_type = headers.get("Content-Type")
    validators = {"etag": headers.get("ETag"), "last_modified": headers.get("Last-Modified"), "content_type": content_type}
    if validators["etag"] or validators["last_modified"]:
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        body_path.write_bytes(body)
        meta_path.write_text(json.dumps({"url": url, **validators}), encoding="utf-8")
    return Fetched(body, status, content_type)


def _read_capped(response: http.client.HTTPResponse, url: str, options: FeedFetch) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := response.read1(_CHUNK):  # what has arrived, not a wait for a full chunk
        size += len(chunk)
        if size > options.max_bytes:
            raise SourceUnavailableError(url, f"larger than the {options.max_bytes:,}-byte limit (feeds.max_bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


class _Deadline:
    """Shuts down every socket of one fetch when its time is up: a blocked read returns at once."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.timer = threading.Timer(seconds, self._expire)
        self.timer.daemon = True
        self.timer.start()

    def watch(self, sock: socket.socket) -> None:
        with self.lock:
            self.sockets.append(sock)
            if not self.expired:
                return
        self._shut(sock)

    def _expire(self) -> None:
        with self.lock:
            self.expired = True
            sockets = list(self.sockets)
        for sock in sockets:
            self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self.timer.cancel()


def _watched(base: type[http.client.HTTPConnection]) -> Callable[..., http.client.HTTPConnection]:
    """``base`` (plain or TLS) with its socket handed to the fetch's deadline as soon as it is connected."""

    class Watched(base):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, deadline: _Deadline, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.deadline = deadline

        def connect(self) -> None:
            super().connect()
            self.deadline.watch(self.sock)

    return Watched


_WatchedConnection = _watched(http.client.HTTPConnection)
_WatchedTlsConnection = _watched(http.client.HTTPSConnection)


class _WatchedHTTP(urllib.request.HTTPHandler):
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self.deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(functools.partial(_WatchedConnection, deadline=self.deadline), req)


class _WatchedHTTPS(urllib.request.HTTPSHandler):
    # Same as above for https: urllib picks the handler by the method's name (https_open), so two classes.
    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self.deadline = deadline

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(functools.partial(_WatchedTlsConnection, deadline=self.deadline), req)


def _timed_out(url: str, options: FeedFetch) -> SourceUnavailableError:
    return SourceUnavailableError(url, f"timed out after {options.timeout:g} s (feeds.timeout)")


class _RedirectRefused(urllib.error.URLError):
    def __str__(self) -> str:
        return str(self.reason)


Resolver = Callable[[str], list[str]]


def addresses_of(host: str) -> list[str]:
    """The IP addresses ``host`` resolves to (the system resolver, as the fetch itself will use)."""
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)})
    except (OSError, UnicodeError):
        return []


def is_internal(host: str, resolve: Resolver) -> bool:
    """True when ``host`` is, or resolves to, a loopback, private, link-local or otherwise non-public address."""
    for text in [host] if is_ip(host) else resolve(host):
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if not address.is_global or not all(inner.is_global for inner in _carried(address)):
            return True
    return host.rstrip(".").lower() == "localhost"


_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: a NAT64 gateway turns 64:ff9b::a.b.c.d into a.b.c.d
_COMPATIBLE = ipaddress.ip_network("::/96")  # the deprecated IPv4-compatible form ::a.b.c.d


def _carried(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries, which a translator or tunnel may reach for it (NAT64, 6to4,
    Teredo, the IPv4-compatible form): Python counts 64:ff9b::7f00:1 as global, but a NAT64 gateway posts to 127.0.0.1."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    carried = [address.ipv4_mapped, address.sixtofour, address.teredo[1] if address.teredo else None]
    if address in _NAT64 or address in _COMPATIBLE:
        carried.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [inner for inner in carried if inner is not None]


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def redirect_refusal(source: str, target: str, allow_private: bool, resolve: Resolver) -> str | None:
    """Why a redirect from ``source`` to ``target`` must not be followed, or None when it may be."""
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https"):
        return f"redirected to {target}: only http:// and https:// are followed"
    if allow_private or parts.hostname is None:
        return None
    source_host = urlsplit(source).hostname or ""
    if is_internal(parts.hostname, resolve) and not is_internal(source_host, resolve):
        return f"redirected to {target}, an internal address: refused (set feeds.allow_private to allow it)"
    return None


class _SafeRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only when :func:`redirect_refusal` finds nothing against it."""

    max_redirections = 5

    def __init__(self, source: str, allow_private: bool, resolve: Resolver) -> None:
        super().__init__()
        self.source = source
        self.allow_private = allow_private
        self.resolve = resolve

    def redirect_request(
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> urllib.request.Request | None:
        refusal = redirect_refusal(self.source, newurl, self.allow_private, self.resolve)
        if refusal is not None:
            raise _RedirectRefused(refusal)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _load_meta(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


@dataclass(frozen=True, slots=True)
class Answer:
    """What a POST came to: the HTTP status (None: no answer: refused, unreachable, timed out), and why it is not
    a success in words (None for a 2xx)."""

    status: int | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,
    max_bytes: int,
    allow_private: bool,
    resolve: Resolver = addresses_of,
) -> Answer:
    """POST ``body`` to ``url`` (http or https) within ``timeout`` seconds in all, reading at most ``max_bytes`` of
    the answer; never raises. An address that is loopback, private or otherwise not public is refused unless
    ``allow_private``; a redirect is an answer like any other (not a success), never followed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return Answer(None, "only http:// and https:// URLs are posted to")
    addresses = [parts.hostname] if is_ip(parts.hostname) else resolve(parts.hostname)
    if not addresses:
        return Answer(None, f"cannot resolve {parts.hostname}")
    if not allow_private and is_internal(parts.hostname, lambda _host: addresses):
        return Answer(None, f"{parts.hostname} is a loopback or private address: refused")
    tls = parts.scheme == "https"
    deadline = _Deadline(timeout)
    connection = _Pinned(parts.hostname, parts.port or (443 if tls else 80), addresses[0], deadline, timeout, tls)
    target = urlunsplit(("", "", parts.path or "/", parts.query, ""))
    try:
        connection.request("POST", target, body=body, headers=dict(headers))
        response = connection.getresponse()
        seen = response.read(max_bytes)  # what is past the cap is never read: the connection is closed below
        if deadline.expired:
            return Answer(None, f"timed out after {timeout:g} s")
        if 200 <= response.status < 300:
            return Answer(response.status, None)
        said = " ".join(seen[:200].decode("utf-8", "replace").split())
        return Answer(response.status, f"HTTP {response.status} {response.reason}" + (f": {said}" if said else ""))
    except (OSError, http.client.HTTPException) as exc:
        if isinstance(exc, TimeoutError) or deadline.expired:
            return Answer(None, f"timed out after {timeout:g} s")
        return Answer(None, f"cannot post: {exc or type(exc).__name__}")
    finally:
        deadline.cancel()
        connection.close()


class _Pinned(http.client.HTTPSConnection):
    """A connection to one checked ``address``, naming ``host`` (the Host header, and TLS's server name and
    certificate check); plain HTTP unless ``tls``; its socket handed to the deadline."""

    def __init__(self, host: str, port: int, address: str, deadline: _Deadline, timeout: float, tls: bool) -> None:
        self.tls = ssl.create_default_context() if tls else None
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.address = address
        self.deadline = deadline

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.deadline.watch(sock)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host) if self.tls is not None else sock
