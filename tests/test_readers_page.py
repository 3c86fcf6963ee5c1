"""The Readers page (issue 25): the report's charts, rendered in Debian's chromium, read back point by point
and compared with the store's own figures; the same page from `digest report --html` and the preview."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from digest.app.issues import Newsletter, WindowRequest
from digest.app.report import Report, report
from digest.config import Settings
from digest.models import ClickTracking, SubscriberStatus
from digest.store import Store
from digest.store.events import MailEvent
from digest.subscribers.tokens import LinkSigner
from digest.web.preview import create_preview_app
from digest.web.public import create_public_app
from digest.web.readers import readers_page

from conftest import REPO, LiveServer, http_request
from test_clicks import no_follow
from test_preview import WINDOW, _browser, make_project
from test_send_cli import cli

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
  return {
    key: figure.dataset.chart,
    width: box.width,
    height: box.height,
    names: Array.from(svg.querySelectorAll('.legends > g text')).map(t => t.textContent),
    series: Object.keys(series).map(Number).sort((a, b) => a - b).map(n => series[n]),
  };
})
"""


@pytest.fixture
def history(delivery_settings: Callable[..., Settings], smtp_server: Any) -> tuple[Settings, Store, Report]:
    """Two issues sent to four readers: the first with direct links, the second counted and clicked through the
    real redirect; a bounce and a complaint on the second; one reader gone by the link."""
    base = dataclasses.replace(delivery_settings(smtp_server.port), root=REPO)
    store = Store.open(base.database_url)
    ids = [store.subscribers.add(f"reader{n}@example.org")[0].id for n in range(4)]
    issue_ids = []
    for as_of, clicks in zip(ISSUES, (ClickTracking.OFF, ClickTracking.AGGREGATE), strict=True):
        newsletter = Newsletter(dataclasses.replace(base, clicks=clicks), store)
        moment = datetime.fromisoformat(as_of).replace(tzinfo=UTC)
        plan = newsletter.plan_send(newsletter.target(WindowRequest(as_of=as_of), moment), moment, allow_overlap=True)
        assert newsletter.send(plan, moment) is not None
        issue_ids.append(plan.issue.id)
    tracked = dataclasses.replace(base, clicks=ClickTracking.AGGREGATE)
    signer = LinkSigner("test-secret-key-for-the-suite-0123456789", tracked.list_id)
    server = LiveServer(create_public_app(tracked, store))
    try:
        for agent, numbers in ((BROWSER, (1, 2)), (BROWSER.replace("133", "132"), (1,)), ("Mimecast Safe Links", (1, 2, 3))):
            for number in numbers:
                assert no_follow("GET", f"{server.base}/r/{signer.token(issue_ids[1], number)}", {"User-Agent": agent})[0] == 302
    finally:
        server.stop()
    for n, kind in enumerate(("hard", "complaint")):
        store.events.record(
            MailEvent(key=f"event-{n}", kind=kind, subscriber_id=ids[n], issue_id=issue_ids[1], status="5.1.1", diagnostic="")
        )
    store.subscribers.set_status(ids[3], SubscriberStatus.UNSUBSCRIBED, "the link")
    seen = report(store, datetime.now(UTC).date())  # the rows were added now: the list's last point is today
    assert seen is not None and [i.issue_id for i in seen.issues] == issue_ids[::-1]
    return tracked, store, seen


def project_on(tmp_path: Path, settings: Settings) -> Path:
    """The preview's fixture project, its store the history's database: its config file."""
    config = make_project(tmp_path)
    text = config.read_text(encoding="utf-8").replace(f'url = "sqlite:///{tmp_path / "db.sqlite"}"', f'url = "{settings.database_url}"')
    config.write_text(text, encoding="utf-8")
    return config


def charts_in_chromium(page_html: str, tmp_path: Path) -> dict[str, dict[str, Any]]:
    sync_playwright, executable = _browser()  # type: ignore[misc]
    file = tmp_path / "readers.html"
    file.write_text(page_html, encoding="utf-8")
    with sync_playwright() as playwright:  # type: ignore[operator]
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu"])
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


def test_each_chart_renders_and_its_points_are_the_stores_figures(history: tuple[Settings, Store, Report], tmp_path: Path) -> None:
    settings, _, seen = history
    charts = charts_in_chromium(readers_page(seen, settings.name), tmp_path)
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
    assert sum(clicks.values()) == latest.clicks == 3  # two people: three clicks; the scanner's three fetches are not there

    ranked = charts["posts"]["series"][0]
    assert ranked == [p.clicks for p in reversed(latest.posts[:15])] and max(ranked) == 2

    complaints = charts["complaints"]
    assert complaints["series"][0] == [round(i.complaint_rate * 100, 3) for i in (earlier, latest)] == [0, 25]
    assert complaints["names"][1:] == ["Gmail/Yahoo: keep under 0.1%", "never reach 0.3%"]
    assert charts["bounces"]["series"][0] == [0, 25] and charts["bounces"]["names"][1] == "warning at 2%"


def test_the_html_report_and_the_preview_show_the_same_charts(history: tuple[Settings, Store, Report], tmp_path: Path) -> None:
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
    assert "Clicks by people: <strong>3</strong>" in written
    as_json = json.loads(cli(config, "report", "--format", "json").stdout)
    latest = as_json["issues"][0]
    assert (latest["clicks"], latest["scanned"], latest["bounced"], latest["complained"]) == (3, 3, 1, 1)
    assert latest["complaint_rate"] == 0.25 and as_json["thresholds"]["complaint_limit"] == 0.003


def test_a_report_of_an_earlier_issue_ends_its_trends_there(history: tuple[Settings, Store, Report], tmp_path: Path) -> None:
    settings, store, seen = history
    latest, earlier = seen.issues
    older = report(store, datetime.now(UTC).date(), issue_id=earlier.issue_id)
    assert older is not None and [i.issue_id for i in older.issues] == [earlier.issue_id]
    assert not older.issues[0].tracked and older.issues[0].posts == () and older.issues[0].delivered == 4
    assert report(store, datetime.now(UTC).date(), issue_id="2026-01-01-nosuch") is None
    one = report(store, datetime.now(UTC).date(), last=1)
    assert one is not None and [i.issue_id for i in one.issues] == [latest.issue_id]
    config = project_on(tmp_path, settings)
    missing = cli(config, "report", "--issue", "2026-01-01-nosuch")
    # Issue 31 (low): an id that names no stored issue is the one unknown-issue error (exit 2), not "has no deliveries".
    assert (
        missing.returncode == 2 and "no stored issue '2026-01-01-nosuch'" in missing.stderr and " status` lists them all" in missing.stderr
    )
    untracked = cli(config, "report", "--issue", earlier.issue_id)
    assert untracked.returncode == 0 and "clicks: not counted" in untracked.stdout
