"""The archive of a newsletter with editions (issue 35): the month page a round-up's "and N more in the archive" links
lists every post of the month, those beyond the cap too, from ``digest publish`` (real files) and ``digest serve``
(a real HTTP server); each edition's issues and its own Atom feed; an install of one edition keeps its page."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import feedparser

from digest.config import load_settings
from digest.store import Store
from digest.web.public import create_public_app

from conftest import REPO, LiveServer, http_request, write
from mailserver import SmtpServer
from support.cli import cli
from support.editions import CONFIG as EDITIONS_CONFIG
from support.project import ISSUE, fill, make_config
from support.settings import overridden

SECRET = "test-secret-key-for-the-suite-0123456789"
GOLDEN = REPO / "tests" / "golden"
# The editions' end-to-end project's config, its round-up capped at 3 and titled by default.
CONFIG = EDITIONS_CONFIG.replace('cap_per_theme = 4\nsubject = "{{name}}: the month of {{month}}"\n', "cap_per_theme = 3\n")
assert "cap_per_theme = 3\n" in CONFIG

# November 2026: ten buses (the 2nd to the 20th), one with markup in its title, and two flats; one bus of October.
TRANSPORT = {f"Bus route {n:02d}": f"2026-11-{2 + 2 * n:02d}T10:00:00Z" for n in range(9)}
TRANSPORT['Tram <script>alert("x")</script> & co'] = "2026-11-21T10:00:00Z"
HOUSING = {"Flats 0": "2026-11-12T10:00:00Z", "Flats 1": "2026-11-13T10:00:00Z"}
OCTOBER = {"Bus route of October": "2026-10-20T10:00:00Z"}
FIRST_FRIDAY = "2026-11-06T10:00"  # the weekly of 30 October – 6 November: buses 00 and 01
MONTHLY = "2026-12-04T10:00"  # the round-up of November


def project(root: Path, port: int) -> Path:
    for theme, posts in (("transport", {**TRANSPORT, **OCTOBER}), ("housing", HOUSING)):
        for n, (title, when) in enumerate(posts.items()):
            quoted = title.replace('"', '\\"')
            write(
                root / "posts" / f"{theme}{n}.md",
                f'---\ntitle: "{quoted}"\ndate: {when}\nurl: https://harbour.example/{theme}/{n}\noutlet: "Gazette"\n'
                f"tags: [{theme}]\n---\n\n{theme} {n} text.\n",
            )
    return write(root / "config" / "digest.toml", CONFIG.format(root=root, port=port))


def entries(feed: bytes) -> list[str]:
    parsed = feedparser.parse(feed)
    assert not parsed.bozo, parsed.bozo_exception
    return [entry.link.rstrip("/").rsplit("/", 1)[-1] for entry in parsed.entries]


def test_the_month_page_lists_every_post_and_each_edition_has_its_feed(tmp_path: Path, smtp_server: SmtpServer) -> None:
    config = project(tmp_path, smtp_server.port)
    for address in ("weekly@example.org", "monthly@example.org"):
        assert cli(config, "subscribers", "add", address).returncode == 0
    assert cli(config, "subscribers", "set-edition", "monthly@example.org", "monthly").returncode == 0
    sent = cli(config, "send", "--as-of", FIRST_FRIDAY, "--yes")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    sent = cli(config, "send", "--edition", "monthly", "--as-of", MONTHLY, "--yes")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    (monthly_mail,) = [item.parse() for item in smtp_server.handler.received if item.recipient == "monthly@example.org"]
    text = monthly_mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    # The round-up mails three buses of ten and links the month's page for the seven more.
    assert "and 7 more in the archive" in text and "https://harbour.example/archive/2026-11/" in text
    assert "OUTLETS THIS MONTH" in text and "THIS WEEK" not in text  # the window named by its span (a journey)
    assert sum(title in text for title in TRANSPORT if title.startswith("Bus")) == 2  # the tram is the third

    site = tmp_path / "site"
    published = cli(config, "publish", str(site))
    assert published.returncode == 0, published.stderr
    assert "2 issue(s), 1 month page(s) and 4 feed(s)" in published.stdout  # feed.atom, editions/{monthly,daily}, 2 themes
    month = (site / "2026-11" / "index.html").read_text(encoding="utf-8")
    # Every post of November the two issues carried, once each (buses 00 and 01 went in both), none of October.
    for title in ("Bus route 00", "Bus route 01", "Bus route 05", "Flats 0", "Flats 1"):
        assert month.count(f">{title}</a>") == 1, title
    assert month.count("<li>") == len(TRANSPORT) + len(HOUSING) and "October" not in month
    assert '<a href="https://harbour.example/transport/0">Bus route 00</a>' in month and "Gazette" in month
    assert month.index(">Transport<") < month.index(">Housing<")  # the config's order of themes
    assert "Tram &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co" in month and "<script>" not in month
    assert "@example.org" not in month and '<meta http-equiv="Content-Security-Policy"' in month
    assert not (site / "2026-10").exists() and not (site / "2026-12").exists()  # only months with a post carried

    index = (site / "index.html").read_text(encoding="utf-8")
    head = index[: index.index("</head>")]
    for feed in ("feed.atom", "editions/monthly.atom", "editions/daily.atom"):
        assert re.search(f'<link rel="alternate" type="application/atom\\+xml" title="[^"]+" href="{feed}">', head), feed
    kickers = re.findall(r'<h2 class="kicker">([^<]*)</h2>', index)
    assert kickers == ["Weekly", "Monthly", "Daily", "Every post, by month"]
    assert 'href="2026-11/"' in index
    assert "01 Nov – 30 Nov 2026" in index and "01 Dec 2026" not in index  # the round-up's last day, as its mail says

    settings = load_settings(config, environ={})
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    weekly_ids = [summary.id for summary in store.issues.summaries(sent_only=True)]
    monthly_ids = [summary.id for summary in store.of_edition("monthly").issues.summaries(sent_only=True)]
    assert len(weekly_ids) == 1 and len(monthly_ids) == 1
    # Each edition's feed holds its own issues only; feed.atom stays the first edition's.
    assert entries((site / "feed.atom").read_bytes()) == weekly_ids
    assert entries((site / "editions" / "monthly.atom").read_bytes()) == monthly_ids
    assert entries((site / "editions" / "daily.atom").read_bytes()) == []
    assert feedparser.parse((site / "editions" / "monthly.atom").read_bytes()).feed.title == "Harbour Notes: Monthly"
    assert f'href="{monthly_ids[0]}/"' in index and (site / monthly_ids[0] / "index.html").is_file()

    # digest serve: the round-up's link answers with the same list; each newsletter's months are its own.
    scope = overridden(settings, secret_key=SECRET)
    culture = replace(scope, newsletter=replace(scope.newsletter, name="Culture", slug="culture", path="/culture"))
    server = LiveServer(create_public_app(scope, store, newsletters=(scope, culture)))
    try:
        code, _, served = http_request("GET", f"{server.base}/archive/2026-11/")
        assert code == 200 and served.count("<li>") == month.count("<li>") and ">Bus route 05</a>" in served
        code, _, again = http_request("GET", f"{server.base}/archive/2026-11")  # its slash added by a redirect (followed)
        assert code == 200 and again == served
        for missing in ("/archive/2026-10/", "/archive/2026-13/", "/culture/archive/2026-11/", "/archive/editions/weekly-x.atom"):
            assert http_request("GET", f"{server.base}{missing}")[0] == 404, missing
        code, _, listing = http_request("GET", f"{server.base}/archive/")
        assert code == 200 and 'href="/archive/2026-11/"' in listing and 'href="/archive/editions/monthly.atom"' in listing
        code, _, feed = http_request("GET", f"{server.base}/archive/editions/monthly.atom")
        assert code == 200 and feed == (site / "editions" / "monthly.atom").read_text(encoding="utf-8")
        code, _, copy = http_request("GET", f"{server.base}/archive/{monthly_ids[0]}/")
        assert code == 200 and "and 7 more in the archive" in copy and "monthly@example.org" not in copy
    finally:
        server.stop()
        store.close()


def test_an_install_of_one_edition_keeps_its_archive_page(tmp_path: Path, smtp_server: SmtpServer) -> None:
    config = make_config(tmp_path, smtp_server.port)
    store = fill(config, 3)
    assert cli(config, "send", "--issue", ISSUE, "--yes").returncode == 0
    site = tmp_path / "site"
    published = cli(config, "publish", str(site))
    assert published.returncode == 0, published.stderr
    index = (site / "index.html").read_text(encoding="utf-8")
    # The page of before editions, byte for byte: the golden file is what `digest publish` wrote for this project before
    # the archive knew editions (commit 4b4d5d5): no section, no edition's feed, no month in it. One change since, on
    # purpose: a window's end is its last day, as the mail names it ("02 Mar", was the exclusive end's "03 Mar").
    assert index == (GOLDEN / "archive_index_one_edition.html").read_text(encoding="utf-8")
    assert not (site / "editions").exists() and entries((site / "feed.atom").read_bytes()) == [ISSUE]
    settings = load_settings(config, environ={})
    server = LiveServer(create_public_app(overridden(settings, secret_key=SECRET), store))
    try:
        code, _, served = http_request("GET", f"{server.base}/archive/")
        assert code == 200 and "<h2" not in served and "<link" not in served and f'href="/archive/{ISSUE}/"' in served
    finally:
        server.stop()
        store.close()


def test_a_newsletter_whose_first_edition_is_not_weekly_serves_its_archive(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """A journey (issue 34 with 35): an added newsletter of one monthly edition served an empty archive and a 404 for
    every mail's "view in browser" link: the pages' store was re-scoped by slug alone, so its first edition was taken
    to be "weekly". The store handed to the app here is opened as a newcomer's code would, by slug alone."""
    config = project(tmp_path, smtp_server.port)
    text = config.read_text(encoding="utf-8")
    monthly_only = text[: text.index("[editions.weekly]")] + text[text.index("[editions.monthly]") : text.index("[editions.daily]")]
    config.write_text(monthly_only, encoding="utf-8")
    assert cli(config, "subscribers", "add", "monthly@example.org").returncode == 0
    sent = cli(config, "send", "--as-of", MONTHLY, "--yes")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    settings = load_settings(config, environ={})
    assert [edition.name for edition in settings.newsletter.editions] == ["monthly"]
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    (issue,) = store.of_edition("monthly").issues.summaries(sent_only=True)
    # What every page and the API re-scope the store by: the config's first edition, whatever the store was opened with.
    assert [summary.id for summary in store.of_scope(settings).issues.summaries(sent_only=True)] == [issue.id]
    server = LiveServer(create_public_app(overridden(settings, secret_key=SECRET), store))
    try:
        code, _, listing = http_request("GET", f"{server.base}/archive/")
        assert code == 200 and f'href="/archive/{issue.id}/"' in listing
        assert http_request("GET", f"{server.base}/archive/{issue.id}/")[0] == 200
        code, _, feed = http_request("GET", f"{server.base}/archive/feed.atom")
        assert code == 200 and entries(feed.encode("utf-8")) == [issue.id]
    finally:
        server.stop()
        store.close()


