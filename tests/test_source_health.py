"""Sources' health (issue 37, item 3): every fetch of a feed recorded, each source judged ok, stale or failing,
and what the memory of a feed's entries says of a build: a post reissued under a new GUID is no news, an entry
dated long before the window that turns up now is flagged. A real feed server on 127.0.0.1, a real SQLite file."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from digest.app.health import FAILING_AFTER, judge, source_health
from digest.app.issues import Newsletter
from digest.cli import main
from digest.cli.build import summary
from digest.config import SourceSpec, load_settings
from digest.issue.selection import window_between
from digest.models import HEALTH_WORDS, ExclusionKind, FetchRecord, Health
from digest.store import Store
from digest.web.preview import create_preview_app

from conftest import FIXTURES, LiveServer, Served, body_route, http_request
from support.cli import cli
from support.feed_health import Item, feed_config, rss

NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)  # a Friday: the week before it is the issue's window
WEEK = window_between(date(2026, 11, 13), date(2026, 11, 20), UTC)
WEEK_BEFORE = window_between(date(2026, 11, 6), date(2026, 11, 13), UTC)


def item(name: str, day: date, guid: str | None = None) -> Item:
    return Item(
        f"Harbour {name}", f"https://harbour.example/{name}", guid or f"{name}-1", datetime(day.year, day.month, day.day, 8, tzinfo=UTC)
    )


# Three posts of the week before, as the feed first showed them.
FIRST = (item("ferry", date(2026, 11, 7)), item("wall", date(2026, 11, 9)), item("crane", date(2026, 11, 11)))


def newsletter(tmp_path: Path, served: Served) -> tuple[Path, Newsletter, Store]:
    config = feed_config(tmp_path, f"{served.base}/feed.xml")
    settings = load_settings(config, environ={})
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    return config, Newsletter(settings, store), store


def serve(served: Served, *items: Item) -> None:
    served.routes["/feed.xml"] = body_route(rss(*items), "application/rss+xml")


def test_a_feed_that_404s_three_times_is_failing_in_sources_status_and_the_preview(tmp_path: Path, http_server: Served) -> None:
    config, letter, store = newsletter(tmp_path, http_server)
    serve(http_server, *FIRST)
    letter.posts(WEEK, now=NOW)
    del http_server.routes["/feed.xml"]  # the server answers 404 from now on
    for failed in range(1, FAILING_AFTER + 1):
        letter.posts(WEEK, now=NOW + timedelta(hours=failed))
        [judged] = source_health(letter.settings.newsletter.sources, store, NOW + timedelta(hours=failed))
        assert judged.failures_in_row == failed
        assert judged.health is (Health.FAILING if failed == FAILING_AFTER else Health.OK), judged.reason
    assert judged.reason.startswith("3 fetches in a row failed") and "HTTP 404" in judged.reason
    assert "last success 2026-11-20 09:00 UTC" in judged.reason

    # The command line, as an operator runs it: the list with each source's health and its last fetch.
    run = cli(config, "sources", "--format", "json")
    assert run.returncode == 0, run.stderr
    [listed] = json.loads(run.stdout)
    assert listed["health"] == "failing" and listed["kind"] == "feed" and listed["source"] == f"{http_server.base}/feed.xml"
    assert listed["failures_in_row"] == 3 and listed["fetches"] == 4 and listed["entries_known"] == 3
    last = listed["last_fetch"]
    assert last["result"] == "failed" and last["http_status"] == 404 and last["error"] == "HTTP 404 Not Found"
    assert last["entries"] == 0 and last["new_entries"] == 0 and last["bytes"] == 0 and last["seconds"] >= 0

    status = CliRunner().invoke(main, ["--config", str(config), "status"])
    assert status.exit_code == 0, status.output
    assert f"Source      failing: feed:{http_server.base}/feed.xml: 3 fetches in a row failed" in status.output
    as_json = json.loads(CliRunner().invoke(main, ["--config", str(config), "status", "--json"]).output)
    assert [source["health"] for source in as_json["sources"]] == ["failing"]

    server = LiveServer(create_preview_app(config, watch=False))
    try:
        code, _, page = http_request("GET", f"{server.base}/?since=2026-11-13&until=2026-11-20")
    finally:
        server.stop()
    assert code == 200
    # The preview's own fetch is the fourth failure in a row: the page says the source is failing, and why.
    assert f"input · {http_server.base}/feed.xml: source failing: 4 fetches in a row failed" in page


def test_a_feed_that_reissues_its_guids_does_not_send_old_posts_as_new(tmp_path: Path, http_server: Served) -> None:
    _, letter, store = newsletter(tmp_path, http_server)
    serve(http_server, *FIRST)
    # The issue before was built as its window ended: the moment this week's began.
    assert [post.title for post in letter.posts(WEEK_BEFORE, now=WEEK.start).posts] == [i.title for i in FIRST]
    # A week later the feed gives the same three posts new GUIDs and today's dates, beside one that is new.
    reissued = tuple(item(i.url.rsplit("/", 1)[1], date(2026, 11, 18), guid=i.guid.replace("-1", "-2")) for i in FIRST)
    fresh = item("lights", date(2026, 11, 19))
    serve(http_server, *reissued, fresh)

    built = letter.build(WEEK, NOW)
    assert [post.title for post in built.digest.posts] == ["Harbour lights"]
    left = {e.post.title: e for e in built.digest.excluded}
    assert {title for title, e in left.items() if e.kind is ExclusionKind.SEEN_BEFORE} == {i.title for i in FIRST}
    assert left["Harbour ferry"].reason == (
        "seen before: first seen 2026-11-13 under GUID ferry-1, now under GUID ferry-2 (its feed reissued it): an old post, not news"
    )
    report = summary(built.digest, built.rendered, letter.settings.newsletter)
    assert "3 seen before under another GUID: not new" in report
    assert '"Harbour ferry": seen before: first seen 2026-11-13 under GUID ferry-1' in report
    [judged] = source_health(letter.settings.newsletter.sources, store, NOW)
    assert judged.last is not None and (judged.last.entries, judged.last.new_entries) == (4, 1)

    # Without that memory (a new database), the same feed would have sent the three again as this week's news.
    (tmp_path / "fresh").mkdir()
    _, forgetful, _ = newsletter(tmp_path / "fresh", http_server)
    assert len(forgetful.build(WEEK, NOW).digest.posts) == 4


def test_an_entry_seen_in_the_window_keeps_its_place_whatever_its_guid_did(tmp_path: Path, http_server: Served) -> None:
    """A reissue is an old post only when it was shown before the window began: one first seen inside it is news."""
    _, letter, _ = newsletter(tmp_path, http_server)
    serve(http_server, item("ferry", date(2026, 11, 16)))
    letter.posts(WEEK, now=NOW - timedelta(days=3))
    serve(http_server, item("ferry", date(2026, 11, 16), guid="ferry-2"))
    assert [post.title for post in letter.build(WEEK, NOW).digest.posts] == ["Harbour ferry"]


def test_a_feed_gone_quiet_is_stale_and_one_that_keeps_its_rhythm_is_ok(tmp_path: Path, http_server: Served) -> None:
    config, letter, store = newsletter(tmp_path, http_server)
    quiet = [item(f"n{n}", date(2026, 9, 1) + timedelta(weeks=n)) for n in range(5)]  # weekly, the last on 29 September
    serve(http_server, *quiet)
    letter.posts(WEEK, now=NOW)
    [judged] = source_health(letter.settings.newsletter.sources, store, NOW)
    assert judged.health is Health.STALE
    assert judged.reason == "no new entry since 2026-09-29 (52 days); it usually has one every 7 days"
    # Said with the listing, never fatal: a quiet feed is news for the operator, not bad input (--strict passes).
    listing = CliRunner().invoke(main, ["--config", str(config), "posts", "--since", "2026-11-13", "--until", "2026-11-20", "--strict"])
    assert listing.exit_code == 0, listing.output
    assert f"{http_server.base}/feed.xml: source stale: no new entry since 2026-09-29" in listing.output

    (tmp_path / "lively").mkdir()
    _, lively, lively_store = newsletter(tmp_path / "lively", http_server)
    serve(http_server, *(item(f"n{n}", date(2026, 10, 30) + timedelta(weeks=n)) for n in range(3)))  # the last on 13 November
    lively.posts(WEEK, now=NOW)
    [judged] = source_health(lively.settings.newsletter.sources, lively_store, NOW)
    assert judged.health is Health.OK and judged.reason == "last fetch 2026-11-20 09:00 UTC: 3 entries, 3 new"


def test_an_entry_dated_long_before_the_window_that_appears_now_is_flagged_not_sent(tmp_path: Path, http_server: Served) -> None:
    _, letter, _ = newsletter(tmp_path, http_server)
    archive = item("pier", date(2025, 1, 10))
    serve(http_server, *FIRST, archive)  # a source's first fetch shows its back catalogue: nothing flagged
    first = letter.posts(WEEK_BEFORE, now=NOW - timedelta(days=7))
    assert not [p for p in first.problems if "appeared for the first time" in p.message]

    late = item("lighthouse", date(2025, 6, 2))
    serve(http_server, *FIRST, archive, late, item("lights", date(2026, 11, 19)))
    built = letter.build(WEEK, NOW)
    assert [post.title for post in built.digest.posts] == ["Harbour lights"]
    [flag] = [p for p in built.digest.problems if "appeared for the first time" in p.message]
    assert flag.advisory and flag.where == f"{http_server.base}/feed.xml"
    assert (
        flag.message
        == '"Harbour lighthouse" appeared for the first time but is dated 2025-06-02, long before the window: flagged, not sent as news'
    )


def test_a_success_ends_a_run_of_failures_and_every_health_has_its_words() -> None:
    def fetch(hours: int, error: str | None) -> FetchRecord:
        at = NOW - timedelta(hours=hours)
        return FetchRecord(source="s", kind="feed", at=at, error=error, status=None, entries=0, new_entries=0, size=0, seconds=0.0)

    history = [fetch(0, "HTTP 500"), fetch(1, "HTTP 500"), fetch(2, None), fetch(3, "HTTP 500"), fetch(4, "HTTP 500"), fetch(5, "x")]
    judged = judge("s", "feed", history, [], 0, NOW)
    assert (judged.health, judged.failures_in_row) == (Health.OK, 2)
    assert judged.reason == "the last fetch failed (HTTP 500); 2 in a row, failing at 3"
    assert judge("s", "feed", [], [], 0, NOW).health is Health.UNKNOWN
    assert set(HEALTH_WORDS) == set(Health)


def test_an_archive_page_by_url_is_recorded_and_sources_on_disk_say_they_keep_no_history(tmp_path: Path, http_server: Served) -> None:
    _, letter, store = newsletter(tmp_path, http_server)
    page = (FIXTURES / "archives" / "harbour-watch.txt").read_bytes()
    http_server.routes["/archive.txt"] = body_route(page, "text/plain; charset=utf-8")
    specs = (SourceSpec(kind="archive", location=f"{http_server.base}/archive.txt"), SourceSpec(kind="markdown", location="content"))
    read = letter.posts(None, specs[:1], now=NOW).posts
    archive, folder = source_health(specs, store, NOW)
    assert archive.last is not None and archive.last.ok and archive.last.status == 200 and archive.last.size == len(page)
    assert archive.last.entries == archive.last.new_entries == archive.entries_known == len(read) > 0
    assert (folder.health, folder.reason, folder.last) == (Health.UNKNOWN, "read from disk on every build: no fetch history kept", None)


def test_a_reissue_of_a_post_dated_before_the_window_is_no_news_though_the_issue_before_was_built_after_it_ended(
    tmp_path: Path, http_server: Served
) -> None:
    """Issues are seldom built as their window ends (a weekly issue built hours, or days, after its calendar week):
    the post was first seen after this window began, but it was dated before it, so it was an earlier window's."""
    _, letter, _ = newsletter(tmp_path, http_server)
    serve(http_server, item("ferry", date(2026, 11, 11)))
    assert [post.title for post in letter.posts(WEEK_BEFORE, now=NOW).posts] == ["Harbour ferry"]  # built after WEEK began
    serve(http_server, item("ferry", date(2026, 11, 18), guid="ferry-2"))  # new GUID, a date inside this week
    built = letter.build(WEEK, NOW + timedelta(days=7))
    assert built.digest.posts == ()
    [left] = built.digest.excluded
    assert left.kind is ExclusionKind.SEEN_BEFORE and "first seen 2026-11-20 under GUID ferry-1" in left.reason


def test_a_feed_whose_entries_cannot_be_read_is_failing_not_ok(tmp_path: Path, http_server: Served) -> None:
    """A feed with entries but no dates gives nothing to any issue: three such fetches are "failing", saying why,
    where "ok: 0 entries" hid it."""
    _, letter, store = newsletter(tmp_path, http_server)
    undated = rss(*FIRST).replace(b"<pubDate>", b"<!--").replace(b"</pubDate>", b"-->")
    http_server.routes["/feed.xml"] = body_route(undated, "application/rss+xml")
    for fetched in range(FAILING_AFTER):
        letter.posts(WEEK, now=NOW + timedelta(hours=fetched))
    [judged] = source_health(letter.settings.newsletter.sources, store, NOW + timedelta(hours=FAILING_AFTER))
    assert judged.health is Health.FAILING, judged.reason
    assert 'none of its 3 entries could be read (entry 1 "Harbour ferry": no date (published or updated); skipped)' in judged.reason
