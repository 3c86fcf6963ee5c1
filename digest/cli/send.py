"""``digest send``: delivering an issue (``digest status`` shows what went out to whom)."""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

import click

from digest.cli import common, progress, refusals
from digest.cli import plan as plan_words
from digest.cli.common import EXIT_PROBLEMS, EXIT_TEMPFAIL, EXIT_USAGE, Context, fail, hint, say

log = logging.getLogger("digest.send")

if TYPE_CHECKING:
    from digest.app.issues import Backend, SendPlan, SendReport


@click.command()
@common.with_window_options
@common.edition_option
@click.option("--issue", "issue_ref", metavar="ID", help="Send (or resume) this stored issue, as it was frozen.")
@click.option("--dry-run", is_flag=True, help="Show what would go (issue, posts, recipients, skipped and why); send and store nothing.")
@click.option(
    "--recipients", is_flag=True, help="With --dry-run: list each recipient and what they get (which themes), or why they are skipped."
)
@click.option("--to", "test_to", metavar="ADDRESS", help="A test send to ADDRESS only, marked [TEST], not recorded as delivered.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (for scripts; required without a terminal).")
@click.option("--rebuild", is_flag=True, help="Build the issue again instead of using the frozen one (refused once any delivery happened).")
@click.option(
    "--force",
    is_flag=True,
    help="Send even though the issue has error-level checks, a source yielded nothing, or a check of the setup failed "
    "(DMARC cannot align, the base URL; logged).",
)
@click.option("--allow-overlap", is_flag=True, help="Send even though the window overlaps an issue that went out already.")
@click.option(
    "--retry-failed",
    is_flag=True,
    help="Send again to the readers whose delivery failed for a reason that was not their address (gave up on retries, "
    "a sender-side refusal); never to one whose address was refused.",
)
@click.option(
    "--without-approval",
    is_flag=True,
    help='With schedule.approval = "required": send an issue no editor approved (logged as such); without it, such a send is refused.',
)
@click.option(
    "--worker",
    is_flag=True,
    help="Send as one of several workers on this issue, on any hosts sharing the PostgreSQL store (start one per host).",
)
@click.option(
    "--join",
    is_flag=True,
    help="With --worker: only join a send of the issue that has started, waiting up to --wait seconds for one; never start one.",
)
@click.option(
    "--wait",
    "wait_seconds",
    type=click.IntRange(0, 86_400),
    metavar="SECONDS",
    help="How long --join waits for a send to start [default: 600].",
)
@click.pass_obj
def send(obj: Context, /, **given: Any) -> None:
    """Send an issue to every active subscriber, exactly once.

    With no window options: the issue of the latest schedule slot at or
    before now, the same issue `digest schedule` sends for that slot, so a
    manual send and a scheduled one never both go out. The issue is stored
    ("frozen") as its first delivery is attempted; every later send of it
    uses that copy. An interrupted send resumes with `digest send --issue ID`.

    With --worker (PostgreSQL), any number of processes on any hosts send the
    same issue together, each claiming batches of recipients; a worker that
    dies is replaced by the others after delivery.claim_timeout. On more
    hosts, `digest send --worker --join --yes` (from cron at the slot's time,
    say) joins the scheduled send once it starts and never starts one itself,
    so it cannot send an issue the scheduler would hold back.

    Exit 0 only when every recipient ended sent, or failed for good with the
    reason recorded; 1 when some are left or the send was refused; 2 for a
    usage or configuration error; 75 when our side failed (the relay could not
    be reached or used): every reader not sent is pending, and the printed
    command resumes once it is fixed.
    """
    obj.choose_edition(given.pop("edition"))  # an unknown one: a usage error listing the editions
    request = SendRequest(**given)
    request.check()
    test_address = _test_address(request.test_to) if request.test_to else None  # said before anything is built
    now = datetime.now(UTC)
    ready = _prepared(obj, request, now)
    if ready is None:
        return
    plan, backend, request = ready
    if test_address:
        _send_test(obj, plan, test_address, now, backend)
        return
    if plan.refusal is not None:
        _refuse(obj, plan, request.dry_run)
    if request.dry_run:
        if request.recipients:
            plan_words.list_recipients(obj, plan, now)
        click.echo("Dry run: nothing sent, nothing stored.")
        return
    if _nothing_to_send(obj, plan) or not _confirmed(plan, request.yes):
        return
    resume = hint(obj, "send", *(["--worker"] if request.worker else []), "--issue", plan.issue.id)
    report = _run(obj, plan, now, backend, request.worker, resume)
    if report is None:  # everyone got it while we were asking
        click.echo(f"Nothing to send: {plan.why_nothing_to_send(had_it=True)}.")
        return
    _report(obj, report, resume)


