"""Click counts without tracking anyone (issue 25): a real send, a real HTTP server, readers and scanners."""

from __future__ import annotations

import email
import html
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
import sqlalchemy as sa

from digest.app.issues import Newsletter, WindowRequest
from digest.app.report import report
from digest.config import Scope
from digest.models import ClickTracking, LinkClicks
from digest.models.tokens import LinkSigner
from digest.readers.clicks import BURST_SECONDS, CLICKS_PER_ADDRESS, REPEAT_SECONDS, ClickFilter, Fetch, address_of
from digest.store import Store
from digest.web.public import create_public_app

from conftest import REPO, LiveServer
from support.issues import sent_issue
from support.settings import overridden
from support.web import no_follow

NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
CHROME = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
# A scanner that calls itself a browser: known only by what it does.
DISGUISED = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
HREF = re.compile(r'href="([^"]+)"')
TEXT_LINK = re.compile(r"https?://\S+")


def received(smtp_server: Any) -> list[EmailMessage]:
    messages = [email.message_from_bytes(item.data, policy=default) for item in smtp_server.handler.received]
    assert all(isinstance(m, EmailMessage) for m in messages)
    return messages  # type: ignore[return-value]


def parts(message: EmailMessage) -> tuple[str, str]:
    return (
        str(message.get_body(("html",)).get_content()),  # type: ignore[union-attr]
        str(message.get_body(("plain",)).get_content()),  # type: ignore[union-attr]
    )


def post_urls(newsletter: Newsletter, issue_id: str) -> set[str]:
    """Every post's own URL, and its "Also in" links, as the frozen issue's model keeps them."""
    import json

    stored = newsletter.store.issues.load(issue_id)
    assert stored is not None and stored.model is not None
    model = json.loads(stored.model)
    urls = set()
    for section in model["sections"]:
        for group in section["outlets"]:
            for post in group["posts"]:
                urls.update(u for u in [post.get("url"), *(a.get("url") for a in post.get("also", []))] if u)
    return urls


@pytest.fixture
def tracked(delivery_settings: Callable[..., Scope], smtp_server: Any) -> Scope:
    return overridden(delivery_settings(smtp_server.port), root=REPO, clicks=ClickTracking.AGGREGATE)


