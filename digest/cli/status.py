"""``digest status``: per issue, what went out to whom, what came back, who is still waiting; the scheduler's state."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from digest.cli import refusals
from digest.cli.common import Context, edition_option, hint, say
from digest.cli.doctor import as_json as doctor_json
from digest.cli.doctor import lines, summary
from digest.cli.sources import health_json

if TYPE_CHECKING:
    from digest.app.bounces import Returned
    from digest.app.session import Scope
    from digest.app.status import IssueReport, Status
    from digest.models import RelayPace, ScheduleRun, WorkerRecord


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output (as --format json).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format.")
@click.option("--issue", "issue_ids", multiple=True, metavar="ID", help="Only this issue (repeatable).")
@click.option("--pending", is_flag=True, help="Also list who has not got the issue yet (pending, in flight, deferred), by address.")
@edition_option
@click.pass_obj
def status(obj: Context, as_json: bool, fmt: str, issue_ids: tuple[str, ...], pending: bool, edition: str | None) -> None:
    """Per issue: recipients, sent, deferred, failed (with the SMTP reply) and pending; --pending lists who is waiting.

    With several newsletters, a section for each (--newsletter: that one's); the JSON keeps the first's at its top
    level, as with one, and has a `newsletters` list, one object per newsletter with its slug."""
    from digest.app.newsletters import unconfigured
    from digest.app.session import open_store
    from digest.app.status import status as status_of
    from digest.cli import deliverability

    obj.says_lost_choices = True  # each newsletter's lost theme keys are lines of its own below: not logged at load as well
    obj.choose_edition(edition)  # the edition whose issues and schedule runs it lists (default: the first)
    refusals.require_stored(obj, issue_ids)
    now = datetime.now(UTC)
    seen = _own_doctor(obj, obj.settings, status_of(obj.settings, obj.store, now, issue_ids, pending=pending))
    each = [(obj.settings, seen)]
    for scope in obj.scopes()[1:] if not obj.chosen else ():
        store = open_store(scope, warn_lost=False)
        try:
            each.append((scope, _own_doctor(obj, scope, status_of(scope, store, now, issue_ids, pending=pending))))
        finally:
            store.close()
    checked = [deliverability.checks(obj, scope) for scope, _ in each]  # each newsletter's sender and keys
    orphans = unconfigured(obj.store, obj.whole.slugs)
    if as_json or fmt == "json":
        found = _status_json(seen, pending) | {"deliverability": deliverability.as_json(obj, checked[0], each[0][0])}
        found["newsletters"] = [
            _newsletter_json(scope, item, pending) | {"deliverability": deliverability.as_json(obj, mail, scope)}
            for (scope, item), mail in zip(each, checked, strict=True)
        ]
        found["unconfigured"] = [{"slug": o.slug, "subscriptions": o.subscriptions, "issues": o.issues} for o in orphans]
        click.echo(json.dumps(found, indent=2))
        return
    for (scope, item), mail in zip(each, checked, strict=True):
        if len(each) > 1 or scope.shared:
            newsletter = scope.newsletter
            if scope is not each[0][0]:
                click.echo()
            say(f"== {newsletter.name} ({newsletter.slug}, {newsletter.path}) ==")
        _status_text(obj, item, pending, scope)
        for said in deliverability.said(obj, mail, scope):
            click.echo(f"{'warning:' if said.warning else 'mail:'} {said.text}")
    for orphan in orphans:
        click.echo(f"warning: {orphan.said(obj.whole.install.config_path)}")


def _newsletter_json(scope: Scope, seen: Status, pending: bool) -> dict[str, object]:
    """One newsletter's object in the JSON's `newsletters`: who it is, its readers, its last issue, its next slot,
    and what the status says of it (the keys of the top level)."""
    from digest.models import SubscriberStatus

    newsletter = scope.newsletter
    last = max((item.status for item in seen.issues), key=lambda issue: issue.created_at, default=None)
    return {
        "slug": newsletter.slug,
        "name": newsletter.name,
        "path": newsletter.path,
        "subscriber_counts": {"active": seen.subscribers.get(SubscriberStatus.ACTIVE, 0), "total": sum(seen.subscribers.values())},
        "last_issue": None
        if last is None
        else {"issue_id": last.issue_id, "subject": last.subject, "created_at": last.created_at.isoformat()},
        "next_slot": _iso(seen.scheduler.next_run),
        **_status_json(seen, pending),
    }


def _status_json(seen: Status, pending: bool) -> dict[str, object]:
    from digest.models import DeliveryState

    scheduler = seen.scheduler
    open_states = (DeliveryState.PENDING, DeliveryState.SENDING, DeliveryState.DEFERRED, DeliveryState.FAILED)
    lease = {"owner": scheduler.lease_owner, "expires_at": _iso(scheduler.lease_expires_at)} if scheduler.lease_owner is not None else None
    return {
        "scheduler": {
            "cron": scheduler.cron,
            "timezone": scheduler.timezone,
            "next_run": _iso(scheduler.next_run),
            "last_run": _run_json(scheduler.last_run),
            "lease_holder": lease,
        },
        "deliveries": {state.value: sum(item.status.counts[state] for item in seen.issues) for state in open_states},
        "subscribers": {status.value: count for status, count in seen.subscribers.items()},
        "sources": [health_json(item) for item in seen.sources],  # only those failing or stale: `digest sources` lists all
        "lost_theme_keys": [{"key": x.key, "readers": x.readers, "stranded": x.stranded, "some": list(x.some)} for x in seen.lost],
        "pace": [_pace_json(pace) for pace in seen.paces],
        "warmup": None if (w := seen.warmup) is None else {"day": w.day, "days": w.days, "cap": w.cap, "sent": w.sent, "left": w.left},
        "issues": [_issue_json(item, pending) for item in seen.issues],
        "doctor": doctor_json(seen.setup) if seen.setup is not None else None,
        "edition": seen.edition,  # whose issues "issues" are; "other_editions": the rest, with their stored issues
        "other_editions": [{"edition": name, "issues": count} for name, count in seen.others],
    }


def _issue_json(item: IssueReport, pending: bool) -> dict[str, object]:
    issue = item.status
    found: dict[str, object] = {
        "issue_id": issue.issue_id,
        "subject": issue.subject,
        "created_at": issue.created_at.isoformat(),
        "recipients": issue.recipients,
        **{state.value: count for state, count in issue.counts.items()},
        "returned": _returned_json(item.returned),
        "workers": [
            {"id": w.id, "alive": w.alive, "stopped": w.stopped, "heartbeat_age_seconds": round(w.heartbeat_age, 1), "sent": w.sent}
            for w in item.workers
        ],
        "problems": [
            {"subscriber_id": d.subscriber_id, "state": d.state.value, "attempts": d.attempts, "last_reply": d.last_reply}
            for d in issue.problems
        ],
    }
    if pending:
        found["outstanding"] = [{"email": email, "state": d.state.value, "attempts": d.attempts} for d, email in item.waiting]
    return found


def _status_text(obj: Context, seen: Status, pending: bool, scope: Scope) -> None:
    from digest.app.hints import edition_args, slot_args
    from digest.models import SlotState

    scheduler = seen.scheduler
    click.echo("Subscribers " + ", ".join(f"{count} {status}" for status, count in seen.subscribers.items()))
    for lost in seen.lost:
        click.echo(f"            warning: {lost}")
    last = scheduler.last_run
    if last is not None:
        say(f"Last run    {last.slot:%Y-%m-%d %H:%M} UTC: {last.state} ({last.issue_id or '-'}): {last.reason or ''}".rstrip(": "))
        if last.state is SlotState.ABANDONED and last.issue_id:
            click.echo(f"            to finish it: {hint(obj, 'send', '--issue', last.issue_id, scope=scope)}")
        if last.state is SlotState.WAITING and last.issue_id:  # our side held it up: the scheduler retries, or by hand
            click.echo(f"            once that is fixed, to send it now: {hint(obj, 'send', '--issue', last.issue_id, scope=scope)}")
        if last.state is SlotState.MISSED:  # no issue was built: the slot names it, as `digest schedule` would have made it
            slot = slot_args(last.slot, scope.newsletter.timezone)
            edition = edition_args(scope.newsletter, seen.edition)
            click.echo(f"            to send it now: {hint(obj, 'send', *slot, *edition, scope=scope)}")
    if scheduler.next_run is not None:
        click.echo(f"Next run    {scheduler.next_run:%a %Y-%m-%d %H:%M %Z} ({scheduler.cron})")
    click.echo(f"Scheduler   {'running: ' + scheduler.lease_owner if scheduler.lease_owner else 'not running'}")
    for source in seen.sources:  # a feed's failure is the server's words: shown, never obeyed
        say(f"Source      {source.health.value}: {source.kind}:{source.source}: {source.reason}")
    if seen.sources:
        click.echo(f"            all sources: {hint(obj, 'sources', scope=scope)}")
    _doctor_text(obj, seen, scope)
    for pace in seen.paces:  # the reason is a receiver's words: shown, never obeyed
        say(f"Pace        {_pace_text(pace)}")
    if seen.warmup is not None:
        click.echo(f"Warm-up     {seen.warmup}")
    if seen.others:  # the issues below are one edition's: say so, and how to see the others'
        also = ", ".join(f"{name} ({count} issue(s))" for name, count in seen.others)
        example = hint(obj, "status", "--edition", seen.others[0][0], scope=scope)
        click.echo(f"Edition     {seen.edition}'s issues below; also {also}: `{example}`")
    if not seen.issues:
        click.echo("No issues stored yet.")
    for item in seen.issues:
        _issue_text(obj, item, seen.emails, pending, scope)


def _own_doctor(obj: Context, scope: Scope, seen: Status) -> Status:
    """``seen`` with the doctor's latest run only for the install's first newsletter, whose run it is (`digest doctor`
    keeps that one): another newsletter's status never shows the first's DKIM or DMARC as its own."""
    from dataclasses import replace

    return seen if scope.newsletter.slug == obj.whole.newsletters[0].slug else replace(seen, setup=None)


def _doctor_text(obj: Context, seen: Status, scope: Scope) -> None:
    """The doctor's latest run: its counts, and each check that did not pass, with its fix."""
    from digest.models import Verdict

    first = obj.whole.newsletters[0]
    if scope.newsletter.slug != first.slug:
        click.echo(f"Doctor      the run kept is {first.slug}'s; this newsletter's: `{hint(obj, 'doctor', scope=scope)}`")
        return
    if seen.setup is None:
        click.echo(f"Doctor      never run here: `{hint(obj, 'doctor', scope=scope)}` checks DNS, the public app and the mailbox")
        return
    click.echo("Doctor      " + summary(seen.setup).removeprefix("Checked    "))
    for check in seen.setup.checks:
        if check.verdict is not Verdict.PASS:
            for line in lines(check):
                say(f"            {line}")


def _issue_text(obj: Context, item: IssueReport, emails: dict[int, str], pending: bool, scope: Scope) -> None:
    from digest.app.bounces import FAILURE_LIMIT
    from digest.models import DeliveryState

    issue, c = item.status, item.status.counts
    click.echo(f"\n{issue.issue_id}  {issue.subject}")
    click.echo(
        f"  {issue.recipients} recipients: {c[DeliveryState.SENT]} sent, {c[DeliveryState.DEFERRED]} deferred, "
        f"{c[DeliveryState.FAILED]} failed, {c[DeliveryState.PENDING] + c[DeliveryState.SENDING]} pending, "
        f"{c[DeliveryState.SKIPPED]} skipped"
    )
    if item.workers:
        click.echo("  workers: " + "; ".join(_worker_line(w) for w in item.workers))
    for delivery in issue.problems:  # the replies are servers' words, the addresses strangers' (a sign-up): shown, never obeyed
        say(
            f"  {delivery.state:<8} {emails.get(delivery.subscriber_id, delivery.subscriber_id)}: {delivery.last_reply} ({delivery.attempts} attempt(s))"
        )
    if c[DeliveryState.SENT] or c[DeliveryState.FAILED]:
        back = item.returned
        click.echo(
            f"  returned: {back.hard} hard bounce(s), {back.complaints} complaint(s), {back.unsubscribed_by_mail} unsubscribe(s) by mail; "
            f"permanent failures {back.failure_rate:.2%} (limit {FAILURE_LIMIT * 100:g} %), complaints {back.complaint_rate:.2%} (limit 0.3 %, aim < 0.1 %)"
        )
        for warning in back.warnings():
            click.echo(f"  warning: {warning}")
    if not item.left:
        return
    if pending:
        for delivery, email in item.waiting:
            tried = f" ({delivery.attempts} attempt(s): {delivery.last_reply})" if delivery.attempts else ""
            say(f"  waiting  {email}: {delivery.state}{tried}")
    else:
        click.echo(f"  who is waiting: {hint(obj, 'status', '--issue', issue.issue_id, '--pending', scope=scope)}")
    # While workers are at it, a one-process send is refused: the command that helps is joining them.
    joining = ["--worker"] if any(w.alive for w in item.workers) else []
    click.echo(f"  to finish it: {hint(obj, 'send', *joining, '--issue', issue.issue_id, scope=scope)}")


def _run_json(run: ScheduleRun | None) -> dict[str, object] | None:
    if run is None:
        return None
    return {
        "slot": run.slot.isoformat(),
        "issue_id": run.issue_id,
        "outcome": run.state.value,
        "reason": run.reason,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


def _rate(rate: float) -> str:
    return f"{rate:g} message(s)/s" if rate else "no rate limit"


def _pace_text(pace: RelayPace) -> str:
    now = f"{pace.relay}: {_rate(pace.rate)} on {pace.connections} connection(s)"
    if pace.throttled:
        configured = f"{_rate(pace.configured_rate)} on {pace.configured_connections}"
        return (
            f"{now}, slowed from {configured} since {pace.since:%Y-%m-%d %H:%M} UTC: {pace.reason} (climbing back as copies are accepted)"
        )
    last = f" (last slowed {pace.since:%Y-%m-%d %H:%M} UTC by {pace.reason}; recovered)" if pace.since is not None else ""
    return f"{now}, as configured{last}"


def _pace_json(pace: RelayPace) -> dict[str, object]:
    return {
        "relay": pace.relay,
        "rate": pace.rate,
        "connections": pace.connections,
        "configured_rate": pace.configured_rate,
        "configured_connections": pace.configured_connections,
        "throttled": pace.throttled,
        "reason": pace.reason,
        "since": _iso(pace.since),
        "updated_at": pace.updated_at.isoformat(),
    }


def _returned_json(back: Returned) -> dict[str, object]:
    return {
        "hard_bounces": back.hard,
        "complaints": back.complaints,
        "unsubscribed_by_mail": back.unsubscribed_by_mail,
        "failure_rate": round(back.failure_rate, 6),
        "complaint_rate": round(back.complaint_rate, 6),
        "warnings": back.warnings(),
    }


def _iso(value: object) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


def _worker_line(worker: WorkerRecord) -> str:
    state = (
        "stopped" if worker.stopped else f"alive, heartbeat {worker.heartbeat_age:.0f} s ago" if worker.alive else "silent: taken for dead"
    )
    return f"{worker.id} ({state}) {worker.sent} sent"
