"""Several senders on one issue (``digest send --worker``): PostgreSQL, real processes, a real SMTP sink.

The PostgreSQL tests skip, saying why, where no server answers (DIGEST_TEST_POSTGRES_URL).
"""

from __future__ import annotations

import json
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from digest.app.issues import Newsletter
from digest.config import ConfigError, Scope, load_settings, theme_key
from digest.mail.backends import get_backend
from digest.models import DeliveryState, SendReport
from digest.models.errors import LeaseHeldError, StoreError, WorkersAtWorkError, WorkersNeedPostgresError
from digest.send.delivery import compile_issue, send_issue
from digest.send.workers import work_on_issue
from digest.store import Store, now_utc
from digest.store.schema import deliveries, send_workers
from digest.web.metrics import create_metrics_app

from conftest import LiveServer, http_request, write
from mailserver import SmtpServer
from support.cli import cli, popen
from support.delivery import setup_store
from support.project import ISSUE, fill, make_config

ISSUE_ID = "2026-11-20-abcdef"


def settings_on(make_settings: Callable[..., Scope], url: str, port: int | None = None, **delivery: object) -> Scope:
    """The install and newsletter for a send to the sink on ``port`` (else the outbox) with the store at ``url``."""
    from digest.config import DeliveryOptions, SmtpOptions

    options = {"backend": "smtp" if port else "outbox", "connections": 2, "retry_base": 0.05, "max_wait": 10.0} | delivery
    # The test's own outbox folder (make_settings puts it under tmp_path); the default, "outbox", is the project's.
    options.setdefault("outbox_dir", make_settings().install.delivery.outbox_dir)
    return make_settings(
        database_url=url,
        secret_key="test-secret-key-for-the-suite-0123456789",
        base_url="https://news.example.org",
        delivery=DeliveryOptions(**options),  # type: ignore[arg-type]
        smtp=SmtpOptions(host="127.0.0.1", port=port or 25, security="none", timeout=2.0),
    )


def worker_send(settings: Scope, store: Store) -> SendReport:
    issue = store.issues.load(ISSUE_ID)
    assert issue is not None
    return work_on_issue(store, compile_issue(issue, settings), get_backend(settings.install), settings.install.delivery)


@pytest.mark.slow(48)
@pytest.mark.parametrize("seed", [20261128])
def test_three_workers_killed_at_random_lose_nobody(tmp_path: Path, smtp_server: SmtpServer, postgres_url: str, seed: int) -> None:
    """The workers' crash test: 5,000 subscribers, three `send --worker` processes on one PostgreSQL database
    and one SMTP sink; two of them are SIGKILLed at random moments and started again, twice each. Nobody is
    lost, duplicates stay within kills × connections, and a worker started afterwards sends nothing."""
    rng = random.Random(seed)
    connections = 2
    config = make_config(tmp_path, smtp_server.port, database=postgres_url, connections=connections, claim_timeout=2, max_wait=30)
    store = fill(config, 5000)
    args = ("send", "--worker", "--issue", ISSUE, "--yes")
    workers = [popen(config, *args) for _ in range(3)]
    kills = 0

    def handled_by(process: subprocess.Popen[str]) -> int:
        """Rows the worker process has claimed and started (its id is host:pid:nonce)."""
        with store.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count()).where(
                        deliveries.c.worker.like(f"{socket.gethostname()}:{process.pid}:%"), deliveries.c.state != DeliveryState.PENDING
                    )
                ).scalar_one()
            )

    for _ in range(2):  # two rounds: workers 0 and 1 die at random moments of their sending, and are started again
        for victim in (0, 1):
            goal = rng.randint(20, 300)
            deadline = time.monotonic() + 60
            while handled_by(workers[victim]) < goal and time.monotonic() < deadline and workers[victim].poll() is None:
                time.sleep(0.02)  # each look counts ledger rows: every 5 ms, they cost the server 0.9 s of CPU
            time.sleep(rng.uniform(0, 0.05))
            if workers[victim].poll() is not None:
                continue
            workers[victim].kill()
            workers[victim].wait(timeout=30)
            kills += 1
            workers[victim] = popen(config, *args)
    results = [(process.wait(timeout=300), process.communicate()) for process in workers]
    for code, (_, stderr) in results:
        assert code == 0, stderr
        assert "Traceback" not in stderr, stderr
    counts = smtp_server.handler.counts()
    assert len(counts) == 5000  # nobody lost
    duplicates = sum(n - 1 for n in counts.values())
    print(f"worker crash test: {kills} kills, {duplicates} duplicate(s), bound {kills * connections}")
    assert kills >= 3
    assert duplicates <= kills * connections, f"{duplicates} duplicates after {kills} kills"
    ledger = store.ledger.status([ISSUE])[0].counts
    assert ledger[DeliveryState.SENT] == 5000 and ledger[DeliveryState.SENDING] == ledger[DeliveryState.PENDING] == 0
    with store.engine.connect() as conn:
        senders = conn.execute(sa.select(sa.func.count(sa.distinct(deliveries.c.worker)))).scalar_one()
    assert senders >= 3  # the work was shared (each row records the worker that sent it)
    # The killed workers were signed off by the others (found walking the issue: they stayed "silent" in /metrics).
    assert store.workers.running(2) == (0, 0)
    late = cli(config, *args)
    assert late.returncode == 0, late.stderr
    assert "Nothing to send" in late.stdout
    assert len(smtp_server.handler.received) == 5000 + duplicates  # the late worker sent nothing


