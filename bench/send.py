"""Send throughput: the full ``digest send`` path (ledger included) against raw smtplib, same sink, same run."""

from __future__ import annotations

import smtplib
import statistics
import tempfile
import threading
import time
from pathlib import Path

from digest.config import DeliveryOptions, Scope, SmtpOptions, theme_key
from digest.mail.backends.smtp import SmtpBackend
from digest.mail.dkim import DkimSigner, load_key, new_key
from digest.models import Layout, SendReport, StoredIssue
from digest.send.delivery import compile_issue, send_issue
from digest.send.variants import Variants
from digest.store import Store
from digest.store.people import theme_choice

from common import add_subscribers, overridden, sample_issue, sample_settings, smtp_sink, theme_choices, themed_issue


def bench_send(count: int, rows: list[str], themed: int = 20_000) -> None:
    """The send's rows; the themed send goes to at least ``themed`` readers (enough distinct choices to count)."""
    settings = sample_settings()
    issue = sample_issue(settings)
    data = compile_issue(issue, settings).render(1, "reader@example.org")
    with smtp_sink() as port:
        for connections in (1, 4, 8):
            raw = raw_smtplib(port, data, count, connections)
            full, _ = full_path(port, settings, issue, count, connections)
            rows.append(
                f"| send {count:,} × {len(data) / 1024:.0f} KB, {connections} connection(s) | digest send (ledger) {full:,.0f} msg/s | "
                f"raw smtplib {raw:,.0f} msg/s | ratio {full / raw:.2f} (target ≥ 0.9: {'met' if full / raw >= 0.9 else 'MISSED'}) |"
            )
        rows.append(themed_send(port, settings, max(count, themed)))
        rows.append(signed_send(port, settings, issue, count))
    stuffing = statistics.median(_time_stuffing(data) for _ in range(21))
    rows.append(
        f"| send: where the lead comes from | smtplib dot-stuffs each message: {stuffing * 1e6:,.0f} µs per {len(data) / 1024:.0f} KB | "
        "digest's messages have no line starting with '.', so it skips that | also one ledger commit per message, on sqlite3 directly |"
    )


def _time_stuffing(data: bytes) -> float:
    start = time.perf_counter()
    smtplib._quote_periods(data)  # what SMTP.data does to every message
    return time.perf_counter() - start


def raw_smtplib(port: int, data: bytes, count: int, connections: int) -> float:
    def push(share: int) -> None:
        client = smtplib.SMTP("127.0.0.1", port)
        for _ in range(share):
            client.sendmail("digest@example.org", ["reader@example.org"], data)
        client.quit()

    threads = [threading.Thread(target=push, args=(count // connections,)) for _ in range(connections)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return (count // connections * connections) / (time.perf_counter() - start)


def signed_send(port: int, settings: Scope, issue: StoredIssue, count: int, connections: int = 4) -> str:
    """The send with every copy DKIM-signed (RSA-2048) against raw smtplib pushing one signed copy."""
    with tempfile.TemporaryDirectory() as tmp:
        pem = Path(tmp) / "bench.pem"
        pem.write_bytes(new_key("rsa"))
        signing = overridden(settings, dkim=DkimSigner((load_key(pem, domain=settings.newsletter.sender.domain, selector="bench"),)))
        data = compile_issue(issue, signing).render(1, "reader@example.org")
        raw = raw_smtplib(port, data, count, connections)
        full, _ = full_path(port, signing, issue, count, connections)
    return (
        f"| send {count:,} DKIM-signed (RSA-2048), {connections} connections | digest send (ledger) {full:,.0f} msg/s | "
        f"raw smtplib {raw:,.0f} msg/s pushing one signed copy | ratio {full / raw:.2f} (target ≥ 0.9: {'met' if full / raw >= 0.9 else 'MISSED'}) |"
    )


def themed_send(port: int, settings: Scope, count: int, connections: int = 4) -> str:
    """The send with theme choices (8 themes, 60 % every theme) against raw smtplib sending a copy of the median size."""
    issue = themed_issue(settings)
    layout = Layout.load(issue.layout, theme_key)
    assert layout is not None
    choices = theme_choices(count, list(layout.keys))
    variants = Variants(compile_issue(issue, settings), layout)
    sizes = sorted(
        (len(message.render(1, "reader@example.org")), n)
        for n, message in enumerate(variants.message_for(theme_choice(choice)) for choice in choices[:500])
        if message is not None
    )
    typical = variants.message_for(theme_choice(choices[sizes[len(sizes) // 2][1]]))
    assert typical is not None
    data = typical.render(1, "reader@example.org")
    raw = raw_smtplib(port, data, count, connections)
    full, report = full_path(port, settings, issue, count, connections, choices=choices, layout=layout)
    return (
        f"| send {count:,} with theme choices (8 themes, 60 % every theme, {report.variants} views), {connections} connections | "
        f"digest send (ledger) {full:,.0f} msg/s | raw smtplib {raw:,.0f} msg/s, each copy the median view ({len(data) / 1024:.0f} KB) | "
        f"ratio {full / raw:.2f} (target ≥ 0.9: {'met' if full / raw >= 0.9 else 'MISSED'}) |"
    )


def full_path(
    port: int,
    settings: Scope,
    issue: StoredIssue,
    count: int,
    connections: int,
    *,
    choices: list[str | None] | None = None,
    layout: Layout | None = None,
) -> tuple[float, SendReport]:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/bench.sqlite")
        add_subscribers(store, count, choices=choices)
        store.issues.save(issue)
        options = DeliveryOptions(backend="smtp", connections=connections, max_per_connection=count, max_wait=0)
        backend = SmtpBackend(SmtpOptions(host="127.0.0.1", port=port, security="none"), connections)
        message = compile_issue(issue, settings)
        start = time.perf_counter()
        report = send_issue(store, message, backend, options, layout=layout)
        elapsed = time.perf_counter() - start
        assert report.complete and report.sent == count, report
        store.close()
    return count / elapsed, report
