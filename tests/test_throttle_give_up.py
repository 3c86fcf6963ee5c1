"""A receiver whose rate limits never let up: after ``delivery.throttle.give_up`` without one copy accepted the send
stops as our side's failure (RunEnd.OURS), no reader failed, every copy still queued for a later run, and the command
says why and how to go on. The real SMTP test server answering ``421 4.7.28`` to every recipient, real stores."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from digest.cli import main
from digest.config import Scope, ThrottleOptions
from digest.models import DeliveryState, RunEnd

from mailserver import SmtpServer
from support.delivery import run_send, setup_store
from support.project import ISSUE, fill, make_config
from support.throttling import Throttling

Make = Callable[..., Scope]


@pytest.fixture
def never_clears() -> Iterator[SmtpServer]:
    server = SmtpServer(Throttling(after=0, refusals=10**9))
    try:
        yield server
    finally:
        server.stop()


def test_rate_limits_that_never_clear_stop_the_send_as_ours_and_leave_every_copy_queued(
    never_clears: SmtpServer, delivery_settings: Make
) -> None:
    throttle = ThrottleOptions(give_up=1.0, max_delay=0.2)
    settings = delivery_settings(never_clears.port, connections=1, retry_base=0.05, max_wait=60.0, breaker=3, throttle=throttle)
    store = setup_store(settings, 4)
    report = run_send(settings, store)
    assert report.end is RunEnd.OURS and not report.complete, report
    reason = report.reason or ""
    assert "rate limits for" in reason and "without one copy accepted" in reason and "4.7.28" in reason, reason
    assert "delivery.throttle.give_up" in reason and "no reader was failed" in reason and "run the send again later" in reason
    assert report.failed == report.bounced == 0 and report.throttled > 0 and len(never_clears.handler.received) == 0
    deliveries = store.ledger.of("2026-11-20-abcdef")
    assert len(deliveries) == 4 and {d.state for d in deliveries} <= {DeliveryState.PENDING, DeliveryState.DEFERRED}
    assert {d.attempts for d in deliveries} == {0}  # the refusals never counted against the readers
    handler = never_clears.handler
    assert isinstance(handler, Throttling)
    tried = handler.refused
    again = run_send(settings, store)  # the next run starts where this one left the relay: it stops at its first refusal
    assert again.end is RunEnd.OURS and again.failed == 0 and handler.refused - tried <= 2
    store.close()


def test_digest_send_says_it_stopped_for_the_rate_limits_and_how_to_go_on(never_clears: SmtpServer, tmp_path: Path) -> None:
    config = make_config(tmp_path, never_clears.port, connections=1, retry_base=0.05, max_wait=60)
    text = config.read_text(encoding="utf-8") + "\n[delivery.throttle]\ngive_up = 1.0\nmax_delay = 0.2\n"
    config.write_text(text, encoding="utf-8")
    fill(config, 3).close()
    result = CliRunner().invoke(main, ["--config", str(config), "send", "--issue", ISSUE, "--yes"], env={"DIGEST_SECRET_KEY": "x" * 40})
    assert result.exit_code == 75, result.output  # EX_TEMPFAIL: our side, for now; the same command later goes on
    assert "rate limits for" in result.output and "without one copy accepted" in result.output
    assert f"send --issue {ISSUE}` once that is fixed: nobody was marked failed or bounced" in result.output