def test_a_worker_taken_for_dead_changes_nothing_and_its_rows_go_to_another(
    smtp_server: SmtpServer, make_settings: Callable[..., Scope], postgres_url: str
) -> None:
    """A worker paused past delivery.claim_timeout: another claims its rows (its in-flight one back to pending,
    to be sent again), and every late write of the paused one changes nothing and stops it."""
    settings = settings_on(make_settings, postgres_url, smtp_server.port)
    store = setup_store(settings, 10)
    store.ledger.enqueue(ISSUE_ID)
    store.workers.register("host:1:a", ISSUE_ID)
    first = store.workers.claim(ISSUE_ID, "host:1:a", 30, 4)
    assert [d.subscriber_id for d in first.due] == [1, 2, 3, 4]
    paused = store.ledger.writer(worker="host:1:a")
    paused.mark_sending(ISSUE_ID, 1)  # in flight when it was paused
    # Another worker sees no rows of a live one …
    store.workers.register("host:2:b", ISSUE_ID)
    assert [d.subscriber_id for d in store.workers.claim(ISSUE_ID, "host:2:b", 30, 3).due] == [5, 6, 7]
    # … until its heartbeat is older than the timeout.
    with store.engine.begin() as conn:
        conn.execute(sa.update(send_workers).where(send_workers.c.id == "host:1:a").values(heartbeat_at=now_utc() - timedelta(seconds=31)))
    assert store.workers.running(30) == (1, 1)
    server = LiveServer(create_metrics_app(store, None, host="127.0.0.1", claim_timeout=30, key_of=theme_key))
    try:
        code, _, body = http_request("GET", f"{server.base}/metrics")
    finally:
        server.stop()
    samples = {(s.name, tuple(s.labels.items())): s.value for f in text_string_to_metric_families(body) for s in f.samples}
    assert code == 200 and samples[("digest_send_workers", (("state", "silent"),))] == 1
    assert samples[("digest_send_workers", (("state", "alive"),))] == 1
    taken = store.workers.claim(ISSUE_ID, "host:2:b", 30, 10)
    assert [d.subscriber_id for d in taken.due] == [1, 2, 3, 4, 8, 9, 10] and taken.reclaimed == 1
    row = {d.subscriber_id: d for d in store.ledger.of(ISSUE_ID)}[1]
    assert row.state == DeliveryState.PENDING and "resent" in (row.last_reply or "")
    with pytest.raises(StoreError, match="no longer claimed by this worker"):
        paused.mark_sending(ISSUE_ID, 2)
    paused.conn.close()
    # A one-process send refuses while a worker is alive, saying which issue and which workers (a kind with its
    # data: the CLI names the command that joins them, tested in test_status_tells_to_join_the_workers_while_they_are_alive).
    issue = store.issues.load(ISSUE_ID)
    assert issue is not None
    with pytest.raises(WorkersAtWorkError) as refused:
        send_issue(store, compile_issue(issue, settings), get_backend(settings.install), settings.install.delivery)
    assert isinstance(refused.value, LeaseHeldError) and refused.value.issue_id == ISSUE_ID and refused.value.workers == ("host:2:b",)
    assert store.workers.stop("host:2:b") == 10  # its claims, not yet attempted, are free again at once
    report = send_issue(store, compile_issue(issue, settings), get_backend(settings.install), settings.install.delivery)
    assert report.complete and report.recovered == 0
    assert len(smtp_server.handler.counts()) == 10 and set(smtp_server.handler.counts().values()) == {1}


