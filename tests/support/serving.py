"""A socketserver (HTTP, SMTP of our own script, DNS) served from a thread, stopped without waiting.

``serve_forever`` looks for a ``shutdown()`` only between polls, half a second apart by default, so each server a
test stopped cost it up to half a second of nothing (measured: 0.35-0.45 s of every scripted relay test's teardown).
"""

from __future__ import annotations

import socketserver
import threading

POLL_SECONDS = 0.05


def serve_in_thread(server: socketserver.BaseServer) -> threading.Thread:
    """Start ``server`` in a daemon thread; ``server.shutdown()`` then returns within ``POLL_SECONDS`` of a request's
    end (a threading server's at once; one that answers in its own thread finishes the request it is answering)."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": POLL_SECONDS}, daemon=True)
    thread.start()
    return thread
