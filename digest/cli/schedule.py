"""``digest schedule``: the long-lived process that sends the weekly issue on time."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
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

    Logs each fire, skip and send. SIGINT/SIGTERM stop it cleanly (a send in
    progress stops after the messages in flight; the next start resumes it).
    A second copy against the same database exits, naming the one running.
    """
    from digest.app.scheduling import Scheduler
    from digest.app.session import moment
    from digest.models import SlotState
    from digest.models.errors import LeaseHeldError, WindowError

    settings = obj.placing()
    try:
        now = moment(as_of, settings.newsletter.timezone) if as_of else datetime.now(UTC)
    except WindowError as exc:
        raise click.BadParameter(str(exc), param_hint="--as-of") from None
    if logging.getLogger().level > logging.INFO:
        logging.getLogger("digest").setLevel(logging.INFO)
    stop = threading.Event()
    runner = Scheduler(settings, obj.store, stop=stop)
    if list_only:
        zone = settings.newsletter.schedule_zone
        click.echo(f"cron {settings.newsletter.schedule.cron!r} in {zone}")
        for when in runner.fire_times(now, 5):
            click.echo(f"  {when.astimezone(zone):%a %Y-%m-%d %H:%M %Z}   {when.astimezone(UTC):%Y-%m-%d %H:%M} UTC")
        return
    lost = threading.Event()
    previous = {sig: signal.signal(sig, _stopper(stop)) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with runner.running(lost):
            if once:
                outcome = runner.catch_up(now)
                click.echo(
                    f"{outcome.slot.isoformat()}: {outcome.state}: {outcome.reason}"
                    if outcome
                    else "nothing to do: the latest slot is done"
                )
                if outcome is not None and outcome.state is SlotState.WAITING:
                    sys.exit(EXIT_TEMPFAIL)  # our side (the relay): a cron-driven setup runs --once again later
                if outcome is not None and outcome.state not in (SlotState.SENT, SlotState.SKIPPED):
                    sys.exit(EXIT_PROBLEMS)
                return
            _run_forever(obj, runner, stop, lost)
    except LeaseHeldError as exc:
        fail(f"{exc}; only one scheduler may run against a database", EXIT_PROBLEMS)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stopper(stop: threading.Event) -> Callable[[int, FrameType | None], None]:
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("%s: stopping", signal.Signals(signum).name)
        stop.set()

    return handler


def _add_jobs(scheduler: Any, obj: Context, runner: Scheduler) -> None:
    """The jobs `digest schedule` keeps in its job store (replacing those stored by an earlier start)."""
    from digest.app.scheduling import RETRY_MINUTES
    from digest.cli.jobs import BOUNCES_JOB, WEBHOOKS_JOB, bounce_tick, doctor_tick, draft_tick, fire, job_id, retry_tick, webhooks_tick

    install, newsletter = obj.settings.install, obj.settings.newsletter
    slug = newsletter.slug
    # Each row holds data only: the job's kind (its function's name) and the newsletter's slug (its argument).
    scheduler.add_job(fire, runner.trigger, args=(slug,), id=job_id(slug, "weekly"), name="weekly digest", replace_existing=True)
    scheduler.add_job(
        retry_tick,
        "interval",
        args=(slug,),
        minutes=RETRY_MINUTES,
        id=job_id(slug, "retry"),
        name="retry a held-up slot",
        replace_existing=True,
    )
    # The doctor's checks once a day, counted from the last stored run (a restarted scheduler keeps the rhythm),
    # stored for `digest status`.
    scheduler.add_job(
        doctor_tick,
        "interval",
        args=(slug,),
        hours=24,
        next_run_time=runner.next_setup_check(datetime.now(UTC)),
        id=job_id(slug, "doctor"),
        name="check the setup",
        replace_existing=True,
    )
    # Every minute, whether or not an endpoint exists yet: one is added with `digest webhooks add` while this runs.
    scheduler.add_job(webhooks_tick, "interval", minutes=1, id=WEBHOOKS_JOB, name="deliver webhooks", replace_existing=True)
    if newsletter.schedule.approval_required:
        runner.draft_due(datetime.now(UTC))
        scheduler.add_job(
            draft_tick, "interval", args=(slug,), minutes=5, id=job_id(slug, "draft"), name="draft for approval", replace_existing=True
        )
    if install.bounces.imap_host:
        scheduler.add_job(
            bounce_tick, "interval", minutes=install.bounces.poll_minutes, id=BOUNCES_JOB, name="bounce mailbox", replace_existing=True
        )


def _run_forever(obj: Context, runner: Scheduler, stop: threading.Event, lost: threading.Event) -> None:
    from apscheduler.jobstores.base import JobLookupError
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    from digest.cli.jobs import BOUNCES_JOB, LEGACY_JOB_IDS, RunnerExecutor, job_id

    install, newsletter = obj.settings.install, obj.settings.newsletter
    slug = newsletter.slug
    # Start-up catch-up: APScheduler does not retry a job that died mid-run.
    runner.catch_up(datetime.now(UTC))
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=obj.store.engine, tablename="apscheduler_jobs")},
        executors={"default": RunnerExecutor({slug: runner})},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": int(newsletter.schedule.misfire_grace) or 1},
        timezone=newsletter.schedule_zone,
    )
    _add_jobs(scheduler, obj, runner)
    scheduler.start()
    unwanted = [*LEGACY_JOB_IDS, *([] if install.bounces.imap_host else [BOUNCES_JOB])]
    unwanted += [] if newsletter.schedule.approval_required else [job_id(slug, "draft")]
    for stale in unwanted:
        # Stored by an earlier run: under the ids of before newsletters had slugs, or by a config that read a mailbox
        # or asked for approval. Removed by id, never read back: a job stored before the jobs moved (digest.schedule:…
        # then, digest.cli.jobs:… now) cannot be.
        with contextlib.suppress(JobLookupError):
            scheduler.remove_job(stale)
    job = scheduler.get_job(job_id(slug, "weekly"))
    log.info(
        "scheduler started: %s (%s); next run %s", newsletter.schedule.cron, newsletter.schedule_zone, job.next_run_time if job else "?"
    )
    try:
        while not stop.wait(1.0):
            if lost.is_set():
                log.error("the scheduler lease was lost to another process; stopping")
                stop.set()
    finally:
        scheduler.shutdown(wait=True)
        log.info("scheduler stopped")
