"""The post index: a repeated gather reads only changed files, and never serves a stale or silent result."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from digest.config import Scope, SourceSpec
from digest.issue.assembly import build_issue
from digest.issue.selection import window_between
from digest.models.serialize import post_to_json
from digest.sources import Gathered, gather_all
from digest.sources.markdown import MarkdownSource

from conftest import LONDON, write

HOUR_AGO = time.time() - 3600


def post(title: str, day: str, body: str = "Body text.") -> str:
    return f"---\ntitle: {title}\ndate: {day}\noutlet: Pier Post\n---\n\n{body}\n"


def settle(*paths: Path) -> None:
    """Backdate the files, as if written an hour ago: the index remembers only settled files."""
    for path in paths:
        os.utime(path, (HOUR_AGO, HOUR_AGO))


def gather(settings: Scope, near: object = None) -> Gathered:
    return MarkdownSource(SourceSpec(kind="markdown", location="content"), settings).gather(near)  # type: ignore[arg-type]


def rows(settings: Scope) -> int:
    with sqlite3.connect(settings.install.cache_dir / "index.sqlite") as conn:
        return int(conn.execute("SELECT count(*) FROM files").fetchone()[0])


def rewrite_same_stamp(path: Path, text: str) -> None:
    """New content of the same size, mtime put back: invisible to the index by design (the test's probe)."""
    before = path.stat()
    assert len(text.encode()) == before.st_size
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_a_repeated_run_serves_unchanged_files_from_the_index(tmp_path: Path, make_settings: Callable[..., Scope]) -> None:
    settings = make_settings()
    a = write(tmp_path / "content" / "a.md", post("Alpha", "2026-11-18T08:30:00"))
    b = write(tmp_path / "content" / "nov" / "b.md", post("Bravo", "2026-11-19"))
    settle(a, b)
    first = gather(settings)
    assert [p.title for p in first.posts] == ["Alpha", "Bravo"] and rows(settings) == 2
    # Same size and stamp, other content: had the file been parsed again, the title would change.
    rewrite_same_stamp(a, post("Alphz", "2026-11-18T08:30:00"))
    second = gather(settings)
    assert [post_to_json(p) for p in second.posts] == [post_to_json(p) for p in first.posts]
    # Stored posts keep their time zone, not only their instant.
    assert second.posts[0].published == datetime(2026, 11, 18, 8, 30, tzinfo=LONDON)
    assert second.posts[0].published.tzinfo == LONDON and second.posts[0].published.utcoffset() == first.posts[0].published.utcoffset()


def test_changed_added_and_removed_files_are_seen(tmp_path: Path, make_settings: Callable[..., Scope]) -> None:
    settings = make_settings()
    a = write(tmp_path / "content" / "a.md", post("Alpha", "2026-11-18"))
    b = write(tmp_path / "content" / "b.md", post("Bravo", "2026-11-19"))
    settle(a, b)
    gather(settings)
    write(a, post("Alpha, revised", "2026-11-18"))  # a new size and mtime
    settle(a)
    os.utime(a, (HOUR_AGO + 60, HOUR_AGO + 60))
    b.unlink()
    c = write(tmp_path / "content" / "c.md", post("Charlie", "2026-11-20"))
    settle(c)
    result = gather(settings)
    assert [p.title for p in result.posts] == ["Alpha, revised", "Charlie"]
    assert rows(settings) == 2


def test_a_racy_file_is_parsed_again(tmp_path: Path, make_settings: Callable[..., Scope]) -> None:
    settings = make_settings()
    a = write(tmp_path / "content" / "a.md", post("Alpha", "2026-11-18"))  # written just now: not remembered
    assert [p.title for p in gather(settings).posts] == ["Alpha"]
    assert rows(settings) == 0
    rewrite_same_stamp(a, post("Alphz", "2026-11-18"))
    assert [p.title for p in gather(settings).posts] == ["Alphz"]


def test_a_broken_file_is_reported_on_every_run(tmp_path: Path, make_settings: Callable[..., Scope]) -> None:
    settings = make_settings()
    bad = write(tmp_path / "content" / "bad.md", "---\ntitle: [unclosed\ndate: 2026-11-18\n---\n\nBody.\n")
    good = write(tmp_path / "content" / "good.md", post("Good", "2026-11-18"))
    settle(bad, good)
    first, second = gather(settings), gather(settings)
    assert rows(settings) == 2
    assert [str(p) for p in second.problems] == [str(p) for p in first.problems] != []
    assert str(second.problems[0]).startswith("content/bad.md:2: front matter is not valid YAML")
    assert [p.title for p in second.posts] == ["Good"]


@pytest.mark.parametrize("change", [{"excerpt_words": 3}, {"timezone": UTC}])
def test_settings_that_shape_a_post_empty_the_index(tmp_path: Path, make_settings: Callable[..., Scope], change: dict[str, object]) -> None:
    a = write(tmp_path / "content" / "a.md", post("Alpha", "2026-07-18", "One two three four five six."))
    settle(a)
    before = gather(make_settings()).posts[0]
    after = gather(make_settings(**change)).posts[0]
    assert post_to_json(after) != post_to_json(before)
    assert post_to_json(after) == post_to_json(gather(make_settings(**change)).posts[0])


def test_a_damaged_index_is_rebuilt(tmp_path: Path, make_settings: Callable[..., Scope], caplog: pytest.LogCaptureFixture) -> None:
    settings = make_settings()
    a = write(tmp_path / "content" / "a.md", post("Alpha", "2026-11-18"))
    settle(a)
    gather(settings)
    (settings.install.cache_dir / "index.sqlite").write_bytes(b"this is not a database, " * 200)
    for suffix in ("-wal", "-shm"):
        Path(f"{settings.install.cache_dir / 'index.sqlite'}{suffix}").unlink(missing_ok=True)
    assert [p.title for p in gather(settings).posts] == ["Alpha"]
    assert "rebuilding it" in caplog.text
    assert rows(settings) == 1


def test_an_unwritable_cache_still_gathers(tmp_path: Path, make_settings: Callable[..., Scope], caplog: pytest.LogCaptureFixture) -> None:
    blocker = write(tmp_path / "not-a-folder", "a file where the cache folder should be")
    settings = make_settings(cache_dir=blocker / "cache")
    write(tmp_path / "content" / "a.md", post("Alpha", "2026-11-18"))
    assert [p.title for p in gather(settings).posts] == ["Alpha"]
    assert "reading every file" in caplog.text


def test_posts_far_from_the_window_are_counted_not_listed(tmp_path: Path, make_settings: Callable[..., Scope]) -> None:
    settings = make_settings(sources=(SourceSpec(kind="markdown", location="content"),))
    days = ["2026-01-05", "2026-11-01", "2026-11-09", "2026-11-17", "2026-11-18", "2026-11-25", "2026-12-30"]
    paths = [write(tmp_path / "content" / f"{day}.md", post(f"Post of {day}", day)) for day in days]
    settle(*paths)
    window = window_between(date(2026, 11, 16), date(2026, 11, 23), settings.newsletter.timezone)
    for _ in range(2):  # parsed, then from the index: the same answer
        digest = build_issue(settings, window, datetime(2026, 11, 23, 9, tzinfo=UTC))
        assert sorted(p.title for p in digest.posts) == ["Post of 2026-11-17", "Post of 2026-11-18"]
        # The week before and after are listed with the reason; further away only counted.
        assert [(e.post.title, e.reason.split(", ")[1]) for e in digest.excluded] == [
            ("Post of 2026-11-09", "before the window"),
            ("Post of 2026-11-25", "after the window"),
        ]
        assert (digest.stats.gathered, digest.stats.selected, digest.stats.excluded, digest.stats.distant) == (7, 2, 2, 3)
    # Feeds and archives are filtered the same way, by gather_all.
    feed = gather_all((SourceSpec(kind="feed", location=str(Path(__file__).parent / "fixtures" / "feeds")),), settings, window.widened())
    everything = gather_all((SourceSpec(kind="feed", location=str(Path(__file__).parent / "fixtures" / "feeds")),), settings)
    assert len(feed.posts) + feed.distant == len(everything.posts)
    assert all(p.published in window.widened() for p in feed.posts)


def test_a_file_renamed_into_place_with_its_old_stamp_is_read_again(tmp_path: Path, make_settings: Callable[..., Scope]) -> None:
    """What ``cp -p`` or an editor's save-by-rename does: same size and mtime, another file."""
    settings = make_settings()
    a = write(tmp_path / "content" / "a.md", post("Alpha", "2026-11-18"))
    settle(a)
    gather(settings)
    replacement = write(tmp_path / "a.md.tmp", post("Alphz", "2026-11-18"))
    settle(replacement)
    replacement.replace(a)
    assert [p.title for p in gather(settings).posts] == ["Alphz"]


def test_an_index_of_another_version_is_replaced(tmp_path: Path, make_settings: Callable[..., Scope]) -> None:
    settings = make_settings()
    settings.install.cache_dir.mkdir()
    with sqlite3.connect(settings.install.cache_dir / "index.sqlite") as conn:  # an older layout, as an earlier release left it
        conn.execute("CREATE TABLE files (source TEXT, path TEXT, size INTEGER)")
        conn.execute("PRAGMA user_version = 1")
    a = write(tmp_path / "content" / "a.md", post("Alpha", "2026-11-18"))
    settle(a)
    assert [p.title for p in gather(settings).posts] == ["Alpha"]
    assert rows(settings) == 1


@pytest.mark.slow(8)
def test_a_large_first_run_reads_in_worker_processes_with_the_same_result(tmp_path: Path, make_settings: Callable[..., Scope]) -> None:
    """From PARALLEL_MIN files on (on a machine with two cores or more) the reading is shared among processes."""
    from digest.sources.markdown import PARALLEL_MIN

    settings = make_settings()
    count = PARALLEL_MIN + 7
    paths = [
        write(tmp_path / "content" / f"{n % 3}" / f"p{n:05d}.md", post(f"Post {n}", f"2026-11-{1 + n % 28:02d}")) for n in range(count)
    ]
    paths.append(write(tmp_path / "content" / "1" / "broken.md", "no front matter\n"))
    settle(*paths)
    result = gather(settings)
    source = MarkdownSource(SourceSpec(kind="markdown", location="content"), settings)
    expected = [source.read(path) for path in sorted(paths) if path.name != "broken.md"]
    assert [post_to_json(p) for p in result.posts] == [post_to_json(p) for p in expected]
    assert [str(p) for p in result.problems] == [
        "content/1/broken.md:1: no front matter (the file must start with a '---' line and a closing '---')"
    ]
    assert rows(settings) == count + 1
    assert [p.title for p in gather(settings).posts] == [p.title for p in expected]  # and again, from the index
