"""The Readers page (issue 25): the report's charts, rendered in Debian's chromium, read back point by point
and compared with the store's own figures; the same page from `digest report --html` and the preview."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from digest.app.charts import report_charts
from digest.app.issues import Newsletter, WindowRequest
from digest.app.report import Report, report
from digest.config import Scope
from digest.models import ClickTracking, SubscriberStatus
from digest.models.tokens import LinkSigner
from digest.store import Store
from digest.store.events import MailEvent
from digest.web.preview import create_preview_app
from digest.web.public import create_public_app
from digest.web.readers import readers_page

from conftest import REPO, LiveServer, http_request
from support.browser import launch, real_browser
from support.cli import cli
from support.preview import WINDOW
from support.project import make_project
from support.settings import overridden
from support.web import no_follow

ISSUES = ("2026-11-13T09:00", "2026-11-20T09:00")
NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)
POINT = re.compile(r'<desc class="value">([^<]*)</desc>')
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"

# Each chart as the page holds it: the legend's names, and the values of each series' points, in order.
READ_CHARTS = """
() => Array.from(document.querySelectorAll('figure[data-chart]')).map(figure => {
  const svg = figure.querySelector('svg');
  const box = svg.getBoundingClientRect();
  const series = {};  // pygal draws a series in two groups (its line, its dots): both carry its class serie-N
  svg.querySelectorAll('g.series').forEach(group => {
    const n = Number(Array.from(group.classList).find(c => c.startsWith('serie-')).slice(6));
    (series[n] = series[n] || []).push(...Array.from(group.querySelectorAll('desc.value')).map(d => Number(d.textContent)));
  });
  const names = Array.from(svg.querySelectorAll('.legends > g text')).map(t => t.textContent);
  const count = Math.max(names.length, ...Object.keys(series).map(n => Number(n) + 1));
  return {
    key: figure.dataset.chart,
    width: box.width,
    height: box.height,
    names: names,
    series: Array.from({length: count}, (_, n) => series[n] || []),  // a series with no point shown has no group
  };
})
"""


# Who clicks the second issue, through a proxy that names each person's address: enough people on enough links
# for a theme, an outlet and a post to pass the floor of 5 (the report leaves smaller figures out).
PEOPLE = (
    *((f"198.51.100.{n}", BROWSER, (1,)) for n in range(7)),  # Getting Around, Harbour Gazette
    *((f"198.51.100.{n}", BROWSER, (2,)) for n in range(7, 12)),  # Getting Around, Riverside Radio
    *((f"198.51.100.{n}", BROWSER, (4,)) for n in range(12, 17)),  # Homes & Neighbourhoods, Civic Ledger
    ("198.51.100.17", BROWSER, (7,)),  # Energy & Climate: one click, under the floor
    ("198.51.100.0", BROWSER, (1,)),  # the first person again: a repeat
    ("198.51.100.99", "Mimecast Safe Links", (1, 2, 3)),  # a scanner
)
READERS = 10


@pytest.fixture
def history(delivery_settings: Callable[..., Scope], smtp_server: Any) -> tuple[Scope, Store, Report]:
    """Two issues sent to ten readers: the first with direct links, the second counted and clicked through the
    real redirect (PEOPLE); a bounce and a complaint on the second; one reader gone by the link."""
    base = overridden(delivery_settings(smtp_server.port), root=REPO)
    store = Store.open(base.install.database_url, newsletter=base.newsletter.slug)
    ids = [store.subscribers.add(f"reader{n}@example.org")[0].id for n in range(READERS)]
    issue_ids = []
    for as_of, clicks in zip(ISSUES, (ClickTracking.OFF, ClickTracking.AGGREGATE), strict=True):
        newsletter = Newsletter(overridden(base, clicks=clicks), store)
        moment = datetime.fromisoformat(as_of).replace(tzinfo=UTC)
        plan = newsletter.plan_send(newsletter.target(WindowRequest(as_of=as_of), moment), moment, allow_overlap=True)
        assert newsletter.send(plan, moment) is not None
        issue_ids.append(plan.issue.id)
    tracked = overridden(base, clicks=ClickTracking.AGGREGATE)
    signer = LinkSigner("test-secret-key-for-the-suite-0123456789", tracked.newsletter.list_id)
    server = LiveServer(create_public_app(overridden(tracked, trusted_proxies=("127.0.0.1",)), store), proxy_headers=False)
    try:
        for address, agent, numbers in PEOPLE:
            for number in numbers:
                path = f"{server.base}/r/{signer.token(issue_ids[1], number)}"
                assert no_follow("GET", path, {"User-Agent": agent, "X-Forwarded-For": address})[0] == 302
    finally:
        server.stop()
    for n, kind in enumerate(("hard", "complaint")):
        store.events.record(
            MailEvent(key=f"event-{n}", kind=kind, subscriber_id=ids[n], issue_id=issue_ids[1], status="5.1.1", diagnostic="")
        )
    store.subscribers.set_status(ids[3], SubscriberStatus.UNSUBSCRIBED, "the link")
    seen = report(
        store, datetime.now(UTC).date(), key_of=tracked.newsletter.key_of
    )  # the rows were added now: the list's last point is today
    assert seen is not None and [i.issue_id for i in seen.issues] == issue_ids[::-1]
    return tracked, store, seen


def project_on(tmp_path: Path, settings: Scope) -> Path:
    """The preview's fixture project, its store the history's database, and its newsletter the history's (a store
    lists and finds one newsletter's issues and readers: its slug): its config file."""
    config = make_project(tmp_path)
    text = config.read_text(encoding="utf-8").replace(
        f'url = "sqlite:///{tmp_path / "db.sqlite"}"', f'url = "{settings.install.database_url}"'
    )
    text = text.replace("[newsletter]\n", f'[newsletter]\nslug = "{settings.newsletter.slug}"\n', 1)
    config.write_text(text, encoding="utf-8")
    return config


