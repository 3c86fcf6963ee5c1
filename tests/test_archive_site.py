"""The published archive: `digest publish DIR` and `digest serve` give the same pages and feeds; the feeds parse."""

from __future__ import annotations

from pathlib import Path

import feedparser

from conftest import LiveServer, http_request
from support.cli import cli
from support.project import ISSUE, fill, make_config
from support.settings import overridden


def test_publish_writes_pages_and_feeds_that_parse(tmp_path: Path, smtp_server: object) -> None:
    from digest.config import load_settings
    from digest.web.public import create_public_app

    port = smtp_server.port  # type: ignore[attr-defined]
    config = make_config(tmp_path, port)
    store = fill(config, 3)
    assert cli(config, "send", "--issue", ISSUE, "--yes").returncode == 0
    site = tmp_path / "site"
    result = cli(config, "publish", str(site))
    assert result.returncode == 0, result.stderr
    assert "1 issue(s)" in result.stdout
    index = (site / "index.html").read_text(encoding="utf-8")
    assert f'href="{ISSUE}/"' in index and 'href="feed.atom"' in index
    page = (site / ISSUE / "index.html").read_text(encoding="utf-8")
    assert "%%" not in page and "r00000@example.org" not in page  # no recipient's details
    # A static host sets no headers of ours: the policy travels in each page (no script, images over https).
    for published in (index, page):
        head = published[: published.lower().index("</head>")]
        assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';' in head and "script-src" not in head
    parsed = feedparser.parse((site / "feed.atom").read_bytes())
    assert not parsed.bozo, parsed.bozo_exception
    [entry] = parsed.entries
    settings = load_settings(config, environ={})
    assert entry.id == f"tag:{settings.newsletter.list_id},2026:issue/{ISSUE}"
    assert entry.link == f"{settings.install.base_url}/archive/{ISSUE}/" and "Ferry fares" in entry.content[0].value  # the whole issue
    themes = sorted((site / "themes").glob("*.atom"))
    assert themes
    for feed_file in themes:
        theme = feedparser.parse(feed_file.read_bytes())
        assert (
            not theme.bozo
            and theme.entries
            and all(e.id.startswith(f"tag:{settings.newsletter.list_id},2026:issue/{ISSUE}/post/") for e in theme.entries)
        )
    # Re-publishing changes no id; the sending time is the entries' `updated`.
    first_ids = [e.id for e in parsed.entries]
    assert cli(config, "publish", str(site)).returncode == 0
    assert [e.id for e in feedparser.parse((site / "feed.atom").read_bytes()).entries] == first_ids
    # digest serve gives the same feeds from the store.

    server = LiveServer(create_public_app(overridden(settings, secret_key="test-secret-key-for-the-suite-0123456789"), store))
    try:
        code, _, served = http_request("GET", f"{server.base}/archive/feed.atom", headers={"Host": "127.0.0.1"})
        assert code == 200 and served == (site / "feed.atom").read_text(encoding="utf-8")
        name = themes[0].name
        code, _, served = http_request("GET", f"{server.base}/archive/themes/{name}")
        assert code == 200 and served == themes[0].read_text(encoding="utf-8")
        assert http_request("GET", f"{server.base}/archive/themes/nothing.atom")[0] == 404
    finally:
        server.stop()


def test_view_in_browser_points_at_the_published_archive(make_settings: object) -> None:
    from datetime import UTC, date, datetime

    from digest.config import SourceSpec
    from digest.issue.assembly import build_issue
    from digest.issue.selection import window_between
    from digest.render import render_issue

    from conftest import FIXTURES

    settings = make_settings(  # type: ignore[operator]
        sources=(SourceSpec(kind="markdown", location=str(FIXTURES / "project" / "content")),),
        archive_url="https://archive.example.org/news",
    )
    digest = build_issue(
        settings, window_between(date(2025, 2, 24), date(2025, 3, 3), settings.newsletter.timezone), datetime(2025, 3, 3, tzinfo=UTC)
    )
    rendered = render_issue(digest, settings)
    assert f"https://archive.example.org/news/{digest.issue_id}/" in rendered.html
    assert f"https://archive.example.org/news/{digest.issue_id}/" in rendered.text


def test_publish_on_a_terminal_shows_its_progress_and_in_a_pipe_stays_quiet(tmp_path: Path, smtp_server: object) -> None:
    import os
    import pty
    import subprocess
    import sys

    config = make_config(tmp_path, smtp_server.port)  # type: ignore[attr-defined]
    fill(config, 2)
    assert cli(config, "send", "--issue", ISSUE, "--yes").returncode == 0
    quiet = cli(config, "publish", str(tmp_path / "piped"))
    assert quiet.returncode == 0 and "writing the archive" not in quiet.stderr + quiet.stdout
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "SMTP_", "DATABASE_URL"))} | {"DIGEST_SECRET_KEY": "k" * 32}
    with subprocess.Popen(
        [sys.executable, "-m", "digest", "--config", str(config), "publish", str(tmp_path / "site")],
        stdout=subprocess.PIPE,
        stderr=follower,
        env=env,
    ) as process:
        os.close(follower)
        out, _ = process.communicate(timeout=120)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert process.returncode == 0 and b"Published" in out
    assert b"writing the archive" in shown and b"100%" in shown
