"""Sending that listens (issue 37, item 2): a receiver's rate limit slows the send down and it climbs back, every
copy delivered once and no reader blamed; a new domain's warm-up caps each day and the next day sends the rest.

Through real parts: an aiosmtpd server on 127.0.0.1 that answers ``421 4.7.28`` for a while, a real store (SQLite,
and PostgreSQL where it answers), ``digest status`` in-process."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest.app.scheduling import Scheduler
from digest.cli import main
from digest.config import ScheduleOptions, Scope, ThrottleOptions, WarmupOptions, load_settings
from digest.models import DeliveryState, Reply, ReplyKind, RunEnd, SlotState
from digest.send.pacing import asked_delay
from digest.store import Store

from mailserver import SmtpServer
from support.delivery import run_send, setup_store
from support.project import ISSUE as PROJECT_ISSUE
from support.project import PROJECT, fill, make_config
from support.schedule import SLOT
from support.settings import overridden
from support.throttling import GMAIL_RATE, Throttling

Make = Callable[..., Scope]
ISSUE = "2026-11-20-abcdef"
DAY1 = date(2026, 12, 7)


@pytest.fixture
def throttling() -> Iterator[SmtpServer]:
    server = SmtpServer(Throttling(after=5, refusals=6))
    try:
        yield server
    finally:
        server.stop()


def status_json(tmp_path: Path, settings: Scope, port: int, **delivery: object) -> dict[str, object]:
    """``digest status --json`` on the same store, in-process."""
    config = make_config(tmp_path, port, database=settings.install.database_url, **delivery)
    result = CliRunner().invoke(main, ["--config", str(config), "status", "--json"], env={"DIGEST_SECRET_KEY": "x" * 40})
    assert result.exit_code == 0, result.output
    found: dict[str, object] = json.loads(result.stdout)
    return found


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        (GMAIL_RATE, ReplyKind.THROTTLE),
        ("421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume", ReplyKind.THROTTLE),
        ("451 4.7.500 Server busy. Please try again later from [192.0.2.1]. (S77714)", ReplyKind.THROTTLE),
        ("421 Too many concurrent connections from your host", ReplyKind.THROTTLE),
        ("421 Too many concurrent SMTP connections from this IP address; please try again later.", ReplyKind.THROTTLE),
        ("421 too many messages in this connection", ReplyKind.THROTTLE),
        ("452 4.5.3 Too many recipients", ReplyKind.OURS),  # the relay's limit per message: no reader's, no rate's
        ("450 4.2.1 Mailbox busy", ReplyKind.SOFT),
        ("421 4.3.2 Service shutting down", ReplyKind.OURS),
        ("451 4.3.0 Local error", ReplyKind.OURS),
        ("550 5.1.8 Sender address rejected", ReplyKind.OURS),
        ("550 5.1.1 No such user", ReplyKind.HARD),
    ],
)
def test_one_place_says_what_a_reply_asks_of_the_sender(reply: str, kind: ReplyKind) -> None:
    code, text = reply.split(" ", 1)
    assert Reply(int(code), text).kind is kind


def test_the_wait_a_server_asks_for_is_read_from_its_words() -> None:
    assert asked_delay(Reply(421, "4.7.0 Too many messages, try again in 5 minutes")) == 300
    assert asked_delay(Reply(451, "4.7.1 Please retry after 90 seconds")) == 90
    assert asked_delay(Reply(421, GMAIL_RATE.removeprefix("421 "))) is None


def test_a_rate_limit_slows_the_send_which_delivers_every_copy_once_and_fails_no_reader(
    throttling: SmtpServer, delivery_settings: Make, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The Done-when of issue 37: 421 4.7.28 for a while; every copy once, slower, nobody failed. The breaker at 3
    would pause the run at the third refusal if the six rate limits counted as failures."""
    settings = delivery_settings(throttling.port, connections=2, breaker=3, retry_base=0.02, throttle=ThrottleOptions(recover=0.25))
    store = setup_store(settings, 30)
    with caplog.at_level(logging.WARNING, logger="digest.send.run"):
        report = run_send(settings, store)
    assert report.end is RunEnd.COMPLETE and report.complete
    handler = throttling.handler
    assert isinstance(handler, Throttling) and handler.refused == 6
    copies = handler.copies()
    assert {recipient for recipient, _ in copies} == {f"reader{n:03d}@example.org" for n in range(30)}
    assert set(copies.values()) == {1} and len(copies) == 30  # once each, under one Message-ID
    deliveries = store.ledger.of(ISSUE)
    assert {d.state for d in deliveries} == {DeliveryState.SENT}
    assert {d.attempts for d in deliveries} == {1}  # the refused tries were never counted against the readers
    assert report.throttled == report.deferred == 6 and report.failed == report.bounced == 0
    # Slowed: the rate and the connections (two to one); then climbed back to the configured pace, not above it.
    slowed = [record.getMessage() for record in caplog.records if "slowed to" in record.getMessage()]
    assert slowed and "4.7.28" in slowed[0] and "on 1 connection(s)" in slowed[0] and "message(s)/s" in slowed[0]
    pace = report.pace
    assert pace is not None and not pace.throttled and (pace.rate, pace.connections) == (0.0, 2)
    assert pace.reason is not None and pace.reason.startswith("421 4.7.28")
    # What status shows: kept in the store.
    shown = status_json(tmp_path, settings, throttling.port, connections=2)
    assert shown["pace"] == [
        {
            "relay": "smtp",
            "rate": 0.0,
            "connections": 2,
            "configured_rate": 0.0,
            "configured_connections": 2,
            "throttled": False,
            "reason": pace.reason,
            "since": pace.since.isoformat() if pace.since else None,
            "updated_at": shown["pace"][0]["updated_at"],  # type: ignore[index]
        }
    ]


