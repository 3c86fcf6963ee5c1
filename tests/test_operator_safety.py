"""An operator cannot hurt the list by accident: each case a user hit, reproduced through the real CLI.

- a repeated manual send mails nobody twice (the issue is the schedule slot's, not "7 days ending now");
- every hint the CLI prints is a command that does what it says when pasted;
- a declined prompt, a refusal, zero recipients and a dry run freeze nothing;
- an overlapping window is refused, naming the issue and the command that resumes it;
- the dry run's count is what the send then sends, and a dry run refuses what the send would refuse;
- a frozen issue that differs from a fresh build says so, with the command that rebuilds it.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from digest.app.issues import Newsletter, WindowRequest
from digest.config import load_settings
from digest.models import SubscriberStatus

from conftest import write
from mailserver import SmtpServer
from support.cli import cli
from support.project import PROJECT, WINDOW, make_config
from support.stores import store_of

HINT = re.compile(r"`([^`]*digest [^`]*)`|: (digest (?:--config \S+ )?send --issue \S+)")


def add(config: Path, *addresses: str) -> None:
    store = store_of(config)
    for address in addresses:
        store.subscribers.add(address)
    store.close()


def run_hint(command: str) -> subprocess.CompletedProcess[str]:
    """Run a printed hint as a user pastes it: ``digest`` is this interpreter's ``-m digest``."""
    words = shlex.split(command)
    assert words[:2] == ["digest", "--config"], command  # the tests' config is never the default one: it must be named
    return cli(Path(words[2]), *words[3:])


def test_a_repeated_send_without_options_mails_nobody_twice(tmp_path: Path, smtp_server: SmtpServer) -> None:
    config = make_config(tmp_path, smtp_server.port)
    add(config, "a@example.org", "b@example.org")
    # The fixture posts are in the week before Monday 3 March 2025; the schedule fires on Fridays at 09:00.
    first = cli(config, "send", "--as-of", "2025-03-07T09:01", "--yes")
    second = cli(config, "send", "--as-of", "2025-03-07T09:04", "--yes")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "Nothing to send: every active subscriber has this issue already." in second.stdout
    assert smtp_server.handler.counts() == {"a@example.org": 1, "b@example.org": 1}
    store = store_of(config)
    [issue] = store.issues.summaries()
    # The same issue the scheduler builds for that slot.
    newsletter = Newsletter(load_settings(config, environ={}), store)
    slot_issue = newsletter.target(WindowRequest(as_of="2025-03-07T09:30"), datetime.now(UTC)).issue_id
    assert issue.id == slot_issue and issue.window_end == datetime(2025, 3, 7, 9, 0, tzinfo=UTC)


def test_a_bare_send_names_the_issue_of_the_latest_slot(tmp_path: Path) -> None:
    config = make_config(tmp_path, None)
    add(config, "a@example.org")
    result = cli(config, "send", "--dry-run")
    assert result.returncode in (0, 1), result.stderr  # an empty week is an error-level check
    settings = load_settings(config, environ={})
    expected = Newsletter(settings, store_of(config)).target(WindowRequest(), datetime.now(UTC)).issue_id
    assert f"Issue      {expected}:" in result.stdout


def test_the_resume_hint_resumes_the_same_issue(tmp_path: Path, smtp_server: SmtpServer) -> None:
    config = make_config(tmp_path, smtp_server.port, max_wait=0, retry_base=0.01)
    add(config, "a@example.org", "b@example.org")
    smtp_server.handler.data["b@example.org"].append("451 4.3.0 Try later")
    interrupted = cli(config, "send", *WINDOW, "--yes")
    assert interrupted.returncode == 1
    hints = [m.group(1) or m.group(2) for m in HINT.finditer(interrupted.stderr)]
    resume = [h for h in hints if " send " in h]
    assert resume, interrupted.stderr
    assert f"--config {config}" in resume[0] and "--issue 2025-03-02-b21c5b" in resume[0]
    # A bare dry run would be another issue (the latest slot's): the hint must not be that.
    pasted = run_hint(resume[0] + " --yes")  # as a script would; on a terminal it asks first
    assert pasted.returncode == 0, pasted.stderr
    assert "Issue      2025-03-02-b21c5b:" in pasted.stdout and "This run   1 sent" in pasted.stdout
    assert smtp_server.handler.counts() == {"a@example.org": 1, "b@example.org": 1}
    status_hint = [h for h in hints if " status " in h]
    assert status_hint and "2025-03-02-b21c5b" in run_hint(status_hint[0]).stdout


