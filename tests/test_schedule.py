"""The scheduler, driven with a controllable clock: ``now`` is passed in, nothing sleeps for real."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from digest.app.scheduling import Scheduler
from digest.app.status import scheduler_status
from digest.config import ScheduleOptions, Scope, load_settings
from digest.issue.slots import latest_slot, make_trigger, next_fire_times
from digest.models import SlotState, Window, issue_id
from digest.store import Store

from conftest import LONDON
from mailserver import SmtpServer
from support.project import PROJECT
from support.schedule import SLOT, schedule_config
from support.settings import overridden

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def scheduled(delivery_settings: Callable[..., Scope], smtp_server: SmtpServer) -> Callable[..., tuple[Scheduler, Store]]:
    def make(count: int = 3, **schedule: object) -> tuple[Scheduler, Store]:
        project = load_settings(PROJECT / "config" / "digest.toml", environ={})
        base = delivery_settings(smtp_server.port)
        options = {"cron": "0 9 * * mon", "misfire_grace": 6 * 3600.0, "min_posts": 1} | schedule
        settings = overridden(
            base,
            root=project.install.root,
            sources=project.newsletter.sources,
            themes=project.newsletter.themes,
            schedule=ScheduleOptions(**options),
        )
        store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
        for n in range(count):
            store.subscribers.add(f"s{n}@example.org")
        return Scheduler(settings, store), store

    return make


def test_on_time_run_sends_the_issue_for_the_window_ending_at_the_slot(
    scheduled: Callable[..., tuple[Scheduler, Store]], smtp_server: SmtpServer
) -> None:
    runner, store = scheduled()
    outcome = runner.catch_up(SLOT)
    assert outcome is not None and outcome.state == "sent"
    issue = store.issues.load(outcome.issue_id or "")
    assert issue is not None and (issue.window_start, issue.window_end) == (SLOT - timedelta(days=7), SLOT)
    assert len(smtp_server.handler.received) == 3
    assert runner.catch_up(SLOT + timedelta(minutes=5)) is None  # done: nothing more
    assert store.runs.get(SLOT).state == "sent"  # type: ignore[union-attr]


def test_a_late_run_within_grace_sends_the_same_issue_as_an_on_time_one(
    scheduled: Callable[..., tuple[Scheduler, Store]], smtp_server: SmtpServer
) -> None:
    runner, store = scheduled()
    late = runner.catch_up(SLOT + timedelta(hours=5, minutes=59))
    assert late is not None and late.state == "sent"
    on_time_id = issue_id(Window(start=SLOT - timedelta(days=7), end=SLOT), LONDON, runner.settings.newsletter.slug)
    assert late.issue_id == on_time_id  # the window ends at the slot, not at the late run time
    issue = store.issues.load(on_time_id)
    assert issue is not None and issue.window_end == SLOT


def test_late_beyond_grace_is_recorded_as_missed_and_sends_nothing(
    scheduled: Callable[..., tuple[Scheduler, Store]], smtp_server: SmtpServer
) -> None:
    runner, store = scheduled()
    outcome = runner.catch_up(SLOT + timedelta(hours=7))
    assert outcome is not None and outcome.state == "missed"
    assert "beyond the 6.0 h grace period" in (outcome.reason or "")
    assert smtp_server.handler.received == []
    assert store.runs.get(SLOT).state == "missed"  # type: ignore[union-attr]
    assert store.ledger.status() == []  # no issue was built or stored

    status = scheduler_status(runner.settings.newsletter, store, SLOT + timedelta(hours=7))  # one typed answer (issue 23)
    assert status.last_run is not None and status.last_run.state is SlotState.MISSED
    assert status.next_run == datetime(2025, 3, 10, 9, 0, tzinfo=LONDON) and not status.running


def test_status_names_the_command_that_sends_a_missed_slots_issue(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """A missed slot (no issue was built) is shown with the command that sends its issue by hand, as the waiting and
    abandoned ones are; pasted, it sends the very issue the scheduler would have sent for that slot."""
    from support.cli import cli

    config = schedule_config(tmp_path, smtp_server.port)
    settings = load_settings(config, environ={})
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    store.subscribers.add("s0@example.org")
    runner = Scheduler(settings, store)
    assert runner.catch_up(SLOT + timedelta(hours=7)).state is SlotState.MISSED  # type: ignore[union-attr]
    said = cli(config, "status")
    assert said.returncode == 0, said.stderr
    [line] = [line for line in said.stdout.splitlines() if "to send it now:" in line]
    command = line.split("to send it now: ", 1)[1]
    assert command == f"digest --config {config} send --as-of 2025-03-03T09:00:00+00:00"
    sent = cli(config, *command.split()[3:], "--yes")
    assert sent.returncode == 0, sent.stderr
    slot_issue = runner.newsletter.slot_target(SLOT).issue_id
    assert [item.recipient for item in smtp_server.handler.received] == ["s0@example.org"]
    assert [(d.state, d.issue_id) for d in store.ledger.of(slot_issue)] == [("sent", slot_issue)]  # the slot's own issue
    store.close()


def test_a_partial_slot_past_its_grace_is_abandoned_and_left_to_an_operator(
    scheduled: Callable[..., tuple[Scheduler, Store]], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    first_runner, store = scheduled()
    settings = first_runner.settings
    settings = overridden(
        settings,
        config_path=tmp_path / "digest.toml",
        delivery=dataclasses.replace(settings.install.delivery, max_wait=0.0, retry_base=0.01),
    )
    runner = Scheduler(settings, store)
    smtp_server.handler.data["s1@example.org"].append("451 4.3.0 busy")
    assert runner.catch_up(SLOT).state == "partial"  # type: ignore[union-attr]
    late = runner.catch_up(SLOT + timedelta(hours=7))
    assert late is not None and late.state is SlotState.ABANDONED and late.issue_id is not None
    # The reason says why; the command that finishes it is the CLI's to write (`digest status` prints it under
    # the slot and under the issue, whose deliveries wait): the app layer names no command-line flag (issue 23).
    assert "--" not in (late.reason or "") and store.ledger.outstanding(late.issue_id).deferred == 1
    status = scheduler_status(settings.newsletter, store, SLOT + timedelta(hours=7))
    assert status.last_run is not None and status.last_run.state is SlotState.ABANDONED and status.last_run.issue_id == late.issue_id
    assert runner.catch_up(SLOT + timedelta(hours=8)) is None  # recorded once, then left to the operator


def test_a_slot_sent_by_hand_is_recorded_as_sent_not_missed(
    scheduled: Callable[..., tuple[Scheduler, Store]], smtp_server: SmtpServer
) -> None:
    runner, _ = scheduled()
    newsletter = runner.newsletter
    plan = newsletter.plan_send(newsletter.slot_target(SLOT), SLOT)
    assert newsletter.send(plan, SLOT) is not None  # what `digest send` does for that slot
    outcome = runner.catch_up(SLOT + timedelta(hours=7))
    assert outcome is not None and outcome.state == "sent" and outcome.reason == "sent outside the scheduler (digest send)"
    assert outcome.issue_id == plan.issue.id and len(smtp_server.handler.received) == 3


def test_firing_twice_sends_nothing_twice(scheduled: Callable[..., tuple[Scheduler, Store]], smtp_server: SmtpServer) -> None:
    runner, _ = scheduled()
    first = runner.run_slot(SLOT, SLOT)
    second = runner.run_slot(SLOT, SLOT + timedelta(seconds=30))
    assert first.state == second.state == "sent"
    assert first.issue_id == second.issue_id
    assert set(smtp_server.handler.counts().values()) == {1} and len(smtp_server.handler.received) == 3


def test_an_empty_week_is_skipped_and_recorded(scheduled: Callable[..., tuple[Scheduler, Store]], smtp_server: SmtpServer) -> None:
    runner, store = scheduled(min_posts=1)
    empty_slot = datetime(2025, 6, 2, 9, 0, tzinfo=LONDON)
    outcome = runner.catch_up(empty_slot)
    assert outcome is not None and outcome.state == "skipped"
    assert outcome.reason == "0 post(s) in the window, fewer than schedule.min_posts = 1; no email sent"
    assert smtp_server.handler.received == [] and store.issues.load(outcome.issue_id or "") is None
    few, _ = scheduled(min_posts=50)
    assert few.catch_up(SLOT).state == "skipped"  # type: ignore[union-attr]


def test_a_partial_send_is_resumed_at_the_next_start_within_grace(
    scheduled: Callable[..., tuple[Scheduler, Store]], smtp_server: SmtpServer
) -> None:
    first_runner, store = scheduled()
    settings = first_runner.settings
    runner = Scheduler(overridden(settings, delivery=dataclasses.replace(settings.install.delivery, max_wait=0.0, retry_base=0.01)), store)
    smtp_server.handler.data["s1@example.org"].append("451 4.3.0 busy")
    first = runner.catch_up(SLOT)
    assert first is not None and first.state == "partial" and "1 deferred" in (first.reason or "")
    time.sleep(0.05)  # the retry comes due (retry_base 10 ms)
    resumed = runner.catch_up(SLOT + timedelta(hours=1))
    assert resumed is not None and resumed.state == "sent"
    assert smtp_server.handler.counts() == {"s0@example.org": 1, "s1@example.org": 1, "s2@example.org": 1}


@pytest.mark.parametrize(
    ("zone", "fridays"),
    [
        (LONDON, ["2026-03-20", "2026-03-27", "2026-04-03", "2026-10-16", "2026-10-23", "2026-10-30", "2026-11-06"]),
        (NEW_YORK, ["2026-03-06", "2026-03-13", "2026-03-20", "2026-10-23", "2026-10-30", "2026-11-06", "2026-11-13"]),
    ],
)
def test_clock_change_weeks_fire_once_at_nine_local(delivery_settings: Callable[..., Scope], zone: ZoneInfo, fridays: list[str]) -> None:
    settings = overridden(delivery_settings(), schedule=ScheduleOptions(cron="0 9 * * fri", timezone=zone))
    trigger = make_trigger(settings.newsletter)
    start = datetime.fromisoformat(fridays[0]).replace(tzinfo=zone) - timedelta(days=1)
    fires = next_fire_times(trigger, start, 40)
    wanted = {datetime.fromisoformat(day).date() for day in fridays}
    chosen = [f for f in fires if f.astimezone(zone).date() in wanted]
    assert [f.astimezone(zone).date().isoformat() for f in chosen] == fridays  # each Friday exactly once
    assert all((f.astimezone(zone).hour, f.astimezone(zone).minute) == (9, 0) for f in chosen)
    offsets = {f.astimezone(zone).utcoffset() for f in chosen}
    assert len(offsets) == 2  # both sides of a change are in the list
    for fire in chosen:
        assert latest_slot(trigger, fire + timedelta(minutes=30)) == fire  # a late start finds that same slot


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "SMTP_", "DATABASE_URL"))}
    env["DIGEST_SECRET_KEY"] = "test-secret-key-for-the-suite-0123456789"
    return env


@pytest.mark.slow(5)
def test_two_schedulers_against_one_database(tmp_path: Path, smtp_server: SmtpServer, database_url: str) -> None:
    """On SQLite and on PostgreSQL (APScheduler's job store in the same database)."""
    config = schedule_config(tmp_path, smtp_server.port, database_url)
    command = [sys.executable, "-m", "digest", "--config", str(config), "schedule"]
    first = subprocess.Popen(command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        settings = load_settings(config, environ={})
        store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
        deadline = time.monotonic() + 30
        while store.leases.holder("scheduler") is None and time.monotonic() < deadline:
            time.sleep(0.1)
        second = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=60)
        assert second.returncode == 1
        assert "the scheduler is already running" in second.stderr and "only one scheduler" in second.stderr
        # The job is kept in the project's database by APScheduler's job store.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with store.engine.connect() as conn:
                import sqlalchemy as sa

                if sa.inspect(conn).has_table("apscheduler_jobs") and conn.execute(sa.text("select id from apscheduler_jobs")).all():
                    break
            time.sleep(0.1)
        with store.engine.connect() as conn:
            # The weekly job, the tick that tries again a slot our side held up (issue 31), the doctor's daily run (issue 37):
            # the newsletter's, its slug naming them; and the install's webhooks delivery pass (issue 36).
            slug = settings.newsletter.slug
            assert sorted(row[0] for row in conn.execute(sa.text("select id from apscheduler_jobs"))) == [
                f"{slug}:doctor",
                f"{slug}:retry",
                f"{slug}:weekly",
                "webhooks",
            ]
        health = subprocess.run([*command[:-1], "status", "--json"], env=_env(), capture_output=True, text=True, timeout=60)
        scheduler = json.loads(health.stdout)["scheduler"]
        assert scheduler["lease_holder"]["owner"].split(":")[1] == str(first.pid)
        assert scheduler["next_run"] is not None and scheduler["cron"] == "0 9 * * mon"
        assert set(json.loads(health.stdout)["deliveries"]) == {"pending", "sending", "deferred", "failed"}
    finally:
        first.send_signal(signal.SIGTERM)
        _, stderr = first.communicate(timeout=60)
    assert first.returncode == 0, stderr
    assert "scheduler stopped" in stderr
    assert store.leases.holder("scheduler") is None  # released on a clean stop


@pytest.mark.slow(9)
def test_a_crash_mid_send_is_resumed_by_the_next_start(tmp_path: Path, smtp_server: SmtpServer, database_url: str) -> None:
    from support.project import fill

    connections = 2
    config = schedule_config(tmp_path, smtp_server.port, database_url, connections=connections, rate=200)
    store = fill(config, 600)  # the subscribers; the scheduler builds and freezes the slot's own issue
    as_of = (SLOT + timedelta(minutes=1)).isoformat()
    process = subprocess.Popen(
        [sys.executable, "-m", "digest", "--config", str(config), "schedule", "--once", "--as-of", as_of],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while len(smtp_server.handler.received) < 50 and time.monotonic() < deadline:
        time.sleep(0.02)
    process.kill()
    process.wait(timeout=30)
    assert store.runs.get(SLOT).state == "running"  # type: ignore[union-attr]  # what the crash left behind
    assert len(smtp_server.handler.received) < 600
    restart = subprocess.run(
        [
            sys.executable,
            "-m",
            "digest",
            "--config",
            str(config),
            "schedule",
            "--once",
            "--as-of",
            (SLOT + timedelta(minutes=20)).isoformat(),
        ],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert restart.returncode == 0, restart.stderr
    assert ": sent: 600 sent" in restart.stdout
    counts = smtp_server.handler.counts()
    assert len(counts) == 600 and sum(counts.values()) - 600 <= connections


def _stored_jobs(url: str) -> dict[str, tuple[str, tuple[object, ...]]]:
    """The job store's rows: id → the textual reference of the callable it runs, and its arguments."""
    import pickle

    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("select id, job_state from apscheduler_jobs")).all()
    engine.dispose()
    return {row[0]: (pickle.loads(row[1])["func"], tuple(pickle.loads(row[1])["args"])) for row in rows}


def test_jobs_stored_before_the_jobs_moved_are_replaced_not_read(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """An install upgraded across the house's second pass: its job store names ``digest.schedule:…``, a module that
    is gone (the jobs are ``digest.cli.jobs`` now), under the ids of before newsletters had slugs. The scheduler
    starts, stores its jobs again under the newsletter's ids, holding its slug, and removes the old rows by id:
    reading one back would raise on the missing module."""
    import pickle

    import sqlalchemy as sa
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    from digest.cli.jobs import bounce_tick, fire

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    config = schedule_config(tmp_path, smtp_server.port, url)
    slug = load_settings(config, environ={}).newsletter.slug
    earlier = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=url, tablename="apscheduler_jobs")})
    earlier.add_job(fire, "interval", hours=1, id="weekly-digest")
    earlier.add_job(bounce_tick, "interval", hours=1, id="weekly-digest-bounces")
    earlier.start(paused=True)
    earlier.shutdown()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for job_id, state in conn.execute(sa.text("select id, job_state from apscheduler_jobs")).all():
            old = pickle.loads(state)
            old["func"] = old["func"].replace("digest.cli.jobs:", "digest.schedule:")
            conn.execute(sa.text("update apscheduler_jobs set job_state = :s where id = :i"), {"s": pickle.dumps(old), "i": job_id})
    engine.dispose()
    assert _stored_jobs(url) == {
        "weekly-digest": ("digest.schedule:fire", ()),
        "weekly-digest-bounces": ("digest.schedule:bounce_tick", ()),
    }

    command = [sys.executable, "-m", "digest", "--config", str(config), "schedule"]
    running = subprocess.Popen(command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while "weekly-digest" in _stored_jobs(url) and time.monotonic() < deadline and running.poll() is None:
            time.sleep(0.1)
        assert running.poll() is None, running.communicate()[1]
        assert _stored_jobs(url) == {
            f"{slug}:weekly": ("digest.cli.jobs:fire", (slug,)),
            f"{slug}:retry": ("digest.cli.jobs:retry_tick", (slug,)),
            f"{slug}:doctor": ("digest.cli.jobs:doctor_tick", (slug,)),
            "webhooks": ("digest.cli.jobs:webhooks_tick", ()),
        }
    finally:
        running.send_signal(signal.SIGTERM)
        _, stderr = running.communicate(timeout=60)
    assert running.returncode == 0 and "Traceback" not in stderr, stderr


def test_a_stored_job_read_back_after_a_restart_runs_on_its_newsletters_runner(
    scheduled: Callable[..., tuple[Scheduler, Store]], smtp_server: SmtpServer
) -> None:
    """A job row holds data only (its kind and the newsletter's slug): a later process reads it back and its
    executor runs that kind's work on the runner it was given for that slug; no module holds a scheduler."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    from digest.cli.jobs import RunnerExecutor, fire, job_id

    runner, store = scheduled()
    slug = runner.settings.newsletter.slug
    earlier = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(engine=store.engine, tablename="apscheduler_jobs")})
    earlier.add_job(fire, runner.trigger, args=(slug,), id=job_id(slug, "weekly"))
    earlier.start(paused=True)
    earlier.shutdown()

    executor = RunnerExecutor({slug: runner})
    later = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(engine=store.engine, tablename="apscheduler_jobs")})
    later.start(paused=True)
    try:
        job = later.get_job(job_id(slug, "weekly"))  # read back from its row
        assert job is not None and job.func is fire and tuple(job.args) == (slug,)
        executor.start(later, "default")
        now = datetime.now(UTC)
        executor.submit_job(job, [now])
        executor.shutdown(wait=True)
    finally:
        later.shutdown()
    slot = latest_slot(runner.trigger, now)
    assert slot is not None and store.runs.get(slot) is not None  # the runner caught up on the latest slot