def test_a_paced_send_slowed_by_a_rate_limit_shows_it_in_status_while_it_lasts(delivery_settings: Make, tmp_path: Path) -> None:
    """A receiver that never lets up within the run: the send ends deferred, the pace left slowed, and status says
    so, with the reply; nobody is failed."""
    server = SmtpServer(Throttling(after=2, refusals=1000))
    try:
        # recover 0.2: the two copies the receiver accepts may be answered after its first 421 (four connections race),
        # and two steps back from half the pace must not make it whole (0.5 + 2 × 0.2 = 0.9); ten later copies do.
        settings = delivery_settings(
            server.port, connections=4, rate=200.0, retry_base=30.0, max_wait=0.0, throttle=ThrottleOptions(recover=0.2)
        )
        store = setup_store(settings, 6)
        report = run_send(settings, store)
    finally:
        server.stop()
    counts = report.counts
    assert report.end is RunEnd.DEFERRED and report.failed == 0 and counts[DeliveryState.DEFERRED] > 0  # the copies in flight may pass
    assert counts[DeliveryState.SENT] + counts[DeliveryState.DEFERRED] == 6 and counts[DeliveryState.SENT] == len(server.handler.received)
    assert report.pace is not None and report.pace.throttled and report.pace.rate < 200.0 and report.pace.connections < 4
    shown = status_json(tmp_path, settings, server.port, connections=4, rate=200.0)
    [pace] = shown["pace"]  # type: ignore[misc]
    assert pace["throttled"] and pace["rate"] < 200.0 and pace["configured_rate"] == 200.0 and "4.7.28" in pace["reason"]
    config = make_config(tmp_path, server.port, database=settings.install.database_url, connections=4, rate=200.0)
    text = CliRunner().invoke(main, ["--config", str(config), "status"], env={"DIGEST_SECRET_KEY": "x" * 40}).stdout
    assert "Pace        smtp: " in text and "slowed from 200 message(s)/s on 4" in text and "421 4.7.28" in text
    # The next send starts where this one left the relay (slowed), and climbs back as copies are accepted.
    for n in range(10):
        store.subscribers.add(f"later{n}@example.org")
    accepting = SmtpServer()
    try:
        later = run_send(overridden(settings, smtp=dataclasses.replace(settings.install.smtp, port=accepting.port)), store)
    finally:
        accepting.stop()
    # Its report has a pace only because it started slowed (no receiver slowed it): whole again at the end.
    assert later.sent == 10 and later.throttled == 0 and later.pace is not None
    assert not later.pace.throttled and (later.pace.rate, later.pace.connections) == (200.0, 4)


