"""Leases: one holder at a time for a named job ("send:<issue-id>", "scheduler"), across processes.

A lease is a row with an owner and an expiry, renewed in the background while
held. Another process that finds it held waits for expiry, except when the
holder ran on the same host and its process is gone: then it is taken over
at once, so a crashed run can be resumed straight away.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from digest.errors import DeliveryError
from digest.store import Store, now_utc

log = logging.getLogger(__name__)

TTL = timedelta(seconds=60)
RENEW_EVERY = 15.0


class LeaseHeldError(DeliveryError):
    """Another live process holds the lease."""


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
def hold_lease(store: Store, name: str, lost: threading.Event, what: str) -> Iterator[str]:
    """Hold lease ``name`` while the block runs; sets ``lost`` if another process takes it away.

    Raises LeaseHeldError (its message says who holds it and until when) if
    a live process has it. ``what`` names the job for that message.
    """
    owner = lease_owner()
    holder = store.leases.acquire(name, owner, now_utc() + TTL)
    if holder is not None and holder_is_dead(holder):
        log.warning("the lease %s was held by %s, which is no longer running; taking it over", name, holder)
        holder = store.leases.acquire(name, owner, now_utc() + TTL, dead=holder)
    if holder is not None:
        found = store.leases.holder(name)
        until = f" until {found[1]:%Y-%m-%d %H:%M:%S} UTC" if found else ""
        raise LeaseHeldError(f"{what} is already running ({holder}, lease held{until})")
    done = threading.Event()

    def renew() -> None:
        while not done.wait(RENEW_EVERY):
            try:
                if store.leases.acquire(name, owner, now_utc() + TTL) is not None:
                    log.error("lost the lease %s to another process; stopping", name)
                    lost.set()
                    return
            except Exception:  # a failed renewal must not end the thread silently
                log.exception("could not renew the lease %s", name)

    renewer = threading.Thread(target=renew, name=f"lease-{name}", daemon=True)
    renewer.start()
    try:
        yield owner
    finally:
        done.set()
        renewer.join()
        store.leases.release(name, owner)