@pytest.mark.slow(4)
def test_workers_may_join_makes_every_send_a_worker(
    smtp_server: SmtpServer, make_settings: Callable[..., Scope], postgres_url: str
) -> None:
    settings = settings_on(make_settings, postgres_url, smtp_server.port, workers_may_join=True, claim_timeout=5)
    store = setup_store(settings, 30)
    newsletter = Newsletter(settings, store)
    plan = newsletter.plan_stored(ISSUE_ID, now_utc(), force=True)
    report = newsletter.send(plan, now_utc())
    assert report is not None and report.complete and report.sent == 30
    with store.engine.connect() as conn:
        workers = conn.execute(sa.select(send_workers.c.id, send_workers.c.stopped_at)).all()
        marked = conn.execute(sa.select(sa.func.count()).where(deliveries.c.worker == workers[0][0])).scalar_one()
    assert len(workers) == 1 and workers[0][1] is not None and marked == 30
    assert len(smtp_server.handler.counts()) == 30 and set(smtp_server.handler.counts().values()) == {1}


def test_workers_on_sqlite_are_refused_with_the_fix(tmp_path: Path, make_settings: Callable[..., Scope]) -> None:
    settings = settings_on(make_settings, f"sqlite:///{tmp_path / 'w.sqlite'}")
    store = setup_store(settings, 2)
    with pytest.raises(WorkersNeedPostgresError, match="need PostgreSQL"):
        worker_send(settings, store)
    config = make_config(tmp_path, None)
    refused = cli(config, "send", "--worker", "--issue", ISSUE, "--yes")
    assert refused.returncode == 2 and "need PostgreSQL" in refused.stderr and "send without --worker" in refused.stderr
    stray = cli(config, "send", "--wait", "5", "--dry-run")  # found walking the issue: --wait alone was ignored
    assert stray.returncode == 2 and "add --worker --join" in stray.stderr
    write(config, config.read_text(encoding="utf-8") + "workers_may_join = true\n")  # the last table is [delivery]
    with pytest.raises(ConfigError, match=r"delivery\.workers_may_join: several senders on one issue need PostgreSQL"):
        load_settings(config, environ={})


def _wait_for_received(smtp_server: SmtpServer, count: int) -> None:
    deadline = time.monotonic() + 90
    while len(smtp_server.handler.received) < count:
        assert time.monotonic() < deadline, f"the sink got {len(smtp_server.handler.received)} messages, not {count}"
        time.sleep(0.01)


