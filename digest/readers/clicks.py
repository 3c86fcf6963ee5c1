"""Which fetches of a counted link are people clicking, decided in memory and kept only as totals.

The redirect (``/r/<token>``) knows the issue and the link, and of the
client only what every request carries: its address and its User-Agent.
Those two together (a client), and the address alone (for the cap below),
are hashed with a key made at start-up and never written anywhere, and a
hash lives in memory for :data:`REPEAT_SECONDS` at most: enough to tell
three things apart.

- **Link scanners** (Proofpoint, Mimecast, Microsoft Defender, Outlook's
  previews) fetch every link of a copy seconds after delivery. They are
  known by name (:data:`SCANNER_AGENTS`, or no User-Agent at all, or a
  HEAD request), and by behaviour: one client fetching
  :data:`BURST_LINKS` different links of one issue within
  :data:`BURST_SECONDS`. A person's click is therefore held back
  :data:`HOLD_SECONDS` before it counts, so that a burst that follows
  can take it back.
- **Repeats**: the same client on the same link again within
  :data:`REPEAT_SECONDS` counts once; and one client *address* counts at
  most :data:`CLICKS_PER_ADDRESS` clicks of one issue within
  :data:`REPEAT_SECONDS`, whatever User-Agents it gives (:func:`address_of`
  folds an IPv6 address to its /64, which one host owns): the rest of its
  fetches are repeats.
- **People**: everything else.

A request that came through a proxy not listed in ``serve.trusted_proxies``
arrives from the proxy's address, so everyone behind it shares that address:
its ``X-Forwarded-For`` (``via``) still tells the people apart for the
scanner and repeat rules, never for the cap (anyone can write that header).

Each process keeps its own memory (replicas each tell their own repeats
apart); a restart forgets it, which at worst counts one person twice.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

HOLD_SECONDS = 10.0  # a click waits this long for a scanner's burst to show it was one
BURST_SECONDS = 10.0  # a scanner fetches a copy's links within seconds of each other...
BURST_LINKS = 3  # ...this many different links of one issue (a person opening two tabs is a person)
SCANNER_MEMORY_SECONDS = 120.0  # a client caught bursting is a scanner for this long: its next fetches too
REPEAT_SECONDS = 1800.0  # one client on one link counts once in half an hour
# Clicks one address counts on one issue per REPEAT_SECONDS. A reader opens a few of an issue's posts (the
# sample issue has ten); five lets a household or a small office behind one address count as
# the few people it is, and makes inflating a post cost a fresh address per five clicks (rotating User-Agents
# gains nothing). The price: a large office behind one address counts at most five clicks per half hour.
CLICKS_PER_ADDRESS = 5
REMEMBERED = 200_000  # clients × links held at most (about 40 MB): past it the oldest are forgotten first

# Link scanners and previewers by the names they give; a browser's User-Agent has none of these words.
SCANNER_AGENTS = re.compile(
    r"bot\b|crawl|spider|scan|preview|proofpoint|mimecast|barracuda|safelinks|ms-office|microsoft office|"
    r"python-|curl/|wget/|go-http-client|java/|okhttp|libwww|headless|urlscan|symantec|trend ?micro|fireeye|"
    r"forcepoint|sophos|cisco|checkpoint|fortinet|zscaler|slackbot|facebookexternalhit|whatsapp|skypeuripreview",
    re.IGNORECASE,
)


class Fetch(StrEnum):
    """What one fetch of a counted link was."""

    CLICK = "click"
    SCANNED = "scanned"
    REPEATED = "repeated"


@dataclass(slots=True)
class _Held:
    """A click held back until :data:`HOLD_SECONDS` have passed without a burst from its client."""

    link: tuple[str, int]
    at: float
    allowance: _Allowance
    kind: Fetch = Fetch.CLICK


@dataclass(slots=True)
class _Allowance:
    """What one address has counted on one issue since ``since`` (at most :data:`CLICKS_PER_ADDRESS`)."""

    since: float
    counted: int = 0


def address_of(address: str) -> str:
    """The address a cap is kept for: an IPv6 address's /64 (one host or home owns a /64, and can pick any
    address in it), an IPv4 one as it is (an IPv4-mapped IPv6 one as its IPv4), anything else as given."""
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass(slots=True)
class _Totals:
    clicks: int = 0
    scanned: int = 0
    repeated: int = 0


@dataclass
class ClickFilter:
    """The in-memory rules; thread-safe. :meth:`fetched` for each request, :meth:`decided` to collect totals."""

    key: bytes = field(default_factory=lambda: secrets.token_bytes(32))  # never leaves this process
    hold: float = HOLD_SECONDS
    lock: threading.Lock = field(default_factory=threading.Lock)
    held: deque[_Held] = field(default_factory=deque)
    bursts: dict[tuple[bytes, str], deque[tuple[float, int, _Held | None]]] = field(default_factory=dict)
    scanners: dict[tuple[bytes, str], float] = field(default_factory=dict)  # (client, issue) → caught until
    seen: dict[tuple[bytes, str, int], float] = field(default_factory=dict)  # (client, issue, link) → last counted
    allowances: dict[tuple[bytes, str], _Allowance] = field(default_factory=dict)  # (address, issue) → its cap
    final: dict[tuple[str, int], _Totals] = field(default_factory=dict)  # decided, not yet collected
    forgotten_at: float = 0.0

    def client(self, address: str, agent: str, via: str = "") -> bytes:
        """The keyed hash a client is known by, in memory only."""
        return self._hash(f"{address}\0{agent}\0{via}")

    def _hash(self, text: str) -> bytes:
        return hmac.new(self.key, text.encode(errors="replace"), hashlib.sha256).digest()[:16]

    def fetched(self, issue_id: str, number: int, *, address: str, agent: str, method: str, now: float, via: str = "") -> Fetch:
        """Record one fetch of link ``number`` of ``issue_id`` from ``address`` (``via``: the forwarding header
        of a proxy not trusted); returns what it looks like now (a click may yet be taken back by a burst within
        :data:`HOLD_SECONDS`)."""
        link = (issue_id, number)
        if method == "HEAD" or not agent.strip() or SCANNER_AGENTS.search(agent):
            return self._final(link, Fetch.SCANNED)
        client = self.client(address, agent, via)
        where = (self._hash(address_of(address)), issue_id)
        with self.lock:
            if self.scanners.get((client, issue_id), 0.0) > now:
                return self._final_locked(link, Fetch.SCANNED)
            burst = self.bursts.setdefault((client, issue_id), deque())
            while burst and burst[0][0] < now - BURST_SECONDS:
                burst.popleft()
            if len({number, *(n for _, n, _ in burst)}) >= BURST_LINKS:
                self.scanners[(client, issue_id)] = now + SCANNER_MEMORY_SECONDS
                for _, _, earlier in burst:
                    if earlier is not None and earlier.kind is Fetch.CLICK:
                        earlier.kind = Fetch.SCANNED  # counted as scanned when its hold ends
                        earlier.allowance.counted -= 1  # a scanner's fetch spends none of the address's clicks
                burst.clear()
                return self._final_locked(link, Fetch.SCANNED)
            remembered = (client, issue_id, number)
            last = self.seen.pop(remembered, None)
            if last is not None and last > now - REPEAT_SECONDS:
                self.seen[remembered] = last  # the window runs from the click that counted
                burst.append((now, number, None))
                return self._final_locked(link, Fetch.REPEATED)
            allowance = self._allowance(where, now)
            if allowance.counted >= CLICKS_PER_ADDRESS:
                burst.append((now, number, None))
                return self._final_locked(link, Fetch.REPEATED)
            allowance.counted += 1
            self.seen[remembered] = now
            while len(self.seen) > REMEMBERED:
                del self.seen[next(iter(self.seen))]
            held = _Held(link, now, allowance)
            self.held.append(held)
            burst.append((now, number, held))
            return Fetch.CLICK

    def _allowance(self, where: tuple[bytes, str], now: float) -> _Allowance:
        """The address's allowance on the issue: a fresh one once :data:`REPEAT_SECONDS` have passed since the
        current one began (held under the lock)."""
        allowance = self.allowances.get(where)
        if allowance is None or allowance.since <= now - REPEAT_SECONDS:
            allowance = self.allowances[where] = _Allowance(now)
            while len(self.allowances) > REMEMBERED:
                del self.allowances[next(iter(self.allowances))]
        return allowance

    def _final(self, link: tuple[str, int], kind: Fetch) -> Fetch:
        with self.lock:
            return self._final_locked(link, kind)

    def _final_locked(self, link: tuple[str, int], kind: Fetch) -> Fetch:
        totals = self.final.setdefault(link, _Totals())
        if kind is Fetch.SCANNED:
            totals.scanned += 1
        elif kind is Fetch.REPEATED:
            totals.repeated += 1
        else:
            totals.clicks += 1
        return kind

    def decided(self, now: float, *, everything: bool = False) -> Mapping[tuple[str, int], tuple[int, int, int]]:
        """The totals decided since the last call, by link: (clicks, scanned, repeated). Clicks still held
        stay for the next call, unless ``everything`` (the server stopping: no burst can come any more)."""
        with self.lock:
            while self.held and (everything or self.held[0].at <= now - self.hold):
                held = self.held.popleft()
                self._final_locked(held.link, held.kind)
            collected = {link: (t.clicks, t.scanned, t.repeated) for link, t in self.final.items()}
            self.final.clear()
            if now - self.forgotten_at >= BURST_SECONDS:  # a walk over all it remembers: not on every call
                self.forgotten_at = now
                self._forget(now)
        return collected

    def _forget(self, now: float) -> None:
        for key in [k for k, until in self.scanners.items() if until <= now]:
            del self.scanners[key]
        for key in [k for k, burst in self.bursts.items() if not burst or burst[-1][0] < now - BURST_SECONDS]:
            del self.bursts[key]
        for remembered in [k for k, at in self.seen.items() if at <= now - REPEAT_SECONDS]:
            del self.seen[remembered]
        for where in [k for k, allowance in self.allowances.items() if allowance.since <= now - REPEAT_SECONDS]:
            del self.allowances[where]
