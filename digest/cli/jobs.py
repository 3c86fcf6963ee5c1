"""The scheduler's jobs: what APScheduler runs at each fire time and tick, with no module state.

APScheduler's SQLAlchemyJobStore keeps a job as a textual reference to a module-level callable and its pickled
arguments, and reads both back after a restart. So a stored job holds only data: the reference to one of the
functions below, which names the kind of job (``digest.cli.jobs:fire``; ``digest.schedule:fire`` before the house's
second pass: ``digest schedule`` stores its jobs again at each start, and removes by id the ones it no longer
runs), and the slug of the newsletter it is for. Which live :class:`~digest.app.scheduling.Scheduler` does the
work is the business of the process that runs the jobs: ``digest schedule`` builds a :class:`RunnerExecutor`
holding its runners (one per newsletter) and hands it to APScheduler, and the executor calls the runner's
method for the job's kind in place of the stored function. Called any other way, the functions only say so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from apscheduler.executors.pool import ThreadPoolExecutor

if TYPE_CHECKING:
    from digest.app.scheduling import Scheduler

log = logging.getLogger(__name__)
BOUNCES_JOB = "bounces"  # the install's bounce mailbox: one job, whatever the newsletters
WEBHOOKS_JOB = "webhooks"  # the install's webhook deliveries: one job too
# The job ids digest stored before a newsletter had a slug: removed by id at start (a row is never read back).
LEGACY_JOB_IDS = ("weekly-digest", "weekly-digest-retry", "weekly-digest-draft", "weekly-digest-bounces")


def job_id(slug: str, kind: str) -> str:
    """A newsletter's job of ``kind`` ("weekly", "retry", "draft"): one row each in the job store. ``slug``: the
    runner's key, the newsletter's slug for its first edition, ``<slug>:<edition>`` for another (``<slug>:monthly:weekly``
    fires the monthly's slots: "weekly" names the kind of job, kept so a running install's stored ids stay)."""
    return f"{slug}:{kind}"


def _unbound(kind: str, slug: str) -> None:
    log.error("the %s job of %r ran outside `digest schedule` (no scheduler to run it): nothing done", kind, slug)


def fire(slug: str = "") -> None:
    """The weekly job: catch up on the latest slot, which at fire time is this one."""
    _unbound("weekly", slug)


def draft_tick(slug: str = "") -> None:
    """Makes the coming slot's draft when it is due (approval required only)."""
    _unbound("draft", slug)


def retry_tick(slug: str = "") -> None:
    """Tries again a slot our side held up (the relay down), while within its grace period."""
    _unbound("retry", slug)


def bounce_tick(slug: str = "") -> None:
    """Reads the bounce mailbox (every bounces.poll_minutes, when IMAP_HOST is set)."""
    _unbound("bounces", slug)


def doctor_tick(slug: str = "") -> None:
    """Runs the doctor's checks (DNS, the public app, the mailbox) once a day and stores what they found."""
    _unbound("doctor", slug)


def webhooks_tick(slug: str = "") -> None:
    """Delivers the webhooks that are due (every minute): the outbox's events, retried with backoff."""
    _unbound("webhooks", slug)


# What each kind of job does with a newsletter's runner.
WORK: dict[Callable[..., None], Callable[[Scheduler], object]] = {
    fire: lambda runner: runner.catch_up(datetime.now(UTC)),
    draft_tick: lambda runner: runner.draft_due(datetime.now(UTC)),
    retry_tick: lambda runner: runner.retry_waiting(datetime.now(UTC)),
    bounce_tick: lambda runner: runner.fetch_bounces(),
    doctor_tick: lambda runner: runner.check_setup(datetime.now(UTC)),
    webhooks_tick: lambda runner: runner.deliver_webhooks(datetime.now(UTC)),
}


class RunnerExecutor(ThreadPoolExecutor):  # type: ignore[misc]  # APScheduler has no types
    """APScheduler's thread pool, running each stored job as its kind's work on the runner of the job's newsletter
    (``runners``: slug → runner; the install's job, stored without a slug, on any of them)."""

    def __init__(self, runners: Mapping[str, Scheduler]) -> None:
        super().__init__()
        self.runners = dict(runners)

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        # APScheduler's own run_job still runs it: misfire grace, events and the max_instances count as for any job.
        super()._do_submit_job(_Bound(job, self._work(job)), run_times)

    def _work(self, job: Any) -> Callable[[], None]:
        slug = job.args[0] if job.args else ""
        # No slug: the install's own job (the bounce mailbox, the webhooks), which any runner does.
        runner = self.runners.get(slug) if slug else next(iter(self.runners.values()), None)
        work = WORK.get(job.func)
        if runner is None or work is None:
            return lambda: job.func(*job.args, **job.kwargs)  # says it ran with no scheduler: a job of no runner here

        def run() -> None:
            work(runner)

        return run


class _Bound:
    """A stored job as APScheduler's run_job sees it, its function the runner's work (its id, grace and name kept)."""

    def __init__(self, job: Any, work: Callable[[], None]) -> None:
        self._job = job
        self.func = work
        self.args: tuple[object, ...] = ()
        self.kwargs: dict[str, object] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._job, name)

    def __str__(self) -> str:
        return str(self._job)
