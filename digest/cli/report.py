"""``digest report``: what happened after the sends, for an operator and an editor: deliveries, what came back,
clicks per post, theme and outlet, and the list over time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from digest.cli import refusals
from digest.cli.common import EXIT_PROBLEMS, Context, edition_option, fail, hint

if TYPE_CHECKING:
    from digest.app.report import IssueFigures, Report


@click.command()
@click.option("--issue", "issue_id", metavar="ID", help="The issue to report on (default: the latest sent); trends end there.")
@click.option("--last", default=12, show_default=True, type=click.IntRange(1, 520), help="How many issues the trends cover.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format.")
@click.option(
    "--html",
    "html_file",
    metavar="FILE",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write the report with its charts as one HTML file that opens offline.",
)
@edition_option
@click.pass_obj
def report(obj: Context, issue_id: str | None, last: int, fmt: str, html_file: Path | None, edition: str | None) -> None:
    """Deliveries, bounces, complaints and unsubscribes per issue; with [tracking] clicks = "aggregate", the human
    clicks per post, theme and outlet (link scanners and repeats left out); the list over time.

    Nothing in it is about any one reader: the store keeps totals only, and a theme's, outlet's or post's
    clicks under 5 (or from fewer than 5 readers' copies), or that would give such a figure back, show as "—".
    """
    from datetime import UTC, datetime

    from digest.app.report import report as report_of

    obj.choose_edition(edition)  # the edition whose issues it reports on (default: the first)
    if issue_id is not None:
        refusals.require_stored(obj, [issue_id])
    store = obj.store_if_exists()  # a report creates no database
    seen = (
        report_of(
            store,
            datetime.now(UTC).astimezone(obj.settings.newsletter.timezone).date(),
            issue_id=issue_id,
            last=last,
            key_of=obj.settings.newsletter.key_of,
        )
        if store
        else None
    )
    if seen is None:
        if issue_id is not None:
            fail(f"issue {issue_id} has no deliveries: nothing to report (digest status lists the issues)", EXIT_PROBLEMS)
        click.echo("No issue has been sent yet: nothing to report.")
        return
    if html_file is not None:
        from digest.web.readers import readers_page

        html_file.write_text(readers_page(seen, obj.settings.newsletter.name, obj.settings.newsletter.language), encoding="utf-8")
        click.echo(f"wrote    {html_file} (the report with its charts)", err=fmt == "json")
    if fmt == "json":
        click.echo(json.dumps(seen.to_json() | {"generated_at": datetime.now(UTC).isoformat()}, indent=2, ensure_ascii=False))
        return
    top = seen.issues[0]
    # Its send paused or stopped (or is at work now): the command that finishes it, as status prints it.
    click.echo("\n".join(words(seen, finish=hint(obj, "send", "--issue", top.issue_id) if top.waiting else None)))


def words(seen: Report, *, finish: str | None = None) -> list[str]:
    """The report as text: the issue (``finish``: the command that finishes its send), its themes, outlets and posts,
    then the trends and the list."""
    from digest.app.report import FLOOR_WHY
    from digest.models import SUBSCRIBER_STATUS_WORDS

    top = seen.issues[0]
    lines = [f'Issue {top.issue_id}  "{top.subject}"  {top.when}', *_returns(top)]
    if finish is not None:
        lines.append(f"  to finish it: {finish}")
    if not top.tracked:
        lines.append('  clicks: not counted (its links went direct: [tracking] clicks was "off" when it was frozen)')
    else:
        lines.append(f"  clicks: {top.clicks} by people (not counted: {top.scanned} by link scanners, {top.repeated} repeats)")
        lines.append(f"  {'theme':<30} {'clicks':>6} {'share':>6}  readers whose copy had it")
        for theme in top.themes:
            reached = f"{theme.reached} ({theme.reach_share:.0%})" if theme.reached is not None and theme.reach_share is not None else ""
            share = f"{theme.click_share:.0%}" if theme.click_share is not None else NOT_SHOWN
            lines.append(f"  {theme.theme[:30]:<30} {_told(theme.clicks):>6} {share:>6}  {reached}")
        clicked = ", ".join(f"{o.name} {o.clicks}" for o in top.outlets if o.clicks is not None)
        untold = sum(1 for o in top.outlets if o.clicks is None)
        lines.append(f"  outlets: {clicked or 'none shown'}" + (f"; {untold} not shown" if untold else ""))
        lines.append("  posts, most clicked first:")
        lines += [f"  {_told(p.clicks):>6}  {p.title[:70]}  ({p.outlet or '—'}; {p.theme})" for p in top.posts[:10]]
        if any(
            figure is None for figure in (*(t.clicks for t in top.themes), *(o.clicks for o in top.outlets), *(p.clicks for p in top.posts))
        ):
            lines.append(f"  {NOT_SHOWN}: not shown, {FLOOR_WHY}")
    if len(seen.issues) > 1:
        lines.append(f"\nThe last {len(seen.issues)} issues, newest first:")
        lines.append(
            f"  {'issue':<20} {'sent':<10} {'delivered':>9} {'failures':>8} {'complaints':>10} {'left':>5} {'clicks':>6}  most clicked theme"
        )
        for issue in seen.issues:
            best = max((t for t in issue.themes if t.clicks), key=lambda t: t.clicks or 0, default=None)
            lines.append(
                f"  {issue.issue_id:<20} {issue.sent_on!s:<10} {issue.delivered:>9} {issue.failure_rate:>8.2%} "
                f"{issue.complaint_rate:>10.2%} {issue.unsubscribed:>5} {issue.clicks if issue.tracked else '—':>6}  {best.theme if best else ''}"
                + (f"  ({issue.when})" if issue.waiting else "")
            )
    # A column per status, each as wide as its word and a space: two spaces between columns.
    columns = [(status, word, len(word) + 1) for status, word in SUBSCRIBER_STATUS_WORDS.items()]
    lines.append(f"\nThe list:  {'day':<10}" + "".join(f" {word:>{width}}" for _, word, width in columns))
    lines += [
        f"           {p.day!s:<10}" + "".join(f" {p.count(status):>{width}}" for status, _, width in columns) for p in seen.subscribers
    ]
    return lines


NOT_SHOWN = "—"


def _told(clicks: int | None) -> str:
    return str(clicks) if clicks is not None else NOT_SHOWN


def _returns(issue: IssueFigures) -> list[str]:
    from digest.app.bounces import COMPLAINT_LIMIT, FAILURE_LIMIT

    warn = f"  (over Gmail's and Yahoo's {COMPLAINT_LIMIT:.1%} limit)" if issue.complaint_rate >= COMPLAINT_LIMIT else ""
    over = f" (over the {FAILURE_LIMIT:.0%} limit)" if issue.failure_rate > FAILURE_LIMIT else ""
    return [
        f"  delivered {issue.delivered}, failed {issue.failed}; bounced {issue.bounced}; permanent failures {issue.failure_rate:.2%}{over}, "
        f"complaints {issue.complained} ({issue.complaint_rate:.2%}){warn}; left after it {issue.unsubscribed}"
    ]