@pytest.mark.slow(25)
def test_a_late_worker_joins_a_send_in_progress(tmp_path: Path, smtp_server: SmtpServer, postgres_url: str) -> None:
    """A worker started while another is mid-send shares the issue; each prints its own counts, together they send each once.

    The first worker is paused (SIGSTOP) once it has sent 50 until the second has sent 20 of its own: on a loaded
    machine the second's start-up alone can outlast a whole send at this rate, which made a timed start flaky (CI saw
    [600, 0]). A paused worker is one that is slow, which is what a worker may always be; the claim timeout is long
    enough that the pause never makes it dead (a worker that wakes past it is the lease tests' business).
    """
    config = make_config(tmp_path, smtp_server.port, database=postgres_url, connections=2, claim_timeout=60, rate=60)
    fill(config, 600)
    first = popen(config, "send", "--worker", "--issue", ISSUE, "--yes")
    _wait_for_received(smtp_server, 50)
    first.send_signal(signal.SIGSTOP)
    try:
        time.sleep(0.5)  # what the first had in flight lands before counting the second's
        second = popen(config, "send", "--worker", "--issue", ISSUE, "--yes")
        _wait_for_received(smtp_server, len(smtp_server.handler.received) + 20)
    finally:
        first.send_signal(signal.SIGCONT)
    outputs = [(p.wait(timeout=120), p.communicate()) for p in (first, second)]
    sent = []
    for code, (stdout, stderr) in outputs:
        assert code == 0, stderr
        line = next(line for line in stdout.splitlines() if line.startswith("This run"))
        sent.append(int(line.split()[2]))
    assert all(n > 0 for n in sent) and sum(sent) == 600, sent
    counts = smtp_server.handler.counts()
    assert len(counts) == 600 and set(counts.values()) == {1}
    # `digest status` says who sent what: each worker, stopped, with its share.
    status = cli(config, "status", "--issue", ISSUE)
    line = next(line for line in status.stdout.splitlines() if line.strip().startswith("workers:"))
    assert line.count("(stopped)") == 2 and sorted(int(part.split()[-2]) for part in line.split(";")) == sorted(sent), line
    report = json.loads(cli(config, "status", "--json", "--issue", ISSUE).stdout)
    assert sorted(w["sent"] for w in report["issues"][0]["workers"]) == sorted(sent)
    assert not any(w["alive"] for w in report["issues"][0]["workers"])


@pytest.mark.slow(20)
def test_join_waits_for_the_scheduled_send_and_never_starts_one(tmp_path: Path, smtp_server: SmtpServer, postgres_url: str) -> None:
    """`send --worker --join` (another host's cron at the slot's time): with no send started it waits, then sends
    nothing; once a send starts it works on it with the others; after the end it sends nothing."""
    config = make_config(tmp_path, smtp_server.port, database=postgres_url, connections=2, claim_timeout=3, rate=100)
    store = fill(config, 400)
    idle = cli(config, "send", "--worker", "--join", "--wait", "1", "--issue", ISSUE, "--yes")
    assert idle.returncode == 0, idle.stderr
    assert f"No send of {ISSUE} started within 1 s: nothing sent" in idle.stdout
    assert not store.ledger.is_queued(ISSUE) and smtp_server.handler.received == []
    joiner = popen(config, "send", "--worker", "--join", "--wait", "60", "--issue", ISSUE, "--yes")
    time.sleep(1.5)
    assert joiner.poll() is None and smtp_server.handler.received == []  # waiting, sending nothing
    starter = popen(config, "send", "--worker", "--issue", ISSUE, "--yes")
    outputs = [(process.wait(timeout=120), process.communicate()) for process in (starter, joiner)]
    sent = []
    for code, (stdout, stderr) in outputs:
        assert code == 0, stderr
        sent.append(int(next(line for line in stdout.splitlines() if line.startswith("This run")).split()[2]))
    assert all(n > 0 for n in sent) and sum(sent) == 400, sent
    counts = smtp_server.handler.counts()
    assert len(counts) == 400 and set(counts.values()) == {1}
    late = cli(config, "send", "--worker", "--join", "--wait", "1", "--issue", ISSUE, "--yes")
    assert late.returncode == 0 and "Nothing to send" in late.stdout, late.stdout + late.stderr
    assert len(smtp_server.handler.received) == 400
    misuse = cli(config, "send", "--join", "--issue", ISSUE, "--yes")
    assert misuse.returncode == 2 and "add --worker" in misuse.stderr


