"""``digest schedule``: the long-lived process that sends the weekly issue on time."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from digest.cli.common import EXIT_PROBLEMS, EXIT_TEMPFAIL, Context, fail

if TYPE_CHECKING:
    from digest.app.scheduling import Scheduler

log = logging.getLogger("digest.schedule")


@click.command()
@click.option("--list", "list_only", is_flag=True, help="Print the next five fire times (the schedule's time zone and UTC) and exit.")
@click.option(
    "--once", is_flag=True, help="Catch up on the latest slot (run it if due and unfinished), then exit: for a cron-driven setup."
)
@click.option("--as-of", metavar="WHEN", help="With --once or --list: act as if it were WHEN (ISO 8601).")
@click.pass_obj
def schedule(obj: Context, list_only: bool, once: bool, as_of: str | None) -> None:
    """Run the schedule in the foreground: build and send each issue at its slot.

    Every newsletter's slots (--newsletter: that one's), each on its own: one
    that fails never holds up another's. Logs each fire, skip and send.
    SIGINT/SIGTERM stop it cleanly (a send in progress stops after the
    messages in flight; the next start resumes it). A second copy against the
    same database exits, naming the one running.
    """
    from digest.app.session import moment
    from digest.models.errors import LeaseHeldError, WindowError

    settings = obj.placing()
    try:
        now = moment(as_of, settings.newsletter.timezone) if as_of else datetime.now(UTC)
    except WindowError as exc:
        raise click.BadParameter(str(exc), param_hint="--as-of") from None
    if logging.getLogger().level > logging.INFO:
        logging.getLogger("digest").setLevel(logging.INFO)
    stop = threading.Event()
    runners = _runners(obj, stop)
    if list_only:
        _list(runners, now)
        return
    lost = threading.Event()
    previous = {sig: signal.signal(sig, _stopper(stop)) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        # One lease for the install: one scheduler runs every newsletter's slots against a database.
        with runners[0].running(lost):
            if once:
                _once(runners, now)
                return
            _run_forever(obj, runners, stop, lost)
    except LeaseHeldError as exc:
        fail(f"{exc}; only one scheduler may run against a database", EXIT_PROBLEMS)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _runners(obj: Context, stop: threading.Event) -> list[Scheduler]:
    """A runner per newsletter scheduled here, each on a store of its own scope (the command's for the first)."""
    from digest.app.scheduling import Scheduler
    from digest.app.session import open_store

    runners = []
    for scope in obj.scopes():
        if scope == obj.settings:
            store = obj.store
        else:
            if scope.newsletter.meaning.unavailable:
                click.echo(f"warning: {scope.newsletter.slug}: {scope.newsletter.meaning.unavailable}", err=True)
            store = open_store(scope)
            click.get_current_context().call_on_close(store.close)
        # One runner per edition, the first first: each fires its own slots, on its own runs and issues.
        runners += [
            Scheduler(scope, store, stop=stop, edition=edition.name, newsletters=obj.whole.scopes())
            for edition in scope.newsletter.editions
        ]
    return runners


def _named(runner: Scheduler, several: bool) -> str:
    return f"{runner.key}: " if several else ""


def _list(runners: list[Scheduler], now: datetime) -> None:
    for runner in runners:
        zone = runner.settings.newsletter.schedule_zone
        slot = runner.newsletter.edition.slot  # the edition's own rule: a cron line, or a day of each month
        rule = f"cron {slot.cron!r}" if slot.cron else repr(slot.text)
        click.echo(f"{_named(runner, len(runners) > 1)}{rule} in {zone}")
        for when in runner.fire_times(now, 5):
            click.echo(f"  {when.astimezone(zone):%a %Y-%m-%d %H:%M %Z}   {when.astimezone(UTC):%Y-%m-%d %H:%M} UTC")


def _once(runners: list[Scheduler], now: datetime) -> None:
    """Each newsletter's latest slot caught up, one after the other whatever the one before did; the exit status the
    worst of them (our side held one up: 75, a slot neither sent nor skipped: 1)."""
    from digest.models import SlotState
    from digest.models.errors import DigestError

    code = 0
    for runner in runners:
        named = _named(runner, len(runners) > 1)
        try:
            outcome = runner.catch_up(now)
        except DigestError as exc:  # this newsletter's: the next one's slot still runs
            click.echo(f"{named}failed: {exc}")
            code = max(code, EXIT_PROBLEMS)
            continue
        click.echo(
            f"{named}{outcome.slot.isoformat()}: {outcome.state}: {outcome.reason}"
            if outcome
            else f"{named}nothing to do: the latest slot is done"
        )
        # With approval required, the coming slot's draft, as the running scheduler makes it (once, draft_hours ahead):
        # a cron-driven setup's editors were never sent one, so every slot met its issue unapproved.
        if drafted := runner.draft_due(now):
            click.echo(f"{named}draft {drafted} frozen and mailed to the editors: it goes out at its slot once approved")
        if outcome is not None and outcome.state is SlotState.WAITING:
            code = max(code, EXIT_TEMPFAIL)  # our side (the relay): a cron-driven setup runs --once again later
        elif outcome is not None and outcome.state not in (SlotState.SENT, SlotState.SKIPPED):
            code = max(code, EXIT_PROBLEMS)
    if code:
        sys.exit(code)


def _stopper(stop: threading.Event) -> Callable[[int, FrameType | None], None]:
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("%s: stopping", signal.Signals(signum).name)
        stop.set()

    return handler


def _add_jobs(scheduler: Any, runners: list[Scheduler]) -> None:
    """The jobs `digest schedule` keeps in its job store (replacing those stored by an earlier start): each
    newsletter's (:func:`_add_newsletter_jobs`), then the install's own (the webhooks, the bounce mailbox)."""
    from digest.cli.jobs import BOUNCES_JOB, WEBHOOKS_JOB, bounce_tick, webhooks_tick

    for runner in runners:
        _add_newsletter_jobs(scheduler, runner)
    install = runners[0].settings.install
    # Every minute, whether or not an endpoint exists yet: one is added with `digest webhooks add` while this runs.
    scheduler.add_job(webhooks_tick, "interval", minutes=1, id=WEBHOOKS_JOB, name="deliver webhooks", replace_existing=True)
    if install.bounces.imap_host:
        scheduler.add_job(
            bounce_tick, "interval", minutes=install.bounces.poll_minutes, id=BOUNCES_JOB, name="bounce mailbox", replace_existing=True
        )


def _add_newsletter_jobs(scheduler: Any, runner: Scheduler) -> None:
    """One newsletter's jobs, each a row of its own (its id ``<slug>:<kind>``) with that newsletter's grace period."""
    from digest.app.scheduling import RETRY_MINUTES
    from digest.cli.jobs import doctor_tick, draft_tick, fire, job_id, retry_tick

    newsletter = runner.settings.newsletter
    slug = runner.key  # the newsletter's slug, or "<slug>:<edition>" for an edition after the first
    grace = int(newsletter.schedule.misfire_grace) or 1
    # Each row holds data only: the job's kind (its function's name) and the runner's key (its argument).
    scheduler.add_job(
        fire,
        runner.trigger,
        args=(slug,),
        id=job_id(slug, "weekly"),
        name=f"{slug}: digest",
        misfire_grace_time=grace,
        replace_existing=True,
    )
    scheduler.add_job(
        retry_tick,
        "interval",
        args=(slug,),
        minutes=RETRY_MINUTES,
        id=job_id(slug, "retry"),
        name=f"{slug}: retry a held-up slot",
        misfire_grace_time=grace,
        replace_existing=True,
    )
    # The doctor's checks once a day, counted from the last stored run (a restarted scheduler keeps the rhythm),
    # stored for `digest status`: the newsletter's, run by its first edition's runner only.
    if runner.first:
        scheduler.add_job(
            doctor_tick,
            "interval",
            args=(slug,),
            hours=24,
            next_run_time=runner.next_setup_check(datetime.now(UTC)),
            id=job_id(slug, "doctor"),
            name=f"{slug}: check the setup",
            replace_existing=True,
        )
    if newsletter.schedule.approval_required:
        _isolated(runner, "draft", partial(runner.draft_due, datetime.now(UTC)))
        scheduler.add_job(
            draft_tick,
            "interval",
            args=(slug,),
            minutes=5,
            id=job_id(slug, "draft"),
            name=f"{slug}: draft for approval",
            replace_existing=True,
        )


def _isolated(runner: Scheduler, what: str, work: Callable[[], object]) -> None:
    """``work`` for one newsletter at start; whatever it raises is logged and the other newsletters go on."""
    try:
        work()
    except Exception:
        log.exception("%s: the %s at start failed; its jobs run on", runner.settings.newsletter.slug, what)


def _run_forever(obj: Context, runners: list[Scheduler], stop: threading.Event, lost: threading.Event) -> None:
    from apscheduler.jobstores.base import JobLookupError
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    from digest.cli.jobs import BOUNCES_JOB, LEGACY_JOB_IDS, RunnerExecutor, job_id

    install, first = runners[0].settings.install, runners[0].settings.newsletter
    for runner in runners:
        # Start-up catch-up: APScheduler does not retry a job that died mid-run.
        _isolated(runner, "catch-up", partial(runner.catch_up, datetime.now(UTC)))
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=obj.store.engine, tablename="apscheduler_jobs")},
        executors={"default": RunnerExecutor({runner.key: runner for runner in runners})},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": int(first.schedule.misfire_grace) or 1},
        timezone=first.schedule_zone,
    )
    _add_jobs(scheduler, runners)
    scheduler.start()
    unwanted = [*LEGACY_JOB_IDS, *([] if install.bounces.imap_host else [BOUNCES_JOB])]
    unwanted += [job_id(r.key, "draft") for r in runners if not r.settings.newsletter.schedule.approval_required]
    for stale in unwanted:
        # Stored by an earlier run: under the ids of before newsletters had slugs, or by a config that read a mailbox
        # or asked for approval. Removed by id, never read back: a job stored before the jobs moved (digest.schedule:…
        # then, digest.cli.jobs:… now) cannot be.
        with contextlib.suppress(JobLookupError):
            scheduler.remove_job(stale)
    for runner in runners:
        newsletter = runner.settings.newsletter
        job = scheduler.get_job(job_id(runner.key, "weekly"))
        log.info(
            "scheduler started: %s: %s (%s); next run %s",
            runner.key,
            runner.newsletter.edition.slot.text,
            newsletter.schedule_zone,
            job.next_run_time if job else "?",
        )
    try:
        while not stop.wait(1.0):
            if lost.is_set():
                log.error("the scheduler lease was lost to another process; stopping")
                stop.set()
    finally:
        scheduler.shutdown(wait=True)
        log.info("scheduler stopped")
