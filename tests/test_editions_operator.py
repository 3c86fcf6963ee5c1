"""What an operator of a newsletter of several editions is told, and what its printed commands do pasted (re-walk of
issue 35): approving another edition's coming issue, the report of a send that paused before delivering anything, and
a repeat send when every reader of this edition has the issue already. Each through the real CLI and SMTP server."""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime
from pathlib import Path

from digest.app.scheduling import Scheduler
from digest.config import load_settings
from digest.store import Store

from mailserver import SmtpServer
from support.cli import cli
from support.editions import FRIDAYS, MONTHLY, project

EDITOR = "ed@example.org"


def approving(root: Path, port: int) -> Path:
    """The editions' project with schedule.approval = "required" and an editor, a weekly and a monthly reader."""
    config = project(root, port)
    text = config.read_text(encoding="utf-8").replace("[newsletter]", f'[newsletter]\neditors = ["{EDITOR}"]')
    config.write_text(text + '[schedule]\napproval = "required"\n', encoding="utf-8")
    readers(config)
    return config


def readers(config: Path) -> None:
    for address, edition in (("weekly@example.org", "weekly"), ("monthly@example.org", "monthly")):
        assert cli(config, "subscribers", "add", address).returncode == 0
        assert cli(config, "subscribers", "set-edition", address, edition).returncode == 0


def approved_ids(config: Path, edition: str) -> list[str]:
    """The ids of ``edition``'s stored issues that hold an approval."""
    settings = load_settings(config, environ={})
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    try:
        of = store.of_edition(edition) if edition != "weekly" else store
        return [
            item.id
            for item in of.issues.summaries()
            if (approval := of.approvals.get(item.id)) is not None and approval.approved_at is not None
        ]
    finally:
        store.close()


def pasted(config: Path, command: str, *more: str) -> tuple[int, str]:
    """A printed `digest --config PATH …` hint run as the operator pastes it (with ``more`` options after it)."""
    words = shlex.split(command)
    assert words[:3] == ["digest", "--config", str(config)], command
    done = cli(config, *words[3:], *more)
    return done.returncode, done.stdout + done.stderr


