"""``digest send`` and ``digest status``: delivering an issue, and seeing what went out to whom."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from types import FrameType

import click

from digest.cli.common import EXIT_PROBLEMS, EXIT_USAGE, Context, fail, resolve_window, source_specs, window_options, with_options
from digest.delivery import Progress, compile_issue, send_issue, send_test
from digest.errors import DeliveryError, RenderError
from digest.frozen import RebuildRefusedError, error_checks, prepare_issue
from digest.leases import LeaseHeldError
from digest.mail.backends import PermanentError, TransientError, get_backend
from digest.schedule import Scheduler, run_to_json
from digest.store import ScheduleRun, Store


@click.command()
@with_options(window_options)
@click.option("--dry-run", is_flag=True, help="Show what would go (issue, posts, recipients, skipped and why); send and store nothing.")
@click.option("--to", "test_to", metavar="ADDRESS", help="A test send to ADDRESS only, marked [TEST], not recorded as delivered.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (for scripts; required without a terminal).")
@click.option("--rebuild", is_flag=True, help="Build the issue again instead of using the stored one (refused once any delivery happened).")
@click.option("--force", is_flag=True, help="Send even though the issue has error-level checks.")
@click.pass_obj
def send(
    obj: Context,
    as_of: str | None,
    since: str | None,
    until: str | None,
    sources: tuple[str, ...],
    strict: bool,
    dry_run: bool,
    test_to: str | None,
    yes: bool,
    rebuild: bool,
    force: bool,
) -> None:
    """Send the issue for the window to every active subscriber, exactly once.

    The first send of a window builds and stores ("freezes") the issue; later
    sends use the stored copy. Interrupted or failed sends resume where they
    stopped when run again. Exit 0 only when every recipient ended sent, or
    failed for good with the reason recorded.
    """
    settings = obj.settings
    store = obj.store
    now = datetime.now(UTC)
    window = resolve_window(settings, as_of, since, until, now)
    try:
        prepared = prepare_issue(
            store, settings, window, now, sources=source_specs(sources), rebuild=rebuild, save=not dry_run and not test_to
        )
    except RebuildRefusedError as exc:
        fail(str(exc), EXIT_PROBLEMS)
    except RenderError as exc:
        fail(str(exc), EXIT_PROBLEMS)
    issue = prepared.issue
    if prepared.digest is not None:
        for problem in prepared.digest.problems:
            click.echo(f"warning: {problem}", err=True)
        if strict and prepared.digest.problems:
            fail(f"{len(prepared.digest.problems)} problem(s) in the input (--strict)", EXIT_PROBLEMS)
    errors = error_checks(issue)
    backend = get_backend(settings)
    click.echo(f"Issue      {issue.id}: {issue.subject}")
    click.echo(
        f"Posts      {len(issue.post_ids)}{' (frozen ' + issue.created_at.strftime('%Y-%m-%d %H:%M') + ' UTC)' if not prepared.created else ''}"
    )
    click.echo(f"Backend    {backend.describe()}")
    for error in errors:
        click.echo(f"Error      {error}")

    if test_to:
        try:
            reply = send_test(compile_issue(issue, settings, test=True), backend, test_to)
        except (TransientError, PermanentError, DeliveryError) as exc:
            fail(f"test send to {test_to} failed: {exc}", EXIT_PROBLEMS)
        click.echo(f"Test sent  to {test_to}: {reply} (not recorded as delivered)")
        return

    counts = store.count_subscribers()
    ledger = store.status([issue.id])
    already = ledger[0].counts if ledger else {}
    active = counts.get("active", 0)
    to_send = active - sum(already.get(state, 0) for state in ("sent", "failed", "skipped"))
    click.echo(f"Recipients {max(to_send, 0)} to send of {active} active subscriber(s)")
    for state in ("sent", "failed", "deferred", "sending"):
        if already.get(state):
            click.echo(f"  skipped  {already[state]} already {state}" + (" (will be retried)" if state in ("deferred", "sending") else ""))
    for status_name in ("unsubscribed", "bounced"):
        if counts.get(status_name):
            click.echo(f"  skipped  {counts[status_name]} {status_name}")
    if dry_run:
        click.echo("Dry run: nothing sent, nothing stored.")
        return
    if errors and not force:
        fail("the issue has error-level checks (listed above); fix them, or --force to send anyway", EXIT_PROBLEMS)
    if not yes:
        if not sys.stdin.isatty():
            fail("not on a terminal: pass --yes to send without confirmation", EXIT_USAGE)
        if not click.confirm(f"Send {issue.subject!r} to {max(to_send, 0)} subscriber(s)?", default=False):
            fail("not sent", EXIT_USAGE)

    try:
        message = compile_issue(issue, settings, date=now)
    except DeliveryError as exc:
        fail(str(exc), EXIT_USAGE)
    stop = threading.Event()
    previous = _install_stop_handlers(stop)
    reporter = _Reporter(sys.stderr.isatty())
    try:
        report = send_issue(store, message, backend, settings.delivery, stop=stop, on_progress=reporter)
    except LeaseHeldError as exc:
        fail(str(exc), EXIT_PROBLEMS)
    finally:
        _restore_handlers(previous)
        reporter.finish()
    if report.recovered:
        click.echo(f"Recovered  {report.recovered} message(s) in flight when an earlier run stopped (sent again)")
    click.echo(f"This run   {report.sent} sent, {report.deferred} deferred, {report.failed} failed ({report.bounced} bounced)")
    final = report.counts
    click.echo(
        "Ledger     "
        + ", ".join(f"{final[s]} {s}" for s in ("sent", "failed", "deferred", "pending", "sending", "skipped") if final.get(s))
    )
    for reason in (report.paused, report.fatal):
        if reason:
            click.echo(f"Stopped    {reason}", err=True)
    if report.stopped:
        click.echo("Stopped    on request, after the messages in flight; run `digest send` again to resume", err=True)
    if not report.complete:
        click.echo("Not done   some recipients are not delivered yet; `digest status` lists them, `digest send` resumes", err=True)
        sys.exit(EXIT_PROBLEMS)


def _install_stop_handlers(stop: threading.Event) -> dict[int, object]:
    def handler(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            return
        stop.set()
        print(f"\n{signal.Signals(signum).name}: stopping after the messages in flight…", file=sys.stderr, flush=True)

    previous: dict[int, object] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, handler)
    return previous


def _restore_handlers(previous: dict[int, object]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)  # type: ignore[arg-type]


class _Reporter:
    """A progress line with rate and ETA on a terminal; a plain log line every few seconds otherwise."""

    def __init__(self, tty: bool) -> None:
        self.tty = tty
        self.lock = threading.Lock()
        self.last = 0.0
        self.shown = False

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        interval = 0.1 if self.tty else 5.0
        if now - self.last < interval and progress.done < progress.total:
            return
        with self.lock:
            self.last = now
            elapsed = max(now - progress.started, 1e-6)
            rate = progress.done / elapsed
            eta = (progress.total - progress.done) / rate if rate > 0 else 0.0
            pct = 100 * progress.done / progress.total if progress.total else 100.0
            line = (
                f"{progress.done}/{progress.total} ({pct:.0f}%)  {rate:.0f} msg/s  ETA {int(eta // 60)}:{int(eta % 60):02d}  "
                f"sent {progress.sent}  deferred {progress.deferred}  failed {progress.failed}"
            )
            if self.tty:
                click.echo(f"\r{line}\x1b[K", nl=False, err=True)
                self.shown = True
            else:
                click.echo(f"progress: {line}", err=True)

    def finish(self) -> None:
        if self.shown:
            click.echo("", err=True)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--issue", "issue_ids", multiple=True, metavar="ID", help="Only this issue (repeatable).")
@click.pass_obj
def status(obj: Context, as_json: bool, issue_ids: tuple[str, ...]) -> None:
    """Per issue: recipients, sent, deferred, failed (with the SMTP reply) and pending."""
    store: Store = obj.store
    issues = store.status(list(issue_ids) or None)
    subscribers = store.count_subscribers()
    scheduler = Scheduler(obj.settings, store).status(datetime.now(UTC))
    totals = {state: sum(item.counts[state] for item in issues) for state in ("pending", "sending", "deferred", "failed")}
    if as_json:
        holder = scheduler["lease_holder"]
        click.echo(
            json.dumps(
                {
                    "scheduler": {
                        "cron": scheduler["cron"],
                        "timezone": scheduler["timezone"],
                        "next_run": _iso(scheduler["next_run"]),
                        "last_run": run_to_json(scheduler["last_run"]),  # type: ignore[arg-type]
                        "lease_holder": {"owner": holder["owner"], "expires_at": _iso(holder["expires_at"])}
                        if isinstance(holder, dict)
                        else None,
                    },
                    "deliveries": totals,
                    "subscribers": {s: subscribers.get(s, 0) for s in ("active", "unsubscribed", "bounced")},
                    "issues": [
                        {
                            "issue_id": item.issue_id,
                            "subject": item.subject,
                            "created_at": item.created_at.isoformat(),
                            "recipients": item.recipients,
                            **item.counts,
                            "problems": [
                                {"subscriber_id": d.subscriber_id, "state": d.state, "attempts": d.attempts, "last_reply": d.last_reply}
                                for d in item.problems
                            ],
                        }
                        for item in issues
                    ],
                },
                indent=2,
            )
        )
        return
    click.echo("Subscribers " + ", ".join(f"{subscribers.get(s, 0)} {s}" for s in ("active", "unsubscribed", "bounced")))
    last = scheduler["last_run"]
    if isinstance(last, ScheduleRun):
        click.echo(f"Last run    {last.slot:%Y-%m-%d %H:%M} UTC: {last.state} ({last.issue_id or '-'}): {last.reason or ''}".rstrip(": "))
    next_run = scheduler["next_run"]
    if isinstance(next_run, datetime):
        click.echo(f"Next run    {next_run:%a %Y-%m-%d %H:%M %Z} ({scheduler['cron']})")
    holder = scheduler["lease_holder"]
    click.echo(f"Scheduler   {'running: ' + str(holder['owner']) if isinstance(holder, dict) else 'not running'}")
    if not issues:
        click.echo("No issues stored yet.")
    emails = store.emails_of([d.subscriber_id for item in issues for d in item.problems])
    for item in issues:
        c = item.counts
        click.echo(f"\n{item.issue_id}  {item.subject}")
        click.echo(
            f"  {item.recipients} recipients: {c['sent']} sent, {c['deferred']} deferred, {c['failed']} failed, "
            f"{c['pending'] + c['sending']} pending, {c['skipped']} skipped"
        )
        for delivery in item.problems:
            click.echo(
                f"  {delivery.state:<8} {emails.get(delivery.subscriber_id, delivery.subscriber_id)}: {delivery.last_reply} ({delivery.attempts} attempt(s))"
            )


def _iso(value: object) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None
