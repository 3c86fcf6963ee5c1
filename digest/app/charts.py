"""Pictures of ``digest report``: SVG drawn on the server by pygal, no script and nothing fetched, so the
Readers page of the preview and ``digest report --html`` work offline and in a mail client's viewer alike.

Five charts, each from the report's own figures (a test reads the points back in a browser and compares
them with the store's): the list over time; clicks per theme across issues; the issue's posts ranked;
the complaint rate against Gmail's and Yahoo's lines (0.1 % to aim under, 0.3 % never to reach); the
permanent failures (refused at the send or bounced since) against the limit ``digest status`` warns at
(:data:`digest.app.bounces.FAILURE_LIMIT`, the one place it is set).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from digest.app.bounces import COMPLAINT_AIM, COMPLAINT_LIMIT, FAILURE_LIMIT
from digest.app.report import FLOOR_WHY
from digest.models import SUBSCRIBER_STATUS_WORDS

if TYPE_CHECKING:
    from digest.app.report import Report

POSTS_SHOWN = 15
TITLE_CHARS = 48
COLOURS = ("#1f6f8b", "#e07a1f", "#6a4c93", "#2a9d57", "#c0392b", "#7f8c8d", "#b8860b", "#0b7285")
LINE_COLOUR = "#c0392b"


@dataclass(frozen=True, slots=True)
class Chart:
    key: str  # its id on the page
    title: str
    svg: str  # an <svg> element, script-free
    summary: str  # what it shows, in words: the figure's text for a screen reader and for the page without pictures


def report_charts(seen: Report) -> tuple[Chart, ...]:
    """The report's charts, oldest issue on the left."""
    issues = list(reversed(seen.issues))
    days = [str(issue.sent_on) for issue in issues]
    charts = [_list_chart(seen), _theme_chart(seen, days), _posts_chart(seen)]
    complaint = [round(issue.complaint_rate * 100, 3) for issue in issues]
    failures = [round(issue.failure_rate * 100, 3) for issue in issues]
    charts.append(
        _rate_chart(
            "complaints",
            "Complaint rate per issue, %",
            days,
            ("complaint rate", complaint),
            [
                (f"Gmail/Yahoo: keep under {COMPLAINT_AIM:.1%}", COMPLAINT_AIM * 100),
                (f"never reach {COMPLAINT_LIMIT:.1%}", COMPLAINT_LIMIT * 100),
            ],
        )
    )
    charts.append(
        _rate_chart(
            "bounces",
            "Permanent failures per issue (refused or bounced), %",
            days,
            ("failure rate", failures),
            [(f"limit {FAILURE_LIMIT:.0%}, as digest status warns", FAILURE_LIMIT * 100)],
        )
    )
    return tuple(charts)


def _base(kind: str, **options: Any) -> Any:
    import pygal
    from pygal.style import Style

    style = Style(
        background="transparent",
        plot_background="#ffffff",
        foreground="#333333",
        foreground_strong="#111111",
        foreground_subtle="#888888",
        colors=COLOURS,
        font_family="system-ui, -apple-system, 'Segoe UI', sans-serif",
        title_font_size=16,
        legend_font_size=12,
        label_font_size=11,
    )
    chart = getattr(pygal, kind)(
        style=style,
        js=[],  # pygal's tooltips come from a CDN: none here
        disable_xml_declaration=True,
        width=760,
        height=340,
        explicit_size=False,  # a viewBox only: the chart takes its container's width (a phone too)
        legend_at_bottom=True,
        truncate_legend=-1,
        x_label_rotation=0,
        show_minor_x_labels=True,
        formatter=lambda value: f"{value:g}",
        **options,
    )
    return chart


def _svg(chart: Any) -> str:
    """The chart's SVG without the script element pygal always adds (a policy that allows no script would
    report it, and nothing here needs one)."""
    from lxml import etree

    tree = chart.render_tree()
    for script in [node for node in tree.iter() if isinstance(node.tag, str) and etree.QName(node).localname == "script"]:
        script.getparent().remove(script)
    return str(etree.tostring(tree, encoding="unicode"))


AXIS_LABELS = 10  # at most, on a count's axis


def _steps() -> Iterator[int]:
    """1, 2, 5, 10, 20, 50, …"""
    scale = 1
    while True:
        yield from (scale, 2 * scale, 5 * scale)
        scale *= 10