def test_the_warmup_caps_each_day_and_the_next_days_run_sends_the_rest(
    smtp_server: SmtpServer, delivery_settings: Make, tmp_path: Path
) -> None:
    warmup = WarmupOptions(enabled=True, first=4, growth=1.5, days=3)  # day 1: 4 copies, day 2: 6, day 4 on: no cap
    settings = delivery_settings(smtp_server.port, warmup=warmup)
    store = setup_store(settings, 12)
    first = run_send(settings, store, today=DAY1)
    assert first.sent == 4 and first.failed == 0 and first.held == 8 and first.end is RunEnd.DEFERRED
    assert first.reason == "warm-up day 1 of 3: 0 of today's 4 copies sent: today's cap reached; 8 copies wait for the next day's run"
    assert first.counts[DeliveryState.PENDING] == 8 and first.counts[DeliveryState.FAILED] == 0
    again = run_send(settings, store, today=DAY1)  # the same day: nothing more
    assert again.sent == 0 and again.held == 8
    second = run_send(settings, store, today=DAY1 + timedelta(days=1))
    assert second.sent == 6 and second.held == 2 and second.warmup is not None and second.warmup.day == 2
    third = run_send(settings, store, today=DAY1 + timedelta(days=3))  # past the ramp: no cap
    assert third.complete and third.sent == 2 and third.warmup is None
    assert len(smtp_server.handler.received) == 12 and set(smtp_server.handler.counts().values()) == {1}
    assert {d.attempts for d in store.ledger.of(ISSUE)} == {1}
    # Status shows the ramp's day (today's, on this machine's clock: day 1 of the ramp started today).
    config = make_config(tmp_path, smtp_server.port, database=settings.install.database_url)
    config.write_text(config.read_text(encoding="utf-8") + "\n[delivery.warmup]\nenabled = true\nfirst = 4\ndays = 3\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "status", "--json"], env={"DIGEST_SECRET_KEY": "x" * 40})
    shown = json.loads(result.stdout)["warmup"]
    assert shown["days"] == 3 and shown["day"] >= 1 and (shown["cap"] is None) == (shown["day"] > 3)
    text = CliRunner().invoke(main, ["--config", str(config), "status"], env={"DIGEST_SECRET_KEY": "x" * 40}).stdout
    assert "Warm-up     warm-up " in text


def test_the_scheduler_sends_a_warmup_slots_rest_on_the_next_day_past_its_grace(smtp_server: SmtpServer, delivery_settings: Make) -> None:
    """A slot the warm-up's cap held back waits (not partial, never abandoned at the grace period's end): the retry
    tick sends nothing more that day and the next day's share the day after; every reader once."""
    project = load_settings(PROJECT / "config" / "digest.toml", environ={})
    base = delivery_settings(smtp_server.port, warmup=WarmupOptions(enabled=True, first=2, growth=2.0, days=5))
    schedule = ScheduleOptions(cron="0 9 * * mon", misfire_grace=3600.0, min_posts=1)
    settings = overridden(
        base, root=project.install.root, sources=project.newsletter.sources, themes=project.newsletter.themes, schedule=schedule
    )
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    for n in range(5):
        store.subscribers.add(f"s{n}@example.org")
    first = Scheduler(settings, store).catch_up(SLOT)
    assert first is not None and first.state is SlotState.WAITING and "warm-up day 1 of 5" in (first.reason or "")
    assert len(smtp_server.handler.received) == 2
    later = Scheduler(settings, store).retry_waiting(SLOT + timedelta(hours=3))  # the same day, past the grace period
    assert later is not None and later.state is SlotState.WAITING and len(smtp_server.handler.received) == 2
    done = Scheduler(settings, store).retry_waiting(SLOT + timedelta(days=1))  # day 2: a cap of 4, 3 left to send
    assert done is not None and done.state is SlotState.SENT
    assert len(smtp_server.handler.received) == 5 and set(smtp_server.handler.counts().values()) == {1}


def test_digest_send_says_the_warmup_held_the_rest_for_the_next_day(smtp_server: SmtpServer, tmp_path: Path) -> None:
    """The command's words: today's cap, what waits and the command that sends it; exit 0 (the plan, not a failure)."""
    config = make_config(tmp_path, smtp_server.port)
    config.write_text(config.read_text(encoding="utf-8") + "\n[delivery.warmup]\nenabled = true\nfirst = 3\n", encoding="utf-8")
    fill(config, 5).close()
    result = CliRunner().invoke(
        main, ["--config", str(config), "send", "--issue", PROJECT_ISSUE, "--yes"], env={"DIGEST_SECRET_KEY": "x" * 40}
    )
    assert result.exit_code == 0, result.output
    assert "Warm-up    warm-up day 1 of 21: 0 of today's 3 copies sent: today's cap reached; 2 copies wait" in result.output
    assert f"send --issue {PROJECT_ISSUE}` sends them on the next day" in result.output
    assert len(smtp_server.handler.received) == 3
