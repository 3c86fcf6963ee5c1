"""A long ``digest send`` at the terminal: its progress line (or log lines), and Ctrl-C or SIGTERM stopping
it after the messages in flight."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from types import FrameType
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from digest.app.issues import Progress


def install_stop_handlers(stop: threading.Event) -> dict[int, object]:
    def handler(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            return
        stop.set()
        print(f"\n{signal.Signals(signum).name}: stopping after the messages in flight…", file=sys.stderr, flush=True)

    previous: dict[int, object] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, handler)
    return previous


def restore_handlers(previous: dict[int, object]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)  # type: ignore[arg-type]


class Reporter:
    """A progress line with rate and ETA on a terminal; a plain log line every few seconds otherwise."""

    def __init__(self, tty: bool, resume: str, *, issue_id: str | None = None) -> None:
        self.tty = tty
        self.resume = resume
        self.issue_id = issue_id  # set: progress goes out as JSON log lines (--log-format json)
        self.lock = threading.Lock()
        self.last = 0.0
        self.shown = False

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        interval = 0.1 if self.tty else 5.0
        if now - self.last < interval and progress.done < progress.total and progress.waiting_until is None:
            return
        with self.lock:
            self.last = now
            elapsed = max(now - progress.started, 1e-6)
            rate = progress.done / elapsed
            eta = (progress.total - progress.done) / rate if rate > 0 else 0.0
            pct = 100 * progress.done / progress.total if progress.total else 100.0
            line = (
                f"{progress.done}/{progress.total} ({pct:.0f}%)  {rate:.0f} msg/s  ETA {int(eta // 60)}:{int(eta % 60):02d}  "
                f"sent {progress.sent}  deferred {progress.deferred}  failed {progress.failed}"
            )
            if progress.waiting_until is not None:  # a run waiting for retries says what it waits for
                line = (
                    f"{progress.done}/{progress.total}  waiting for {progress.deferred} deferred delivery(ies), "
                    f"next retry at {progress.waiting_until.astimezone():%H:%M:%S} (Ctrl-C stops; `{self.resume}` resumes)"
                )
            if self.issue_id is not None:
                fields = {"issue": self.issue_id, "done": progress.done, "total": progress.total, "rate": round(rate, 1)}
                fields |= {"sent": progress.sent, "deferred": progress.deferred, "failed": progress.failed, "skipped": progress.skipped}
                logging.getLogger("digest.send").info("progress", extra={"fields": fields})
            elif self.tty:
                click.echo(f"\r{line}\x1b[K", nl=False, err=True)
                self.shown = True
            else:
                click.echo(f"progress: {line}", err=True)

    def finish(self) -> None:
        if self.shown:
            click.echo("", err=True)