@dataclass(frozen=True, slots=True)
class SendRequest:
    """The options of one ``digest send``, as given."""

    as_of: str | None
    since: str | None
    until: str | None
    sources: tuple[str, ...]
    strict: bool
    issue_ref: str | None
    dry_run: bool
    recipients: bool
    test_to: str | None
    yes: bool
    rebuild: bool
    force: bool
    allow_overlap: bool
    retry_failed: bool
    without_approval: bool
    worker: bool
    join: bool
    wait_seconds: int | None

    @property
    def window(self) -> bool:
        return bool(self.as_of or self.since or self.until)

    def check(self) -> None:
        """Options that do not go together: a usage error (exit 2) naming them, before anything is read."""
        if self.issue_ref and (self.window or self.sources or self.rebuild):
            raise click.UsageError("--issue names a stored issue: it takes no --as-of/--since/--until/--source/--rebuild")
        if self.worker and self.test_to:
            raise click.UsageError("--to sends one test copy, recorded nowhere: it takes no --worker")
        if self.join and not self.worker:
            raise click.UsageError("--join joins other workers: add --worker")
        if self.wait_seconds is not None and not self.join:
            raise click.UsageError("--wait is how long --join waits for a send to start: add --worker --join")
        if self.recipients and not self.dry_run:
            raise click.UsageError("--recipients lists who would get what: it goes with --dry-run")
        if self.join and (self.dry_run or self.rebuild or self.sources):
            raise click.UsageError("--join sends the issue as it was frozen: it takes no --dry-run/--rebuild/--source")


def _prepared(obj: Context, request: SendRequest, now: datetime) -> tuple[SendPlan, Backend, SendRequest] | None:
    """The plan, the backend and the request as it will be carried out (a send that workers may join sends as a
    worker), the plan described; None (said) when a --join worker found no send to join.
    The refusals that need nothing built come first: a configuration error builds, stores and sends nothing."""
    from dataclasses import replace

    from digest.app.issues import link_problem

    settings = obj.placing()
    if not request.test_to and (problem := link_problem(settings.install)) is not None:
        fail(problem, EXIT_USAGE)
    if not request.test_to:
        _gate(obj, request)
    if settings.install.delivery.workers_may_join:
        request = replace(request, worker=True)
    if request.worker and obj.store.is_sqlite:
        from digest.models.errors import WorkersNeedPostgresError

        fail(f"--worker: {WorkersNeedPostgresError()}; send without --worker", EXIT_USAGE)
    if request.issue_ref and not request.join:  # a joining worker may wait for an issue not stored yet
        refusals.require_stored(obj, [request.issue_ref])
    elif request.issue_ref:
        obj.follow_issue_edition([request.issue_ref])  # stored already: its edition, as for any --issue
    if request.join:
        wanted = request.issue_ref or common.window_target(obj, request.as_of, request.since, request.until, now).issue_id
        joined = _joined_issue(obj, wanted, request.wait_seconds)
        if joined is None:
            return None
        request = replace(request, issue_ref=joined, as_of=None, since=None, until=None)
    plan = _plan(obj, now, request)
    backend = obj.newsletter.backend()
    plan_words.describe(obj, plan, backend.describe(), request.sources, dry_run=request.dry_run)
    return plan, backend, request


def _gate(obj: Context, request: SendRequest) -> None:
    """The doctor's checks that need no network, before a send to real readers: a failed one refuses (exit 1) with
    its fix, unless --force, which is logged (who overrode what)."""
    from digest.app.doctor import setup_gate
    from digest.cli.doctor import lines

    failed = setup_gate(obj.settings)
    if not failed:
        return
    if request.force:
        for check in failed:
            log.warning("send forced by %s past a failed check: %s: %s", common.operator(), check.name, check.detail)
        return
    for check in failed:
        for line in lines(check):
            say(line, err=True)
    fail(
        f"not sent: {len(failed)} check(s) of the setup failed (above, each with its fix); `{hint(obj, 'doctor')}` checks "
        "DNS and the public app too; --force sends anyway (logged)",
        EXIT_PROBLEMS,
    )


def _joined_issue(obj: Context, wanted: str, wait_seconds: int | None) -> str | None:
    """The issue a --join worker sends, once its send has started; None (said) when none started in time."""
    seconds = 600 if wait_seconds is None else wait_seconds
    if _wait_for_a_send(obj, wanted, seconds):
        return wanted
    click.echo(f"No send of {wanted} started within {seconds} s: nothing sent (--join never starts one).")
    return None


