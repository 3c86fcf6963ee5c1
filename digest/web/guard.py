"""What the local servers check before they answer: who is asking, from where, with which page's token.

- **Host names.** Each app answers only the host names it is served under
  (Starlette's ``TrustedHostMiddleware``): loopback names, the host it is
  bound to, and for ``digest serve`` the host of ``base_url``. A DNS-rebinding
  page (``rebind.attacker.example`` resolving to 127.0.0.1) gets a 400, and
  no redirect echoes a foreign ``Host`` into its ``Location``.
- **Cross-site requests** to the preview are refused before any handler runs:
  an unsafe method (POST, …) whose ``Sec-Fetch-Site`` says another site, or
  whose ``Origin`` is not this server, gets a 403. Browsers send both on
  every cross-site form POST; a request with neither (curl, a test) goes on
  to the token check.
- **The page's token.** A random token made once per process is put in every
  page's forms and required on every state-changing request (compared in
  constant time). Another site cannot read it, so cannot send it.
- **Tokens stay out of logs.** The public server's paths carry personal
  tokens (``/u/<token>``): the access log shows them redacted; a counted
  link's line (``/r/…``) is logged without the client's address.
- **Policy headers** on every public page: a Content-Security-Policy that
  allows no script and no framing, ``nosniff``, ``no-referrer``.
- **Who the client is.** ``X-Forwarded-For`` is believed only from the
  proxies named in ``serve.trusted_proxies`` (none by default): anyone else
  could write any address there and get a fresh sign-up allowance each time.
- **Bodies are capped as they stream**, not only by ``Content-Length``: a
  chunked upload is cut off at the cap with a 413.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from digest.models.routes import API_ROOT, COUNTED, EVERY_PATH, TEST_COPY

LOOPBACK = ("127.0.0.1", "localhost")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_FIELD = "csrf"  # noqa: S105 (a form field name, not a secret): the field (or X-Digest-Token header) with the page token


def trusted_hosts(bound: str, *also: str | None) -> list[str]:
    """The host names to answer: loopback, the bind address unless it is a wildcard, and ``also``."""
    hosts = dict.fromkeys(LOOPBACK)
    if bound not in ("0.0.0.0", "::", ""):  # noqa: S104 (compared, not bound)
        hosts[bound] = None
    for host in also:
        if host:
            hosts[host.lower()] = None
    return list(hosts)


def host_of(url: str) -> str | None:
    """The host name of ``url`` (``https://news.example.org/x`` → ``news.example.org``)."""
    return urlsplit(url).hostname


def host_only(hosts: Iterable[str]) -> Middleware:
    return Middleware(HostOnly, allowed_hosts=list(hosts))


_PASSED = "digest.host_passed"  # set in a request's scope once the host guard lets it through


class HostOnly:
    """ASGI middleware: Starlette's host check (a plain-text 400 for a host not served), except that under the API's
    root the refusal is an RFC 9457 problem, as every answer of the API is."""

    def __init__(self, app: ASGIApp, allowed_hosts: list[str]) -> None:
        self.app = app
        self.check = TrustedHostMiddleware(self.passed, allowed_hosts=allowed_hosts, www_redirect=False)

    async def passed(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[_PASSED] = True
        await self.app(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_api(scope):
            await self.check(scope, receive, send)
            return

        async def unless_refused(message: Message) -> None:
            if scope.get(_PASSED):  # the app's own answer, whatever its status
                await send(message)

        await self.check(scope, receive, unless_refused)
        if not scope.get(_PASSED):  # the guard's plain 400 was held back: the problem instead
            refusal = api_problem(400, "bad-host", "Host not served", "this server does not answer that Host name")
            await refusal(scope, receive, send)


def is_api(scope: Scope) -> bool:
    return str(scope.get("path", "")).startswith(API_ROOT + "/")


def api_problem(status: int, slug: str, title: str, detail: str, **headers: str) -> Response:
    """An RFC 9457 problem as the API answers one (digest.web.api_answers), for a refusal made before the API's app."""
    body = json.dumps({"type": f"urn:digest:problem:{slug}", "title": title, "status": status, "detail": detail})
    return Response(body, status_code=status, media_type="application/problem+json", headers=headers)


class SameOrigin:
    """ASGI middleware: an unsafe request from another site is refused with a 403 and never reaches a handler."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            reason = cross_site(Headers(scope=scope))
            if reason is not None:
                await PlainTextResponse(f"refused: {reason}\n", status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def cross_site(headers: Headers) -> str | None:
    """Why a request comes from another site, or None when nothing says it does."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return f"a {fetch_site} request (Sec-Fetch-Site)"
    origin = headers.get("origin")
    if origin is not None:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or parts.netloc.lower() != headers.get("host", "").lower():
            return f"a request from {origin} (Origin)"
    return None


class PageToken:
    """One random token per process: in every page's forms, required on every state-changing request."""

    def __init__(self) -> None:
        self.value = secrets.token_urlsafe(32)

    def accepts(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode("utf-8"), self.value.encode("ascii"))


class FormCookie:
    """Double-submit protection of a public form: the page puts a fresh token in a field and in a cookie
    (HttpOnly, SameSite=Strict, scoped to the form's path); a POST that carries the two equal came from our page."""

    def __init__(self, name: str, *, secure: bool) -> None:
        self.name = name
        self.secure = secure

    def issue(self, response: Response, path: str, token: str) -> None:
        response.set_cookie(self.name, token, httponly=True, samesite="strict", secure=self.secure, path=path)

    def sent(self, request: Request) -> str | None:
        return request.cookies.get(self.name)

    @staticmethod
    def matches(cookie: str | None, field: object) -> bool:
        """Whether the form's field carries the cookie's token (compared in constant time); an empty cookie never matches."""
        return bool(cookie) and isinstance(field, str) and hmac.compare_digest(str(cookie).encode(), field.encode())


class RateLimit:
    """At most ``count`` events in any ``seconds``; ``retry_after`` says how long until the next is allowed."""

    def __init__(self, count: int, seconds: float) -> None:
        self.count = count
        self.seconds = seconds
        self.times: deque[float] = deque()
        self.lock = threading.Lock()

    def take(self) -> float:
        """0 when the event may happen now (and it is counted), else the seconds to wait."""
        now = time.monotonic()
        with self.lock:
            while self.times and now - self.times[0] >= self.seconds:
                self.times.popleft()
            if len(self.times) >= self.count:
                return self.seconds - (now - self.times[0])
            self.times.append(now)
            return 0.0


class RateLimits:
    """A :class:`RateLimit` per key (a client address). Past ``max_keys`` keys all are forgotten at once: many
    addresses then get a fresh allowance, but the memory an attacker with many addresses can take stays bounded."""

    def __init__(self, count: int, seconds: float, max_keys: int = 10_000) -> None:
        self.count, self.seconds, self.max_keys = count, seconds, max_keys
        self.limits: dict[str, RateLimit] = {}
        self.lock = threading.Lock()

    def take(self, key: str) -> float:
        with self.lock:
            if key not in self.limits and len(self.limits) >= self.max_keys:
                self.limits.clear()
            limit = self.limits.setdefault(key, RateLimit(self.count, self.seconds))
        return limit.take()


# The paths that carry a reader's own token (each route says so: digest.models.routes), a test copy's placeholder left as it is,
# under any newsletter's base path ("/culture/u/<token>": a newsletter's path is lower-case words).
_NEWSLETTER_PATH = "(?:/[a-z0-9][a-z0-9-]*)*?"
_TOKEN_PATH = re.compile(
    "^("
    + _NEWSLETTER_PATH
    + "(?:"
    + "|".join(re.escape(path.prefix) for path in EVERY_PATH if path.personal)
    + rf"))(?!{TEST_COPY}\b)[^/?\s]+"
)
_COUNTED_PATH = re.compile("^" + _NEWSLETTER_PATH + re.escape(COUNTED.prefix))


class RedactTokens(logging.Filter):
    """Replaces the token in a logged request path (uvicorn's access log: ``/u/<token>`` → ``/u/<redacted>``),
    and leaves the client's address out of a counted link's line (``/r/…``): a log that kept who followed which
    link when would be the record of readers that the click counts are made not to keep."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            client = "-" if _COUNTED_PATH.match(args[2]) else args[0]
            record.args = (client, args[1], redact(args[2]), *args[3:])
        return True


def redact(path: str) -> str:
    return _TOKEN_PATH.sub(r"\1<redacted>", path)


# The public pages run no script at all; the archive's issue pages are email HTML, styled inline.
PUBLIC_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


class PolicyHeaders:
    """ASGI middleware: every response carries ``policy`` (header → value), whatever the handler set; a header
    in ``unless_set`` keeps the handler's own value (the preview's email view sets a stricter CSP)."""

    def __init__(self, app: ASGIApp, policy: dict[str, str], unless_set: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.policy = policy
        self.unless_set = {name.lower() for name in unless_set}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.policy.items():
                    if name.lower() not in self.unless_set or name.lower() not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)


# The public app: no script, no framing, no sniffing, no referrer, on every response.
PUBLIC_HEADERS = {
    "Content-Security-Policy": PUBLIC_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


TRUSTED_PEER = "digest.trusted_peer"  # in a request's scope: it came from one of serve.trusted_proxies
FORWARDING_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")


def unlisted_forward(scope: Scope) -> str:
    """The forwarding header of a request from a peer not in serve.trusted_proxies ("" when it has none): a proxy
    nobody listed (everyone behind it then shares its address), or a client writing the header itself. Never an
    address to believe; :class:`ClientAddress` believes only a trusted proxy's."""
    if scope.get(TRUSTED_PEER):
        return ""
    headers = Headers(scope=scope)
    return next((value for name in FORWARDING_HEADERS if (value := headers.get(name, ""))), "")


def is_private(address: str) -> bool:
    """Whether ``address`` is loopback or on a private network (where a reverse proxy usually is)."""
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return ip.is_private or ip.is_loopback


class ClientAddress:
    """ASGI middleware: the client's address, as the rate limits see it, taken from ``X-Forwarded-For`` only
    when the request comes from a trusted proxy: the right-most address there that is not itself a trusted
    proxy (the left-most entries are whatever the client wrote)."""

    def __init__(self, app: ASGIApp, trusted: Iterable[str]) -> None:
        self.app = app
        self.trusted = tuple(ipaddress.ip_network(network, strict=False) for network in trusted)

    def is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip().strip("[]"))
        except ValueError:
            return False
        return any(ip in network for network in self.trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] == "http" and self.trusted and client and self.is_trusted(client[0]):
            scope = dict(scope, **{TRUSTED_PEER: True})
            forwarded = Headers(scope=scope).get("x-forwarded-for", "")
            hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
            for hop in reversed(hops):
                if not self.is_trusted(hop):
                    scope = dict(scope, client=(hop, 0))
                    break
        await self.app(scope, receive, send)


class BodyTooLargeError(Exception):
    """A body past the cap, found as it streams (no Content-Length: chunked). A mounted app of its own (the API) handles
    it itself: its own error middleware would answer a plain 500 before this guard saw it."""


def _too_large(scope: Scope) -> Response:
    # Connection: close makes the server drop the connection once this is sent, instead of reading and
    # discarding whatever the client still streams. The API's answer is a problem detail, as its every error is.
    if is_api(scope):
        return api_problem(413, "too-large", "Too large", "the request body is too large", Connection="close")
    return PlainTextResponse("refused: the request body is too large\n", status_code=413, headers={"Connection": "close"})


class BodyLimit:
    """ASGI middleware: a request body larger than ``max_bytes`` is refused with a 413 as soon as it has
    streamed that far, whatever its ``Content-Length`` said or whether it had one (chunked)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(scope)(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLargeError
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLargeError:
            if not started:
                await _too_large(scope)(scope, receive, send)


def mailbox_key(address: str) -> str:
    """One key per mailbox for the per-address limit: ``Ada+1@Example.org`` and ``ada+2@example.org`` reach the
    same person, so they share one allowance of confirmation mails."""
    local, _, domain = address.casefold().rpartition("@")
    return f"{local.partition('+')[0]}@{domain}"


# The preview's pages run their own script and frame only its own email view: they may be framed by the
# preview itself (the phone and desktop frames), never by another page (clickjacking the desk's buttons).
PREVIEW_CSP = "frame-ancestors 'self'; form-action 'self'; base-uri 'none'; object-src 'none'"
# The email shown in those frames runs nothing and is sandboxed: a script or a form in a post can do nothing.
EMAIL_VIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src http: https: data:; frame-ancestors 'self'; "
    "sandbox allow-popups allow-popups-to-escape-sandbox"
)


# The preview: framed by its own pages only (the phone and desktop frames), never by another page.
PREVIEW_HEADERS = {
    "Content-Security-Policy": PREVIEW_CSP,
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
}
