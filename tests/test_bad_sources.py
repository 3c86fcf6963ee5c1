"""Bad sources are loud, and output is never clobbered: each case through the real CLI and a real HTTP server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FIXTURES, Served, write
from support.cli import PROJECT_CONFIG, digest

WINDOW = ("--since", "2025-02-24", "--until", "2025-03-03")


def serve_archive(http_server: Served) -> str:
    body = (FIXTURES / "archives" / "harbour-watch.txt").read_bytes()

    def archive(handler: object) -> None:
        handler.send_response(200)  # type: ignore[attr-defined]
        handler.send_header("Content-Type", "text/plain; charset=utf-8")  # type: ignore[attr-defined]
        handler.send_header("ETag", '"v1"')  # type: ignore[attr-defined]
        handler.end_headers()  # type: ignore[attr-defined]
        handler.wfile.write(body)  # type: ignore[attr-defined]

    http_server.routes["/harbour.txt"] = archive
    return f"{http_server.base}/harbour.txt"


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("content/nowhere", "no such file or folder"),
        ("content/posts/*.nothing", "the pattern matches no file"),
        ("feed:http://127.0.0.1:9/feed.xml", "cannot fetch"),  # connection refused: nothing listens on port 9
        ("archive:{base}/missing.txt", "HTTP 404"),
    ],
)
def test_a_source_that_yields_nothing_fails_the_run_but_not_the_others(tmp_path: Path, http_server: Served, spec: str, why: str) -> None:
    spec = spec.format(base=http_server.base)
    good = str(FIXTURES / "feeds" / "rss20.xml")
    listing = digest("--config", str(PROJECT_CONFIG), "posts", "--all", "--format", "json", "--source", good, "--source", spec)
    assert listing.returncode == 1, listing.stderr
    assert "error: " in listing.stderr and why in listing.stderr
    assert json.loads(listing.stdout), "the good source's posts are still listed"
    built = digest(
        "--config",
        str(PROJECT_CONFIG),
        "build",
        "--since",
        "2026-11-01",
        "--until",
        "2026-12-01",
        "--source",
        good,
        "--source",
        spec,
        "--out",
        str(tmp_path),
    )
    assert built.returncode == 1 and why in built.stderr
    assert "source(s) yielded nothing" in built.stdout


def test_archive_urls_are_fetched_like_feeds(http_server: Served) -> None:
    url = serve_archive(http_server)
    for spec in (f"archive:{url}", url):  # forced, or detected from the .txt ending
        result = digest("--config", str(PROJECT_CONFIG), "posts", "--all", "--format", "json", "--source", spec)
        assert result.returncode == 0, result.stderr
        posts = json.loads(result.stdout)
        assert posts and all(p["source"] == f"archive:{url}" for p in posts)
    # The second fetch was conditional: the validators of the first were sent back.
    assert any(headers.get("If-None-Match") == '"v1"' for path, headers in http_server.requests)


def test_an_empty_issue_never_overwrites_an_earlier_build(tmp_path: Path) -> None:
    good = digest("--config", str(PROJECT_CONFIG), "build", *WINDOW, "--out", str(tmp_path))
    assert good.returncode == 0, good.stderr
    folder = tmp_path / "2025-03-02-b21c5b"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    # The same window, but every post excluded by a rule: an empty issue of the same id.
    config = write(
        tmp_path / "empty.toml",
        PROJECT_CONFIG.read_text(encoding="utf-8")
        .replace('root = ".."', f'root = "{PROJECT_CONFIG.parent.parent}"')
        .replace('exclude_titles = ["weekly digest"]', 'exclude_titles = ["."]'),
    )
    empty = digest("--config", str(config), "build", *WINDOW, "--out", str(tmp_path))
    assert empty.returncode == 1 and "nothing written: the issue has no posts" in empty.stdout
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    again = digest("--config", str(PROJECT_CONFIG), "build", *WINDOW, "--out", str(tmp_path))
    assert again.returncode == 0 and sorted(p.name for p in tmp_path.iterdir()) == ["2025-03-02-b21c5b", "empty.toml"]  # no leftovers
