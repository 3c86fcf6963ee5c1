"""Peak memory of a real ``digest send`` (the CLI, in its own process) as the list grows.

The list is never loaded whole (subscribers and ledger rows are streamed in
batches), so the peak should stay flat from thousands to hundreds of
thousands of subscribers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from digest.config import load_settings
from digest.store import Store

from common import ROOT, add_subscribers, smtp_sink

DIGEST = Path(sys.executable).parent / "digest"


def send_peak_rss(count: int, port: int) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of ``digest send --yes`` to ``count`` subscribers through the sink on ``port``."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite"
        newsletter = load_settings(ROOT / "config" / "digest.toml", environ={}).newsletter.slug  # the list the CLI sends to
        store = Store.open(url, newsletter=newsletter)
        add_subscribers(store, count)
        store.close()
        env = os.environ | {
            "DATABASE_URL": url,
            "DIGEST_BACKEND": "smtp",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(port),
            "SMTP_SECURITY": "none",
            "DIGEST_SECRET_KEY": "bench-secret-key-0123456789abcdefghij",
        }
        command = [str(DIGEST), "--config", str(ROOT / "config" / "digest.toml"), "send", "--as-of", "2026-11-20T09:00", "--yes"]
        with open(Path(tmp) / "stderr.txt", "w+b") as errors:
            start = time.perf_counter()
            process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=errors, cwd=ROOT)
            _, status, usage = os.wait4(process.pid, 0)  # this child's own peak, not the largest of all children
            elapsed = time.perf_counter() - start
            process.returncode = os.waitstatus_to_exitcode(status)
            errors.seek(0)
            assert process.returncode == 0, errors.read().decode()[-2000:]
        store = Store.open(url, newsletter=newsletter)
        [status_row] = store.ledger.status()
        store.close()
        assert status_row.counts.get("sent") == count, status_row.counts
    return usage.ru_maxrss / 1024, elapsed  # ru_maxrss is in KiB on Linux


def bench_memory(sizes: list[int], rows: list[str]) -> None:
    """Peak RSS of ``digest send`` at each size, and the growth from the smallest to the largest."""
    with smtp_sink() as port:
        results = [(count, *send_peak_rss(count, port)) for count in sizes]
    for count, peak, seconds in results:
        rows.append(
            f"| memory: digest send to {count:,} subscribers | peak RSS {peak:.0f} MB | {seconds:.0f} s end to end "
            f"({count / seconds:,.0f} msg/s: the CLI, shipped config, 4 connections) | |"
        )
    (small, small_peak, _), (large, large_peak, _) = results[0], results[-1]
    rows.append(
        f"| memory: from {small:,} to {large:,} subscribers | {large_peak - small_peak:+.1f} MB ({large_peak / small_peak:.2f}×) | | "
        "flat: subscribers and ledger rows are read in batches of 500 |"
    )
