"""How ``digest serve`` and ``digest preview`` hold their connections: uvicorn's HTTP/1.1 protocol (h11) with
a deadline for each request to arrive and caps on how many connections are open at once.

Left to itself uvicorn keeps a connection that sends nothing, or drips a header a byte at a time, for as
long as the client likes (its keep-alive timer starts only after a first response, and any byte stops it),
and accepts connections until the process runs out of file descriptors: one address holding 19,990 idle
connections stopped the server from answering anyone (issue 31). So:

- **A deadline per request.** From the moment a connection opens, and again from the end of each
  response, the next request's headers and body must have arrived within ``header_timeout`` seconds; past
  it the connection is closed (with a 408 when part of a request had come). The time the app then takes to
  answer is not counted.
- **A cap per client address.** At most ``per_client`` connections are open from one address (an IPv6
  client counts by its /64, the network one customer is given); one more is closed as soon as it is
  accepted, so the descriptors it would hold stay free for others. The proxies in ``serve.trusted_proxies``
  are exempt: behind a proxy every connection comes from it.
- **A cap for everyone.** At most ``total`` connections are open at once, below the process's limit of
  open files (``ulimit -n``, ``RLIMIT_NOFILE``) by what the process needs for itself (the database, mail,
  its logs) and by the listen backlog (the loop accepts that many at once before the caps see them): past
  that limit the event loop cannot even accept, and every client waits.

The h11 protocol is chosen by name rather than uvicorn's "auto" (httptools when installed), so the server
that runs is always the one these rules are written and tested for.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from digest.models.errors import ConfigError

log = logging.getLogger("uvicorn.error")  # beside uvicorn's own lines, in the format the operator already reads

# Descriptors kept for the process's own use, whatever the clients do: the database (a pool of connections,
# SQLite's WAL and shared-memory files), sign-up mail over SMTP, the listening sockets and the metrics address's
# small backlog, logs, imports.
RESERVED_DESCRIPTORS = 100
# Past this many connections memory, not descriptors, is the limit (a container's ulimit is often 1,048,576).
MOST_CONNECTIONS = 10_000
# The listen backlog is also how many connections the event loop accepts in one go, before any of them reaches
# the caps: that many descriptors beyond the cap must stay free, or a burst still runs the process out.
MOST_BACKLOG = 128
SAY_EVERY = 60.0  # seconds between two log lines about refused connections (per cap)

_TIMED_OUT_TEXT = b"refused: the request did not arrive in time\n"
_TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(_TIMED_OUT_TEXT), _TIMED_OUT_TEXT)
)
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    header_timeout: float  # seconds for a request's headers and body to arrive
    per_client: int  # connections open at once from one address (an IPv6 /64)
    total: int  # connections open at once, from everyone
    backlog: int  # connections waiting to be accepted, and accepted in one go
    exempt: tuple[IPNetwork, ...] = ()  # trusted proxies: no per-client cap

    def key(self, host: str) -> str | None:
        """Whose share a connection from ``host`` uses: its address (an IPv6 address's /64); None for a trusted
        proxy, whose connections carry many clients."""
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return host
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # a dual-stack socket shows IPv4 clients as ::ffff:a.b.c.d
        if any(ip in network for network in self.exempt):
            return None
        if isinstance(ip, ipaddress.IPv6Address):
            return str(ipaddress.IPv6Network((ip, 64), strict=False))
        return str(ip)


def open_files_allowed() -> int:
    """How many descriptors this process may hold (the soft ``RLIMIT_NOFILE``, ``ulimit -n``)."""
    try:
        import resource
    except ImportError:  # Windows: no rlimits; the C runtime's default number of open files
        return 512
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return RESERVED_DESCRIPTORS + MOST_BACKLOG + MOST_CONNECTIONS if soft == resource.RLIM_INFINITY else soft


def connection_limits(
    header_timeout: float, per_client: int, exempt: Iterable[str] = (), *, open_files: int | None = None
) -> ConnectionLimits:
    """The limits a server runs with: ``total`` is what the descriptor limit leaves after the process's own.

    Raises ConfigError, saying what to raise or lower, when that leaves less than one client's share."""
    allowed = open_files_allowed() if open_files is None else open_files
    room = min(allowed - RESERVED_DESCRIPTORS, MOST_CONNECTIONS + MOST_BACKLOG)
    backlog = max(1, min(MOST_BACKLOG, room // 5))
    total = room - backlog
    if total < per_client:
        needed = RESERVED_DESCRIPTORS + per_client + min(MOST_BACKLOG, per_client)  # then backlog + share fit
        raise ConfigError(
            [
                f"this process may open only {allowed} files (ulimit -n), and the server keeps {RESERVED_DESCRIPTORS} "
                f"for itself: too few for serve.max_connections_per_client = {per_client}; raise the limit to {max(needed, 1024)} "
                f"or more (`ulimit -n {max(needed, 1024)}` in the shell that starts it, LimitNOFILE= in a systemd unit)"
            ]
        )
    networks = tuple(ipaddress.ip_network(network, strict=False) for network in exempt)
    return ConnectionLimits(header_timeout=header_timeout, per_client=per_client, total=total, backlog=backlog, exempt=networks)


class ConnectionCounts:
    """The connections open now, per client and in all; shared by the servers of one process (``digest serve``
    runs its metrics server on a thread and loop of its own, hence the lock)."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self.per_client: Counter[str] = Counter()
        self.total = 0
        # Refusals are logged at most once a minute per cap, with how many went unsaid: a flood of refused
        # connections must not become a flood of log lines.
        self.said: dict[str, float] = {}
        self.unsaid: Counter[str] = Counter()
        self.lock = threading.Lock()

    def admit(self, key: str | None) -> bool:
        """Count one more connection for ``key`` (None: an exempt proxy) if the caps allow it."""
        with self.lock:
            if self.total >= self.limits.total:
                self._refused("total", f"{self.total} connections are open, the most this process takes at once (ulimit -n)")
                return False
            if key is not None and self.per_client[key] >= self.limits.per_client:
                self._refused("client", f"{key} has {self.per_client[key]} connections open (serve.max_connections_per_client)")
                return False
            self.total += 1
            if key is not None:
                self.per_client[key] += 1
            return True

    def release(self, key: str | None) -> None:
        with self.lock:
            self.total -= 1
            if key is not None:
                self.per_client[key] -= 1
                if self.per_client[key] <= 0:
                    del self.per_client[key]  # the counter stays as large as the clients connected now, no larger

    def _refused(self, cap: str, why: str) -> None:
        now = time.monotonic()
        if now - self.said.get(cap, -SAY_EVERY) < SAY_EVERY:
            self.unsaid[cap] += 1
            return
        self.said[cap] = now
        more = self.unsaid.pop(cap, 0)
        log.warning("Refusing new connections: %s%s", why, f" ({more} more since the last such line)" if more else "")


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the deadline and the caps; :func:`protocol_class` binds it to its limits."""

    limits: ClassVar[ConnectionLimits]
    counts: ClassVar[ConnectionCounts]

    admitted = False
    key: str | None = None
    deadline: asyncio.TimerHandle | None = None
    heard = False  # bytes of the awaited request have come (then a timeout is answered with a 408)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        peer = transport.get_extra_info("peername")
        self.key = self.limits.key(str(peer[0])) if isinstance(peer, tuple) and peer else None
        if not self.counts.admit(self.key):
            transport.close()  # before uvicorn knows of it: nothing to shut down, no request to answer
            return
        self.admitted = True
        super().connection_made(transport)
        self._await_request()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.admitted:
            return
        self.admitted = False
        self.counts.release(self.key)
        self._stop_clock()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self.admitted:
            return
        self.heard = self.heard or bool(data)
        super().data_received(data)
        self._stop_clock_if_read()

    def on_response_complete(self) -> None:
        # Armed before uvicorn goes on to a pipelined request, which may then already be whole.
        if not self.transport.is_closing():
            self._await_request()
        super().on_response_complete()
        self._stop_clock_if_read()

    def _await_request(self) -> None:
        self._stop_clock()
        self.heard = False
        self.deadline = self.loop.call_later(self.limits.header_timeout, self._too_late)

    def _stop_clock_if_read(self) -> None:
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete and not cycle.more_body:
            self._stop_clock()

    def _stop_clock(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _too_late(self) -> None:
        self.deadline = None
        if self.transport.is_closing():
            return
        waiting_for_head = self.cycle is None or self.cycle.response_complete
        if waiting_for_head and self.heard:  # a head begun and never finished: say why it ends
            self.transport.write(_TIMED_OUT)
        # A body cut short: the app's receive() then says the client went away.
        self.transport.close()


def protocol_class(limits: ConnectionLimits) -> type[GuardedH11Protocol]:
    """The protocol to give ``uvicorn.Config(http=…)``: one class per set of limits, sharing its counts between
    every server it is given to."""
    shared = ConnectionCounts(limits)

    class Bound(GuardedH11Protocol):
        pass

    Bound.limits = limits
    Bound.counts = shared
    return Bound


class QuietWhenGone:
    """ASGI wrapper: a request whose client is gone before its body arrived (closed at the deadline, or gone by
    itself) ends without a word. Nothing can be answered to it, and it is no error of the server's: logged with a
    traceback each time, a client dripping bodies could fill the log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except ClientDisconnect:  # Starlette raises it only once receive() said the connection is closed
            log.debug("%s went away before its request had arrived", scope.get("client"))
