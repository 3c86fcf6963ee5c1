"""The benchmark suite: ``make bench`` (sizes for a 2-core machine) or ``make bench-full``.

Writes ``bench/results/<date>.md`` (figures, machine, versions) and prints it,
and beside it ``<date>-profile.txt``, a profile of the slowest stage (a first
run of gather and build). Figures are medians of several runs; every
comparison is a ratio measured in the same run on the same machine. Timed
work lives here, never in tests.

Each measurement has a module of its own: gather, render, desk, signing
(DKIM), ledger (per message, SQLite and PostgreSQL), send, send workers (PostgreSQL), memory, peers
(the official MJML compiler and rss2email), clicks (the redirect under load, the report over a year), and two
run as scripts of their own, personalise (a copy per reader) and roundup (a month's round-up, each reader's copy,
three editions in one morning); common holds what they share.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import version

from desk import bench_desk
from ledger import bench_ledger
from placement import bench_placement
from signing import bench_dkim
from workers import bench_workers

from clicks import bench_redirect, bench_report
from common import ROOT
from gather import bench_gather
from memory import bench_memory
from peers import compare_rss2email, startup
from render import bench_render
from send import bench_send


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--full", action="store_true", help="the large sizes")
    parser.add_argument("--only", metavar="STAGES", help="some stages, comma-separated (ledger,send,workers, say)")
    args = parser.parse_args()
    full = args.full
    only = args.only.split(",") if args.only else None
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    stem = f"{datetime.now(UTC):%Y-%m-%d}{'-full' if full else ''}{'-' + '-'.join(only) if only else ''}"
    rows = ["| what | figure | compared with | note |", "|---|---|---|---|"]
    started = time.perf_counter()
    scripts: dict[str, str] = {}  # what the benchmarks run as scripts of their own printed
    stages = [
        ("placement", lambda: bench_placement(rows)),
        ("render", lambda: bench_render(rows, runs=7)),
        ("desk", lambda: bench_desk(rows)),
        ("dkim", lambda: bench_dkim(rows)),
        ("ledger", lambda: bench_ledger(rows)),
        ("redirect", lambda: bench_redirect(rows, 5.0)),
        ("report", lambda: bench_report(rows, 52, 50_000)),
        ("send", lambda: bench_send(20_000 if full else 4_000, rows)),
        ("workers", lambda: bench_workers(rows, 20_000 if full else 4_000)),
        ("memory", lambda: bench_memory([20_000, 200_000] if full else [2_000, 20_000], rows)),
        ("peers", lambda: rows.extend(compare_rss2email(200 if full else 40, 5) + startup(5))),
        ("gather", lambda: bench_gather([10_000, 100_000] if full else [2_000, 10_000], rows, results / f"{stem}-profile.txt")),
        ("roundup", lambda: scripts.update(roundup=script("roundup.py", "100000" if full else "20000"))),
    ]
    if only is not None:
        if unknown := set(only) - {name for name, _ in stages}:
            parser.error(f"no stage named {', '.join(sorted(unknown))}; the stages: {', '.join(name for name, _ in stages)}")
        stages = [(name, stage) for name, stage in stages if name in only]
    for name, stage in stages:
        print(f"bench: {name} …", file=sys.stderr, flush=True)
        stage()
    personalise = script("personalise.py", "100000" if full else "20000") if only is None else "(not run: --only)"
    packages = ("mjml-python", "premailer", "jinja2", "SQLAlchemy", "feedparser", "PyYAML", "markdown-it-py", "nh3")
    command = (
        f"make {'bench-full' if full else 'bench'}"
        if only is None
        else f"python bench/run.py{' --full' if full else ''} --only {args.only}"
    )
    report = "\n".join(
        [
            f"# Benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC ({'full' if full else 'quick'})",
            "",
            f"Command: `{command}`. Machine: {platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, {platform.platform()}.",
            "Versions: " + ", ".join(f"{p} {version(p)}" for p in packages) + ".",
            "",
            *rows,
            "",
            "Personalisation (bench/personalise.py):",
            "",
            "```",
            personalise.strip(),
            "```",
            "",
            "A month's round-up and each reader's copy, one morning's three editions (bench/roundup.py):",
            "",
            "```",
            scripts.get("roundup", "(not run: --only)").strip(),
            "```",
            "",
            f"Profile of the slowest stage: {f'`{stem}-profile.txt`' if only is None or 'gather' in only else 'not made (--only)'}. Total time {time.perf_counter() - started:.0f} s.",
            "",
        ]
    )
    path = results / f"{stem}.md"
    path.write_text(report, encoding="utf-8")
    print(report)
    print(f"written to {path.relative_to(ROOT)}")


def script(name: str, *args: str) -> str:
    """What ``bench/<name>`` prints, run in a process of its own (its figures are not the suite's process's)."""
    return subprocess.run([sys.executable, str(ROOT / "bench" / name), *args], capture_output=True, text=True, check=True).stdout


if __name__ == "__main__":
    main()