def _plan(obj: Context, now: datetime, request: SendRequest) -> SendPlan:
    """What the send will do (the stored issue, or the one the window options mean), its input problems reported."""
    from digest.app.approval import gated
    from digest.models.errors import RefusedError, RenderError

    newsletter = obj.newsletter
    try:
        if request.issue_ref:
            # A worker joining a send under way sends the frozen copy: no fresh build to compare it with.
            plan = newsletter.plan_stored(
                request.issue_ref,
                now,
                force=request.force,
                allow_overlap=request.allow_overlap,
                compare=not request.join,
                retry_failed=request.retry_failed,
            )
        else:
            target = common.window_target(obj, request.as_of, request.since, request.until, now)
            plan = newsletter.plan_send(
                target,
                now,
                sources=common.source_specs(request.sources),
                rebuild=request.rebuild,
                force=request.force,
                allow_overlap=request.allow_overlap,
                on_step=common.StepBar(),
                retry_failed=request.retry_failed,
            )
    except RefusedError as exc:
        refusals.refuse(obj, exc.refusal)
    except RenderError as exc:
        fail(str(exc), EXIT_PROBLEMS)
    plan = gated(newsletter, plan, without_approval=request.without_approval, by=common.operator())
    if plan.frozen and request.sources:
        fix = (
            "it has deliveries already, so it cannot be rebuilt: drop --source"
            if obj.newsletter.has_deliveries(plan.issue.id)
            else "add --rebuild to build it from these sources instead"
        )
        fail(f"issue {plan.issue.id} is frozen: its sends use the stored copy, so --source would change nothing; {fix}")
    digest = plan.built.digest if plan.built is not None else None
    if digest is not None:
        # For a frozen issue these are the problems of the comparison build: they explain a difference.
        common.report_problems(digest.problems)
        from digest.models import strict_problems

        if request.strict and (wrong := strict_problems(digest.problems)) and not plan.frozen:
            fail(f"{len(wrong)} problem(s) in the input (--strict)", EXIT_PROBLEMS)
    return plan


def _refuse(obj: Context, plan: SendPlan, dry_run: bool) -> NoReturn:
    """The plan's refusal, worded with its fix; exit 2 for a missing key (configuration), 1 otherwise."""
    from digest.app.approval import hold_for_approval
    from digest.models import RefusalKind

    said = refusals.worded(obj, plan.refusal) if plan.refusal is not None else ""
    if dry_run:
        unstored = plan.refusal is not None and plan.refusal.kind is RefusalKind.NOT_APPROVED and not plan.frozen
        said += " (dry run: nothing sent, nothing stored" + (
            "; a send without --dry-run stores it as the draft to approve)" if unstored else ")"
        )
    elif hold_for_approval(obj.newsletter, plan):
        said += f" (issue {plan.issue.id} is stored now as the draft those commands act on)"
    fail(said, EXIT_USAGE if plan.refusal is not None and plan.refusal.kind is RefusalKind.NO_KEY else EXIT_PROBLEMS)


def _test_address(test_to: str) -> str:
    """The address of --to, or a usage error saying why it is not one."""
    from digest.app.subscribers import address_of
    from digest.models.errors import AddressError

    try:
        return address_of(test_to)
    except AddressError as exc:
        raise click.BadParameter(f"{test_to!r}: {exc}", param_hint="--to") from None


def _send_test(obj: Context, plan: SendPlan, address: str, now: datetime, backend: Backend) -> None:
    from digest.models.errors import DeliveryError

    try:
        reply = obj.newsletter.send_test(plan.issue, address, now, backend)
    except DeliveryError as exc:  # TransientError and PermanentError included
        fail(f"test send to {address} failed: {exc}", EXIT_PROBLEMS)
    say(f"Test sent  to {address}: {reply} (not recorded as delivered)")  # the relay's words: shown, never obeyed


def _nothing_to_send(obj: Context, plan: SendPlan) -> bool:
    if plan.outstanding.to_send:
        return False
    done = sum(plan.outstanding.done.values())
    click.echo(f"Nothing to send: {plan.why_nothing_to_send()}" + ("." if done else " (nothing stored)."))
    if plan.outstanding.retriable:
        click.echo(
            f"Failed     {plan.outstanding.retriable} for a reason that was not their address (see "
            f"`{hint(obj, 'status', '--issue', plan.issue.id)}`): `{hint(obj, 'send', '--issue', plan.issue.id, '--retry-failed')}` "
            "sends to them"
        )
    return True


def _confirmed(plan: SendPlan, yes: bool) -> bool:
    """--yes, or a person at a terminal who said yes; a refusal (exit 2) otherwise."""
    if yes:
        return True
    if not sys.stdin.isatty():
        fail("not on a terminal: pass --yes to send without confirmation", EXIT_USAGE)
    if not click.confirm(f"Send {plan.issue.subject!r} to {plan.outstanding.to_send} subscriber(s)?", default=False):
        fail("not sent (nothing stored)", EXIT_USAGE)
    return True


