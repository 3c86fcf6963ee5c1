"""The benchmark suite still runs: each measurement at a toy size, asserting what it reports, never how fast.

Timings belong to ``make bench``; this only keeps bench/ from rotting between runs of it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture(autouse=True)
def bench_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCH))


def test_send_bench_reports_both_paths_for_each_connection_count() -> None:
    from send import bench_send

    rows: list[str] = []
    bench_send(40, rows, themed=400)  # the bench's own themed send goes to 20,000: its shape is what is tested here
    sends = [row for row in rows if row.startswith("| send 40 ×")]
    assert any(row.startswith("| send 400 with theme choices") for row in rows), rows
    assert [re.search(r"(\d) connection", row).group(1) for row in sends] == ["1", "4", "8"]  # type: ignore[union-attr]
    assert all("digest send (ledger)" in row and "raw smtplib" in row and "ratio" in row for row in sends)


@pytest.mark.slow(10)
def test_memory_bench_runs_the_real_cli_and_checks_every_delivery() -> None:
    from memory import bench_memory

    rows: list[str] = []
    bench_memory([20, 40], rows)  # asserts inside: exit 0, and every subscriber's delivery "sent"
    assert [row.split("|")[1].strip() for row in rows] == [
        "memory: digest send to 20 subscribers",
        "memory: digest send to 40 subscribers",
        "memory: from 20 to 40 subscribers",
    ]
    assert all(re.search(r"peak RSS \d+ MB", row) for row in rows[:2])


@pytest.mark.slow(7)
def test_gather_bench_builds_from_the_index_on_repeated_runs(tmp_path: Path) -> None:
    from gather import bench_gather

    rows: list[str] = []
    bench_gather([120], rows, tmp_path / "profile.txt")
    first, repeated, *rest = rows
    meaning = [row for row in rest if "meaning on" in row]
    why = [row for row in rest if row not in meaning]
    assert "120 posts, first run" in first and "120 posts, repeated run" in repeated
    assert all("why the first-run target is missed" in row and "posts/s" in row for row in why)
    # With the meaning model installed (the shipped config turns it on), the same builds with meaning on, beside
    # the keyword figures (issue 24); without it, no such row.
    from digest.config import load_settings

    on = load_settings(Path(__file__).resolve().parent.parent / "config" / "digest.toml", environ={}).newsletter.meaning.enabled
    assert len(meaning) == (1 if on else 0)
    assert all(re.search(r"first run [\d.]+ s \(keywords [\d.]+ s\), repeated [\d,]+ ms", row) for row in meaning)
    assert re.search(r"[\d,]+ posts counted, not loaded", repeated)
    assert (tmp_path / "profile.txt").read_text(encoding="utf-8").strip()


def test_rss2email_feed_is_valid_rss_with_every_item(tmp_path: Path) -> None:
    import feedparser

    from peers import write_feed

    write_feed(tmp_path / "feed.xml", 7)
    parsed = feedparser.parse((tmp_path / "feed.xml").read_bytes())
    assert parsed.version == "rss20" and len(parsed.entries) == 7
    assert sys.modules["peers"].__file__ is not None


@pytest.mark.slow(15)
def test_workers_bench_runs_one_two_and_four_worker_processes() -> None:
    from workers import bench_workers

    rows: list[str] = []
    bench_workers(rows, 400, rounds=1)  # asserts inside: every delivery sent
    if "skipped" in rows[0]:
        pytest.skip(rows[0])
    assert [row.split(":")[1].split("process")[0].strip() for row in rows] == ["1", "2", "4"]
    assert all("msg/s" in row and "raw smtplib" in row for row in rows)


@pytest.mark.slow(10)
def test_clicks_bench_serves_the_redirect_under_a_send_and_reports_a_year() -> None:
    from clicks import bench_redirect, bench_report

    rows: list[str] = []
    bench_redirect(rows, 0.5, readers=200)  # asserts inside: every answer a 302 to the frozen destination
    bench_report(rows, issues=3, readers=300)  # asserts inside: every issue reported, the latest delivered to all
    assert rows[0].startswith("| redirect /r/<token>, SQLite, 50 clients |") and "while a send wrote its ledger" in rows[0]
    assert re.search(r"\| report, 3 issues × 300 readers .*, SQLite \| \d+ ms", rows[-2] if "PostgreSQL" in rows[-1] else rows[-1])
    assert len([row for row in rows if "PostgreSQL" in row]) == 2  # measured, or skipped saying why


def test_the_peer_row_times_the_warm_issue_work_on_new_posts(tmp_path: Path) -> None:
    from peers import serve, warm_digest, write_feed

    (tmp_path / "www").mkdir()
    write_feed(tmp_path / "www" / "feed.xml", 12, week=1)
    with serve(tmp_path / "www") as port:
        seconds, _, message = warm_digest(f"http://127.0.0.1:{port}/feed.xml", tmp_path / "work", meaning=False)
    assert seconds > 0 and b"multipart/alternative" in message and b"week 1" in message
    assert not (tmp_path / "work" / "none.sqlite").exists()  # a build alone opens no database


def test_roundup_bench_builds_the_month_and_reports_every_copy(capsys: pytest.CaptureFixture[str]) -> None:
    from roundup import Sizes, bench_roundup

    bench_roundup(Sizes(30, posts=40, runs=1, settle=False))  # the bench's own month is 1,000 posts, its readers 20,000
    printed = capsys.readouterr().out
    assert re.search(r"posts +\d+ Markdown files \(40 in November\)", printed), printed
    assert re.search(r"monthly build +[\d.]+ s first run .* posts placed, \d+ shown", printed)
    assert re.search(r"weekly build +[\d.]+ s first run", printed)
    assert re.search(r"monthly per copy +[\d.]+ µs/copy \(30 readers, .* \d+ views compiled in each run", printed)
    assert re.search(r"of which the fill +[\d.]+ µs/copy", printed) and re.search(r"none switched +[\d.]+ µs/copy", printed)
    assert re.search(r"three editions +daily [\d.]+ µs/copy alone, weekly [\d.]+ µs/copy alone, monthly [\d.]+ µs/copy alone", printed)
    assert re.search(r"one morning +[\d.]+ µs/copy \(30 readers, a third each.*ratio [\d.]+", printed)