def charts_in_chromium(page_html: str, tmp_path: Path) -> dict[str, dict[str, Any]]:
    sync_playwright, executable = real_browser()  # type: ignore[misc]
    file = tmp_path / "readers.html"
    file.write_text(page_html, encoding="utf-8")
    with sync_playwright() as playwright:  # type: ignore[operator]
        browser = launch(playwright, executable)
        try:
            page = browser.new_page(viewport={"width": 1024, "height": 900})
            refused: list[str] = []
            page.on("console", lambda message: refused.append(message.text))
            page.on("request", lambda request: refused.append(request.url) if not request.url.startswith("file:") else None)
            page.goto(file.as_uri())
            charts = page.evaluate(READ_CHARTS)
            narrow = browser.new_page(viewport={"width": 375, "height": 800})
            narrow.goto(file.as_uri())
            assert narrow.evaluate("document.documentElement.scrollWidth") <= 375  # a phone needs no sideways scroll
        finally:
            browser.close()
    assert refused == [], "the page fetches nothing and runs nothing (offline, under its own policy)"
    return {chart["key"]: chart for chart in charts}


def test_each_chart_renders_and_its_points_are_the_stores_figures(history: tuple[Scope, Store, Report], tmp_path: Path) -> None:
    settings, _, seen = history
    charts = charts_in_chromium(readers_page(seen, settings.newsletter.name), tmp_path)
    assert set(charts) == {"subscribers", "themes", "posts", "complaints", "bounces"}
    assert all(chart["width"] > 300 and chart["height"] > 100 for chart in charts.values())

    points = charts["subscribers"]
    assert points["names"] == ["active", "pending", "unsubscribed", "bounced"]
    assert points["series"] == [[getattr(p, name) for p in seen.subscribers] for name in points["names"]]
    assert points["series"][2][-1] == 1  # the reader who left

    latest, earlier = seen.issues
    themes = charts["themes"]
    clicks = {t.theme: t.clicks for t in latest.themes}
    assert themes["names"] == list(dict.fromkeys(t.theme for issue in (earlier, latest) for t in issue.themes))
    # The first issue's links were not counted: no point there, only the second issue's.
    assert [series[-1] for series in themes["series"] if series] == [
        clicks[name] for name, series in zip(themes["names"], themes["series"], strict=True) if series
    ]
    # Getting Around, 12 clicks, is told; the others are under the floor of 5 or would tell one that is (18 − 12 − 5 = 1).
    assert [name for name, series in zip(themes["names"], themes["series"], strict=True) if series] == ["Getting Around"]
    assert clicks["Getting Around"] == 12 and latest.clicks == 18  # the scanner's three fetches and the repeat are not there

    ranked = charts["posts"]["series"][0]
    assert ranked == [p.clicks for p in reversed([p for p in latest.posts if p.clicks is not None][:15])] == [7]
    assert "post(s) not shown: fewer than 5 clicks" in {chart.key: chart.summary for chart in report_charts(seen)}["posts"]

    complaints = charts["complaints"]
    assert complaints["series"][0] == [round(i.complaint_rate * 100, 3) for i in (earlier, latest)] == [0, 10]
    assert complaints["names"][1:] == ["Gmail/Yahoo: keep under 0.1%", "never reach 0.3%"]
    assert charts["bounces"]["series"][0] == [0, 10] and charts["bounces"]["names"][1] == "limit 1%, as digest status warns"


