"""The benchmark suite: ``make bench`` (sizes for a 2-core machine) or ``make bench-full``.

Writes ``bench/results/<date>.md`` (figures, machine, versions) and prints it.
Figures are medians of several runs; every comparison is a ratio measured in
the same run on the same machine. Timed work lives here, never in tests.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import random
import shutil
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

from digest.config import DeliveryOptions, Settings, SmtpOptions, SourceSpec, Theme, load_settings
from digest.delivery import compile_issue, send_issue
from digest.frozen import freeze
from digest.issue import build_issue
from digest.mail.backends.smtp import SmtpBackend
from digest.models import Window
from digest.render import template_context
from digest.render.checks import check_issue
from digest.render.inline import inline_css
from digest.render.mjml import compile_mjml, split_inline_css
from digest.render.templates import HTML_TEMPLATE, TEXT_TEMPLATE, LinkReferences, environment, render_template
from digest.render.text import tidy_text
from digest.selection import window_between
from digest.sources.index import RACY_SECONDS
from digest.store import Store, subscribers

ROOT = Path(__file__).resolve().parents[1]
WORDS = [
    "harbour",
    "tram",
    "library",
    "market",
    "rent",
    "solar",
    "flood",
    "bakery",
    "choir",
    "council",
    "bus",
    "garden",
    "ferry",
    "museum",
    "homes",
    "heat",
]


def median_of(runs: int, func: Callable[[], float]) -> float:
    return statistics.median(func() for _ in range(runs))


def generate_posts(folder: Path, count: int, start: date, rng: random.Random) -> None:
    """``count`` Markdown posts spread over a year, in monthly folders."""
    outlets = [f"Outlet {n}" for n in range(12)]
    for n in range(count):
        day = start + timedelta(days=rng.randrange(365))
        sub = folder / f"{day:%Y-%m}"
        sub.mkdir(parents=True, exist_ok=True)
        title = " ".join(rng.choice(WORDS) for _ in range(6)).capitalize()
        body = " ".join(rng.choice(WORDS) for _ in range(80))
        (sub / f"post-{n:06d}.md").write_text(
            f'---\ntitle: "{title} {n}"\ndate: {day.isoformat()}T{rng.randrange(24):02d}:00:00+00:00\n'
            f"url: https://example.org/{n}\noutlet: {rng.choice(outlets)}\n---\n\n{body}.\n",
            encoding="utf-8",
        )


def timed_build(settings: Settings, window: Window, *, fresh: bool) -> float:
    """Seconds to build the issue; ``fresh``: with the post index emptied first (a first run)."""
    if fresh:
        shutil.rmtree(settings.cache_dir, ignore_errors=True)
    start = time.perf_counter()
    build_issue(settings, window, datetime.now(UTC))
    return time.perf_counter() - start


def bench_gather(sizes: list[int], rows: list[str]) -> None:
    """One week's issue from a year of posts: a first run (empty index) and repeated runs (the index in use)."""
    base = load_settings(ROOT / "config" / "digest.toml", environ={})
    for count in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "content"
            generate_posts(folder, count, date(2026, 1, 1), random.Random(count))
            time.sleep(RACY_SECONDS)  # files younger than this are parsed but not remembered (racy stamps)
            settings = dataclasses.replace(
                base, root=Path(tmp), cache_dir=Path(tmp) / "cache", sources=(SourceSpec(kind="markdown", location=str(folder)),)
            )
            window = window_between(date(2026, 6, 1), date(2026, 6, 8), settings.timezone)

            firsts = [timed_build(settings, window, fresh=True) for _ in range(3)]
            repeats = [timed_build(settings, window, fresh=False) for _ in range(5)]
            digest = build_issue(settings, window, datetime.now(UTC))
            first, repeat = statistics.median(firsts), statistics.median(repeats)
            rows.append(
                f"| gather+build, {count:,} posts, first run | {first:.2f} s, {count / first:,.0f} posts/s (median of 3; target ≥ 5,000: "
                f"{'met' if count / first >= 5000 else 'MISSED'}) | without the index's writes: see the profile note | "
                f"parses every file and fills the index; {len(digest.posts)} posts in the week |"
            )
            rows.append(
                f"| gather+build, {count:,} posts, repeated run | {repeat * 1000:,.0f} ms (median of 5; target < 1 s: "
                f"{'met' if repeat < 1 else 'MISSED'}) | first run ÷ repeated {first / repeat:,.0f}× | "
                f"stats every file, parses none; {digest.stats.distant:,} posts counted, not loaded |"
            )


def fifty_post_digest() -> tuple[object, object]:
    """An issue of 50 posts in 8 themes, from generated content."""
    base = load_settings(ROOT / "config" / "digest.toml", environ={})
    rng = random.Random(50)
    tmp = Path(tempfile.mkdtemp())
    folder = tmp / "content"
    folder.mkdir()
    for n in range(50):
        theme = f"Theme {n % 8}"
        (folder / f"p{n}.md").write_text(
            f'---\ntitle: "{" ".join(rng.choice(WORDS) for _ in range(7))} {n}"\ndate: 2026-06-0{1 + n % 7}T10:00:00+00:00\n'
            f"url: https://example.org/p/{n}\noutlet: Outlet {n % 9}\ntheme: {theme}\n---\n\n{' '.join(rng.choice(WORDS) for _ in range(60))}.\n",
            encoding="utf-8",
        )
    themes = tuple(Theme(name=f"Theme {n}", description=f"About topic {n}.") for n in range(8))
    settings = dataclasses.replace(base, root=tmp, themes=themes, sources=(SourceSpec(kind="markdown", location=str(folder)),))
    digest = build_issue(settings, window_between(date(2026, 6, 1), date(2026, 6, 8), settings.timezone), datetime.now(UTC))
    return settings, digest


