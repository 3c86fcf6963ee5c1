"""The ``digest`` command. Thin: parse options, call the pipeline's entry points, print.

Exit codes: 0 all went well; 1 the run found problems (a bad input under
--strict, or an error-level check of the rendered issue); 2 a usage or
configuration error.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from digest import __version__
from digest.config import Settings, SourceSpec, load_settings, parse_source_spec
from digest.errors import ConfigError, DigestError, RenderError
from digest.issue import build_issue
from digest.models import Digest, Post, RenderedIssue, Window
from digest.output import last_issue_end, write_issue
from digest.render import render_issue
from digest.selection import select_posts, window_between, window_for
from digest.serialize import dumps, post_to_json
from digest.sources import gather_all

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
log = logging.getLogger("digest")


class Context:
    def __init__(self, config: Path | None) -> None:
        self.config = config
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(self.config)
            except ConfigError as exc:
                for problem in exc.problems:
                    click.echo(f"error: {problem}", err=True)
                sys.exit(EXIT_USAGE)
        return self._settings


def _moment(value: str | None, option: str) -> date | datetime | None:
    """``2026-11-20`` (a day) or ``2026-11-20T09:00[+01:00]`` (a moment; naive means local)."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        return datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 date or date-time (e.g. 2026-11-20 or 2026-11-20T09:00)", param_hint=option
        ) from None


def resolve_window(settings: Settings, as_of: str | None, since: str | None, until: str | None, now: datetime) -> Window:
    """The window for a run: --since/--until if given, else the configured rule at --as-of (or now)."""
    zone = settings.timezone
    start, end = _moment(since, "--since"), _moment(until, "--until")
    if (start is None) != (end is None):
        raise click.UsageError("--since and --until go together")
    if start is not None and end is not None:
        if as_of:
            raise click.UsageError("--as-of cannot be combined with --since/--until")
        try:
            return window_between(start, end, zone)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--since/--until") from None
    at = now
    if as_of:
        moment = _moment(as_of, "--as-of")
        assert moment is not None
        at = _aware(moment, settings)
    last = last_issue_end(settings.output_dir, at) if settings.window.mode == "since-last" else None
    return window_for(at, settings.window, zone, last)


def _aware(moment: date | datetime, settings: Settings) -> datetime:
    if isinstance(moment, datetime):
        return moment if moment.tzinfo else moment.replace(tzinfo=settings.timezone)
    return datetime.combine(moment, datetime.min.time(), tzinfo=settings.timezone)


def _sources(settings: Settings, specs: tuple[str, ...]) -> tuple[SourceSpec, ...] | None:
    if not specs:
        return None
    try:
        return tuple(parse_source_spec(spec) for spec in specs)
    except ConfigError as exc:
        raise click.BadParameter("; ".join(exc.problems), param_hint="--source") from None


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


window_options = [
    click.option("--as-of", metavar="WHEN", help="Build as if run at WHEN (ISO 8601; no offset means the newsletter's time zone)."),
    click.option("--since", metavar="DATE", help="Start of an explicit window (inclusive; a date means local midnight)."),
    click.option("--until", metavar="DATE", help="End of an explicit window (exclusive; a date means local midnight)."),
    click.option(
        "--source",
        "sources",
        multiple=True,
        metavar="SPEC",
        help="Use this source instead of the configured ones (repeatable): a path, glob or URL, kind detected, or forced with markdown:, feed:, archive:.",
    ),
    click.option("--strict", is_flag=True, help="Treat any bad input (file, entry, feed) as a failure: exit 1 and write nothing."),
]


F = TypeVar("F", bound=Callable[..., Any])


def with_options(options: list[Callable[[F], F]]) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="DIGEST_CONFIG",
    help="Config file (default: config/digest.toml; env DIGEST_CONFIG).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(__version__, prog_name="digest")
@click.pass_context
def main(ctx: click.Context, config: Path | None, verbose: int) -> None:
    """digest: gather posts, build the Weekly Digest, and send it.

    \b
    Exit codes:
      0  all went well
      1  the run found problems (bad input under --strict, or an error-level check)
      2  usage or configuration error
    """
    logging.basicConfig(
        level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)],
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    ctx.obj = Context(config)