def test_the_html_report_and_the_preview_show_the_same_charts(history: tuple[Scope, Store, Report], tmp_path: Path) -> None:
    settings, _, seen = history
    config = project_on(tmp_path, settings)
    out = tmp_path / "report.html"
    done = cli(config, "report", "--html", str(out))
    assert done.returncode == 0, done.stderr
    assert f"wrote    {out}" in done.stdout and f"Issue {seen.issues[0].issue_id}" in done.stdout
    server = LiveServer(create_preview_app(config, watch=False))
    try:
        code, _, page = http_request("GET", f"{server.base}/readers")
        assert 'href="/readers"' in http_request("GET", f"{server.base}/?{WINDOW}")[2]  # the preview links it
    finally:
        server.stop()
    written = out.read_text(encoding="utf-8")
    assert code == 200 and POINT.findall(page) == POINT.findall(written) != []
    assert page.count("<svg") == written.count("<svg") == 5 and "<script" not in page + written
    assert "Clicks by people: <strong>18</strong>" in written
    as_json = json.loads(cli(config, "report", "--format", "json").stdout)
    latest = as_json["issues"][0]
    assert (latest["clicks"], latest["scanned"], latest["repeated"], latest["bounced"], latest["complained"]) == (18, 3, 1, 1, 1)
    assert latest["complaint_rate"] == 0.1 and as_json["thresholds"]["complaint_limit"] == 0.003
    assert {t["theme"]: t["clicks"] for t in latest["themes"]}["Energy & Climate"] is None  # one click: not shown


def test_status_the_report_and_its_chart_measure_failures_against_one_limit(history: tuple[Scope, Store, Report], tmp_path: Path) -> None:
    """Reproduction (issue 31, low): `digest status` warned at 1 % permanent failures, the report's chart drew
    its line at 2 % (of another measure)."""
    settings, _, seen = history
    config = project_on(tmp_path, settings)
    as_json = json.loads(cli(config, "report", "--format", "json").stdout)
    assert as_json["thresholds"]["failure_limit"] == 0.01 and "bounce_warning" not in as_json["thresholds"]
    latest = as_json["issues"][0]
    assert latest["failure_rate"] == 0.1  # 1 bounced of the 10 attempted, as status counts it
    line = next(chart for chart in report_charts(seen) if chart.key == "bounces")
    assert "1 % (limit 1%, as digest status warns)" in line.summary
    status = cli(config, "status")
    assert status.returncode == 0, status.stderr
    assert f"permanent failures {latest['failure_rate']:.2%} (limit 1 %)" in status.stdout
    assert "permanent failures 10.00% are over 1 %" in status.stdout
    text = cli(config, "report").stdout
    assert "permanent failures 10.00% (over the 1% limit)" in text