@pytest.mark.slow(11)
def test_the_scheduler_sends_as_a_worker_and_another_host_joins(tmp_path: Path, smtp_server: SmtpServer, postgres_url: str) -> None:
    """The deployment the README gives: `schedule` with delivery.workers_may_join on one host, and
    `send --worker --join` on another started before the slot fires; they share the slot's issue, each copy once."""
    from support.schedule import SLOT, schedule_config

    config = schedule_config(tmp_path, smtp_server.port, postgres_url, connections=2, claim_timeout=3, rate=50, workers_may_join=True)
    fill(config, 400)  # the subscribers; the scheduler builds and freezes the slot's own issue
    as_of = (SLOT + timedelta(minutes=1)).isoformat()
    joiner = popen(config, "send", "--worker", "--join", "--wait", "120", "--as-of", as_of, "--yes")
    # The scheduler starts once the joiner waits (it says so), never before: on a loaded machine the joiner's start-up
    # could outlast the scheduler's whole send (it sends in this process), and then it has nothing left to join.
    assert joiner.stderr is not None
    waiting = ""
    while "Waiting" not in waiting and (line := joiner.stderr.readline()):
        waiting = line
    assert "Waiting" in waiting, joiner.communicate(timeout=60)
    scheduler = cli(config, "schedule", "--once", "--as-of", as_of)
    assert scheduler.returncode == 0, scheduler.stderr
    assert ": sent: 400 sent" in scheduler.stdout, scheduler.stdout
    stdout, stderr = joiner.communicate(timeout=120)
    assert joiner.returncode == 0, stderr
    joined = int(next(line for line in stdout.splitlines() if line.startswith("This run")).split()[2])
    assert 0 < joined < 400
    counts = smtp_server.handler.counts()
    assert len(counts) == 400 and set(counts.values()) == {1}


def test_a_dead_worker_of_this_host_is_replaced_at_once(
    smtp_server: SmtpServer, make_settings: Callable[..., Scope], postgres_url: str
) -> None:
    """A worker whose process is gone, on the host a new worker joins from, loses its rows at once (as a dead
    lease holder does), not after delivery.claim_timeout; a one-process send no longer counts it as alive."""
    settings = settings_on(make_settings, postgres_url, smtp_server.port, claim_timeout=600)
    store = setup_store(settings, 6)
    store.ledger.enqueue(ISSUE_ID)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = f"{socket.gethostname()}:{gone.pid}:0badc0de"
    store.workers.register(dead, ISSUE_ID)
    assert len(store.workers.claim(ISSUE_ID, dead, 600, 4).due) == 4
    writer = store.ledger.writer(worker=dead)
    writer.mark_sending(ISSUE_ID, 1)  # in flight when it died
    writer.conn.close()
    started = time.monotonic()
    report = worker_send(settings, store)
    assert time.monotonic() - started < 60
    assert report.complete and report.sent == 6 and report.recovered == 1
    counts = smtp_server.handler.counts()
    assert len(counts) == 6 and set(counts.values()) == {1}


