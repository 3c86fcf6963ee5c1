"""``digest themes report``: how often the theme digest chose was the editor's, per theme and per issue, and what
later builds learn from; ``digest themes forget-label``: take one post's placement back from that learning."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from digest.cli.common import EXIT_USAGE, Context, fail, hint


@click.group()
def themes() -> None:
    """Themes: how well posts are placed, measured against the editor's final word."""


@themes.command()
@click.option("--since", metavar="DATE", help="Only issues whose window ended on or after DATE (ISO 8601).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format.")
@click.pass_obj
def report(obj: Context, since: str | None, fmt: str) -> None:
    """How often each post's automatic theme was the one it went out in, with the most common corrections.

    Counted over the frozen issues: a post the editor moved to another theme is a miss for digest, and an
    example the next builds learn from ([grouping] meaning = "on").
    """
    from digest.app.session import moment
    from digest.app.themes import teaching, theme_report
    from digest.models.errors import WindowError

    try:
        start = moment(since, obj.settings.newsletter.timezone) if since else None
    except WindowError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    store = obj.store_if_exists()  # a report creates no database
    if store is None:
        click.echo("No database yet: no issue has been frozen.")
        return
    seen = theme_report(obj.settings.newsletter, store, start)
    taught = teaching(obj.settings.newsletter, store)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "posts": seen.posts,
                    "matched_rate": round(seen.rate, 4) if seen.posts else None,
                    "themes": [{"theme": s.theme, "posts": s.posts, "matched": s.matched} for s in seen.themes],
                    "issues": [{"issue_id": i, "posts": n, "matched": m} for i, n, m in seen.issues],
                    "confusions": [{"automatic": a, "editor": e, "count": c} for a, e, c in seen.confusions],
                    "excluded_by_editor": seen.excluded,
                    "labels": {"confirmed": taught.confirmed, "corrected": taught.corrected, "forgotten": taught.forgotten},
                    "generated_at": datetime.now(UTC).isoformat(),
                },
                indent=2,
            )
        )
        return
    if not seen.posts:
        if since:
            click.echo(f"No placements in the issues whose window ended on or after {since}.")
        else:
            click.echo("No frozen issue has placements yet: they are kept from this version on, as each issue is frozen.")
        return
    click.echo(f"Placed      {seen.rate:.0%} of {seen.posts} posts in the theme the editor kept them in")
    for score in seen.themes:
        if score.posts:
            click.echo(f"  {score.theme:<28} {score.rate:>4.0%}  ({score.matched} of {score.posts})")
    click.echo("By issue    placed by digest before the editor's changes, oldest first")
    for issue, n, m in seen.issues:
        click.echo(f"  {issue:<28} {_bar(m / n if n else 0.0)} {m / n if n else 0.0:>4.0%}  ({m} of {n})")
    for automatic, editor, count in seen.confusions:
        click.echo(f"Moved       {count} from {automatic} to {editor}")
    if seen.excluded:
        click.echo(f"Left out    {seen.excluded} post(s) by the editor")
    click.echo(
        f"Learning    from {taught.confirmed} confirmed placement(s) and {taught.corrected} correction(s) (weighted more)"
        + (f"; {taught.forgotten} forgotten" if taught.forgotten else "")
    )


BAR = 20  # characters of a full bar in the text curve


def _bar(rate: float) -> str:
    filled = round(rate * BAR)
    return "█" * filled + "·" * (BAR - filled)


@themes.command("forget-label")
@click.argument("post")
@click.option("--issue", "issue_id", metavar="ID", help="The frozen issue the post went out in (when it went out in several).")
@click.pass_obj
def forget_label(obj: Context, post: str, issue_id: str | None) -> None:
    """Stop later builds learning from one post's placement (a move made by mistake).

    POST is the post's id, or the start of its title. The placement stays in `digest themes report`; only
    the learning forgets it.
    """
    from digest.app.themes import forget_label as forget
    from digest.app.themes import shown
    from digest.models.errors import LabelError

    store = obj.store_if_exists()
    if store is None:
        fail("No database yet: no issue has been frozen, so there is nothing to forget.", EXIT_USAGE)
    try:
        label = forget(store, post, issue_id)
    except LabelError as exc:
        lines = [str(exc)]
        lines += [
            f"  {shown(text)}\n    {hint(obj, 'themes', 'forget-label', post_id, '--issue', issue)}" for issue, post_id, text in exc.matches
        ]
        fail("\n".join(lines), EXIT_USAGE)
    click.echo(f'Forgotten: "{shown(label.text)}" in {label.theme} (issue {label.issue_id}); later builds no longer learn from it.')