def test_a_month_page_links_the_months_before_and_after_it_that_have_pages() -> None:
    """A week's issue fitted under Gmail's clip counts what it left out on one month's page ("and 14 more in the
    archive"); a week that spans two months has some of those on the other month's page, which nothing linked (the
    index lists no months for a newsletter of one plain edition): each month page now links the nearest earlier and
    later months that have a page, skipping months without one."""
    from datetime import UTC, datetime

    from digest.app.archive_month import ArchivedPost, month_page

    def post(n: int, month: int) -> ArchivedPost:
        return ArchivedPost(f"p{n}", f"Post {n}", f"https://e.example/{n}", "Gazette", datetime(2026, month, 10, tzinfo=UTC), "Transport")

    posts = [post(1, 8), post(2, 11), post(3, 12), post(4, 12)]
    pages = {month: month_page(posts, 2026, month, newsletter="N", language="en", themes=["Transport"]) for month in (8, 11, 12)}
    assert month_page(posts, 2026, 10, newsletter="N", language="en", themes=["Transport"]) is None
    links = {month: re.findall(r'<a href="(\.\./[^"]+)" rel="(prev|next)">([^<]+)</a>', page or "") for month, page in pages.items()}
    assert links[8] == [("../2026-11/", "next", "November 2026 →")]
    assert links[11] == [("../2026-08/", "prev", "← August 2026"), ("../2026-12/", "next", "December 2026 →")]
    assert links[12] == [("../2026-11/", "prev", "← November 2026")]