def test_heartbeats_are_judged_on_the_database_clock(
    make_settings: Callable[..., Scope], postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker on a host whose clock runs ten minutes ahead does not take a live worker for dead: heartbeats are
    written and aged on the database server's clock, not each host's."""
    settings = settings_on(make_settings, postgres_url)
    store = setup_store(settings, 6)
    store.ledger.enqueue(ISSUE_ID)
    store.workers.register("host:1:a", ISSUE_ID)
    assert len(store.workers.claim(ISSUE_ID, "host:1:a", 30, 3).due) == 3
    assert store.workers.beat("host:1:a")
    ahead = now_utc() + timedelta(minutes=10)
    monkeypatch.setattr("digest.store.workers.now_utc", lambda: ahead)  # this "host" is ten minutes ahead
    monkeypatch.setattr("digest.store.schema.now_utc", lambda: ahead)
    store.workers.register("host:2:b", ISSUE_ID)
    assert [d.subscriber_id for d in store.workers.claim(ISSUE_ID, "host:2:b", 30, 10).due] == [4, 5, 6]
    assert store.workers.live(ISSUE_ID, 30) == ["host:1:a", "host:2:b"]


def test_status_tells_to_join_the_workers_while_they_are_alive(tmp_path: Path, postgres_url: str) -> None:
    """Found walking the issue: `status` said `digest send --issue ID` to finish an issue that live workers were
    sending, and that command is refused while they are; the hint now joins them."""
    config = make_config(tmp_path, None, database=postgres_url)
    store = fill(config, 5)
    store.ledger.enqueue(ISSUE)
    before = cli(config, "status", "--issue", ISSUE)
    assert "send --issue " + ISSUE in before.stdout and "--worker" not in before.stdout
    store.workers.register(f"elsewhere:1:{ISSUE[-6:]}", ISSUE)
    during = cli(config, "status", "--issue", ISSUE)
    assert f"to finish it: digest --config {config} send --worker --issue {ISSUE}" in during.stdout, during.stdout
    # A one-process send is refused, naming the same command (found reviewing: it left out --config).
    refused = cli(config, "send", "--issue", ISSUE, "--yes")
    assert refused.returncode == 1 and f"join them with `digest --config {config} send --worker --issue {ISSUE}`" in refused.stderr


@pytest.mark.slow(13)
def test_a_surviving_worker_takes_a_killed_ones_rows_at_once_and_signs_it_off(
    tmp_path: Path, smtp_server: SmtpServer, postgres_url: str
) -> None:
    """Found walking the issue: with two workers on one host and one SIGKILLed, the survivor waited the whole
    claim_timeout for the dead one's rows, and the dead one stayed "silent" in /metrics after the send. Now the
    survivor sees the process is gone, takes its rows at once and signs it off."""
    config = make_config(tmp_path, smtp_server.port, database=postgres_url, connections=2, claim_timeout=60, rate=200)
    store = fill(config, 600)
    args = ("send", "--worker", "--issue", ISSUE, "--yes")
    survivor, victim = popen(config, *args), popen(config, *args)
    deadline = time.monotonic() + 60
    prefix = f"{socket.gethostname()}:{victim.pid}:%"
    while time.monotonic() < deadline:
        with store.engine.connect() as conn:
            started = conn.execute(
                sa.select(sa.func.count()).where(deliveries.c.worker.like(prefix), deliveries.c.state != DeliveryState.PENDING)
            ).scalar_one()
        if started >= 30:
            break
        time.sleep(0.01)
    victim.kill()
    victim.wait(timeout=30)
    killed_at = time.monotonic()
    _, stderr = survivor.communicate(timeout=120)
    assert survivor.returncode == 0, stderr
    assert time.monotonic() - killed_at < 30  # not the 60 s claim_timeout
    assert len(smtp_server.handler.counts()) == 600
    assert store.workers.running(60) == (0, 0)


def test_a_silent_worker_of_a_finished_issue_is_not_reported(make_settings: Callable[..., Scope], postgres_url: str) -> None:
    """Found walking the issue: a worker killed before this release signed dead ones off stayed "silent" in /metrics
    for good. Silent counts only while its issue has deliveries left; a finished issue's dead worker holds nothing."""
    settings = settings_on(make_settings, postgres_url)
    store = setup_store(settings, 2)
    store.ledger.enqueue(ISSUE_ID)
    store.workers.register("host:9:dead", ISSUE_ID)
    with store.engine.begin() as conn:
        conn.execute(sa.update(send_workers).values(heartbeat_at=now_utc() - timedelta(minutes=5)))
    assert store.workers.running(30) == (0, 1)  # rows left: it matters
    report = send_issue(
        store, compile_issue(store.issues.load(ISSUE_ID), settings), get_backend(settings.install), settings.install.delivery
    )  # type: ignore[arg-type]
    assert report.complete
    assert store.workers.running(30) == (0, 0)  # finished: nothing to alert on