@main.command()
@with_options(window_options)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (default: output.dir, 'out'); the issue goes in OUT/<issue-id>/.",
)
@click.pass_obj
def build(
    obj: Context, as_of: str | None, since: str | None, until: str | None, sources: tuple[str, ...], strict: bool, out_dir: Path | None
) -> None:
    """Build the issue for a window: digest.html, digest.txt and digest.json under out/<issue-id>/."""
    settings = obj.settings
    if out_dir is not None:
        settings = replace(settings, output_dir=out_dir.resolve())
    now = datetime.now(UTC)
    window = resolve_window(settings, as_of, since, until, now)
    digest = build_issue(settings, window, now, _sources(settings, sources))
    _report_problems(digest)
    if strict and digest.problems:
        _fail(f"{len(digest.problems)} problem(s) in the input (--strict): nothing written", EXIT_PROBLEMS)
    try:
        rendered = render_issue(digest, settings)
    except RenderError as exc:
        _fail(str(exc), EXIT_PROBLEMS)
    folder = write_issue(settings.output_dir, digest, rendered)
    click.echo(_display_path(folder))
    click.echo(summary(digest, rendered, settings))
    if rendered.errors:
        sys.exit(EXIT_PROBLEMS)


@main.command()
@with_options(window_options)
@click.option("--all", "everything", is_flag=True, help="Every post the sources hold, with no window or exclusion rules.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format.")
@click.pass_obj
def posts(
    obj: Context,
    as_of: str | None,
    since: str | None,
    until: str | None,
    sources: tuple[str, ...],
    strict: bool,
    everything: bool,
    fmt: str,
) -> None:
    """List the posts the sources yield (in the window, unless --all), oldest first."""
    settings = obj.settings
    specs = _sources(settings, sources) or settings.sources
    gathered = gather_all(specs, settings)
    for problem in gathered.problems:
        click.echo(f"warning: {problem}", err=True)
    if strict and gathered.problems:
        _fail(f"{len(gathered.problems)} problem(s) in the input (--strict)", EXIT_PROBLEMS)
    chosen: list[Post]
    if everything:
        chosen = sorted(gathered.posts, key=lambda p: (p.published, p.title))
    else:
        window = resolve_window(settings, as_of, since, until, datetime.now(UTC))
        chosen = list(select_posts(gathered.posts, window, settings.selection).selected)
    if fmt == "json":
        click.echo(dumps([post_to_json(post) for post in chosen]), nl=False)
        return
    zone = settings.timezone
    for post in chosen:
        click.echo(f"{post.published.astimezone(zone):%Y-%m-%d %H:%M}  {(post.outlet or '-')[:24]:<24}  {post.title}")
    click.echo(f"{len(chosen)} post(s)", err=True)


def _report_problems(digest: Digest) -> None:
    for problem in digest.problems:
        click.echo(f"warning: {problem}", err=True)


def _display_path(path: Path) -> str:
    try:
        return f"{path.relative_to(Path.cwd())}/"
    except ValueError:
        return f"{path}/"


def summary(digest: Digest, rendered: RenderedIssue, settings: Settings) -> str:
    """The one-screen report of a build."""
    zone = settings.timezone
    start, end = digest.window.start.astimezone(zone), digest.window.end.astimezone(zone)
    lines = [
        f"  Issue      {digest.issue_id}: {rendered.subject}",
        f"  Window     {start:%a %d %b %Y %H:%M} – {end:%a %d %b %Y %H:%M} ({zone}), end exclusive",
        f"  Posts      {digest.stats.gathered} gathered, {digest.stats.selected} selected, {digest.stats.excluded} excluded",
    ]
    outside = sum(1 for item in digest.excluded if "the window" in item.reason)
    if outside:
        lines.append(f"  Excluded   {outside} outside the window")
    for item in digest.excluded:
        if "the window" not in item.reason:
            lines.append(f'  Excluded   "{_short(item.post.title)}": {item.reason}')
    for section in digest.sections:
        outlets = ", ".join(f"{g.outlet or 'Other sources'} {len(g.posts)}" for g in section.outlets)
        lines.append(f"  Section    {section.theme} ({len(section.posts)}): {outlets}")
    if digest.outlet_summary:
        lines.append(f"  Outlets    {len(digest.outlet_summary)}: " + ", ".join(f"{o.outlet} {o.count}" for o in digest.outlet_summary))
    lines.append(f"  Size       HTML {len(rendered.html.encode()) / 1024:.1f} KB, text {len(rendered.text.encode()) / 1024:.1f} KB")
    if digest.problems:
        lines.append(f"  Problems   {len(digest.problems)} (listed above)")
    for check in rendered.checks:
        lines.append(f"  {check.level.capitalize():<10} {check.code}: {check.message}")
    if not rendered.checks:
        lines.append("  Checks     all passed")
    return "\n".join(lines)


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def run() -> None:
    """Console entry point with DigestError turned into a clean message."""
    try:
        main()
    except DigestError as exc:
        _fail(str(exc), EXIT_PROBLEMS)
