"""Leases: one holder at a time for a named job ("send:<issue-id>", "scheduler"), across processes.

A lease is a row with an owner and an expiry, renewed in the background while
held. Another process that finds it held waits for expiry, except when the
holder ran on the same host and its process is gone: then it is taken over
at once, so a crashed run can be resumed straight away.

Expiry alone cannot stop a holder that was paused (SIGSTOP, a suspended VM,
a stuck thread) past its expiry and then wakes up still believing it holds
the lease. So each change of hands raises the lease's *fencing number*; a
send's ledger writes carry the number its run got and change nothing once it
is stale, and the run stops at the first write that changed nothing. A
holder also checks, before each message, that its last renewal is recent on
a clock that counts a suspend (:meth:`Held.check`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from digest.models.errors import LeaseHeldError, LeaseLostError
from digest.store import Store, now_utc

log = logging.getLogger(__name__)

TTL = 60.0  # seconds a lease lasts unless renewed (a send's is delivery.lease_seconds)
# A holder stops trusting its lease well before it could have expired: clocks of two hosts differ a little.
TRUSTED_PART = 0.9


def boot_clock() -> float:
    """Seconds on a clock that keeps counting while this machine is suspended (CLOCK_BOOTTIME on Linux;
    time.monotonic, which stops during a suspend, elsewhere): a lease's age must include a VM's pause."""
    return time.clock_gettime(time.CLOCK_BOOTTIME) if hasattr(time, "CLOCK_BOOTTIME") else time.monotonic()


@dataclass
class Held:
    """A lease this process holds: its fencing number, and how long ago it was last confirmed."""

    name: str
    owner: str
    fence: int
    ttl: float
    confirmed: float  # boot_clock() at the last successful take or renewal

    def check(self) -> None:
        """Raise LeaseLostError when the last confirmation is too old to trust (a pause, a suspend, a stuck renewal)."""
        age = boot_clock() - self.confirmed
        if age >= self.ttl * TRUSTED_PART:
            raise LeaseLostError(f"the lease {self.name} was last confirmed {age:.0f} s ago (it lasts {self.ttl:g} s): stopping")


def lease_owner() -> str:
    """``host:pid:nonce``: enough for another process on the same host to tell whether the holder still runs."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def holder_is_dead(owner: str) -> bool:
    """True only when the holder ran on this host and its process is gone; unknown means alive."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, owned by someone else
        return False
    return False


@contextmanager
def hold_lease(store: Store, name: str, lost: threading.Event, what: str, ttl: float = TTL) -> Iterator[Held]:
    """Hold lease ``name`` while the block runs; sets ``lost`` if another process takes it away.

    Raises LeaseHeldError (its message says who holds it and until when) if
    a live process has it. ``what`` names the job for that message. The
    lease lasts ``ttl`` seconds and is renewed every quarter of that.
    """
    owner = lease_owner()
    until = timedelta(seconds=ttl)
    holder = store.leases.acquire(name, owner, now_utc() + until)
    if holder is not None and holder_is_dead(holder):
        log.warning("the lease %s was held by %s, which is no longer running; taking it over", name, holder)
        holder = store.leases.acquire(name, owner, now_utc() + until, dead=holder)
    fence = store.leases.fence(name, owner) if holder is None else None
    if fence is None:
        found = store.leases.holder(name)
        when = f" until {found[1]:%Y-%m-%d %H:%M:%S} UTC" if found else ""
        who = holder or (found[0] if found else "another run")
        raise LeaseHeldError(f"{what} is already running ({who}, lease held{when})")
    held = Held(name, owner, fence, ttl, boot_clock())
    done = threading.Event()

    def renew() -> None:
        while not done.wait(ttl / 4):
            started = boot_clock()
            try:
                if store.leases.acquire(name, owner, now_utc() + until) is not None:
                    log.error("lost the lease %s to another process; stopping", name)
                    lost.set()
                    return
                held.confirmed = started  # from before the renewal: it may have waited for the database
            except Exception:  # a failed renewal must not end the thread silently
                log.exception("could not renew the lease %s", name)

    renewer = threading.Thread(target=renew, name=f"lease-{name}", daemon=True)
    renewer.start()
    try:
        yield held
    finally:
        done.set()
        renewer.join()
        store.leases.release(name, owner)