def test_a_report_of_an_earlier_issue_ends_its_trends_there(history: tuple[Scope, Store, Report], tmp_path: Path) -> None:
    settings, store, seen = history
    latest, earlier = seen.issues
    older = report(store, datetime.now(UTC).date(), key_of=settings.newsletter.key_of, issue_id=earlier.issue_id)
    assert older is not None and [i.issue_id for i in older.issues] == [earlier.issue_id]
    assert not older.issues[0].tracked and older.issues[0].posts == () and older.issues[0].delivered == READERS
    assert report(store, datetime.now(UTC).date(), key_of=settings.newsletter.key_of, issue_id="2026-01-01-nosuch") is None
    one = report(store, datetime.now(UTC).date(), key_of=settings.newsletter.key_of, last=1)
    assert one is not None and [i.issue_id for i in one.issues] == [latest.issue_id]
    config = project_on(tmp_path, settings)
    missing = cli(config, "report", "--issue", "2026-01-01-nosuch")
    # Issue 31 (low): an id that names no stored issue is the one unknown-issue error (exit 2), not "has no deliveries".
    assert (
        missing.returncode == 2 and "no stored issue '2026-01-01-nosuch'" in missing.stderr and " status` lists them all" in missing.stderr
    )
    untracked = cli(config, "report", "--issue", earlier.issue_id)
    assert untracked.returncode == 0 and "clicks: not counted" in untracked.stdout


def axis_labels(page: str, chart: str, axis: str) -> list[str]:
    """The labels of one axis of one chart, as the page's SVG has them."""
    figure = re.search(rf'<figure id="chart-{chart}".*?</figure>', page, re.S)
    assert figure is not None, chart
    group = re.search(rf'<g class="axis {axis}[^"]*">(.*?)</g>\s*</g>', figure.group(0), re.S)
    assert group is not None, (chart, axis)
    return re.findall(r"<text[^>]*>([^<]*)</text>", group.group(1))


def test_counts_of_people_and_clicks_are_drawn_on_whole_numbers(
    delivery_settings: Callable[..., Scope], smtp_server: Any, tmp_path: Path
) -> None:
    """Reproduction (issue 31, low): with two readers the subscribers chart's axis went 0, 0.2, 0.4 … 2."""
    from support.issues import sent_issue

    settings = overridden(delivery_settings(smtp_server.port), root=REPO, clicks=ClickTracking.AGGREGATE)
    sent_issue(settings, readers=2)
    out = tmp_path / "report.html"
    done = cli(project_on(tmp_path, settings), "report", "--html", str(out))
    assert done.returncode == 0, done.stderr
    page = out.read_text(encoding="utf-8")
    for chart, axis in (("subscribers", "y"), ("themes", "y"), ("posts", "x")):
        labels = axis_labels(page, chart, axis)
        assert labels and all(label.isdigit() for label in labels), (chart, labels)
    assert axis_labels(page, "subscribers", "y") == ["0", "1", "2"]


def test_an_opt_out_from_an_old_export_is_not_counted_as_leaving_after_an_issue(
    history: tuple[Scope, Store, Report], tmp_path: Path
) -> None:
    """Reproduction (issue 31, low): the report counted an opt-out imported from an old export as "left after"
    the latest issue (the import's day is no day anyone left)."""
    settings, _, seen = history
    assert seen.issues[0].unsubscribed == 1  # the reader who left by the link
    config = project_on(tmp_path, settings)
    export = tmp_path / "old-list.csv"
    # Someone who left the old list long ago, and a reader here whom the old list had as unsubscribed.
    export.write_text("email,status\nlong.gone@example.org,unsubscribed\nreader5@example.org,unsubscribed\n", encoding="utf-8")
    imported = cli(config, "subscribers", "import", str(export))
    assert imported.returncode == 0, imported.stderr
    as_json = json.loads(cli(config, "report", "--format", "json").stdout)
    assert [issue["unsubscribed"] for issue in as_json["issues"]] == [1, 0]
    assert as_json["subscribers"][-1]["unsubscribed"] == 3  # on file as unsubscribed, from the import's day
    assert "left after it 1" in cli(config, "report").stdout
