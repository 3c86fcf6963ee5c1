"""Several SMTP relays ([[smtp.relays]]): connections spread by weight, a failing relay benched for a while.

Each new connection goes to a relay drawn by weight among those not
benched. A relay that refuses the connection, or answers 421 (closing), is
benched for ``smtp.cooldown`` seconds and the send carries on through the
others. When a message fails that way before DATA (nothing handed over, no
``sending`` in the ledger yet), it is tried at once on another relay instead
of waiting for a retry; after DATA it is deferred as with one relay. So the
ledger's protocol, and with it "at most the messages in flight are repeated
after a crash", is the same as with one relay: the pool only chooses where
each connection goes.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence

from digest.config import Relay
from digest.mail.backends.base import RateLimiter
from digest.mail.backends.smtp import SmtpTransport
from digest.mail.message import Envelope
from digest.models import Reply
from digest.models.errors import PermanentError, RelayError, TransientError

log = logging.getLogger(__name__)


class RelayPool:
    name = "smtp"

    def __init__(
        self,
        relays: Sequence[Relay],
        connections: int,
        cooldown: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        seed: int | None = None,
    ) -> None:
        self.relays = tuple(relays)
        self.parallel = connections
        self.cooldown = cooldown
        self.clock = clock
        self.random = random.Random(seed)  # noqa: S311 (spreading load, not a secret)
        self.benched: dict[str, float] = {}  # relay name → when it may be tried again
        self.limiters = {relay.name: RateLimiter(relay.rate) for relay in self.relays}
        self.lock = threading.Lock()
        self.idle = threading.Event()  # never set: a relay's pace waits on it (the run's stop ends a send between messages)

    def bench(self, relay: Relay, why: str) -> None:
        with self.lock:
            self.benched[relay.name] = self.clock() + self.cooldown
        log.warning("relay %s benched for %g s: %s", relay.name, self.cooldown, why)

    def candidates(self, excluding: frozenset[str] = frozenset()) -> list[Relay]:
        """The relays to try, in order: those not benched drawn by weight, then the benched, soonest back first."""
        now = self.clock()
        with self.lock:
            ready = [r for r in self.relays if r.name not in excluding and self.benched.get(r.name, 0.0) <= now]
            waiting = sorted((r for r in self.relays if r.name not in excluding and r not in ready), key=lambda r: self.benched[r.name])
            ordered: list[Relay] = []
            while ready:
                pick = self.random.choices(ready, weights=[r.weight for r in ready])[0]
                ordered.append(pick)
                ready.remove(pick)
        return ordered + waiting

    def connect(self, excluding: frozenset[str] = frozenset()) -> tuple[Relay, SmtpTransport]:
        """A connection to the first relay that takes one; raises TransientError when none does."""
        failures: list[str] = []
        for relay in self.candidates(excluding):
            try:
                return relay, SmtpTransport(relay.options)
            except TransientError as exc:
                self.bench(relay, str(exc.reply))
                failures.append(f"{relay.name}: {exc.reply}")
            except RelayError as exc:  # this relay's TLS or login: another may still take the connection
                self.bench(relay, str(exc))
                failures.append(f"{relay.name}: {exc} (check {exc.check})")
        raise TransientError(Reply(421, "no relay took the connection: " + "; ".join(failures or ["none configured"])), at_connect=True)

    def open(self) -> PooledTransport:
        relay, transport = self.connect()
        return PooledTransport(self, relay, transport)

    def describe(self) -> str:
        relays = ", ".join(f"{r.name} {r.options.host}:{r.options.port} ({r.options.security}, weight {r.weight})" for r in self.relays)
        return f"SMTP relays {relays}; {self.parallel} connection(s)"


class PooledTransport:
    """One connection of the pool, to one relay; moved to another relay when this one fails before DATA."""

    def __init__(self, pool: RelayPool, relay: Relay, transport: SmtpTransport) -> None:
        self.pool = pool
        self.relay = relay
        self.transport = transport

    def send(self, envelope: Envelope, data: bytes, before_data: Callable[[], None]) -> Reply:
        tried: set[str] = set()
        marked = False

        def mark() -> None:
            # Once per message: a relay that refused it before the message was written (a pipelined MAIL answered
            # 421, say) leaves the ledger's 'sending' committed, and the next relay goes on from there.
            nonlocal marked
            if not marked:
                before_data()
                marked = True

        while True:
            self.pool.limiters[self.relay.name].wait(self.pool.idle)
            try:
                return self.transport.send(envelope, data, mark)
            except PermanentError as exc:
                if not exc.reply.refuses_relaying or len(tried) + 1 >= len(self.pool.relays):
                    raise  # the reader's refusal, or no relay left to try: the run decides
                self._move_on(str(exc.reply), tried)  # this relay will not relay for us: another may
            except TransientError as exc:
                if not (exc.connection_lost or exc.reply.code == 421 or exc.at_sender):
                    raise  # an ordinary 4xx for this recipient: deferred, as with one relay
                if exc.message_sent or len(tried) + 1 >= len(self.pool.relays):
                    self.pool.bench(self.relay, str(exc.reply))
                    raise  # the message may have reached the relay: the ledger's retry decides, never a second copy now
                self._move_on(str(exc.reply), tried)

    def _move_on(self, why: str, tried: set[str]) -> None:
        """Bench this relay and go on with the same message through another not tried yet."""
        self.pool.bench(self.relay, why)
        tried.add(self.relay.name)
        self.transport.close()
        self.relay, self.transport = self.pool.connect(frozenset(tried))

    def close(self) -> None:
        self.transport.close()