def _run(obj: Context, plan: SendPlan, now: datetime, backend: Backend, worker: bool, resume: str) -> SendReport | None:
    """The send itself, SIGINT/SIGTERM stopping it after the messages in flight, progress on the terminal."""
    from digest.models.errors import DeliveryError, LeaseHeldError, RefusedError

    stop = threading.Event()
    previous = progress.install_stop_handlers(stop)
    reporter = progress.Reporter(
        sys.stderr.isatty() and obj.log_format != "json", resume, issue_id=plan.issue.id if obj.log_format == "json" else None
    )
    try:
        return obj.newsletter.send(plan, now, backend=backend, stop=stop, on_progress=reporter, worker=worker)
    except LeaseHeldError as exc:
        fail(refusals.busy(obj, exc), EXIT_PROBLEMS)
    except RefusedError as exc:
        fail(refusals.worded(obj, exc.refusal), EXIT_PROBLEMS)
    except DeliveryError as exc:
        fail(str(exc), EXIT_USAGE)
    finally:
        progress.restore_handlers(previous)
        reporter.finish()


def _report(obj: Context, report: SendReport, resume: str) -> None:
    """What the run did, and what is left with the command that finishes it; exit 1 when not done."""
    from digest.models import RunEnd

    if obj.log_format == "json":
        logging.getLogger("digest.send").info(
            "send finished" if report.complete else "send not done",
            extra={
                "fields": {
                    "issue": report.issue_id,
                    "sent": report.sent,
                    "deferred": report.deferred,
                    "throttled": report.throttled,
                    "held_for_tomorrow": report.held,
                    "failed": report.failed,
                    "bounced": report.bounced,
                    "skipped": report.skipped,
                    "recovered": report.recovered,
                    "ledger": {state.value: count for state, count in report.counts.items()},
                    "end": report.end.value,
                    "stopped": report.reason or ("on request" if report.end is RunEnd.STOPPED else None),
                }
            },
        )
    if report.recovered:
        click.echo(f"Recovered  {report.recovered} message(s) in flight when an earlier run stopped (sent again)")
    skipped = f", {report.skipped} skipped (left the list, or their themes or a pause)" if report.skipped else ""
    click.echo(f"This run   {report.sent} sent, {report.deferred} deferred, {report.failed} failed ({report.bounced} bounced){skipped}")
    if report.pace is not None:  # a receiver's rate limit slowed the send: its words shown, never obeyed
        pace = report.pace
        now = "still slowed" if pace.throttled else "back to the configured pace"
        say(f"Slowed     {report.throttled} copy(ies) met a receiver's rate limit ({pace.reason}); retried later, no reader blamed; {now}")
    if report.held:  # the warm-up's plan, not a failure: the rest go on the next day
        click.echo(f"Warm-up    {report.reason}; `{resume}` sends them on the next day")
        return
    click.echo("Ledger     " + ", ".join(f"{count} {state}" for state, count in report.counts.items() if count))
    if report.end is RunEnd.OURS:
        say(f"Paused     {report.reason}", err=True)  # the relay's own words in it: shown, never obeyed
        click.echo(f"Resume     `{resume}` once that is fixed: nobody was marked failed or bounced", err=True)
        sys.exit(EXIT_TEMPFAIL)
    if report.reason and not report.held:
        say(f"Stopped    {report.reason}", err=True)
    if report.end is RunEnd.STOPPED:
        click.echo(f"Stopped    on request, after the messages in flight; to resume: {resume}", err=True)
    if not report.complete:
        click.echo(
            f"Not done   some recipients are not delivered yet; `{hint(obj, 'status', '--issue', report.issue_id, '--pending')}` lists them, "
            f"`{resume}` resumes",
            err=True,
        )
        sys.exit(EXIT_PROBLEMS)
    if report.end is RunEnd.FATAL:  # stopped by a problem, even if another run has finished the issue meanwhile
        sys.exit(EXIT_PROBLEMS)


def _wait_for_a_send(obj: Context, issue_id: str, seconds: int) -> bool:
    """Whether a send of ``issue_id`` has started (its deliveries are queued), waiting up to ``seconds`` for it."""
    deadline = time.monotonic() + seconds
    told = False
    while not obj.newsletter.send_begun(issue_id):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        if not told:
            click.echo(f"Waiting    up to {seconds} s for a send of {issue_id} to start", err=True)
            told = True
        time.sleep(min(1.0, left))  # one indexed query a second
    return True