def test_people_are_counted_once_and_scanners_and_repeats_not_at_all(tracked: Scope, smtp_server: Any) -> None:
    store, newsletter, issue_id = sent_issue(tracked)
    messages = received(smtp_server)
    assert len(messages) == 3
    own = post_urls(newsletter, issue_id)
    assert len(own) >= 4
    counted: list[list[str]] = []
    for message in messages:
        page, text = parts(message)
        hrefs = [html.unescape(h) for h in HREF.findall(page)]
        redirects = [h for h in hrefs if h.startswith("https://news.example.org/r/")]
        assert redirects and not own & set(hrefs), "every post link goes through the redirect"
        assert not own & set(TEXT_LINK.findall(text)) and "https://news.example.org/r/" in text
        # The reader's own links are never rewritten: one-click unsubscribe and preferences stay theirs.
        assert any("/u/" in h for h in hrefs) and any("/preferences/" in h for h in hrefs)
        assert "/r/" not in str(message["List-Unsubscribe"])
        counted.append(redirects)
    assert counted[0] == counted[1] == counted[2], "the same links in every copy: nothing in them says whose it is"

    links = store.links.of_issues([issue_id])[issue_id]
    assert {item.link.url for item in links} == own
    first, second, third, fourth = (
        f"/r/{LinkSigner('test-secret-key-for-the-suite-0123456789', tracked.newsletter.list_id).token(issue_id, n)}" for n in (1, 2, 3, 4)
    )
    server = LiveServer(create_public_app(tracked, store))
    try:

        def fetch(path: str, agent: str, method: str = "GET") -> tuple[int, dict[str, str]]:
            code, headers, _ = no_follow(method, server.base + path, {"User-Agent": agent})
            return code, headers

        code, headers = fetch(first, FIREFOX)
        assert code == 302 and headers["location"] == links[0].link.url
        assert headers["referrer-policy"] == "no-referrer" and "set-cookie" not in headers
        fetch(first, FIREFOX)  # the same person again: once
        fetch(first, CHROME)
        fetch(second, CHROME)  # two tabs of one person: still a person
        for path in (first, second, third, fourth):  # a scanner fetching the copy's links within a second
            assert fetch(path, DISGUISED)[0] == 302
        assert fetch(first, "Proofpoint URL Defense/2.0")[0] == 302  # a scanner by name
        assert fetch(first, FIREFOX, "HEAD")[0] == 302  # a HEAD is never a click
        forged = first[:-2] + ("AA" if not first.endswith("AA") else "BB")
        other_key = "/r/" + LinkSigner("another key", tracked.newsletter.list_id).token(issue_id, 1)
        no_such_link = "/r/" + LinkSigner("test-secret-key-for-the-suite-0123456789", tracked.newsletter.list_id).token(issue_id, 999)
        for path in (forged, other_key, no_such_link, "/r/x", f"/r/{issue_id}.1"):
            code, headers = fetch(path, FIREFOX)
            assert code == 404 and "location" not in headers
    finally:
        server.stop()  # the held clicks are written as it stops

    totals = {item.link.number: (item.clicks, item.scanned, item.repeated) for item in store.links.of_issues([issue_id])[issue_id]}
    assert totals[1] == (2, 3, 1)  # Firefox and Chrome; the disguised scanner, Proofpoint, the HEAD; Firefox again
    assert totals[2] == (1, 1, 0)
    assert totals[3] == totals[4] == (0, 1, 0)
    assert all(totals[n] == (0, 0, 0) for n in totals if n > 4)

    # The report and /metrics tell exactly the people's clicks.
    seen = report(store, NOW.date(), key_of=tracked.newsletter.key_of)
    assert seen is not None
    top = seen.issues[0]
    assert (top.issue_id, top.delivered, top.clicks, top.scanned, top.repeated) == (issue_id, 3, 3, 6, 1)
    # Three readers and three clicks: the totals are told, no theme's, outlet's or post's (under the floor of 5).
    assert [p.number for p in top.posts] == sorted(p.number for p in top.posts) and top.posts[0].url == links[0].link.url
    assert all(p.clicks is None for p in top.posts) and all(t.clicks is None for t in top.themes)
    assert all(o.clicks is None for o in top.outlets)
    assert all(t.reached == 3 and t.reach_share == 1.0 for t in top.themes)  # every reader chose every theme
    metrics_app = LiveServer(create_public_app(overridden(tracked, metrics_token="m-token"), store))
    try:
        code, _, body = no_follow("GET", metrics_app.base + "/metrics", {"Authorization": "Bearer m-token"})
    finally:
        metrics_app.stop()
    assert code == 200
    counted = {
        m.group(2): float(m.group(3))
        for m in re.finditer(r'digest_issue_clicks\{issue="([^"]+)",kind="([^"]+)"\} ([0-9.]+)', body)
        if m.group(1) == issue_id
    }
    assert counted == {"click": 3, "scanned": 6, "repeated": 1}
    assert f'digest_clicks{{issue="{issue_id}"' not in body  # by theme: all under the floor


def test_no_table_keeps_a_reader_next_to_a_click(tracked: Scope, smtp_server: Any) -> None:
    store, _, issue_id = sent_issue(tracked, readers=1)
    inspector = sa.inspect(store.engine)
    for table in inspector.get_table_names():
        columns = {column["name"] for column in inspector.get_columns(table)}
        if columns & {"clicks", "scanned", "repeated"}:
            assert not {c for c in columns if "subscriber" in c or "email" in c or "address" in c or "agent" in c}, table
    assert store.links.of_issues([issue_id])[issue_id]


def test_with_tracking_off_the_links_are_the_posts_own_byte_for_byte(delivery_settings: Callable[..., Scope], smtp_server: Any) -> None:
    settings = overridden(delivery_settings(smtp_server.port), root=REPO)
    assert settings.newsletter.clicks is ClickTracking.OFF
    store, newsletter, issue_id = sent_issue(settings, readers=1)
    (message,) = received(smtp_server)
    page, text = parts(message)
    own = post_urls(newsletter, issue_id)
    hrefs = {html.unescape(h) for h in HREF.findall(page)}
    assert own <= hrefs and own <= set(TEXT_LINK.findall(text))
    assert "/r/" not in page and "/r/" not in text
    assert store.links.of_issues([issue_id]) == {}


