"""``digest build`` and ``digest posts``: the pipeline from the command line."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from digest.cli.common import (
    EXIT_PROBLEMS,
    Context,
    StepBar,
    display_path,
    edition_option,
    fail,
    hint,
    report_problems,
    source_specs,
    window_target,
    with_window_options,
)

if TYPE_CHECKING:
    from digest.app.issues import Built
    from digest.app.session import Publication
    from digest.models import Digest, RenderedIssue, StoredIssue


@click.command()
@with_window_options
@edition_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (default: output.dir, 'out'); the issue goes in OUT/<issue-id>/.",
)
@click.option(
    "--freeze", "freeze_it", is_flag=True, help="Also store the issue in the database, so that every send of it uses exactly this."
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
    edition: str | None,
    out_dir: Path | None,
    freeze_it: bool,
    rebuild: bool,
) -> None:
    """Build an issue: digest.html, digest.txt and digest.json under out/<issue-id>/.

    With no window options, the issue of the latest schedule slot at or
    before now: the one `digest send` would send. Nothing is stored unless
    --freeze. An empty issue writes nothing, so an earlier build is never
    overwritten by one.
    """
    from digest.app.hints import target_args
    from digest.app.issues import drift_between
    from digest.app.output import write_issue
    from digest.models.errors import RenderError

    if rebuild and not freeze_it:
        raise click.UsageError("--rebuild goes with --freeze (a build without --freeze stores nothing to replace)")
    obj.bare = bool(sources) and not freeze_it  # given its sources, a build needs no newsletter folder (the defaults apply)
    settings = obj.placing()
    obj.choose_edition(edition)
    if out_dir is not None:
        settings = replace(settings, newsletter=replace(settings.newsletter, output_dir=out_dir.resolve()))
    now = datetime.now(UTC)
    target = window_target(obj, as_of, since, until, now)
    try:
        built = obj.newsletter.build(target.window, now, source_specs(sources), StepBar())
    except RenderError as exc:
        fail(str(exc), EXIT_PROBLEMS)
    digest, rendered = built.digest, built.rendered
    report_problems(digest.problems)
    from digest.models import strict_problems

    if strict and (wrong := strict_problems(digest.problems)):
        fail(f"{len(wrong)} problem(s) in the input (--strict): nothing written", EXIT_PROBLEMS)
    if rebuild and obj.newsletter.has_deliveries(digest.issue_id):
        _freeze(obj, built, rebuild)  # refused, said with its fix: before out/ is written over with what was not sent
    if digest.posts:
        click.echo(display_path(write_issue(settings.newsletter.output_dir, digest, rendered)))
    else:
        earlier = settings.newsletter.output_dir / digest.issue_id
        kept = f" (an earlier build in {display_path(earlier)} is kept)" if earlier.is_dir() else ""
        click.echo(f"nothing written: the issue has no posts{kept}")
    click.echo(summary(digest, rendered, settings.newsletter))
    if freeze_it and not digest.posts:
        fail("nothing frozen: the issue has no posts", EXIT_PROBLEMS)
    stored = _freeze(obj, built, rebuild) if freeze_it else _stored(obj, digest.issue_id)
    if stored is not None:
        if not freeze_it:
            click.echo(f"  Frozen     stored on {stored.created_at:%Y-%m-%d %H:%M} UTC: sends use that copy, not this build")
        if drift := drift_between(stored, digest, rendered):
            if obj.newsletter.has_deliveries(stored.id):
                fix = "it has deliveries already, so it stays what was sent"
            else:
                args = [*target_args(target, obj.settings.newsletter.timezone, sources), *obj.newsletter.edition_args()]
                again = hint(obj, "build", *args, "--freeze", "--rebuild")
                fix = f"to replace it: {again}"
            click.echo(f"  Differs    the frozen copy differs from this build: {drift.describe()}; {fix}")
    if rendered.errors or digest.failed_sources or not digest.posts:
        sys.exit(EXIT_PROBLEMS)


def _stored(obj: Context, issue_id: str) -> StoredIssue | None:
    """The frozen copy of this issue, if a database exists and holds one (a build alone creates no database)."""
    store = obj.store_if_exists()
    return store.issues.load(issue_id) if store is not None else None


def _freeze(obj: Context, built: Built, rebuild: bool) -> StoredIssue | None:
    """``--freeze``: store this build, said; the copy stored before when it is kept (the one sends use)."""
    from digest.cli.refusals import worded
    from digest.models.errors import RefusedError

    try:
        stored, created = obj.newsletter.freeze(built, rebuild=rebuild)
    except RefusedError as exc:
        fail(worded(obj, exc.refusal), EXIT_PROBLEMS)
    if not created:
        click.echo(f"  Frozen     already stored on {stored.created_at:%Y-%m-%d %H:%M} UTC; sends use that copy")
        return stored
    click.echo("  Frozen     stored; every send of this issue will use exactly this")
    return None


@click.command()
@with_window_options
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
    """List the posts the sources yield (in the window, unless --all), oldest first.

    Exit 1 when a whole source yielded nothing (missing, unreachable, an HTTP
    error, no file matched), even though the other sources' posts are listed.
    """
    from digest.app.output import posts_json

    obj.bare = bool(sources)  # given its sources, a listing needs no newsletter folder (the defaults apply)
    obj.placing()
    window = None if everything else window_target(obj, as_of, since, until, datetime.now(UTC)).window
    listed = obj.newsletter.posts(window, source_specs(sources), datetime.now(UTC))
    report_problems(listed.problems)
    from digest.models import strict_problems

    if strict and (wrong := strict_problems(listed.problems)):  # a source's health is said, never fatal (advisory)
        fail(f"{len(wrong)} problem(s) in the input (--strict)", EXIT_PROBLEMS)
    chosen = listed.posts
    if fmt == "json":
        click.echo(posts_json(chosen), nl=False)
    else:
        zone = obj.settings.newsletter.timezone
        for post in chosen:
            click.echo(f"{post.published.astimezone(zone):%Y-%m-%d %H:%M}  {(post.outlet or '-')[:24]:<24}  {post.title}")
        click.echo(f"{len(chosen)} post(s)", err=True)
    if any(problem.source_failed for problem in listed.problems):
        sys.exit(EXIT_PROBLEMS)


def summary(digest: Digest, rendered: RenderedIssue, newsletter: Publication) -> str:
    """The one-screen report of a build. The counts add up: gathered = selected + excluded + distant."""

    zone = newsletter.timezone
    start, end = digest.window.start.astimezone(zone), digest.window.end.astimezone(zone)
    stats = digest.stats
    lines = [
        f"  Issue      {digest.issue_id}: {rendered.subject}",
        f"  Window     {start:%a %d %b %Y %H:%M} – {end:%a %d %b %Y %H:%M} ({zone}), end exclusive",
        f"  Posts      {stats.gathered} gathered = {stats.selected} selected + {stats.excluded} excluded + {stats.distant} distant "
        "(further than a window's length from it: counted, not listed)",
    ]
    by_kind = digest.excluded_by_kind()
    if by_kind:
        lines.append("  Excluded   " + ", ".join(kind.counted(count) for kind, count in by_kind.items()))
    for item in digest.excluded:
        if not item.kind.outside_window:
            lines.append(f'             "{_short(item.post.title)}": {item.reason}')
    for section in digest.sections:
        outlets = ", ".join(f"{g.outlet or 'Other sources'} {len(g.posts)}" for g in section.outlets)
        shown = (
            f"{len(section.posts)} of {len(section.posts) + section.more}, {section.more} in the archive"
            if section.more
            else len(section.posts)
        )
        lines.append(f"  Section    {section.theme} ({shown}): {outlets}")
    if digest.outlet_summary:
        lines.append(f"  Outlets    {len(digest.outlet_summary)}: " + ", ".join(f"{o.outlet} {o.count}" for o in digest.outlet_summary))
    lines.append(f"  Size       HTML {len(rendered.html.encode()) / 1024:.1f} KB, text {len(rendered.text.encode()) / 1024:.1f} KB")
    if digest.problems:
        failed = len(digest.failed_sources)
        lines.append(f"  Problems   {len(digest.problems)} (listed above)" + (f", {failed} source(s) yielded nothing" if failed else ""))
    for check in rendered.checks:
        lines.append(f"  {check.level.capitalize():<10} {check.code}: {check.message}")
    if not rendered.checks:
        lines.append("  Checks     all passed")
    return "\n".join(lines)


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