def test_nothing_is_frozen_unless_it_goes_out(tmp_path: Path, smtp_server: SmtpServer) -> None:
    config = make_config(tmp_path, smtp_server.port)
    zero = cli(config, "send", *WINDOW, "--yes")  # no subscribers yet
    assert zero.returncode == 0 and "no active subscribers (nothing stored)" in zero.stdout
    add(config, "a@example.org")
    assert cli(config, "send", *WINDOW, "--dry-run").returncode == 0
    declined = subprocess.run(
        ["script", "-qec", shlex.join([*cli_words(config), "send", *WINDOW]), "/dev/null"], input="n\n", capture_output=True, text=True
    )
    assert "not sent" in declined.stdout, declined.stdout + declined.stderr
    assert store_of(config).issues.load("2025-03-02-b21c5b") is None
    sent = cli(config, "send", *WINDOW, "--yes")
    assert sent.returncode == 0 and store_of(config).issues.load("2025-03-02-b21c5b") is not None


def cli_words(config: Path) -> list[str]:
    import sys

    return ["env", "DIGEST_SECRET_KEY=test-secret-key-for-the-suite-0123456789", sys.executable, "-m", "digest", "--config", str(config)]


def test_a_refused_send_freezes_nothing_and_the_dry_run_refuses_alike(tmp_path: Path, smtp_server: SmtpServer) -> None:
    config = make_config(tmp_path, smtp_server.port)
    templates = tmp_path / "templates"
    write(templates / "digest.txt.j2", "{{ digest.title }}\n(no unsubscribe link here)\n")
    config.write_text(config.read_text() + f'\n[output]\ntemplates = "{templates}"\n', encoding="utf-8")
    add(config, "a@example.org")
    dry = cli(config, "send", *WINDOW, "--dry-run")
    real = cli(config, "send", *WINDOW, "--yes")
    assert dry.returncode == real.returncode == 1
    reason = real.stderr.strip().removeprefix("error: ")
    assert reason and reason in dry.stderr and "--force" in reason
    assert store_of(config).issues.load("2025-03-02-b21c5b") is None and smtp_server.handler.received == []


def test_an_overlapping_window_is_refused_naming_the_issue_and_its_resume_command(tmp_path: Path, smtp_server: SmtpServer) -> None:
    config = make_config(tmp_path, smtp_server.port)
    add(config, "a@example.org")
    assert cli(config, "send", *WINDOW, "--yes").returncode == 0
    shifted = ("--since", "2025-02-25", "--until", "2025-03-04")
    refused = cli(config, "send", *shifted, "--yes")
    assert refused.returncode == 1
    assert "overlaps issue 2025-03-02-b21c5b" in refused.stderr
    assert f"digest --config {config} send --issue 2025-03-02-b21c5b" in refused.stderr and "--allow-overlap" in refused.stderr
    dry = cli(config, "send", *shifted, "--dry-run")
    assert dry.returncode == 1 and "overlaps issue 2025-03-02-b21c5b" in dry.stderr
    assert len(smtp_server.handler.received) == 1
    # The plan says so as a kind with its data (issue 23), the words above made from it.
    from datetime import UTC, datetime

    from digest.app.issues import Newsletter, WindowRequest
    from digest.config import load_settings
    from digest.models import RefusalKind

    settings = load_settings(config, environ={"DIGEST_SECRET_KEY": "test-secret-key-for-the-suite-0123456789"})
    newsletter = Newsletter(settings, store_of(config))
    now = datetime.now(UTC)
    target = newsletter.target(WindowRequest(since=shifted[1], until=shifted[3]), now)
    plan = newsletter.plan_send(target, now)
    assert plan.refusal is not None and plan.refusal.kind is RefusalKind.OVERLAP and plan.refusal.other_issue == "2025-03-02-b21c5b"
    assert newsletter.plan_send(target, now, allow_overlap=True).refusal is None
    allowed = cli(config, "send", *shifted, "--yes", "--allow-overlap")
    assert allowed.returncode == 0, allowed.stderr
    assert len(smtp_server.handler.received) == 2


def test_the_dry_run_counts_what_the_send_then_sends(tmp_path: Path, smtp_server: SmtpServer) -> None:
    config = make_config(tmp_path, smtp_server.port)
    add(config, *(f"r{n}@example.org" for n in range(5)))
    assert cli(config, "send", *WINDOW, "--yes").returncode == 0
    store = store_of(config)
    left = store.subscribers.get("r0@example.org")
    assert left is not None
    store.subscribers.set_status(left.id, SubscriberStatus.UNSUBSCRIBED, "clicked the link")  # was sent, then left
    add(config, "new1@example.org", "new2@example.org")
    dry = cli(config, "send", *WINDOW, "--dry-run")
    assert "Recipients 2 to send of 6 active subscriber(s)" in dry.stdout, dry.stdout
    sent = cli(config, "send", *WINDOW, "--yes")
    assert "This run   2 sent" in sent.stdout, sent.stdout
    assert len(smtp_server.handler.received) == 7