def test_an_issue_frozen_before_tracking_keeps_its_direct_links_and_a_tracked_one_keeps_counting(
    delivery_settings: Callable[..., Scope], smtp_server: Any
) -> None:
    untracked = overridden(delivery_settings(smtp_server.port), root=REPO)
    store = Store.open(untracked.install.database_url, newsletter=untracked.newsletter.slug)
    store.subscribers.add("early@example.org")
    newsletter = Newsletter(untracked, store)
    target = newsletter.target(WindowRequest(as_of="2026-11-20T09:00"), NOW)
    newsletter.freeze(newsletter.build(target.window, NOW))
    later = Newsletter(overridden(untracked, clicks=ClickTracking.AGGREGATE), store)
    plan = later.plan_send(later.target(WindowRequest(as_of="2026-11-20T09:00"), NOW), NOW)
    assert plan.frozen and later.send(plan, NOW) is not None
    page, _ = parts(received(smtp_server)[0])
    assert "/r/" not in page and post_urls(later, plan.issue.id) <= {html.unescape(h) for h in HREF.findall(page)}


def totals_of(store: Store, issue_id: str) -> dict[int, tuple[int, int, int]]:
    return {item.link.number: (item.clicks, item.scanned, item.repeated) for item in store.links.of_issues([issue_id])[issue_id]}


def browser_agent(n: int) -> str:
    """A different, plausible browser User-Agent for each ``n``."""
    return f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{100 + n}.0.{n * 7}.0 Safari/537.36"


def test_one_address_rotating_user_agents_counts_at_most_the_cap(tracked: Scope, smtp_server: Any) -> None:
    """Reproduction (issue 31, item 3): 200 GETs of one token from one address with random browser User-Agents
    counted 200 clicks; the tokens are public in the archive and its feed."""
    store, _, issue_id = sent_issue(tracked, readers=1)
    signer = LinkSigner("test-secret-key-for-the-suite-0123456789", tracked.newsletter.list_id)
    server = LiveServer(create_public_app(tracked, store), proxy_headers=False)
    try:
        for n in range(200):
            assert no_follow("GET", f"{server.base}/r/{signer.token(issue_id, 1)}", {"User-Agent": browser_agent(n)})[0] == 302
        for n in range(2, 5):  # other links of the issue: the same allowance
            no_follow("GET", f"{server.base}/r/{signer.token(issue_id, n)}", {"User-Agent": browser_agent(300 + n)})
    finally:
        server.stop()
    totals = totals_of(store, issue_id)
    assert totals[1] == (CLICKS_PER_ADDRESS, 0, 200 - CLICKS_PER_ADDRESS)  # past the cap: repeats, not clicks
    assert sum(clicks for clicks, _, _ in totals.values()) == CLICKS_PER_ADDRESS
    seen = report(store, NOW.date(), key_of=tracked.newsletter.key_of)
    assert seen is not None and seen.issues[0].clicks == CLICKS_PER_ADDRESS


def thirty_behind_a_proxy(settings: Scope, store: Store, issue_id: str) -> None:
    """30 people behind one proxy, one browser build between them, each clicking one link within seconds: the
    proxy (this host) connects and writes each person's address in X-Forwarded-For."""
    signer = LinkSigner("test-secret-key-for-the-suite-0123456789", settings.newsletter.list_id)
    server = LiveServer(create_public_app(settings, store), proxy_headers=False)  # as `digest serve` runs it
    try:
        for n in range(30):
            path = f"/r/{signer.token(issue_id, n % 4 + 1)}"
            assert no_follow("GET", server.base + path, {"User-Agent": FIREFOX, "X-Forwarded-For": f"203.0.113.{n + 1}"})[0] == 302
    finally:
        server.stop()