def bench_render(rows: list[str], runs: int) -> None:
    settings, digest = fifty_post_digest()
    context = template_context(digest, settings)  # type: ignore[arg-type]
    html_env, text_env = environment(settings, html=True), environment(settings, html=False)  # type: ignore[arg-type]
    source = render_template(html_env, HTML_TEMPLATE, context)
    mjml_source, css = split_inline_css(source)
    compiled = compile_mjml(mjml_source)
    timings = {
        "Jinja2 (MJML template)": lambda: render_template(html_env, HTML_TEMPLATE, context),
        "MJML compile (mjml-python)": lambda: compile_mjml(mjml_source),
        "inline CSS (premailer)": lambda: inline_css(compiled, css),
        "plain text (Jinja2)": lambda: tidy_text(render_template(text_env, TEXT_TEMPLATE, {**context, "ref": LinkReferences()})),
        "checks": lambda: check_issue(digest, "s", compiled, "t"),  # type: ignore[arg-type]
    }
    for name, func in timings.items():

        def timed(func: Callable[[], object] = func) -> float:
            start = time.perf_counter()
            func()
            return time.perf_counter() - start

        rows.append(f"| render, 50 posts in 8 themes: {name} | {median_of(runs, timed) * 1000:.2f} ms | | |")
    rows.append(f"| render: MJML size {len(mjml_source) / 1024:.1f} KB, HTML {len(inline_css(compiled, css)) / 1024:.1f} KB | | | |")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_send(count: int, rows: list[str]) -> None:
    port = free_port()
    sink = subprocess.Popen([sys.executable, str(ROOT / "bench" / "sink.py"), str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
        base = load_settings(ROOT / "config" / "digest.toml", environ={})
        settings = dataclasses.replace(base, secret_key="bench", base_url="https://news.example.org")
        now = datetime(2026, 11, 20, 9, tzinfo=UTC)
        from digest.render import render_issue
        from digest.selection import window_for

        digest = build_issue(settings, window_for(now, settings.window, settings.timezone), now)
        issue = freeze(digest, render_issue(digest, settings), now)
        data = compile_issue(issue, settings).render(1, "reader@example.org")
        for connections in (1, 4, 8):
            raw = raw_smtplib(port, data, count, connections)
            full = full_path(port, settings, issue, count, connections)
            rows.append(
                f"| send {count:,} × {len(data) / 1024:.0f} KB, {connections} connection(s) | digest send (ledger) {full:,.0f} msg/s | "
                f"raw smtplib {raw:,.0f} msg/s | ratio {full / raw:.2f} (target ≥ 0.9) |"
            )
    finally:
        sink.terminate()
        sink.wait()


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


def full_path(port: int, settings: object, issue: object, count: int, connections: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/bench.sqlite")
        now = datetime.now(UTC)
        with store.engine.begin() as conn:
            conn.execute(
                subscribers.insert(),
                [
                    {
                        "email": f"r{n}@example.org",
                        "email_key": f"r{n}@example.org",
                        "status": "active",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for n in range(count)
                ],
            )
        store.save_issue(issue)  # type: ignore[arg-type]
        options = DeliveryOptions(backend="smtp", connections=connections, max_per_connection=count, max_wait=0)
        backend = SmtpBackend(SmtpOptions(host="127.0.0.1", port=port, security="none"), connections)
        message = compile_issue(issue, settings)  # type: ignore[arg-type]
        start = time.perf_counter()
        report = send_issue(store, message, backend, options)
        elapsed = time.perf_counter() - start
        assert report.complete and report.sent == count, report
        store.close()
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="the large sizes")
    args = parser.parse_args()
    gather_sizes = [10_000, 100_000] if args.full else [2_000, 10_000]
    send_count = 20_000 if args.full else 4_000
    rows = ["| what | figure | compared with | note |", "|---|---|---|---|"]
    started = time.perf_counter()
    bench_render(rows, runs=7)
    bench_send(send_count, rows)
    bench_gather(gather_sizes, rows)
    personalise = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "personalise.py"), "100000" if args.full else "20000"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    report = "\n".join(
        [
            f"# Benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC ({'full' if args.full else 'quick'})",
            "",
            f"Machine: {platform.machine()}, {platform.processor() or 'cpu'}, {__import__('os').cpu_count()} cores, Python {platform.python_version()}, "
            f"{platform.platform()}.",
            "Versions: " + ", ".join(f"{p} {version(p)}" for p in ("mjml-python", "premailer", "jinja2", "SQLAlchemy", "feedparser")) + ".",
            "",
            *rows,
            "",
            "Personalisation (bench/personalise.py):",
            "",
            "```",
            personalise.strip(),
            "```",
            "",
            f"Total time {time.perf_counter() - started:.0f} s.",
            "",
        ]
    )
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    path = results / f"{datetime.now(UTC):%Y-%m-%d}{'-full' if args.full else ''}.md"
    path.write_text(report, encoding="utf-8")
    print(report)
    print(f"written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
