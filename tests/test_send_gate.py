"""One gate for every send to real readers: the doctor's checks that need no network (DMARC can align, the keys, the
base URL) refuse the scheduler's send and the API's as they refuse `digest send` (whose --force alone overrides it,
logged: test_doctor). A config whose From domain nothing aligns with, sent over SMTP to another host; a real SQLite
file, a real HTTP server on 127.0.0.1; nothing is ever sent (the relay's name is reserved: .invalid)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from digest.app.scheduling import Scheduler
from digest.app.session import open_store, settings_of
from digest.models import SlotState
from digest.store.schema import deliveries

from support.api import SECRET, Served, call
from support.project import ISSUE, fill, make_config
from support.schedule import SLOT

MISALIGNED = (
    '\n[smtp]\nhost = "relay.invalid"\n\n[bounces]\naddress = "bounces@mailer-bounces.net"\npiped = true\n'
    '\n[schedule]\ncron = "0 9 * * mon"\nmisfire_grace_hours = 6\n'
)


def misaligned(tmp_path: Path) -> Path:
    config = make_config(tmp_path, None, backend="smtp")
    text = config.read_text(encoding="utf-8").replace("[newsletter]\n", '[newsletter]\naddress = "1 Harbour Street, Golden"\n', 1)
    config.write_text(text + MISALIGNED, encoding="utf-8")
    return config


def attempted(config: Path) -> int:
    store = open_store(settings_of(config, environ={"DIGEST_SECRET_KEY": SECRET}))
    with store.engine.connect() as conn:
        count = int(conn.execute(sa.select(sa.func.count()).select_from(deliveries).where(deliveries.c.attempts > 0)).scalar_one())
    store.close()
    return count


def test_the_schedulers_send_is_refused_by_the_setup_gate(tmp_path: Path) -> None:
    config = misaligned(tmp_path)
    settings = settings_of(config, environ={"DIGEST_SECRET_KEY": SECRET})
    store = open_store(settings)
    for n in range(3):
        store.subscribers.add(f"r{n}@example.org")
    outcome = Scheduler(settings, store).run_slot(SLOT, SLOT)
    assert outcome.state is SlotState.FAILED, outcome
    assert "check(s) of the setup failed" in (outcome.reason or "") and "DMARC cannot pass" in (outcome.reason or ""), outcome
    store.close()
    assert attempted(config) == 0


def test_the_apis_send_is_refused_by_the_setup_gate(tmp_path: Path) -> None:
    config = misaligned(tmp_path)
    fill(config, 3).close()
    running = Served(config)
    try:
        token = running.token("sender", "sends:write")
        for dry_run in (True, False):
            status, headers, body = call(running.base, "POST", "/api/v1/sends", token, {"issue": ISSUE, "dry_run": dry_run})
            assert status == 409 and headers["content-type"] == "application/problem+json", body
            assert "check(s) of the setup failed" in body["detail"] and "DMARC cannot pass" in body["detail"], body
        status, _, progress = call(running.base, "GET", f"/api/v1/sends/{ISSUE}", token)
        assert status == 200 and not progress["running"] and progress["deliveries"]["sent"] == 0
    finally:
        running.stop()
    assert attempted(config) == 0