def test_people_behind_a_proxy_are_counted_and_an_unlisted_proxy_is_named_with_its_fix(
    tracked: Scope, smtp_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Reproduction (issue 31, low): behind a proxy not in serve.trusted_proxies, 30 people sharing a User-Agent
    counted 0 clicks (one client fetching three links within seconds: a scanner), and nothing said why."""
    store, _, issue_id = sent_issue(tracked, readers=1)
    with caplog.at_level("WARNING", logger="digest.web.public"):
        thirty_behind_a_proxy(tracked, store, issue_id)
    unlisted = sum(clicks for clicks, _, _ in totals_of(store, issue_id).values())
    assert unlisted == CLICKS_PER_ADDRESS  # one address: the cap, not nothing
    warned = [r.getMessage() for r in caplog.records if "trusted_proxies" in r.getMessage()]
    assert len(warned) == 1 and '[serve] trusted_proxies = ["127.0.0.1"]' in warned[0]

    listed = overridden(tracked, trusted_proxies=("127.0.0.1",))
    caplog.clear()
    with caplog.at_level("WARNING", logger="digest.web.public"):
        thirty_behind_a_proxy(listed, store, issue_id)  # a new server: a new key, nothing remembered
    assert sum(clicks for clicks, _, _ in totals_of(store, issue_id).values()) - unlisted == 30  # each person their own address
    assert not [r for r in caplog.records if "trusted_proxies" in r.getMessage()]


def test_an_unlisted_proxy_is_named_only_on_a_private_address(caplog: pytest.LogCaptureFixture) -> None:
    from digest.web.public import CountedLinks

    links = CountedLinks(None, None)  # type: ignore[arg-type]  # only its warning is asked for
    with caplog.at_level("WARNING", logger="digest.web.public"):
        for address in ("10.0.0.5", "10.0.0.5", "93.184.216.34", "151.101.1.69"):
            links.unlisted(address)
    said = [record.getMessage() for record in caplog.records]
    assert len(said) == 2 and '[serve] trusted_proxies = ["10.0.0.5"]' in said[0]
    assert "93.184.216.34" not in said[1] and "151.101.1.69" not in said[1] and "not written here" in said[1]


def test_a_counted_link_with_a_trailing_slash_leads_to_its_post_not_to_an_http_address(tracked: Scope, smtp_server: Any) -> None:
    """Reproduction (issue 31, low): /r/<token>/ answered 307 to http://…/r/<token> (the scheme the proxy's
    request had), a downgrade behind a TLS proxy."""
    store, _, issue_id = sent_issue(tracked, readers=1)
    signer = LinkSigner("test-secret-key-for-the-suite-0123456789", tracked.newsletter.list_id)
    destination = store.links.of_issues([issue_id])[issue_id][0].link.url
    server = LiveServer(create_public_app(tracked, store), proxy_headers=False)
    try:
        code, headers, _ = no_follow("GET", f"{server.base}/r/{signer.token(issue_id, 1)}/", {"User-Agent": FIREFOX})
        forged, _, _ = no_follow("GET", f"{server.base}/r/{signer.token(issue_id, 1)}x/", {"User-Agent": FIREFOX})
    finally:
        server.stop()
    assert (code, headers["location"]) == (302, destination)
    assert forged == 404
    assert totals_of(store, issue_id)[1] == (1, 0, 0)


def test_a_theme_one_reader_chose_never_tells_whether_they_clicked(tracked: Scope, smtp_server: Any) -> None:
    """Reproduction (issue 31, low): a theme with 1 click among 1 reader's copies named that reader in the report
    and /metrics. Now a figure under the floor (5 clicks or 5 readers), or one that would tell it, is not shown;
    the issue's total always is."""
    from digest.cli.report import words
    from digest.web.readers import readers_page

    store = Store.open(tracked.install.database_url, newsletter=tracked.newsletter.slug)
    ids = [store.subscribers.add(f"reader{n}@example.org")[0].id for n in range(12)]
    alone, busy, second = "Energy & Climate", "Getting Around", "Homes & Neighbourhoods"
    # Readers' choices are stored by theme key (issue 31, item 4).
    store.subscribers.set_preferences(ids[0], [tracked.newsletter.key_of(alone)], None)  # the one reader whose copy has it
    for reader in ids[1:]:
        store.subscribers.set_preferences(
            reader, [tracked.newsletter.key_of(name) for name in tracked.newsletter.theme_names if name != alone], None
        )
    newsletter = Newsletter(tracked, store)
    plan = newsletter.plan_send(newsletter.target(WindowRequest(as_of="2026-11-20T09:00"), NOW), NOW)
    assert newsletter.send(plan, NOW) is not None
    issue_id = plan.issue.id
    links = store.links.of_issues([issue_id])[issue_id]
    first = {theme: next(link.link.number for link in links if link.link.theme == theme) for theme in (alone, busy, second)}
    signer = LinkSigner("test-secret-key-for-the-suite-0123456789", tracked.newsletter.list_id)
    behind_proxy = overridden(tracked, trusted_proxies=("127.0.0.1",), metrics_token="m-token")
    server = LiveServer(create_public_app(behind_proxy, store), proxy_headers=False)
    clicks = [(alone, 1), (busy, 9), (second, 6)]
    try:
        person = 0
        for theme, times in clicks:
            for _ in range(times):
                person += 1
                path = f"/r/{signer.token(issue_id, first[theme])}"
                assert no_follow("GET", server.base + path, {"User-Agent": FIREFOX, "X-Forwarded-For": f"198.51.100.{person}"})[0] == 302
    finally:
        server.stop()
    assert totals_of(store, issue_id)[first[alone]] == (1, 0, 0)  # counted: it is only not shown

    seen = report(store, NOW.date(), key_of=tracked.newsletter.key_of)
    assert seen is not None
    top = seen.issues[0]
    by_theme = {t.theme: t for t in top.themes}
    assert top.clicks == 16  # always shown
    assert by_theme[alone].reached == 1 and by_theme[alone].clicks is None and by_theme[alone].click_share is None
    # Hiding it alone would not do: 16 − 9 − 6 = 1. The next smallest goes too, and the rest show.
    assert by_theme[second].clicks is None and by_theme[busy].clicks == 9 and by_theme[busy].reached == 11
    assert all(p.clicks is None for p in top.posts if p.theme == alone)
    assert [p.clicks for p in top.posts if p.clicks is not None] == sorted(
        (p.clicks for p in top.posts if p.clicks is not None), reverse=True
    )
    as_json = json.loads(json.dumps(seen.to_json()))
    assert {t["theme"]: t["clicks"] for t in as_json["issues"][0]["themes"]}[alone] is None
    assert as_json["thresholds"]["click_floor"] == 5 and as_json["issues"][0]["clicks"] == 16
    text = "\n".join(words(seen))
    assert f"  {alone:<30} {'—':>6} {'—':>6}  1 (8%)" in text.splitlines()  # its reach is told, not its clicks
    assert "—: not shown, fewer than 5 clicks or 5 readers" in text and "clicks: 16 by people" in text
    page = readers_page(seen, tracked.newsletter.name)
    assert f'<td>{html.escape(alone)}</td><td class="n" title="not shown">—</td>' in page

    metrics = LiveServer(create_public_app(behind_proxy, store), proxy_headers=False)
    try:
        code, _, body = no_follow("GET", metrics.base + "/metrics", {"Authorization": "Bearer m-token"})
    finally:
        metrics.stop()
    assert code == 200
    assert f'digest_issue_clicks{{issue="{issue_id}",kind="click"}} 16.0' in body
    themes_told = set(re.findall(rf'digest_clicks\{{issue="{issue_id}",kind="click",theme="([^"]+)"\}}', body))
    assert themes_told == {busy}


