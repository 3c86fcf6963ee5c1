"""``digest approve``: an editor's yes to an issue, for ``schedule.approval = "required"``."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from digest.cli import refusals
from digest.cli.common import EXIT_PROBLEMS, Context, edition_option, fail, hint, operator


@click.command()
@click.option("--issue", "issue_id", metavar="ID", help="The stored issue to approve (default: the coming slot's issue of --edition).")
@click.option("--as-of", metavar="WHEN", help="Without --issue: the issue of the first slot after WHEN (ISO 8601).")
@click.option("--by", metavar="NAME", help="Who approves (default: user@host).")
@edition_option
@click.pass_obj
def approve(obj: Context, issue_id: str | None, as_of: str | None, by: str | None, edition: str | None) -> None:
    """Approve an issue as it builds now; the schedule sends only approved issues when schedule.approval = "required".

    The issue is frozen as approved; an edit of it afterwards (its issue file,
    or a rebuild) un-approves it.
    """
    from digest.app.approval import approve as approve_issue
    from digest.app.approval import slot_passed_unapproved
    from digest.app.issues import WindowRequest
    from digest.app.session import moment
    from digest.models.errors import DigestError, WindowError

    if issue_id and as_of:
        raise click.UsageError("--issue names a stored issue: it takes no --as-of")
    obj.choose_edition(edition)  # whose coming issue it approves (default: the first's); an unknown one: a usage error
    settings = obj.settings
    if not settings.newsletter.schedule.approval_required:
        fail(
            'schedule.approval is "none": the schedule sends without approval, so there is nothing to approve '
            '(set schedule.approval = "required" in the config to have issues approved before they go out)',
            EXIT_PROBLEMS,
        )
    if issue_id:
        # An id names its edition: asked before the use cases are made of one (an --edition not the issue's: refused).
        refusals.require_stored(obj, [issue_id])
    newsletter = obj.newsletter
    now = datetime.now(UTC)
    try:
        if issue_id:
            stored = newsletter.stored_target(issue_id)
            assert stored is not None  # require_stored said so
            target = stored
        else:
            at = moment(as_of, settings.newsletter.timezone) if as_of else now
            target = newsletter.target(WindowRequest(as_of=as_of, upcoming=True), at)
    except WindowError as exc:
        raise click.BadParameter(str(exc), param_hint="--as-of") from None
    who = by or operator()
    try:
        issue = approve_issue(newsletter, target, now, who)
    except DigestError as exc:
        fail(str(exc), EXIT_PROBLEMS)
    click.echo(f"Approved   {issue.id} {issue.subject!r} by {who}")
    click.echo("An edit of the issue after this un-approves it.")
    if slot_passed_unapproved(newsletter, issue.id):
        click.echo(f"Its slot has passed unsent; to send it now: {hint(obj, 'send', '--issue', issue.id)}")
