"""Gather and build: a year of generated Markdown posts, one week's issue, a first run and repeated runs."""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from digest.config import Scope, SourceSpec, load_settings
from digest.issue.assembly import build_issue
from digest.issue.selection import window_between
from digest.models import Window
from digest.sources.files import find
from digest.sources.index import RACY_SECONDS, stamp_of
from digest.sources.markdown import PARALLEL_CHUNK, PARALLEL_MIN, MarkdownSource

from common import ROOT, WORDS, overridden


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


def forget_vectors() -> None:
    """A first run knows no vector nor fit: the ones this process met are forgotten too (digest.issue.meaning.cache keeps them)."""
    import sys

    cache = sys.modules.get("digest.issue.meaning.cache")
    if cache is not None:
        cache._memo.clear()
        cache._fits.clear()  # and the classifier's fits: a first run fits it


def timed_build(settings: Scope, window: Window, *, fresh: bool) -> float:
    """Seconds to build the issue; ``fresh``: with the post index emptied first (a first run)."""
    if fresh:
        shutil.rmtree(settings.install.cache_dir, ignore_errors=True)
        forget_vectors()
    start = time.perf_counter()
    build_issue(settings, window, datetime.now(UTC))
    return time.perf_counter() - start


def bench_gather(sizes: list[int], rows: list[str], profile_to: Path | None = None) -> None:
    """One week's issue from a year of posts: a first run (empty index) and repeated runs (the index in use)."""
    base = load_settings(ROOT / "config" / "digest.toml", environ={})
    for count in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "content"
            generate_posts(folder, count, date(2026, 1, 1), random.Random(count))
            time.sleep(RACY_SECONDS)  # files younger than this are parsed but not remembered (racy stamps)
            placed_by_meaning = overridden(
                base, root=Path(tmp), cache_dir=Path(tmp) / "cache", sources=(SourceSpec(kind="markdown", location=str(folder)),)
            )
            # The rows as before: keyword placement. Meaning's cost is a row of its own below.
            settings = overridden(placed_by_meaning, meaning=dataclasses.replace(base.newsletter.meaning, enabled=False))
            window = window_between(date(2026, 6, 1), date(2026, 6, 8), settings.newsletter.timezone)

            firsts = [timed_build(settings, window, fresh=True) for _ in range(3)]
            repeats = [timed_build(settings, window, fresh=False) for _ in range(5)]
            digest = build_issue(settings, window, datetime.now(UTC))
            first, repeat = statistics.median(firsts), statistics.median(repeats)
            readers = min(os.cpu_count() or 1, -(-count // PARALLEL_CHUNK)) if count >= PARALLEL_MIN else 1
            rows.append(
                f"| gather+build, {count:,} posts, first run | {first:.2f} s, {count / first:,.0f} posts/s (median of 3; target ≥ 5,000: "
                f"{'met' if count / first >= 5000 else 'MISSED'}) | fastest {min(firsts):.2f} s, slowest {max(firsts):.2f} s | "
                f"parses every file ({readers} reader processes) and fills the index; {len(digest.posts)} posts in the week |"
            )
            rows.append(
                f"| gather+build, {count:,} posts, repeated run | {repeat * 1000:,.0f} ms (median of 5; target < 1 s: "
                f"{'met' if repeat < 1 else 'MISSED'}) | first run ÷ repeated {first / repeat:,.0f}× | "
                f"stats every file, parses none; {digest.stats.distant:,} posts counted, not loaded |"
            )
            if base.newsletter.meaning.enabled and count == max(sizes):
                rows.append(meaning_row(placed_by_meaning, window, count, first, repeat))
            if count / first < 5000 and count == max(sizes):
                rows.append(why_first_run_is_slow(settings, readers))
            if profile_to is not None and count == max(sizes):
                profile_first_run(settings, window, profile_to)


def meaning_row(settings: Scope, window: Window, count: int, first: float, repeat: float) -> str:
    """The same builds with meaning on: a first run embeds the week's posts (and the themes); a repeated run reads them."""
    from digest.issue.meaning import available

    if (missing := available()) is not None:
        return f"| gather+build with meaning on | skipped: {missing} | | |"
    build_issue(settings, window, datetime.now(UTC))  # the model loaded once, as a long-running process has it
    firsts = [timed_build(settings, window, fresh=True) for _ in range(3)]
    repeats = [timed_build(settings, window, fresh=False) for _ in range(5)]
    on_first, on_repeat = statistics.median(firsts), statistics.median(repeats)
    posts = len(build_issue(settings, window, datetime.now(UTC)).posts) or 1
    return (
        f"| gather+build, {count:,} posts, meaning on | first run {on_first:.2f} s (keywords {first:.2f} s), repeated "
        f"{on_repeat * 1000:,.0f} ms (keywords {repeat * 1000:,.0f} ms), medians | first run ÷ keywords' {on_first / first:.2f}×; "
        f"meaning adds {(on_first - first) / posts * 1000:.1f} ms a post of the window ({posts} posts; target ≤ 20) | "
        f"a first run embeds the week's posts and the themes' texts, reads the starting set's {len(settings.newsletter.meaning.starting)} vectors "
        "from the file shipped beside it and fits the classifier; a repeated run reads the vectors and the fit from the cache |"
    )


def why_first_run_is_slow(settings: Scope, readers: int) -> str:
    """The first-run target missed: how fast one process reads, measured now, which bounds what the readers can do."""
    source = MarkdownSource(settings.newsletter.sources[0], settings)
    files = [
        (name, stamp)
        for name in find(settings.install.resolve(settings.newsletter.sources[0].location), ".md")[:1000]
        if (stamp := stamp_of(name))
    ]
    start = time.perf_counter()
    for name, stamp in files:
        source._row(name, stamp)
    per_file = (time.perf_counter() - start) / len(files)
    return (
        f"| why the first-run target is missed | one process reads a post in {per_file * 1e6:,.0f} µs ({1 / per_file:,.0f} posts/s): "
        f"YAML front matter and Markdown, most of it inside PyYAML and markdown-it (see the profile) | "
        f"{readers} reader process(es) on {os.cpu_count()} cores can reach at most {readers / per_file:,.0f} posts/s, "
        "less their start-up and the index writes | the target needs a faster machine or a cheaper parser |"
    )


def profile_first_run(settings: Scope, window: Window, path: Path) -> None:
    """Pyinstrument profiles of a first run, the slowest stage of a build, as text (skipped without pyinstrument).

    Two views: the whole first run in the main process (the reader processes'
    time shows there as waiting), and reading 2,000 files in this process,
    which is what each reader process does.
    """
    try:
        from pyinstrument import Profiler
    except ImportError:
        path.write_text("pyinstrument is not installed (make bench installs it)\n", encoding="utf-8")
        return
    shutil.rmtree(settings.install.cache_dir, ignore_errors=True)
    whole = Profiler(interval=0.001)
    with whole:
        build_issue(settings, window, datetime.now(UTC))
    source = MarkdownSource(settings.newsletter.sources[0], settings)
    files = [
        (name, stamp)
        for name in find(settings.install.resolve(settings.newsletter.sources[0].location), ".md")[:2000]
        if (stamp := stamp_of(name))
    ]
    reading = Profiler(interval=0.0005)
    with reading:
        for name, stamp in files:
            source._row(name, stamp)
    path.write_text(
        "# A first run, main process\n\n"
        + whole.output_text(unicode=False, color=False)
        + "\n# Reading 2,000 files in one process (what each reader process does)\n\n"
        + reading.output_text(unicode=False, color=False),
        encoding="utf-8",
    )