def _counted(chart: Any, values: list[int | None]) -> None:
    """An axis of whole numbers for a chart of counts (pygal's own steps by 0.1 or 0.2 below ten, and 0.2 of a
    person means nothing): from 0 past the largest value in steps of 1, 2, 5, 10, 20…, at most ten of them."""
    largest = max((value for value in values if value is not None), default=0)
    step = next(step for step in _steps() if largest <= step * AXIS_LABELS)
    top = -(-max(largest, 1) // step) * step
    chart.y_labels = list(range(0, top + 1, step))


def _list_chart(seen: Report) -> Chart:
    chart = _base("Line", show_dots=True, dots_size=3, include_x_axis=True)
    chart.title = "Subscribers over time"
    chart.x_labels = [str(point.day) for point in seen.subscribers]
    _counted(chart, [point.count(status) for point in seen.subscribers for status in SUBSCRIBER_STATUS_WORDS])
    for status, word in SUBSCRIBER_STATUS_WORDS.items():
        chart.add(word, [point.count(status) for point in seen.subscribers])
    last = seen.subscribers[-1]
    summary = f"On {last.day}: " + ", ".join(f"{last.count(status)} {word}" for status, word in SUBSCRIBER_STATUS_WORDS.items()) + "."
    return Chart("subscribers", chart.title, _svg(chart), summary)


def _theme_chart(seen: Report, days: list[str]) -> Chart:
    chart = _base("Line", show_dots=True, dots_size=3, include_x_axis=True)
    chart.title = "Clicks per theme, by issue"
    chart.x_labels = days
    themes = list(dict.fromkeys(theme.theme for issue in reversed(seen.issues) for theme in issue.themes))
    series = []
    for theme in themes:
        values = []
        for issue in reversed(seen.issues):
            clicks = {t.theme: t.clicks for t in issue.themes}
            values.append(clicks.get(theme) if issue.tracked else None)  # no point: not counted, or not shown
        series.append((theme, values))
    _counted(chart, [value for _, values in series for value in values])
    for theme, values in series:
        chart.add(theme, values)
    tracked = sum(1 for issue in seen.issues if issue.tracked)
    untold = any(t.clicks is None for issue in seen.issues if issue.tracked for t in issue.themes)
    summary = f"Clicks on each theme's links in the {tracked} issue(s) with counted links, of the {len(seen.issues)} shown." + (
        f" A missing point: {FLOOR_WHY}." if untold else ""
    )
    return Chart("themes", chart.title, _svg(chart), summary)


def _posts_chart(seen: Report) -> Chart:
    top = seen.issues[0]
    posts = [post for post in top.posts if post.clicks is not None][:POSTS_SHOWN]
    chart = _base("HorizontalBar", show_legend=False, print_values=True)
    chart.title = f"Most clicked posts, {top.sent_on}"
    chart.x_labels = [_short(post.title) for post in reversed(posts)]
    _counted(chart, [post.clicks for post in posts])
    chart.add("clicks", [post.clicks for post in reversed(posts)])
    untold = len(top.posts) - sum(1 for post in top.posts if post.clicks is not None)
    if not top.tracked:
        summary = "Clicks were not counted for this issue ([tracking] clicks was off when it was frozen)."
    else:
        summary = "; ".join(f"{post.title}: {post.clicks}" for post in posts[:5]) + (
            f"{'. ' if posts else ''}{untold} post(s) not shown: {FLOOR_WHY}." if untold else ""
        )
    return Chart("posts", chart.title, _svg(chart), summary)


def _rate_chart(key: str, title: str, days: list[str], rates: tuple[str, list[float]], lines: list[tuple[str, float]]) -> Chart:
    chart = _base("Line", show_dots=True, dots_size=3, include_x_axis=True)
    chart.title = title
    chart.x_labels = days
    chart.add(rates[0], rates[1])
    for name, value in lines:
        chart.add(name, [value] * len(days), show_dots=False, stroke_style={"dasharray": "6,4", "width": 1.5}, allow_interruptions=False)
    worst = max(rates[1], default=0.0)
    summary = (
        f"Highest {rates[0]} over these issues: {worst:g} %; lines at " + ", ".join(f"{value:g} % ({name})" for name, value in lines) + "."
    )
    return Chart(key, title, _svg(chart), summary)


def _short(title: str) -> str:
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1].rstrip() + "…"
