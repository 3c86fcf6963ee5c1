"""What a ``digest send`` will do, worded: the same lines before a dry run and a real send, and the
recipients one by one (``--dry-run --recipients``)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from digest.cli.common import Context, hint

if TYPE_CHECKING:
    from digest.app.issues import SendPlan
    from digest.models import StoredIssue


def list_recipients(obj: Context, plan: SendPlan, now: datetime) -> None:
    """Each recipient a send would mail now and what they get, or why they are skipped (``--recipients``)."""
    for recipient in obj.newsletter.recipients(plan, now):
        said = recipient.said.words.of_reader(recipient.themes, recipient.paused_until)
        if recipient.cut and recipient.said is recipient.chose:  # mailed, less what the cut left out
            said += f", less {recipient.cut} post(s) an earlier issue of theirs carried"
        click.echo(f"  {recipient.email}: {said}")


def _model(issue: StoredIssue) -> dict[str, Any]:
    """The issue's stored model (digest.json), or nothing for an issue frozen before it was kept."""
    try:
        model = json.loads(issue.model) if issue.model else {}
    except ValueError:
        return {}
    return model if isinstance(model, dict) else {}


def _in_archive(model: dict[str, Any]) -> str:
    """The words ", N more in the archive" when the issue counts posts under its themes for the archive only (a
    round-up, or an issue fitted under Gmail's clip): the dry run's post count said only what the mail shows."""
    more = sum(int(section.get("more") or 0) for section in model.get("sections", []))
    return f", {more} more in the archive" if more else ""


def _posts(model: dict[str, Any]) -> list[str]:
    """The issue's posts as the dry run lists them: theme, title, outlet (from the stored model)."""
    lines = []
    for section in model.get("sections", []):
        for group in section.get("outlets", []):
            for post in group.get("posts", []):
                lines.append(f'  {section.get("theme")}: "{post.get("title")}" ({group.get("outlet") or "no outlet"})')
    return lines


def describe(obj: Context, plan: SendPlan, backend: str, sources: tuple[str, ...] = (), *, dry_run: bool = False) -> None:
    """What the send will do, the same lines for a dry run and a real send (``dry_run``: worded for one, which sends
    and logs nothing)."""
    from digest.app.hints import target_args

    settings = obj.settings
    issue = plan.issue
    zone = settings.newsletter.timezone
    click.echo(f"Issue      {issue.id}: {issue.subject}")
    click.echo(
        f"Window     {issue.window_start.astimezone(zone):%a %d %b %Y %H:%M} – {issue.window_end.astimezone(zone):%a %d %b %Y %H:%M} "
        f"({zone}), end exclusive"
    )
    if plan.frozen:
        state = f"frozen {issue.created_at:%Y-%m-%d %H:%M} UTC: this stored copy is what goes out"
    elif plan.rebuild:
        state = "rebuilt now: replaces the frozen copy when the send starts"
    else:
        state = "built now: frozen when its first delivery is attempted"
    model = _model(issue)
    click.echo(f"Posts      {len(issue.post_ids)}{_in_archive(model)} ({state})")
    for line in _posts(model):
        click.echo(line)
    if plan.drift:
        click.echo(
            f"Differs    the frozen copy differs from a fresh build: {plan.drift.describe()}"
            + (
                ""
                if any(plan.outstanding.done.values())
                else f"; to send the fresh build instead: {hint(obj, 'send', '--rebuild', *target_args(plan.target, settings.newsletter.timezone, sources), *obj.newsletter.edition_args())}"
            )
        )
        for title in plan.drift.changed[:5]:
            click.echo(f'             changed: "{title}"')
        for title in plan.drift.added[:5]:
            click.echo(f'             added:   "{title}"')
    click.echo(f"Backend    {backend}")
    if plan.approval is not None:
        by = plan.approval.overridden_by
        if not by:
            unapproved = ""
        elif dry_run:
            unapproved = f" (would be sent without it all the same, as {by} asked; the real send logs that)"
        else:
            unapproved = f" (sent without it all the same, as {by} asked: logged)"
        click.echo(f"Approval   {plan.approval.reason}{unapproved}")
    for error in plan.errors:
        click.echo(f"Error      {error}")
    for other in plan.overlaps:
        click.echo(f"Overlaps   {other.id} ({other.subject}), which has deliveries")
    _recipients(obj, plan)
    from digest.cli import deliverability

    for said in deliverability.said(obj, deliverability.checks(obj)):
        click.echo(f"{'Warning' if said.warning else 'Mail':<10} {said.text}")


def _recipients(obj: Context, plan: SendPlan) -> None:
    """Who the send would mail, and who it leaves out and why."""
    from digest.models import SubscriberStatus, ViewKind

    issue = plan.issue
    out = plan.outstanding
    subscribers = plan.subscribers
    click.echo(f"Recipients {out.to_send} to send of {subscribers.get(SubscriberStatus.ACTIVE, 0)} active subscriber(s)")
    if plan.other_editions:
        click.echo(f"  skipped  {plan.other_editions} who get another edition of the newsletter")
    if out.pending or out.deferred:
        click.echo(f"  of which {out.pending} queued earlier (or in flight when a run stopped), {out.deferred} deferred (will be retried)")
    reach = plan.reach
    if reach.some_themes:
        click.echo(
            f"  of which {reach.some_themes} {ViewKind.SOME_THEMES.words.counted} ({reach.variants} different selection(s) this time)"
        )
    if reach.cut:
        click.echo(f"  of which {reach.cut} get their copy less the posts their last issue (of another edition) carried")
    if reach.no_posts:
        click.echo(f"  of which {reach.no_posts} {ViewKind.NO_POSTS.words.counted}")
    if reach.paused:
        click.echo(f"  of which {reach.paused} {ViewKind.PAUSED.words.counted}")
    for state, count in out.done.items():
        if count:
            click.echo(f"  skipped  {count} already {state}")
    if out.retriable:
        click.echo(
            f"  of which {out.retriable} failed for a reason that was not their address: "
            f"`{hint(obj, 'send', '--issue', issue.id, '--retry-failed')}` sends to them"
        )
    for status in (SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.BOUNCED):
        if subscribers.get(status):
            click.echo(f"  skipped  {subscribers[status]} {status}")
