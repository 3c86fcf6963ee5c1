"""Issue 31, item 5 and its low items: windows, folders and gates, through real subprocesses and the preview's real server."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest

from digest.web.preview import create_preview_app

from conftest import LiveServer, http_request, write
from mailserver import SmtpServer
from support.cli import INHERITED, SECRET, cli, in_process
from support.preview import page_token
from support.project import ISSUE, WINDOW, fill, make_config, make_project
from support.web import FORM

BACKWARDS = ("--since", "2026-12-06", "--until", "2026-12-01")
EMPTY = ("--since", "2026-12-06", "--until", "2026-12-06")


@pytest.mark.parametrize("window", [BACKWARDS, EMPTY], ids=["backwards", "empty"])
@pytest.mark.parametrize("command", [("build",), ("posts",), ("send", "--dry-run"), ("send", "--yes")])
def test_a_backwards_or_empty_window_is_a_one_line_usage_error(tmp_path: Path, command: tuple[str, ...], window: tuple[str, ...]) -> None:
    """Reproduction: each of these was a ValueError traceback and exit 1."""
    config = make_config(tmp_path, None)
    result = cli(config, *command, *window, "--out", str(tmp_path / "out")) if command == ("build",) else cli(config, *command, *window)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "is not before until" in result.stderr and result.stderr.startswith("error: --as-of/--since/--until: ")
    assert not (tmp_path / "out").exists() and not (tmp_path / "outbox").exists()


def test_the_preview_answers_a_backwards_window_with_a_400(tmp_path: Path) -> None:
    """Reproduction: ``?since=2026-12-06&until=2026-12-01`` (the page's own date fields) answered 500."""
    server = LiveServer(create_preview_app(make_project(tmp_path)))
    try:
        token = page_token(server)
        for query in ("since=2026-12-06&until=2026-12-01", "since=2026-12-06&until=2026-12-06"):
            for view in ("/", "/email.html", "/email.txt", "/digest.json"):
                code, _, body = http_request("GET", f"{server.base}{view}?{query}")
                assert code == 400 and "is not before until" in body, (view, query, code)
            fields = dict(urllib.parse.parse_qsl(query)) | {"csrf": token, "address": "ed@example.org"}
            code, _, body = http_request("POST", f"{server.base}/send-test", urllib.parse.urlencode(fields).encode(), FORM)
            assert code == 400 and "is not before until" in body, body
    finally:
        server.stop()


def test_an_unknown_issue_id_is_the_same_error_everywhere_listing_the_stored_ones(tmp_path: Path) -> None:
    """Reproductions: ``status --issue nope`` said "No issues stored yet." (exit 0), ``report --issue nope`` "has no
    deliveries" (exit 1), ``approve``/``send`` exit 1 with words of their own."""
    config = make_config(tmp_path, None)
    config.write_text(config.read_text(encoding="utf-8") + '\n[schedule]\ncron = "0 9 * * mon"\napproval = "required"\n', encoding="utf-8")
    fresh = cli(config, "status", "--issue", "nope")
    assert fresh.returncode == 2 and "no stored issue 'nope': no issue is stored yet" in fresh.stderr, fresh.stdout + fresh.stderr
    assert not (tmp_path / "digest.sqlite").exists()  # asking created no database
    fill(config, 1)
    said = set()
    for command in (("status",), ("status", "--json"), ("report",), ("approve",), ("send", "--dry-run"), ("send", "--yes")):
        result = cli(config, *command, "--issue", "nope")
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert result.stdout == "" and len(result.stderr.splitlines()) == 1, (command, result.stderr)
        said.add(result.stderr)
    [line] = said  # word for word the same, whichever command
    assert f"error: no stored issue 'nope' (the most recent: {ISSUE}); `digest --config {config} status` lists them all" in line
    status = cli(config, "status")
    assert ISSUE in status.stdout  # the command the error names does list them


def approval_required(tmp_path: Path, port: int) -> Path:
    config = make_config(tmp_path, port)
    config.write_text(config.read_text(encoding="utf-8") + '\n[schedule]\ncron = "0 9 * * mon"\napproval = "required"\n', encoding="utf-8")
    fill(config, 2)  # two readers, and the issue frozen as a draft would be
    return config


def test_a_send_by_hand_of_an_unapproved_issue_is_refused_with_the_fix(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """Reproduction: with approval = "required", `digest send --yes` sent a never-approved issue and the dry run
    said nothing of approval."""
    config = approval_required(tmp_path, smtp_server.port)
    approve = f"digest --config {config} approve --issue {ISSUE}"
    dry = cli(config, "send", "--issue", ISSUE, "--dry-run")
    assert dry.returncode == 1 and f"Approval   not approved; to approve it: {approve}" in dry.stdout, dry.stdout + dry.stderr
    for asked in (("--issue", ISSUE), WINDOW):
        refused = cli(config, "send", *asked, "--yes")
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert f'issue {ISSUE} needs an approval (schedule.approval = "required"): not approved; to approve it: {approve}' in refused.stderr
        assert (
            f"to send its stored copy unapproved all the same (logged as such): digest --config {config} send --issue {ISSUE} --without-approval"
            in refused.stderr
        )
    assert smtp_server.handler.received == []
    test_copy = cli(config, "send", "--issue", ISSUE, "--to", "ed@example.org")  # a test copy is how an editor looks at it
    assert test_copy.returncode == 0 and [m.recipient for m in smtp_server.handler.received] == ["ed@example.org"], test_copy.stderr
    assert cli(config, "approve", "--issue", ISSUE, "--by", "Ed").returncode == 0
    dry = cli(config, "send", "--issue", ISSUE, "--dry-run")
    assert dry.returncode == 0 and "Approval   approved by Ed at " in dry.stdout, dry.stdout + dry.stderr
    sent = cli(config, "send", "--issue", ISSUE, "--yes")
    assert sent.returncode == 0 and "This run   2 sent" in sent.stdout, sent.stdout + sent.stderr


def test_the_commands_an_approval_refusal_names_work_for_an_issue_not_stored_yet(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """A journey found `send` refusing an issue nothing had stored (no draft), naming `approve --issue ID` and
    `send --issue ID --without-approval`: both answered "no stored issue". The refused send stores the draft."""
    config = make_config(tmp_path, smtp_server.port)
    config.write_text(config.read_text(encoding="utf-8") + '\n[schedule]\ncron = "0 9 * * mon"\napproval = "required"\n', encoding="utf-8")
    assert cli(config, "subscribers", "add", "reader@example.org").returncode == 0
    dry = cli(config, "send", *WINDOW, "--dry-run")
    assert dry.returncode == 1 and "a send without --dry-run stores it as the draft to approve" in dry.stderr, dry.stderr
    refused = cli(config, "send", *WINDOW, "--yes")
    assert refused.returncode == 1 and f"issue {ISSUE} is stored now as the draft those commands act on" in refused.stderr
    approve = re.search(r"to approve it: (digest [^;]+?);", refused.stderr)
    assert approve is not None, refused.stderr
    assert cli(config, *shlex.split(approve.group(1))[3:], "--by", "Ed").returncode == 0  # the printed command, as printed
    sent = cli(config, "send", "--issue", ISSUE, "--yes")
    assert sent.returncode == 0 and [m.recipient for m in smtp_server.handler.received] == ["reader@example.org"], sent.stderr


def test_an_approval_is_of_the_copy_that_goes_out_never_of_a_rebuild(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """Review of issue 31: `send --rebuild` from other content after an approval sent what nobody approved."""
    config = approval_required(tmp_path, smtp_server.port)
    assert cli(config, "approve", "--issue", ISSUE, "--by", "Ed").returncode == 0
    newer = write(
        tmp_path / "new" / "unapproved.md",
        "---\ntitle: Unapproved content\ndate: 2025-02-26T10:00:00Z\nurl: https://example.org/unapproved\n---\nNobody saw this.\n",
    )
    rebuilt = cli(config, "send", *WINDOW, "--rebuild", "--source", f"markdown:{newer.parent}", "--yes")
    assert rebuilt.returncode == 1 and "the issue changed after it was approved" in rebuilt.stderr, rebuilt.stdout + rebuilt.stderr
    assert smtp_server.handler.received == []
    dry = cli(config, "send", *WINDOW, "--rebuild", "--source", f"markdown:{newer.parent}", "--dry-run")
    assert "Approval   the issue changed after it was approved" in dry.stdout, dry.stdout + dry.stderr


def test_without_approval_sends_an_unapproved_issue_and_says_who_asked(tmp_path: Path, smtp_server: SmtpServer) -> None:
    config = approval_required(tmp_path, smtp_server.port)
    dry = cli(config, "send", "--issue", ISSUE, "--dry-run", "--without-approval")
    assert dry.returncode == 0 and "Approval   not approved; " in dry.stdout
    # Worded for a dry run, which sends nothing: it said "sent without it all the same".
    assert "(would be sent without it all the same, as " in dry.stdout and "asked: logged)" not in dry.stdout
    assert "sent without approval" not in dry.stderr  # a dry run sends nothing, so it logs no override
    sent = cli(config, "send", "--issue", ISSUE, "--yes", "--without-approval")
    assert sent.returncode == 0 and "This run   2 sent" in sent.stdout, sent.stdout + sent.stderr
    assert "Approval   not approved; " in sent.stdout and "(sent without it all the same, as " in sent.stdout
    assert re.search(rf"issue {ISSUE} sent without approval, as \S+@\S+ asked: not approved", sent.stderr), sent.stderr
    # The rest of a send that has begun is not held back: what the first readers got, the others get.
    fill_more = cli(config, "subscribers", "add", "late@example.org")
    assert fill_more.returncode == 0
    resumed = cli(config, "send", "--issue", ISSUE, "--yes")
    assert resumed.returncode == 0 and "This run   1 sent" in resumed.stdout, resumed.stdout + resumed.stderr
    assert "Approval   not asked again: its send has begun" in resumed.stdout


def bare(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``digest ARGS`` run in ``cwd`` as a person types it: no --config, no DIGEST_CONFIG."""
    return in_process(args, cwd=cwd, env={"DIGEST_SECRET_KEY": SECRET}, drop=INHERITED)


@pytest.mark.parametrize(
    "command",
    [
        ("send", "--dry-run"),
        ("send", "--yes"),
        ("preview", "--port", "18765"),
        ("status",),
        ("subscribers", "add", "a@example.org"),
        ("build",),
    ],
)
def test_outside_a_newsletter_a_command_says_so_and_writes_nothing(tmp_path: Path, command: tuple[str, ...]) -> None:
    """Reproduction: in an empty folder `send --dry-run` ran on silent defaults, created digest.sqlite there and
    suggested --force; `preview` started as if nothing were wrong."""
    result = bare(*command, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr == "error: no config/digest.toml here or above: run `digest init` or cd to your newsletter\n"
    assert result.stdout == "" and list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to give a folder to another user")
def test_the_walk_up_never_reads_a_config_in_a_folder_another_user_owns(tmp_path: Path) -> None:
    """Review of issue 31: run from /tmp/x, the walk up read /tmp/config/digest.toml, which anyone may plant there:
    it would choose the relay and the store while the secrets come from this user's environment."""
    shared = tmp_path / "shared"
    write(shared / "config" / "digest.toml", '[newsletter]\nname = "Planted"\n')
    mine = shared / "mine"
    mine.mkdir()
    for planted in (shared, shared / "config", shared / "config" / "digest.toml"):  # a folder of theirs, or only the file
        os.chown(planted, 65534, 65534)  # nobody's, as someone else's files in /tmp are
        try:
            result = bare("status", cwd=mine)
            assert result.returncode == 2 and "no config/digest.toml here or above" in result.stderr, result.stdout + result.stderr
            assert "Planted" not in result.stdout + result.stderr
        finally:
            os.chown(planted, 0, 0)


def test_a_newsletter_is_found_from_a_folder_inside_it_and_init_still_works(tmp_path: Path) -> None:
    news = tmp_path / "news"
    assert bare("init", str(news), "--name", "Harbour Notes", cwd=tmp_path).returncode == 0
    inside = news / "content" / "posts"
    added = bare("subscribers", "add", "reader@example.org", cwd=inside)
    assert added.returncode == 0, added.stderr
    assert (news / "digest.sqlite").is_file() and not (inside / "digest.sqlite").exists()  # the newsletter's own database
    listed = bare("subscribers", "list", cwd=news)
    assert listed.returncode == 0 and "reader@example.org" in listed.stdout
    # A build given its sources reads nothing else, so it needs no newsletter (the embedded defaults apply).
    post = news / "content" / "posts"
    alone = bare("posts", "--source", str(post), "--all", cwd=tmp_path)
    assert alone.returncode == 0 and "Welcome to Harbour Notes" in alone.stdout, alone.stderr


def test_a_bad_test_address_is_said_before_the_issue_is_built(tmp_path: Path) -> None:
    """Reproduction: `send --to not-an-address` gathered and built the issue (its source errors printed first),
    then gave the usage error."""
    config = make_config(tmp_path, None)
    result = cli(config, "send", *WINDOW, "--source", str(tmp_path / "missing.md"), "--to", "not-an-address")
    assert result.returncode == 2 and "Invalid value for --to: 'not-an-address'" in result.stderr, result.stderr
    assert "missing.md" not in result.stderr and result.stdout == ""  # nothing gathered, nothing built or described


HIDE_ONNXRUNTIME = """import importlib.util

_find_spec = importlib.util.find_spec


def _hidden(name, *args, **kwargs):  # a machine without digest's meaning extra, as the config reader sees it
    return None if name == "onnxruntime" else _find_spec(name, *args, **kwargs)


importlib.util.find_spec = _hidden
"""


@pytest.mark.slow(12)
def test_the_meaning_warning_is_said_only_where_posts_are_placed_with_an_install_that_works(tmp_path: Path) -> None:
    """Reproduction: with digest's meaning packages missing, `subscribers list`, `serve`… printed the warning, and its
    hint `pip install 'digest[meaning]'` installs an unrelated PyPI project (outside the venv, with a bare pip)."""
    config = make_config(tmp_path, None)
    config.write_text(config.read_text(encoding="utf-8").replace("[grouping]", '[grouping]\nmeaning = "on"', 1), encoding="utf-8")
    shim = write(tmp_path / "shim" / "sitecustomize.py", HIDE_ONNXRUNTIME)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "SMTP_", "DATABASE_URL"))}
    env |= {
        "DIGEST_SECRET_KEY": "test-secret-key-for-the-suite-0123456789",
        "PYTHONPATH": os.pathsep.join([str(shim.parent), env.get("PYTHONPATH", "")]),
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "digest", "--config", str(config), *args], env=env, capture_output=True, text=True, timeout=120
        )

    for quiet in (("subscribers", "list"), ("status",), ("db", "current")):
        result = run(*quiet)
        assert result.returncode == 0 and "grouping.meaning" not in result.stderr, (quiet, result.stderr)
    placed = run("posts", *WINDOW)
    assert placed.returncode == 0, placed.stderr
    [line] = [line for line in placed.stderr.splitlines() if "grouping.meaning" in line]
    # onnxruntime alone where the extra is installed (the shim hides it); the whole extra where it is not.
    assert re.match(
        r"warning: grouping\.meaning is on, but onnxruntime( is|(, \w+)* and \w+ are) not installed: posts are placed by keywords", line
    ), line
    command = line.split("install digest's meaning extra: ", 1)[1]
    words = shlex.split(command)
    assert words[:4] == [sys.executable, "-m", "pip", "install"] and "digest[meaning]" not in words, command
    # Installed from a folder here (make setup: pip install -e .), the command names that folder: digest's own project.
    sources = [word for word in words[4:] if word.endswith("[meaning]")]
    for source in sources:
        folder = Path(source.removesuffix("[meaning]"))
        assert 'name = "digest"' in (folder / "pyproject.toml").read_text(encoding="utf-8"), folder
    assert len(sources) == 1, command  # `make setup` installs digest from its folder: the command names that one source
    assert "warning: grouping.meaning" in run("build", *WINDOW, "--out", str(tmp_path / "out")).stderr


def test_a_send_let_through_unapproved_that_paused_before_any_copy_resumes_by_its_own_hint(tmp_path: Path) -> None:
    """A walk (issue 35's journey): `send --without-approval` through a relay that refused every connection queued the
    readers and paused (ours: nobody failed) before any copy was tried; its Resume hint, pasted once the relay was
    fixed, was refused for want of an approval. A send is let through when it is queued: its resumption is not held."""
    from mailserver import SmtpServer as Server

    config = approval_required(tmp_path, 1)  # port 1: nothing listens, every connection refused
    paused = cli(config, "send", "--issue", ISSUE, "--yes", "--without-approval")
    resume = re.search(r"`(digest [^`]*send --issue \S+)`", paused.stdout + paused.stderr)
    assert paused.returncode == 75 and resume is not None, paused.stdout + paused.stderr
    server = Server()
    try:
        config.write_text(config.read_text(encoding="utf-8").replace("port = 1\n", f"port = {server.port}\n"), encoding="utf-8")
        resumed = cli(config, *shlex.split(resume.group(1))[3:], "--yes")  # pasted (and confirmed), after "digest --config PATH"
        assert resumed.returncode == 0 and "This run   2 sent" in resumed.stdout, resumed.stdout + resumed.stderr
        assert len(server.handler.received) == 2
    finally:
        server.stop()