def test_approve_takes_edition_for_the_coming_issue_of_another_edition(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """`digest approve` without --issue approved the first edition's coming issue only: the operator of a monthly had to
    find its id first. --edition NAME names the edition, as send's and build's do."""
    config = approving(tmp_path, smtp_server.port)
    unknown = cli(config, "approve", "--edition", "yearly")
    assert unknown.returncode == 2 and "--edition" in unknown.stderr and "weekly, monthly, daily" in unknown.stderr, unknown.stderr

    approved = cli(config, "approve", "--edition", "monthly", "--as-of", "2026-12-01T08:00", "--by", "Ed")
    assert approved.returncode == 0, approved.stdout + approved.stderr
    (monthly,) = approved_ids(config, "monthly")
    assert f"Approved   {monthly} 'Harbour Notes: the month of November 2026' by Ed" in approved.stdout
    assert approved_ids(config, "weekly") == []  # nothing of the first edition made or approved

    # The approved monthly goes out at its slot's send, to its own reader only.
    sent = cli(config, "send", "--edition", "monthly", "--as-of", MONTHLY, "--yes")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert [item.recipient for item in smtp_server.handler.received] == ["monthly@example.org"]

    # --edition of an issue of another edition: refused as send refuses it.
    wrong = cli(config, "approve", "--edition", "weekly", "--issue", monthly)
    assert wrong.returncode == 2 and f"issue {monthly} is of the monthly edition: drop --edition" in wrong.stderr, wrong.stderr
    # Without --edition the first edition's coming issue is approved, as before.
    weekly = cli(config, "approve", "--as-of", FRIDAYS[0], "--by", "Ed")
    assert weekly.returncode == 0 and len(approved_ids(config, "weekly")) == 1, weekly.stdout + weekly.stderr


def test_every_approve_hint_about_a_monthly_approves_the_monthly_pasted(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """The commands that tell the operator to approve (the draft's note to the editors, the slot's outcome, the refused
    send's, the dry run's) name the issue of the edition they are about: pasted, each approves the monthly, never a weekly."""
    config = approving(tmp_path, smtp_server.port)
    settings = load_settings(config, environ={})
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    try:  # the monthly's runner of `digest schedule`, a day before its slot: the draft, mailed to the editor
        drafted = Scheduler(settings, store, edition="monthly").draft_due(datetime(2026, 12, 3, 10, tzinfo=UTC))
    finally:
        store.close()
    (note,) = [item.parse() for item in smtp_server.handler.received if item.recipient == EDITOR]
    body = note.get_body(("plain",))
    assert drafted is not None and body is not None and "the month of November 2026" in str(note["Subject"])
    from_note = re.search(r"^\s+(digest .* approve .*)$", body.get_content(), re.M)
    assert from_note is not None, body.get_content()
    slot = cli(config, "schedule", "--once", "--as-of", "2026-12-04T09:05")
    from_slot = re.search(r"^harbour-notes:monthly: .*: not-approved: not approved; to approve it: (digest .*)$", slot.stdout, re.M)
    assert from_slot is not None, slot.stdout + slot.stderr

    refused = cli(config, "send", "--edition", "monthly", "--as-of", MONTHLY, "--yes")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    from_refusal = re.search(r"to approve it: (digest [^;]*approve --issue \S+);", refused.stderr)
    dry = cli(config, "send", "--edition", "monthly", "--as-of", MONTHLY, "--dry-run")
    from_dry_run = re.search(r"^Approval   not approved; to approve it: (digest .*)$", dry.stdout, re.M)
    assert from_refusal is not None and from_dry_run is not None, refused.stderr + dry.stdout

    for command in (from_note.group(1), from_slot.group(1), from_refusal.group(1), from_dry_run.group(1)):
        code, said = pasted(config, command, "--by", "Ed")
        assert code == 0, said
        (monthly,) = approved_ids(config, "monthly")
        assert f"Approved   {monthly} 'Harbour Notes: the month of November 2026'" in said
        assert approved_ids(config, "weekly") == []
    sent = cli(config, "send", "--issue", monthly, "--yes")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert [item.recipient for item in smtp_server.handler.received if item.recipient != EDITOR] == ["monthly@example.org"]


def test_the_report_of_a_send_that_paused_before_delivering_anything_says_so(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """`report --issue ID` of a send paused by a relay that refused every connection said "sent <day>" beside "delivered
    0"; it says the send began and is not finished, from the ledger's counts, and the command that finishes it."""
    import json

    config = project(tmp_path, 1)  # a closed port: the relay refuses, the send pauses with nothing delivered
    readers(config)
    paused = cli(config, "send", "--edition", "monthly", "--as-of", MONTHLY, "--yes")
    resume = re.search(r"`(digest [^`]*send --issue (\S+))`", paused.stdout + paused.stderr)
    assert paused.returncode == 75 and resume is not None, paused.stdout + paused.stderr
    issue = resume.group(2)
    shown = cli(config, "report", "--issue", issue, "--html", str(tmp_path / "report.html"))
    assert shown.returncode == 0, shown.stdout + shown.stderr
    (top,) = [line for line in shown.stdout.splitlines() if line.startswith(f"Issue {issue}")]
    assert " sent " not in top and re.search(r"send begun \d{4}-\d\d-\d\d, not finished: nothing delivered yet, 1 waiting$", top), top
    assert f"to finish it: {resume.group(1)}" in shown.stdout, shown.stdout
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "not finished: nothing delivered yet, 1 waiting" in page and ", sent " not in page
    assert json.loads(cli(config, "report", "--issue", issue, "--format", "json").stdout)["issues"][0]["waiting"] == 1

    # The relay back (the port of a listening server): the send finishes, and the report says it was sent.
    config.write_text(config.read_text(encoding="utf-8").replace("port = 1\n", f"port = {smtp_server.port}\n"), encoding="utf-8")
    code, said = pasted(config, resume.group(1), "--yes")
    assert code == 0 and [item.recipient for item in smtp_server.handler.received] == ["monthly@example.org"], said
    done = cli(config, "report", "--issue", issue)
    assert re.search(rf'^Issue {issue}  "[^"]*"  sent \d{{4}}-\d\d-\d\d$', done.stdout, re.M), done.stdout
    assert "to finish it" not in done.stdout and "not finished" not in done.stdout


def test_a_repeat_send_says_every_reader_of_this_edition_has_it_not_every_subscriber(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """A repeat `digest send` of a weekly every weekly reader had said "every active subscriber has this issue already"
    while a monthly reader, never meant to get it, had not; the edition's readers are meant, and the others counted.
    The scheduler's outcome of that slot says it in the same words, and so does a send of an edition nobody reads."""
    config = project(tmp_path, smtp_server.port)
    readers(config)
    first = cli(config, "send", "--as-of", FRIDAYS[0], "--yes")
    again = cli(config, "send", "--as-of", FRIDAYS[0], "--yes")
    assert first.returncode == 0 and again.returncode == 0, first.stdout + first.stderr + again.stdout + again.stderr
    said = "every active reader of the weekly edition has this issue already (1 other gets another edition)"
    assert f"Nothing to send: {said}." in again.stdout, again.stdout
    assert "every active subscriber" not in again.stdout
    assert [item.recipient for item in smtp_server.handler.received] == ["weekly@example.org"]
    slot = cli(config, "schedule", "--once", "--as-of", "2026-11-06T09:05")
    assert f"harbour-notes: 2026-11-06T09:00:00+00:00: sent: {said}" in slot.stdout, slot.stdout + slot.stderr

    nobody = cli(config, "send", "--edition", "daily", "--as-of", "2026-11-05T07:00", "--yes")
    assert nobody.returncode == 0, nobody.stdout + nobody.stderr
    assert "Nothing to send: the daily edition has no active readers (2 others get another edition) (nothing stored)." in nobody.stdout
    assert len(smtp_server.handler.received) == 1


def test_the_rebuild_hints_of_a_monthlys_changed_issue_rebuild_the_monthly_pasted(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """A frozen monthly whose posts changed: `build` says "to replace it: digest build --as-of … --freeze --rebuild" and
    the dry run "to send the fresh build instead: digest send --rebuild --as-of …". Without `--edition monthly` those,
    pasted, named the weekly's slot at that moment: the weekly's issue was frozen, or sent to the weekly's readers. Each
    now names the edition and, pasted, acts on the monthly only."""
    config = project(tmp_path, smtp_server.port)
    readers(config)
    frozen = cli(config, "build", "--edition", "monthly", "--as-of", MONTHLY, "--freeze")
    assert frozen.returncode == 0, frozen.stdout + frozen.stderr
    (tmp_path / "posts" / "transport11.md").write_text(
        '---\ntitle: "Bus route 11 is renamed"\ndate: 2026-11-24T10:00:00Z\nurl: https://harbour.example/transport/11\n'
        'outlet: "Gazette"\ntags: [transport]\n---\n\nRenamed.\n',
        encoding="utf-8",
    )
    built = cli(config, "build", "--edition", "monthly", "--as-of", MONTHLY)
    from_build = re.search(r"to replace it: (digest .*)$", built.stdout, re.M)
    dry = cli(config, "send", "--edition", "monthly", "--as-of", MONTHLY, "--dry-run")
    from_dry_run = re.search(r"to send the fresh build instead: (digest .*)$", dry.stdout, re.M)
    assert from_build is not None and from_dry_run is not None, built.stdout + dry.stdout
    for command in (from_build.group(1), from_dry_run.group(1)):
        assert "--edition monthly" in command, command
    code, said = pasted(config, from_build.group(1))
    assert code == 0, said
    code, said = pasted(config, from_dry_run.group(1), "--yes")
    assert code == 0, said
    settings = load_settings(config, environ={})
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    try:
        assert store.of_edition("weekly").issues.summaries() == []  # no weekly issue was made, frozen or sent
    finally:
        store.close()
    assert [item.recipient for item in smtp_server.handler.received] == ["monthly@example.org"]
    assert "Bus route 11 is renamed" in smtp_server.handler.received[0].parse().get_body(("plain",)).get_content()


def test_a_slot_not_approved_whose_notice_our_relay_cannot_take_is_recorded_not_approved(tmp_path: Path) -> None:
    """The editors' "not sent: needs approval" notice through a relay that is down: the slot was recorded `failed:
    421 cannot connect …`, as if the issue had been tried and failed, and the approve hint was not printed. It is
    recorded not-approved, its reason says the notice could not be mailed, and the hint is there."""
    from mailserver import free_port

    config = approving(tmp_path, free_port())  # nothing listens there
    slot = cli(config, "schedule", "--once", "--as-of", "2026-12-04T09:05")
    line = re.search(r"^harbour-notes:monthly: .*$", slot.stdout, re.M)
    assert line is not None, slot.stdout + slot.stderr
    assert ": not-approved: not approved; to approve it: digest " in line.group(0), line.group(0)
    assert "; the editors' notice could not be mailed: 421 cannot connect" in line.group(0), line.group(0)


def test_schedule_once_makes_the_coming_slots_draft_for_a_cron_driven_setup(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """With approval required, only the long-running `digest schedule` made the coming slot's draft: a setup that runs
    `digest schedule --once` from cron never sent its editors a draft, so every slot met its issue unapproved. `--once`
    now makes each edition's draft once it is draft_hours away, once."""
    config = approving(tmp_path, smtp_server.port)

    def drafts() -> list[str]:
        found = [str(item.parse()["Subject"]) for item in smtp_server.handler.received if item.recipient == EDITOR]
        return sorted(subject for subject in found if subject.startswith("[DRAFT]"))

    early = cli(config, "schedule", "--once", "--as-of", "2026-12-02T08:00")  # more than a day before Friday's slots
    assert not re.search(r"^harbour-notes(:monthly)?: draft ", early.stdout, re.M), early.stdout
    first = cli(config, "schedule", "--once", "--as-of", "2026-12-03T10:00")
    made = dict(re.findall(r"^harbour-notes(:monthly|): draft (\S+) frozen and mailed to the editors", first.stdout, re.M))
    assert set(made) == {"", ":monthly"}, first.stdout + first.stderr  # the weekly (the first edition) and the monthly
    subjects = drafts()
    assert "[DRAFT] Harbour Notes Weekly Digest – December 4, 2026" in subjects, subjects
    assert "[DRAFT] Harbour Notes: the month of November 2026" in subjects, subjects
    again = cli(config, "schedule", "--once", "--as-of", "2026-12-03T11:00")
    assert " draft " not in again.stdout and drafts() == subjects, again.stdout
    assert made[""] in _stored(config, "weekly") and made[":monthly"] in _stored(config, "monthly")


def _stored(config: Path, edition: str) -> list[str]:
    settings = load_settings(config, environ={})
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    try:
        return [summary.id for summary in store.of_edition(edition).issues.summaries()]
    finally:
        store.close()
