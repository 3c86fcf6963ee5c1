"""``digest build`` and ``digest posts``: the pipeline from the command line."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import click

from digest.cli.common import EXIT_PROBLEMS, Context, display_path, fail, resolve_window, source_specs, window_options, with_options
from digest.config import Settings
from digest.errors import RenderError
from digest.frozen import RebuildRefusedError, freeze
from digest.issue import build_issue
from digest.models import Digest, Post, RenderedIssue
from digest.output import write_issue
from digest.render import render_issue
from digest.selection import select_posts
from digest.serialize import dumps, post_to_json
from digest.sources import gather_all


@click.command()
@with_options(window_options)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (default: output.dir, 'out'); the issue goes in OUT/<issue-id>/.",
)
@click.option(
    "--freeze", "freeze_it", is_flag=True, help="Also store the issue in the database, so that sends of this window use exactly this."
)
@click.option("--rebuild", is_flag=True, help="With --freeze: replace a stored issue (refused once any delivery of it happened).")
@click.pass_obj
def build(
    obj: Context,
    as_of: str | None,
    since: str | None,
    until: str | None,
    sources: tuple[str, ...],
    strict: bool,
    out_dir: Path | None,
    freeze_it: bool,
    rebuild: bool,
) -> None:
    """Build the issue for a window: digest.html, digest.txt and digest.json under out/<issue-id>/."""
    settings = obj.settings
    if out_dir is not None:
        settings = replace(settings, output_dir=out_dir.resolve())
    now = datetime.now(UTC)
    window = resolve_window(settings, as_of, since, until, now)
    digest = build_issue(settings, window, now, source_specs(sources))
    for problem in digest.problems:
        click.echo(f"warning: {problem}", err=True)
    if strict and digest.problems:
        fail(f"{len(digest.problems)} problem(s) in the input (--strict): nothing written", EXIT_PROBLEMS)
    try:
        rendered = render_issue(digest, settings)
    except RenderError as exc:
        fail(str(exc), EXIT_PROBLEMS)
    folder = write_issue(settings.output_dir, digest, rendered)
    click.echo(display_path(folder))
    click.echo(summary(digest, rendered, settings))
    if freeze_it:
        store = obj.store
        stored = store.load_issue(digest.issue_id)
        if stored is not None and not rebuild:
            click.echo(f"  Frozen     already stored on {stored.created_at:%Y-%m-%d %H:%M} UTC; sends use that copy (--rebuild to replace)")
        elif stored is not None and store.has_started(digest.issue_id):
            fail(str(RebuildRefusedError(f"issue {digest.issue_id} has deliveries already; it cannot be rebuilt")), EXIT_PROBLEMS)
        else:
            store.save_issue(freeze(digest, rendered, now), replace=stored is not None)
            click.echo("  Frozen     stored; every send of this window will use exactly this issue")
    if rendered.errors:
        sys.exit(EXIT_PROBLEMS)


@click.command()
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
    window = None if everything else resolve_window(settings, as_of, since, until)
    gathered = gather_all(source_specs(sources) or settings.sources, settings, window.widened() if window else None)
    for problem in gathered.problems:
        click.echo(f"warning: {problem}", err=True)
    if strict and gathered.problems:
        fail(f"{len(gathered.problems)} problem(s) in the input (--strict)", EXIT_PROBLEMS)
    chosen: list[Post]
    if window is None:
        chosen = sorted(gathered.posts, key=lambda p: (p.published, p.title))
    else:
        chosen = list(select_posts(gathered.posts, window, settings.selection).selected)
    if fmt == "json":
        click.echo(dumps([post_to_json(post) for post in chosen]), nl=False)
        return
    zone = settings.timezone
    for post in chosen:
        click.echo(f"{post.published.astimezone(zone):%Y-%m-%d %H:%M}  {(post.outlet or '-')[:24]:<24}  {post.title}")
    click.echo(f"{len(chosen)} post(s)", err=True)


def summary(digest: Digest, rendered: RenderedIssue, settings: Settings) -> str:
    """The one-screen report of a build."""
    zone = settings.timezone
    start, end = digest.window.start.astimezone(zone), digest.window.end.astimezone(zone)
    lines = [
        f"  Issue      {digest.issue_id}: {rendered.subject}",
        f"  Window     {start:%a %d %b %Y %H:%M} – {end:%a %d %b %Y %H:%M} ({zone}), end exclusive",
        f"  Posts      {digest.stats.gathered} gathered, {digest.stats.selected} selected, {digest.stats.excluded} excluded",
    ]
    outside = sum(1 for item in digest.excluded if "the window" in item.reason) + digest.stats.distant
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
