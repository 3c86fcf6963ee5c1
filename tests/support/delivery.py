"""A store with readers and an issue, sent through the ledger as the send command does; a relay of [[smtp.relays]]."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date

from digest.config import Relay, Scope, SmtpOptions
from digest.mail.backends import get_backend
from digest.models import Progress, SendReport
from digest.send.delivery import compile_issue, send_issue
from digest.store import Store

from factories import make_stored_issue


def setup_store(settings: Scope, count: int, issue_id: str = "2026-11-20-abcdef") -> Store:
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    for n in range(count):
        store.subscribers.add(f"reader{n:03d}@example.org", f"Reader {n}")
    store.issues.save(make_stored_issue(issue_id))
    return store


def run_send(
    settings: Scope,
    store: Store,
    stop: threading.Event | None = None,
    issue_id: str = "2026-11-20-abcdef",
    on_progress: Callable[[Progress], None] | None = None,
    today: date | None = None,
) -> SendReport:
    issue = store.issues.load(issue_id)
    assert issue is not None
    message = compile_issue(issue, settings)
    return send_issue(
        store, message, get_backend(settings.install), settings.install.delivery, stop=stop, on_progress=on_progress, today=today
    )


def relay(name: str, port: int, weight: int = 1) -> Relay:
    return Relay(name=name, options=SmtpOptions(host="127.0.0.1", port=port, security="none", timeout=2.0), weight=weight)