# -- the rules alone, on a clock of their own ------------------------------------------------------------


def test_a_burst_takes_back_the_clicks_it_began_with_and_two_tabs_stay_a_person() -> None:
    rules = ClickFilter(hold=10.0)
    person = {"address": "192.0.2.1", "agent": FIREFOX, "method": "GET"}
    scanner = {"address": "198.51.100.7", "agent": DISGUISED, "method": "GET"}
    assert rules.fetched("i", 1, **person, now=0.0) is Fetch.CLICK
    assert rules.fetched("i", 2, **person, now=1.0) is Fetch.CLICK
    assert rules.fetched("i", 1, **scanner, now=0.0) is Fetch.CLICK  # not known yet...
    assert rules.fetched("i", 2, **scanner, now=0.5) is Fetch.CLICK
    assert rules.fetched("i", 3, **scanner, now=1.0) is Fetch.SCANNED  # ...until its third link within seconds
    assert rules.fetched("i", 4, **scanner, now=30.0) is Fetch.SCANNED  # and it stays known a while
    assert rules.decided(5.0) == {(i, n): (0, 1, 0) for i, n in [("i", 3), ("i", 4)]}  # the held clicks wait
    assert rules.decided(12.0) == {("i", 1): (1, 1, 0), ("i", 2): (1, 1, 0)}
    assert rules.decided(13.0) == {}


