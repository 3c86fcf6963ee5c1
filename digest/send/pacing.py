"""Sending that listens: a receiver's rate limit slows the send down, and the send climbs back; a new domain warms up.

**The pace** (:class:`Pace`) is the run's :class:`~digest.mail.backends.base.RateLimiter` and its number of
connections, as configured (``delivery.rate``, ``delivery.connections``) until a receiver answers a copy with a rate
limit (:attr:`digest.models.Reply.kind` is THROTTLE: Gmail's ``421 4.7.28``, Microsoft's ``451 4.7.5xx``, "too many
connections"). Then, TCP's way (AIMD):

- each such reply multiplies the pace by ``delivery.throttle.decrease`` (0.5): the rate (for a send configured
  without a limit, the rate it was going at) and the connections (never fewer than one), down to
  ``delivery.throttle.floor`` of it. Copies already in flight when the first reply came add nothing more: one
  slowdown per round (``epoch``);
- each accepted copy adds back ``delivery.throttle.recover`` of the configured pace, until it is whole again; never
  above it. An unthrottled send never enters here: its limiter and connections are what they always were;
- the throttled copy is deferred (never counted against its reader, never counted by the breaker) until the time
  the server asked for ("try again in 5 minutes"), else a backoff doubling from ``delivery.retry_base`` with each
  slowdown in a row, at most ``delivery.throttle.max_delay``;
- rate limits that never let up stop the send as our side's failure (:func:`gives_up`): ``delivery.throttle.give_up``
  of them without one copy accepted, counted from the first since a copy was last accepted (across runs: the pace
  is resumed, the ledger says when a copy was last accepted); no reader is failed, every copy stays queued.

The pace is written to the store when it changes (by the run's watcher, off the senders' path) so that
``digest status`` shows the current rate and why.

**The warm-up** (``[delivery.warmup]``, off by default): day *d* of the ramp allows ``first × growth^(d-1)`` copies
over the whole day; copies over the cap stay as they are (pending, not tried, not failed) for the next day's run.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from datetime import date, datetime

from digest.config import ThrottleOptions, WarmupOptions
from digest.mail.backends.base import RateLimiter
from digest.models import RelayPace, Reply, WarmupDay
from digest.store import Store, now_utc

log = logging.getLogger(__name__)

MIN_BASE = 1.0  # messages per second: the least an unlimited send is taken to have been going at when first slowed

_ASKED = re.compile(r"\b(?:try(?: again)?|retry)\b\D{0,20}?(\d{1,6})\s*(s|sec|secs|seconds?|m|mins?|minutes?|h|hours?)\b", re.IGNORECASE)
_UNIT = {"s": 1.0, "m": 60.0, "h": 3600.0}


def asked_delay(reply: Reply) -> float | None:
    """The wait a server asked for in its words ("try again in 5 minutes", "retry after 300 seconds"), in seconds."""
    match = _ASKED.search(reply.text)
    return float(match.group(1)) * _UNIT[match.group(2)[0].lower()] if match else None


class Pace:
    """One relay's pace during a run: the configured one, or slowed by a receiver's rate limit and climbing back.

    ``connections`` and ``share`` are plain attributes the senders read before each copy (nothing else is done per
    copy while the pace is whole); every change is made under the lock.
    """

    def __init__(
        self, relay: str, limiter: RateLimiter, rate: float, connections: int, options: ThrottleOptions, retry_base: float
    ) -> None:
        self.relay = relay
        self.limiter = limiter
        self.configured_rate = rate
        self.configured_connections = max(1, connections)
        self.options = options
        self.retry_base = retry_base
        self.share = 1.0  # of the configured pace
        self.base = rate  # the rate the share is of: the configured one, or what an unlimited send was going at
        self.connections = self.configured_connections
        self.epoch = 0  # one more at each slowdown: a reply to a copy sent before it slows nothing further
        self.level = 0  # slowdowns since the pace was last whole: the backoff of the throttled copies
        self.reason: str | None = None
        self.since: datetime | None = None  # when the rate limits began: the first since a copy was last accepted
        self.unanswered = False  # rate limits since ``since`` and not one copy accepted: how long, gives_up says
        self.slowdowns = 0  # this run's, for the report
        self.resumed = False  # started slowed, where the last run left it
        self.changed = False  # not yet written to the store
        self.lock = threading.Lock()

    def slowed(self, reply: Reply, epoch: int, observed: float) -> float:
        """A rate limit answered a copy sent at ``epoch`` (``observed``: the run's rate so far, messages per second):
        slow down, unless a slowdown came since that copy left; returns the seconds the copy is to wait."""
        with self.lock:
            if epoch == self.epoch:
                if self.share >= 1.0:
                    self.base = self.configured_rate or max(observed, MIN_BASE)
                self.share = max(self.options.floor, self.share * self.options.decrease)
                self.epoch += 1
                self.level += 1
                self.slowdowns += 1
                self._apply()
            if not self.unanswered:  # the first rate limit since a copy went through: the streak starts
                self.since, self.unanswered = now_utc(), True
            self.reason, self.changed = str(reply), True
            level = self.level
        asked = asked_delay(reply)
        wait = asked if asked is not None else self.retry_base * 2.0 ** (max(level, 1) - 1)
        return min(wait, self.options.max_delay)

    def accepted(self) -> None:
        """A copy went through while slowed: win back a step of the configured pace (never more than all of it)."""
        with self.lock:
            self.unanswered = False
            if self.share >= 1.0:
                return
            self.share = min(1.0, self.share + self.options.recover)
            if self.share >= 1.0:
                self.level = 0
                self.changed = True
            self._apply()

    def _apply(self) -> None:
        """The limiter and the connections for the share now: exactly the configured ones when it is whole."""
        if self.share >= 1.0:
            self.connections = self.configured_connections
            self.limiter.set_rate(self.configured_rate)
        else:
            self.connections = max(1, int(self.configured_connections * self.share))
            self.limiter.set_rate(self.base * self.share)

    def resume(self, previous: RelayPace | None, now: datetime) -> bool:
        """Start where the last run left this relay when it ended slowed (the receiver's limit is likely still there),
        unless that was more than ``throttle.max_delay`` ago or the configured pace has changed; True if it did."""
        if previous is None or not previous.throttled or previous.share <= 0:
            return False
        if (previous.configured_rate, previous.configured_connections) != (self.configured_rate, self.configured_connections):
            return False
        if (now - previous.updated_at).total_seconds() > self.options.max_delay:
            return False
        with self.lock:
            self.share, self.base, self.level = previous.share, previous.rate / previous.share, 1
            self.reason, self.since, self.resumed = previous.reason, previous.since, True
            self.unanswered = previous.since is not None  # the run that left it slowed may have had copies accepted
            self._apply()  # since: gives_up asks the ledger for the last one
        return True

    def unanswered_since(self) -> datetime | None:
        """When the rate limits without one accepted copy began (None: a copy went through since the last one)."""
        with self.lock:
            return self.since if self.unanswered else None

    def wait_for_room(self, slot: int, halt: threading.Event) -> None:
        """Sender ``slot`` (0 the first) waits while the pace allows fewer connections than that, or until the run halts."""
        while slot >= self.connections and not halt.wait(0.1):
            pass

    def __str__(self) -> str:
        rate = (
            f"{self.base * self.share:.3g} message(s)/s"
            if self.share < 1.0
            else f"{self.configured_rate:g} message(s)/s"
            if self.configured_rate
            else "no rate limit"
        )
        return f"{rate} on {self.connections} connection(s)"

    def snapshot(self) -> RelayPace:
        with self.lock:
            whole = self.share >= 1.0
            return RelayPace(
                relay=self.relay,
                rate=self.configured_rate if whole else round(self.base * self.share, 3),
                connections=self.connections,
                configured_rate=self.configured_rate,
                configured_connections=self.configured_connections,
                throttled=not whole,
                share=self.share,
                reason=self.reason,
                since=self.since,
                updated_at=now_utc(),
            )


# What a send stopped by rate limits that never let up asks the operator to look at.
THROTTLE_SETTINGS = (
    "the sending domain's and address's standing with that receiver (its postmaster tools), delivery.rate and "
    "delivery.connections, delivery.throttle.give_up; run the send again later: every copy waits as it was"
)


def gives_up(pace: Pace, options: ThrottleOptions, last_sent: Callable[[], datetime | None], now: datetime) -> str | None:
    """Why the send stops (None: it goes on, slower): rate limits for ``throttle.give_up`` seconds without one copy
    accepted (``last_sent``: the ledger's last, which a run that resumed the pace may have had since it began)."""
    began = pace.unanswered_since()
    if not options.give_up or began is None or (now - began).total_seconds() < options.give_up:
        return None
    last = last_sent()
    lasting = (now - max(began, last or began)).total_seconds()
    if lasting < options.give_up:
        return None
    return (
        f"a receiver's rate limits for {lasting / 3600:.3g} h without one copy accepted (delivery.throttle.give_up is "
        f"{options.give_up / 3600:.3g} h; the last: {pace.reason}): the send stops"
    )


class Warmup:
    """Today's copies under the warm-up, claimed from the store a few at a time (:meth:`Pacing.claim`: atomic, so
    several send workers share one cap and never exceed it together), spent a copy at a time by the senders and
    given back when a copy is deferred (it was not handed over). What a run claimed and did not spend goes back to
    the day at its end (:func:`persist` with ``final``); a worker that dies keeps its few unspent copies from the day:
    the cap is never exceeded, at worst a handful short."""

    def __init__(self, day: WarmupDay, today: date, store: Store, block: int = 10) -> None:
        self.day = day
        self.today = today  # the newsletter's day the copies count against
        self.store = store
        self.block = max(1, block)  # copies claimed at once: a store write every ``block`` copies, never one a copy
        self.left = 0  # claimed from the store and not yet spent
        self.spent_out = False  # the store granted nothing: the day's cap is spent, asked no more this run
        self.held = 0  # readers met once the cap was reached: left as they were, for the next day
        self.lock = threading.Lock()

    @classmethod
    def start(cls, store: Store, options: WarmupOptions, today: date, block: int = 10) -> Warmup | None:
        """Today's warm-up (None: off, or past the ramp: no cap)."""
        if not options.enabled:
            return None
        first, sent = store.pacing.warmup(today)
        day = warmup_day(options, today, first, sent)
        if day.left is None:
            return None
        log.info("%s", day)
        return cls(day, today, store, block)

    def spend(self) -> bool:
        """One copy of today's cap, claimed from the store when this run holds none (False: this reader waits for
        the next day)."""
        with self.lock:
            if self.left <= 0 and not self.spent_out:
                granted = self.store.pacing.claim(self.today, self.day.cap or 0, self.block)
                self.left += granted
                self.spent_out = granted == 0
            if self.left <= 0:
                self.held += 1
                return False
            self.left -= 1
            return True

    def give_back(self) -> None:
        with self.lock:
            self.left += 1

    def take_unspent(self) -> int:
        """What this run claimed and did not spend, taken from it (to give back to the day)."""
        with self.lock:
            unspent, self.left = self.left, 0
        return unspent


def persist(store: Store, pace: Pace, warmup: Warmup | None, *, final: bool = False) -> None:
    """Write what status shows and the next run needs: the pace when it changed; at the run's end (``final``) the
    warm-up's copies claimed and not spent, given back to the day. Called by the run's watcher and at its end, never
    per copy; a failure is logged and the send goes on (status lags)."""
    try:
        if pace.changed:
            pace.changed = False
            store.pacing.record(pace.snapshot())
        if final and warmup is not None and (unspent := warmup.take_unspent()):
            store.pacing.add_sent(warmup.today, -unspent)
    except Exception:
        log.exception("could not record the pace or the warm-up's count")


def warmup_day(options: WarmupOptions, today: date, first: date | None, sent: int) -> WarmupDay:
    """Where ``today`` is on the ramp: day 1 is ``warmup.start``, else ``first`` (the first day sent under it), else today."""
    start = options.start or first or today
    day = max(1, (today - start).days + 1)
    return WarmupDay(day=day, days=options.days, cap=options.cap(day), sent=sent)
