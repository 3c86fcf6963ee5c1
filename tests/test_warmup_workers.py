"""The warm-up's daily cap holds across senders: each claims its copies from the store (``warmup_days``) a few at a
time, atomically, so two send workers (PostgreSQL) or two runs never send more than the day's cap together. Real
stores (SQLite, and PostgreSQL where it answers), a real SMTP sink on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date

from digest.config import DeliveryOptions, Scope, SmtpOptions, WarmupOptions
from digest.mail.backends import get_backend
from digest.models import DeliveryState, SendReport
from digest.send.delivery import compile_issue
from digest.send.pacing import Warmup, persist
from digest.send.workers import work_on_issue
from digest.store import Store

from mailserver import SmtpServer
from support.delivery import setup_store

ISSUE = "2026-11-20-abcdef"
TODAY = date(2026, 12, 7)


def test_two_senders_spending_at_once_share_one_days_cap(database_url: str) -> None:
    """Two senders with their own connection to the store, spending copy by copy from threads at once: together they
    get the day's cap, never more; what they claimed and did not spend goes back to the day."""
    options = WarmupOptions(enabled=True, first=25, growth=1.5, days=5)
    stores = [Store.open(database_url), Store.open(database_url)]
    senders = [Warmup.start(store, options, TODAY) for store in stores]
    assert all(sender is not None for sender in senders)
    spent = [0, 0]
    go = threading.Barrier(4)

    def spend(n: int, sender: Warmup) -> None:
        go.wait()
        for _ in range(40):
            if sender.spend():
                with lock:
                    spent[n] += 1

    lock = threading.Lock()
    threads = [threading.Thread(target=spend, args=(n % 2, senders[n % 2])) for n in range(4)]  # two threads a sender
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(spent) == 25, spent
    assert stores[0].pacing.warmup(TODAY)[1] == 25
    busiest = spent.index(max(spent))
    for n, (store, sender) in enumerate(zip(stores, senders, strict=True)):
        assert sender is not None and not sender.spend()  # the day's cap is spent, for both
        if n == busiest:
            sender.give_back()  # one copy deferred: not handed over
        persist(store, _Pace(), sender, final=True)
    assert stores[0].pacing.warmup(TODAY)[1] == 24  # the copy given back is the day's again
    later = Warmup.start(stores[1], options, TODAY)
    assert later is not None and later.spend() and not later.spend()
    for store in stores:
        store.close()


class _Pace:
    """A pace that did not change: persist writes only the warm-up's part."""

    changed = False


def test_two_send_workers_on_postgresql_send_the_days_cap_together_and_leave_the_rest(
    smtp_server: SmtpServer, make_settings: Callable[..., Scope], postgres_url: str
) -> None:
    options = DeliveryOptions(
        backend="smtp", connections=2, retry_base=0.05, max_wait=10.0, warmup=WarmupOptions(enabled=True, first=7, growth=1.5, days=5)
    )
    settings = make_settings(
        database_url=postgres_url,
        secret_key="test-secret-key-for-the-suite-0123456789",
        base_url="https://news.example.org",
        delivery=options,
        smtp=SmtpOptions(host="127.0.0.1", port=smtp_server.port, security="none", timeout=2.0),
    )
    store = setup_store(settings, 30)
    issue = store.issues.load(ISSUE)
    assert issue is not None
    store.ledger.enqueue(ISSUE)
    reports: list[SendReport] = []
    go = threading.Barrier(2)

    def worker() -> None:
        own = Store.open(postgres_url)
        go.wait()
        reports.append(work_on_issue(own, compile_issue(issue, settings), get_backend(settings.install), options, today=TODAY))
        own.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(reports) == 2 and sum(report.sent for report in reports) == 7, reports
    assert len(smtp_server.handler.received) == 7 and set(smtp_server.handler.counts().values()) == {1}
    counts = store.ledger.status([ISSUE])[0].counts
    assert counts[DeliveryState.SENT] == 7 and counts[DeliveryState.FAILED] == 0 and counts[DeliveryState.PENDING] == 23
    assert store.pacing.warmup(TODAY)[1] == 7
    store.close()