def test_a_repeat_counts_once_in_its_window_and_again_after_it() -> None:
    rules = ClickFilter(hold=0.0)
    person = {"address": "192.0.2.1", "agent": FIREFOX, "method": "GET"}
    assert rules.fetched("i", 1, **person, now=0.0) is Fetch.CLICK
    assert rules.fetched("i", 1, **person, now=60.0) is Fetch.REPEATED
    assert rules.fetched("i", 1, **person, now=REPEAT_SECONDS + 1) is Fetch.CLICK
    assert rules.fetched("i", 1, **{**person, "address": "192.0.2.2"}, now=REPEAT_SECONDS + 2) is Fetch.CLICK  # someone else
    assert rules.decided(REPEAT_SECONDS + BURST_SECONDS * 3, everything=True) == {("i", 1): (3, 0, 1)}


def test_a_stopping_server_counts_the_clicks_still_held() -> None:
    rules = ClickFilter(hold=10.0)
    rules.fetched("i", 7, address="192.0.2.1", agent=CHROME, method="GET", now=0.0)
    assert rules.decided(1.0) == {}
    assert rules.decided(1.0, everything=True) == {("i", 7): (1, 0, 0)}


def test_link_totals_are_read_in_the_issue_order(tracked: Scope, smtp_server: Any) -> None:
    store, _, issue_id = sent_issue(tracked, readers=1)
    links = store.links.of_issues([issue_id])[issue_id]
    assert [item.link.number for item in links] == list(range(1, len(links) + 1))
    assert all(isinstance(item, LinkClicks) and item.clicks == 0 for item in links)


def test_sections_follow_what_readers_clicked_ties_as_configured_and_the_fallback_last() -> None:
    from digest.issue.grouping import by_reader_interest
    from digest.models import ReaderInterest, Section, ThemeInterest

    sections = [Section(theme=name, description="", outlets=()) for name in ("Homes", "Energy", "Transport", "Culture", "More")]
    interest = ReaderInterest(
        4,
        (
            ThemeInterest(
                "Energy",
                30,
                10,
                0.5,
            ),
            ThemeInterest("More", 50, 5, 0.3),  # the fallback: however clicked, last
            ThemeInterest("Culture", 10, 10, 0.1),
            ThemeInterest("Homes", 10, 10, 0.1),
        ),
    )
    ordered, why = by_reader_interest(sections, interest, "More")
    assert [s.theme for s in ordered] == ["Energy", "Homes", "Culture", "Transport", "More"]  # Homes before Culture: config order
    assert "Energy 3.0" in why and "last 4 issue(s)" in why
    unchanged, why = by_reader_interest(sections, None, "More")
    assert list(unchanged) == sections and "config's order" in why


