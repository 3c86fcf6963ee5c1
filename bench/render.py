"""Render: an issue of 50 posts in 8 themes, each stage timed; the MJML compile side by side with the official compiler."""

from __future__ import annotations

import functools
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from digest.config import SourceSpec, Theme, load_settings
from digest.issue.assembly import build_issue
from digest.issue.selection import window_between
from digest.render import template_contexts
from digest.render.checks import check_issue
from digest.render.inline import inline_css
from digest.render.mjml import compile_mjml, split_inline_css
from digest.render.plaintext import tidy_text
from digest.render.templates import HTML_TEMPLATE, TEXT_TEMPLATE, environment, render_template

from common import ROOT, WORDS, overridden
from peers import official_mjml


def median_of(runs: int, func: Callable[[], float]) -> float:
    return statistics.median(func() for _ in range(runs))


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
    settings = overridden(base, root=tmp, themes=themes, sources=(SourceSpec(kind="markdown", location=str(folder)),))
    digest = build_issue(settings, window_between(date(2026, 6, 1), date(2026, 6, 8), settings.newsletter.timezone), datetime.now(UTC))
    return settings, digest


def bench_render(rows: list[str], runs: int) -> None:
    settings, digest = fifty_post_digest()
    context = template_contexts(digest, settings)[0]  # type: ignore[arg-type]
    html_env, text_env = environment(settings, html=True), environment(settings, html=False)  # type: ignore[arg-type]
    source = render_template(html_env, HTML_TEMPLATE, context)
    mjml_source, css = split_inline_css(source)
    compiled = compile_mjml(mjml_source)
    timings = {
        "Jinja2 (MJML template)": lambda: render_template(html_env, HTML_TEMPLATE, context),
        "MJML compile (mjml-python)": lambda: compile_mjml(mjml_source),
        "inline CSS (premailer)": lambda: inline_css(compiled, css),
        "plain text (Jinja2)": lambda: tidy_text(render_template(text_env, TEXT_TEMPLATE, template_contexts(digest, settings)[1])),  # type: ignore[arg-type]
        "checks": lambda: check_issue(digest, "s", compiled, "t"),  # type: ignore[arg-type]
    }
    for name, func in timings.items():
        rows.append(f"| render, 50 posts in 8 themes: {name} | {median_of(runs, functools.partial(_timed, func)) * 1000:.2f} ms | | |")
    rows.append(f"| render: MJML size {len(mjml_source) / 1024:.1f} KB, HTML {len(inline_css(compiled, css)) / 1024:.1f} KB | | | |")
    ours = median_of(max(runs, 15), lambda: _timed(lambda: compile_mjml(mjml_source)))
    official = official_mjml(mjml_source, max(runs, 15))
    if isinstance(official, str):
        rows.append(f"| render: MJML compile, official compiler | skipped: {official} | | |")
    else:
        rows.append(
            f"| render: MJML compile, same source | mjml-python {ours * 1000:.2f} ms | official mjml {official['version']} on Node "
            f"{float(str(official['median_ms'])):.2f} ms (in-process, after warm-up) | {float(str(official['median_ms'])) / 1000 / ours:.0f}× faster; "
            f"HTML {len(compiled) / 1024:.0f} KB vs {int(str(official['html_bytes'])) / 1024:.0f} KB |"
        )


def _timed(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start