def test_send_issue_resumes_a_stored_issue_and_names_unknown_ones(tmp_path: Path, smtp_server: SmtpServer) -> None:
    config = make_config(tmp_path, smtp_server.port)
    add(config, "a@example.org")
    assert cli(config, "send", *WINDOW, "--yes").returncode == 0
    add(config, "b@example.org")
    resumed = cli(config, "send", "--issue", "2025-03-02-b21c5b", "--yes")
    assert resumed.returncode == 0 and "This run   1 sent" in resumed.stdout, resumed.stderr
    unknown = cli(config, "send", "--issue", "2024-01-01-abcdef", "--yes")
    assert unknown.returncode == 2 and "no stored issue '2024-01-01-abcdef'" in unknown.stderr and "2025-03-02-b21c5b" in unknown.stderr
    mixed = cli(config, "send", "--issue", "2025-03-02-b21c5b", *WINDOW)
    assert mixed.returncode == 2


def copied_project(tmp_path: Path, config: Path) -> Path:
    """The fixture project copied under tmp_path/project, and ``config`` rooted there."""
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project / "project")
    shutil.copytree(PROJECT.parent / "archives", project / "archives")
    config.write_text(config.read_text().replace(str(PROJECT), str(project / "project")), encoding="utf-8")
    return config


def test_a_frozen_issue_that_differs_from_a_fresh_build_says_so(tmp_path: Path, smtp_server: SmtpServer) -> None:
    config = copied_project(tmp_path, make_config(tmp_path, smtp_server.port))
    project = tmp_path / "project"
    add(config, "a@example.org")
    built = cli(config, "build", *WINDOW, "--freeze")
    assert built.returncode == 0 and "stored; every send of this issue will use exactly this" in built.stdout, built.stderr
    post = project / "project" / "content" / "posts" / "one.md"  # it has a url: its id outlives a new title
    text = post.read_text(encoding="utf-8")
    title = re.search(r"^title: *(.+)$", text, re.MULTILINE)
    assert title is not None
    post.write_text(text.replace(title.group(1), title.group(1).strip("\"'") + " (typo fixed)"), encoding="utf-8")
    dry = cli(config, "send", *WINDOW, "--dry-run")
    assert "Differs    the frozen copy differs from a fresh build: 1 post(s) changed" in dry.stdout, dry.stdout
    hint = dry.stdout.split("to send the fresh build instead: ", 1)[1].splitlines()[0]
    rebuilt = run_hint(hint.replace(" send ", " send --yes ", 1))
    assert rebuilt.returncode == 0, rebuilt.stderr
    stored = store_of(config).issues.load("2025-03-02-b21c5b")
    assert stored is not None and "(typo fixed)" in stored.text and len(smtp_server.handler.received) == 1
    again = cli(config, "build", *WINDOW)
    assert "Frozen     stored on" in again.stdout and "Differs" not in again.stdout


def test_the_sample_run_never_mails_the_configured_list(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """`make run` is `digest sample`: a customised project with real SMTP in .env and a real list stays untouched."""
    # delivery.backend = "smtp", to a server that records everything; the project copied, as the sample database goes in it
    config = copied_project(tmp_path, make_config(tmp_path, smtp_server.port, outbox_dir=str(tmp_path / "outbox")))
    add(config, "real.reader@example.org")
    write(tmp_path / "sample.csv", "email,name\nsample1@example.org,One\nsample2@example.org,Two\n")
    result = cli(config, "sample", "--as-of", "2025-03-07T09:00", "--subscribers", str(tmp_path / "sample.csv"))
    assert result.returncode == 0, result.stderr
    assert smtp_server.handler.received == []
    outbox = tmp_path / "outbox"
    assert sorted(p.name for p in outbox.rglob("*.eml")) == ["sample1@example.org.eml", "sample2@example.org.eml"]
    store = store_of(config)
    assert [s.email for s in store.subscribers.iter()] == ["real.reader@example.org"]
    assert (tmp_path / "project" / "project" / ".digest-sample" / "digest.sqlite").is_file()
    assert store.issues.summaries() == []
    again = cli(config, "sample", "--as-of", "2025-03-07T09:00", "--subscribers", str(tmp_path / "sample.csv"))
    assert again.returncode == 0 and "nothing to send" in again.stdout


def test_a_source_option_is_refused_for_a_frozen_issue_it_cannot_change(tmp_path: Path, smtp_server: SmtpServer) -> None:
    config = make_config(tmp_path, smtp_server.port)
    add(config, "a@example.org")
    assert cli(config, "send", *WINDOW, "--yes").returncode == 0
    result = cli(config, "send", *WINDOW, "--source", "content/nowhere", "--dry-run")
    assert result.returncode == 2
    assert "is frozen: its sends use the stored copy, so --source would change nothing" in result.stderr
    assert "cannot be rebuilt: drop --source" in result.stderr