def test_the_next_build_orders_its_sections_by_the_clicks_and_says_why(tracked: Scope, smtp_server: Any) -> None:
    from digest.models import SectionOrder

    store, newsletter, issue_id = sent_issue(tracked, readers=1)
    links = store.links.of_issues([issue_id])[issue_id]
    last_theme = next(link.link.theme for link in reversed(links) if link.link.theme != tracked.newsletter.fallback_theme)
    wanted = [link for link in links if link.link.theme == last_theme]
    store.links.add({(issue_id, link.link.number): (5, 0, 0) for link in wanted})  # as the redirect writes them
    ordered = Newsletter(overridden(tracked, section_order=SectionOrder.READERS), store)
    built = ordered.build(ordered.target(WindowRequest(as_of="2026-11-20T09:00"), NOW).window, NOW)
    themes = [section.theme for section in built.digest.sections]
    assert themes[0] == last_theme and tracked.newsletter.fallback_theme not in themes[:-1]
    assert built.digest.order is not None and f"{last_theme} 5.0" in built.digest.order
    import json

    model = json.loads(built.issue.model or "{}")
    assert model["order"] == built.digest.order and model["interest"]["issues"] == 1
    plain = newsletter.build(newsletter.target(WindowRequest(as_of="2026-11-20T09:00"), NOW).window, NOW)
    assert plain.digest.order is None and plain.digest.interest is not None  # the desk shows the shares either way
    configured = [s.theme for s in plain.digest.sections]
    assert configured == [name for name in tracked.newsletter.theme_names if name in configured] != themes


def test_the_cap_is_per_address_and_issue_for_a_half_hour_and_an_ipv6_host_is_its_64() -> None:
    rules = ClickFilter(hold=0.0)
    clicks = [rules.fetched("i", n, address="2001:db8:1:2::1", agent=browser_agent(n), method="GET", now=float(n * 20)) for n in range(7)]
    assert clicks.count(Fetch.CLICK) == CLICKS_PER_ADDRESS and clicks[-1] is Fetch.REPEATED
    # Another address in the same /64 is the same host; another /64, or another issue, has its own allowance.
    assert rules.fetched("i", 9, address="2001:db8:1:2:ffff::9", agent=FIREFOX, method="GET", now=200.0) is Fetch.REPEATED
    assert rules.fetched("i", 9, address="2001:db8:1:3::1", agent=FIREFOX, method="GET", now=200.0) is Fetch.CLICK
    assert rules.fetched("j", 9, address="2001:db8:1:2::1", agent=FIREFOX, method="GET", now=200.0) is Fetch.CLICK
    assert rules.fetched("i", 10, address="2001:db8:1:2::1", agent=FIREFOX, method="GET", now=REPEAT_SECONDS + 1) is Fetch.CLICK
    assert address_of("::ffff:192.0.2.1") == "192.0.2.1" and address_of("2001:db8::1") == "2001:db8::/64"
    assert address_of("unknown") == "unknown"


def test_a_scanners_burst_spends_none_of_its_address_allowance() -> None:
    rules = ClickFilter(hold=10.0)
    office = "192.0.2.50"
    for n in (1, 2, 3, 4):  # a disguised scanner on the office's address: the first two are held, then taken back
        rules.fetched("i", n, address=office, agent=DISGUISED, method="GET", now=n * 0.1)
    people = [rules.fetched("i", 1, address=office, agent=browser_agent(n), method="GET", now=20.0 + n) for n in range(6)]
    assert people.count(Fetch.CLICK) == CLICKS_PER_ADDRESS


def test_the_floor_hides_small_figures_and_any_that_would_give_one_back() -> None:
    from digest.readers.disclosure import Total, hidden

    themes = {"a": 40, "b": 12, "c": 3}
    # c alone hidden: 55 − 40 − 12 would give it back, so b goes too; a stays (b and c: two figures, 15 clicks).
    assert hidden(themes, [Total(None, list(themes))]) == {"b", "c"}
    assert hidden({"a": 40, "b": 0, "c": 0}, [Total(None, ["a", "b", "c"])]) == {"a", "b", "c"}  # 0 and 0: a tells them
    assert hidden({"a": 40, "b": 30}, [Total(None, ["a", "b"])], reach={"b": 2}) == {"a", "b"}  # two readers: b hidden
    # A hidden theme hides its posts; a shown one hides a post that its other posts would give back.
    counts = {"t": 3, "u": 20, "p1": 3, "p2": 12, "p3": 8}
    totals = [Total(None, ["t", "u"]), Total("t", ["p1"]), Total("u", ["p2", "p3"])]
    assert hidden(counts, totals) == {"t", "u", "p1", "p2", "p3"}  # t alone: 23 − 20 gives it back; u's posts would tell u
    assert hidden({"t": 30, "p1": 26, "p2": 4}, [Total(None, ["t"]), Total("t", ["p1", "p2"])]) == {"p1", "p2"}
