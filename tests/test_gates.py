"""Issue 31, item 5 and its low items: windows, folders and gates, through real subprocesses and the preview's real server."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pytest

from digest.web.preview import create_preview_app

from conftest import LiveServer, http_request
from test_preview import FORM, make_project, page_token
from test_send_cli import ISSUE, cli, fill, make_config

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
