"""Per-recipient cost: filling the precompiled message vs building it with email.message.

    .venv/bin/python bench/personalise.py [N]

Renders the sample issue once, then times N recipients both ways in the same
run and prints microseconds per recipient and the ratio. Target: at most
50 µs per recipient for the precompiled path. Figures are medians of 5 runs.

Then the same with theme choices: the sample's posts dealt into 8 themes, N
recipients of whom 60 % take every theme and the rest a random subset; each
run starts with no view compiled, so the figure includes compiling every
view the run meets (target: at most 50 µs per recipient on average).
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

from digest.app.issues import frozen_form
from digest.config import load_settings, theme_key
from digest.issue.assembly import build_issue
from digest.issue.selection import window_for
from digest.mail.message import reference_message
from digest.models import Layout
from digest.render import render_issue
from digest.send.delivery import compile_issue
from digest.send.variants import Variants
from digest.store.people import theme_choice

from common import overridden, theme_choices, themed_issue

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    settings = load_settings(ROOT / "config" / "digest.toml", environ={})
    now = datetime(2026, 11, 20, 9, tzinfo=settings.newsletter.timezone)
    digest = build_issue(settings, window_for(now, settings.newsletter.window, settings.newsletter.timezone), now)
    settings = overridden(settings, secret_key="bench-key", base_url="https://news.example.org")
    compiled = compile_issue(frozen_form(digest, render_issue(digest, settings), now), settings)
    parts = compiled.parts
    # Each with the link salt a subscriber row carries (v13): the send puts it in the MAC of every copy.
    recipients = [(n, f"reader{n}@example.org", f"Reader {n}", f"{n:016x}") for n in range(count)]

    def ours() -> float:
        start = time.perf_counter()
        for sid, email, name, salt in recipients:
            compiled.render(sid, email, name, salt)
        return (time.perf_counter() - start) / count * 1e6

    few = recipients[: max(count // 20, 200)]

    def scratch() -> float:
        start = time.perf_counter()
        for sid, email, name, salt in few:
            reference_message(
                parts, name=name, email=email, message_id=compiled.message_id(sid), unsubscribe_url=compiled.unsubscribe_url(sid, salt)
            ).as_bytes()
        return (time.perf_counter() - start) / len(few) * 1e6

    fast = statistics.median(ours() for _ in range(5))
    slow = statistics.median(scratch() for _ in range(5))
    print(f"message size          {len(compiled.render(0, 'a@example.org')) / 1024:.1f} KB")
    print(
        f"precompiled fill      {fast:8.1f} µs/recipient ({count:,} recipients, median of 5)  target <= 50: {'met' if fast <= 50 else 'MISSED'}"
    )
    print(f"email.message build   {slow:8.1f} µs/recipient ({len(few):,} recipients, median of 5)")
    print(f"ratio                 {slow / fast:8.1f}x faster")
    themed(settings, recipients)


def themed(settings: object, recipients: list[tuple[int, str, str, str]]) -> None:
    issue = themed_issue(settings)  # type: ignore[arg-type]
    layout = Layout.load(issue.layout, theme_key)
    assert layout is not None
    choices = theme_choices(len(recipients), list(layout.keys))
    full = compile_issue(issue, settings)  # type: ignore[arg-type]
    seen: list[int] = []

    def run() -> float:
        variants = Variants(full, layout)  # nothing compiled yet: every view the run meets is compiled in it
        start = time.perf_counter()
        for (sid, email, name, salt), choice in zip(recipients, choices, strict=True):
            message = variants.message_for(theme_choice(choice))  # decoded as the store decodes each row
            if message is not None:
                message.render(sid, email, name, salt)
        elapsed = time.perf_counter() - start
        seen.append(variants.compiled)
        return elapsed / len(recipients) * 1e6

    per = statistics.median(run() for _ in range(5))
    distinct = len(set(choices))
    print(
        f"with theme choices    {per:8.1f} µs/recipient ({len(recipients):,} recipients, 8 themes, 60 % every theme, "
        f"{distinct} distinct choices, {seen[-1]} views compiled in each run, compiling included; median of 5)  "
        f"target <= 50: {'met' if per <= 50 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
