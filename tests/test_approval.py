"""Approval before a scheduled send: the draft, the editor's yes, and what un-approves it. The clock is driven."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from digest.app.approval import approval_state, approve
from digest.app.scheduling import Scheduler
from digest.config import ScheduleOptions, Scope, load_settings
from digest.issue.editorial import issue_file_path
from digest.store import Store

from conftest import write
from mailserver import SmtpServer
from support.project import PROJECT
from support.schedule import SLOT
from support.settings import overridden
from support.stores import store_of

EDITORS = ("ed@example.org", "second.ed@example.org")
Make = Callable[..., tuple[Scheduler, Store, Scope]]


@pytest.fixture
def approving(delivery_settings: Callable[..., Scope], smtp_server: SmtpServer, tmp_path: Path) -> Make:
    def make(count: int = 3) -> tuple[Scheduler, Store, Scope]:
        project = load_settings(PROJECT / "config" / "digest.toml", environ={})
        base = delivery_settings(smtp_server.port)
        options = ScheduleOptions(cron="0 9 * * mon", misfire_grace=6 * 3600.0, min_posts=1, approval="required", draft_hours=24)
        settings = overridden(
            base,
            root=project.install.root,
            sources=project.newsletter.sources,
            themes=project.newsletter.themes,
            schedule=options,
            editors=EDITORS,
            editorial_dir=tmp_path / "issues",
        )
        store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
        for n in range(count):
            store.subscribers.add(f"s{n}@example.org")
        return Scheduler(settings, store), store, settings

    return make


def received_by(smtp_server: SmtpServer, address: str) -> list[EmailMessage]:
    return [message.parse() for message in smtp_server.handler.received if message.recipient == address]


def test_without_approval_the_slot_sends_nothing_and_tells_the_editors(approving: Make, smtp_server: SmtpServer) -> None:
    runner, store, settings = approving()
    outcome = runner.catch_up(SLOT + timedelta(minutes=5))  # caught up five minutes late, as with --as-of 09:05
    assert outcome is not None and outcome.state == "not-approved"
    assert "not approved; to approve it: digest approve --issue" in (outcome.reason or "")
    assert not any(m.recipient not in EDITORS for m in smtp_server.handler.received)  # no subscriber mailed
    for editor in EDITORS:
        [notice] = received_by(smtp_server, editor)
        assert notice["Subject"].startswith("Not sent: ") and notice["Auto-Submitted"] == "auto-generated"
        assert f"digest send --issue {outcome.issue_id}" in notice.get_content()
        # Issue 22, item 4: the slot's own time (09:00), not the moment of the run (09:05).
        slot = SLOT.astimezone(settings.newsletter.schedule_zone)
        assert f"at its slot ({slot:%a %Y-%m-%d %H:%M} {settings.newsletter.schedule_zone})" in notice.get_content()
    assert store.runs.get(SLOT).state == "not-approved"  # type: ignore[union-attr]
    # The hint the editors get names a stored issue: the build is kept as the draft, so pasting it works.
    assert store.issues.load(outcome.issue_id or "") is not None


def test_the_draft_is_frozen_and_mailed_once_draft_hours_before_the_slot(approving: Make, smtp_server: SmtpServer) -> None:
    runner, store, _ = approving()
    assert runner.draft_due(SLOT - timedelta(hours=25)) is None  # too early
    assert smtp_server.handler.received == []
    drafted = runner.draft_due(SLOT - timedelta(hours=23))
    assert drafted is not None and store.issues.load(drafted) is not None  # frozen
    assert runner.draft_due(SLOT - timedelta(hours=22)) is None  # once
    for editor in EDITORS:
        [note] = received_by(smtp_server, editor)
        assert note["Subject"].startswith("[DRAFT] ")
        body = note.get_body(("plain",))
        assert body is not None and "http://127.0.0.1:8000/?as_of=2025-03-03T09%3A00%3A00%2B00%3A00" in body.get_content()
        assert f"digest approve --issue {drafted}" in body.get_content()
        [attached] = [part for part in note.iter_attachments() if part.get_content_type() == "message/rfc822"]
        draft = attached.get_content()
        assert draft["Subject"].startswith("[DRAFT] ") and draft.get_body(("html",)) is not None
    assert store.ledger.has_started(drafted) is False  # nobody else got anything


def test_an_approved_issue_goes_out_and_an_edit_unapproves_it(approving: Make, smtp_server: SmtpServer, tmp_path: Path) -> None:
    runner, store, settings = approving()
    target = runner.newsletter.slot_target(SLOT)
    approve(runner.newsletter, target, SLOT - timedelta(hours=2), "ed@example.org")
    assert approval_state(runner.newsletter, target).approved
    # The editor changes the issue after approving: approval is void, and the slot says why.
    write(issue_file_path(settings.newsletter, target.window), "---\nsubject: A late change\n---\n")
    state = approval_state(runner.newsletter, target)
    assert not state.approved and "edited after the approval" in state.reason
    outcome = runner.catch_up(SLOT)
    assert outcome is not None and outcome.state == "not-approved"
    # Approving again (as it builds now, with the change) lets the next start-up within grace send it.
    approve(runner.newsletter, target, SLOT + timedelta(minutes=10), "ed@example.org")
    stored = store.issues.load(target.issue_id)
    assert stored is not None and stored.subject == "A late change"
    outcome = runner.catch_up(SLOT + timedelta(minutes=20))
    assert outcome is not None and outcome.state == "sent"
    subscribers = [m for m in smtp_server.handler.received if m.recipient not in EDITORS]
    assert len(subscribers) == 3 and {m.parse()["Subject"] for m in subscribers} == {"A late change"}


def test_digest_approve_on_the_command_line(tmp_path: Path, smtp_server: SmtpServer) -> None:
    from support.cli import cli
    from support.project import ISSUE, fill, make_config

    config = make_config(tmp_path, smtp_server.port)
    config.write_text(
        config.read_text(encoding="utf-8").replace("[newsletter]", '[newsletter]\neditors = ["ed@example.org"]')
        + '\n[schedule]\ncron = "0 9 * * mon"\napproval = "required"\n',
        encoding="utf-8",
    )
    fill(config, 2)
    result = cli(config, "approve", "--issue", ISSUE, "--by", "Ed")
    assert result.returncode == 0, result.stderr
    assert f"Approved   {ISSUE}" in result.stdout and "by Ed" in result.stdout
    settings = load_settings(config, environ={})
    approval = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug).approvals.get(ISSUE)
    assert approval is not None and approval.approved_by == "Ed"
    assert cli(config, "approve", "--issue", ISSUE, "--as-of", "2025-03-01").returncode == 2  # --issue takes no --as-of
    missing = cli(config, "approve", "--issue", "2020-01-01-abcdef")
    assert missing.returncode == 2 and "no stored issue" in missing.stderr  # issue 31: the one unknown-issue error
    assert "approve" in subprocess.run([sys.executable, "-m", "digest", "--help"], capture_output=True, text=True, check=True).stdout


def test_approve_refuses_when_approval_is_not_required(tmp_path: Path) -> None:
    """With schedule.approval = "none" there is nothing to approve: `digest approve` says so and freezes nothing."""
    from support.cli import cli
    from support.project import make_config

    config = make_config(tmp_path, None)
    result = cli(config, "approve", "--as-of", "2025-03-01")
    assert result.returncode == 1 and 'schedule.approval is "none"' in result.stderr
    assert store_of(config).issues.summaries() == []
