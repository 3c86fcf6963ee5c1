"""Editions (issue 35, step 1): [editions.NAME] in the config, each edition's slots and windows over real calendars,
`digest init`'s commented-out monthly, and the monthly round-up cut at its cap per theme, rendered and read back."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from digest.config import Edition, load_config, load_settings
from digest.issue.roundup import rank, roundup_sections
from digest.issue.slots import edition_slots, edition_trigger, edition_window, latest_slot, make_trigger, next_fire_times
from digest.models import AlsoIn, Window
from digest.models.errors import ConfigError

from conftest import write
from factories import make_post
from support.cli import digest

LONDON = ZoneInfo("Europe/London")
THREE = """
[newsletter]
name = "Harbour Notes"
timezone = "Europe/London"

[editions.weekly]
cron = "0 9 * * fri"
window = "7d"

[editions.monthly]
day = "first friday"
window = "previous month"
cap_per_theme = 3
subject = "{name}: {month}"

[editions.daily]
cron = "0 7 * * *"
window = "1d"
min_posts = 1
"""


def editions_of(tmp_path: Path, text: str) -> tuple[Edition, ...]:
    return load_settings(write(tmp_path / "config" / "digest.toml", text), environ={}).newsletter.editions


def length(window: Window) -> timedelta:
    """How long a window really lasts (subtracting two times of one zone would count its wall clock)."""
    return window.end.astimezone(UTC) - window.start.astimezone(UTC)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


# -- the config ------------------------------------------------------------------------------------------------------


def test_without_editions_a_newsletter_has_one_weekly_made_of_schedule_and_window(tmp_path: Path) -> None:
    settings = load_settings(
        write(tmp_path / "digest.toml", '[schedule]\ncron = "30 8 * * tue"\nmin_posts = 2\n[window]\nmode = "week"\n'), environ={}
    )
    (only,) = settings.newsletter.editions
    assert only.name == "weekly" and only.cron == "30 8 * * tue" and only.min_posts == 2 and not only.roundup
    assert only.window == settings.newsletter.window and settings.newsletter.window.mode == "week"
    assert settings.newsletter.edition() is only
    # The trigger is today's: the same fire times as the crontab line read as before editions.
    from apscheduler.triggers.cron import CronTrigger

    before = CronTrigger.from_crontab("30 8 * * tue", timezone=settings.newsletter.schedule_zone)
    start = local(2026, 3, 1)
    assert next_fire_times(make_trigger(settings.newsletter), start, 6) == next_fire_times(before, start, 6)


def test_three_editions_each_with_its_own_slot_and_window(tmp_path: Path) -> None:
    weekly, monthly, daily = editions_of(tmp_path, THREE)
    assert [weekly.name, monthly.name, daily.name] == ["weekly", "monthly", "daily"]
    assert (weekly.window.mode, weekly.window.days) == ("days", 7)
    assert monthly.window.mode == "month" and monthly.roundup and monthly.cap_per_theme == 3
    # No time given: the weekly's 09:00.
    assert (monthly.slot.day, monthly.slot.hour, monthly.slot.minute) == ("1st fri", "9", "0")
    assert (daily.window.mode, daily.window.days, daily.min_posts, daily.roundup) == ("days", 1, 1, False)
    settings = load_settings(tmp_path / "config" / "digest.toml", environ={})
    # The newsletter's schedule and window are the default (first) edition's.
    assert settings.newsletter.schedule.cron == "0 9 * * fri" and settings.newsletter.window == weekly.window
    with pytest.raises(ConfigError, match=r'no edition "hourly" in Harbour Notes \(its editions: weekly, monthly, daily\)'):
        settings.newsletter.edition("hourly")


def test_an_edition_without_a_subject_says_its_span_not_the_weekly_s_title(tmp_path: Path) -> None:
    """A journey: a monthly round-up with no subject went out as "… Weekly Digest – November 30, 2026"."""
    from digest.issue.assembly import issue_title

    text = THREE.replace('subject = "{name}: {month}"\n', "") + '[editions.hourly]\ncron = "0 * * * *"\nwindow = "24h"\n'
    settings = load_settings(write(tmp_path / "config" / "digest.toml", text), environ={})
    weekly, monthly, daily, hourly = settings.newsletter.editions
    assert (weekly.subject, monthly.subject, daily.subject, hourly.subject) == (
        "",
        "{name} – {month}",
        "{name} – {date}",
        "{name} – {date}",
    )
    november = Window(start=local(2026, 11, 1), end=local(2026, 12, 1))
    assert issue_title(november, settings.newsletter, monthly) == "Harbour Notes – November 2026"
    assert issue_title(november, settings.newsletter, weekly) == "Harbour Notes Weekly Digest – November 30, 2026"


def test_a_round_up_defaults_to_eight_per_theme_and_a_key_left_out_is_the_first_editions(tmp_path: Path) -> None:
    text = '[schedule]\nmin_posts = 4\n[editions.weekly]\ncron = "15 10 * * mon"\nmin_posts = 2\n[editions.monthly]\nday = "last"\nwindow = "previous month"\n'
    _weekly, monthly = editions_of(tmp_path, text)
    assert monthly.cap_per_theme == 8 and monthly.min_posts == 2 and (monthly.slot.hour, monthly.slot.minute) == ("10", "15")
    assert monthly.slot.day == "last" and monthly.slot.text == "last 10:15"


def test_every_bad_edition_key_is_reported_at_once_with_file_and_key(tmp_path: Path) -> None:
    config = write(
        tmp_path / "digest.toml",
        """
[editions.weekly]
cron = "0 9 * * fri"
day = "first friday"

[editions.monthly]
day = "fifth friday"
time = "25:00"
window = "fortnight"
cap_per_theme = 0
colour = "red"

[editions.daily]
time = "07:00"
subject = "{name} {weather}"

[editions.Daily2]
cron = "0 7 * * *"
""",
    )
    with pytest.raises(ConfigError) as refused:
        load_config(config, environ={})
    said = "\n".join(refused.value.problems)
    for expected in (
        f"{config}: editions.weekly.cron: give either cron, or day and time, not both",
        f'{config}: editions.monthly.day: must be a day of each month: "first friday" … "fourth friday", "last friday", a day number 1–31 or "last", got "fifth friday"',
        f'{config}: editions.monthly.time: must be a time of day such as "09:00", got "25:00"',
        f'{config}: editions.monthly.window: must be a length such as "7d" or "24h", "week", "since-last" or "previous month", got "fortnight"',
        f"{config}: editions.monthly.cap_per_theme: must be 1 or more, got 0",
        f"{config}: editions.monthly.colour: unknown key",
        f"{config}: editions.daily.time: goes with day",
        f"{config}: editions.daily.subject: may use only",
        f"{config}: editions.Daily2: an edition's name is lower-case letters",
    ):
        assert expected in said, said


def test_a_newsletter_file_has_editions_too(tmp_path: Path) -> None:
    config = write(tmp_path / "config" / "digest.toml", '[newsletter]\nname = "First"\n')
    write(tmp_path / "config" / "newsletters" / "towns.toml", '[editions.daily]\ncron = "0 7 * * *"\nwindow = "24h"\n')
    whole = load_config(config, environ={})
    assert [edition.name for edition in whole.newsletters[0].editions] == ["weekly"]
    (daily,) = whole.scope("towns").newsletter.editions
    assert daily.name == "daily" and daily.window.mode == "hours" and daily.window.hours == 24


def test_a_test_override_of_the_window_reaches_the_default_edition(make_settings) -> None:  # type: ignore[no-untyped-def]
    from digest.config import WindowRule

    settings = make_settings(window=WindowRule(mode="week"))
    assert settings.newsletter.edition().window.mode == "week"


# -- slots and windows over real calendars ---------------------------------------------------------------------------


def test_the_monthly_slot_is_the_first_friday_and_covers_the_previous_month(tmp_path: Path) -> None:
    _, monthly, _ = editions_of(tmp_path, THREE)
    slots = edition_slots(monthly, LONDON, local(2025, 12, 1), 16)
    assert [slot.date().isoformat() for slot in slots[:5]] == ["2025-12-05", "2026-01-02", "2026-02-06", "2026-03-06", "2026-04-03"]
    assert all(slot.astimezone(LONDON).hour == 9 and slot.weekday() == 4 and slot.day <= 7 for slot in slots)
    # 2026-04-03 is after the clock change (BST): 09:00 local is 08:00 UTC; the window is March, 31 days less an hour.
    april = slots[4]
    assert april.astimezone(UTC).hour == 8
    window = edition_window(monthly, april, LONDON)
    assert (window.start, window.end) == (local(2026, 3, 1), local(2026, 4, 1))
    assert length(window) == timedelta(days=31, hours=-1)
    # A February, and the year's end: January 2026's slot covers December 2025.
    march = edition_window(monthly, slots[3], LONDON)
    assert (march.start, march.end) == (local(2026, 2, 1), local(2026, 3, 1)) and length(march) == timedelta(days=28)
    assert edition_window(monthly, slots[1], LONDON).start == local(2025, 12, 1)
    # Consecutive slots' windows tile: no day twice, none missed.
    windows = [edition_window(monthly, slot, LONDON) for slot in slots]
    assert all(a.end == b.start for a, b in itertools.pairwise(windows))


def test_a_leap_february_and_a_first_friday_on_the_first(tmp_path: Path) -> None:
    _, monthly, _ = editions_of(tmp_path, THREE)
    (march_2028,) = edition_slots(monthly, LONDON, local(2028, 3, 1), 1)
    assert march_2028 == local(2028, 3, 3, 9)
    window = edition_window(monthly, march_2028, LONDON)
    assert length(window) == timedelta(days=29)
    (january_2027,) = edition_slots(monthly, LONDON, local(2026, 12, 31), 1)
    assert january_2027 == local(2027, 1, 1, 9)  # a Friday the 1st: the slot is that day
    assert latest_slot(edition_trigger(monthly, LONDON), local(2027, 1, 1, 8, 59)) == local(2026, 12, 4, 9)


@pytest.mark.parametrize(("day", "hours"), [(29, 23), (30, 24)])  # spring forward in London: 29 March 2026
def test_daily_windows_tile_across_the_spring_clock_change(tmp_path: Path, day: int, hours: int) -> None:
    _, _, daily = editions_of(tmp_path, THREE)
    (slot,) = edition_slots(daily, LONDON, local(2026, 3, day), 1)
    assert slot == local(2026, 3, day, 7)
    window = edition_window(daily, slot, LONDON)
    assert window.start == local(2026, 3, day - 1, 7) and length(window) == timedelta(hours=hours)


def test_daily_windows_over_a_month_end_and_the_autumn_change(tmp_path: Path) -> None:
    _, _, daily = editions_of(tmp_path, THREE)
    slots = edition_slots(daily, LONDON, local(2026, 10, 24), 10)  # 25 October 2026: the clocks go back
    windows = [edition_window(daily, slot, LONDON) for slot in slots]
    assert all(a.end == b.start for a, b in itertools.pairwise(windows))
    assert [round(length(w).total_seconds() / 3600) for w in windows[:3]] == [24, 25, 24]
    assert windows[-1].start == local(2026, 11, 1, 7) and windows[-1].end == local(2026, 11, 2, 7)
    # "24h": exactly 24 hours, whatever the clock did.
    exact = replace(daily, window=replace(daily.window, mode="hours", hours=24))
    assert edition_window(exact, local(2026, 10, 25, 7), LONDON).start == local(2026, 10, 24, 8)


def test_every_editions_slots_in_time_order(tmp_path: Path) -> None:
    from digest.app.scheduling import edition_slots_after

    settings = load_settings(write(tmp_path / "config" / "digest.toml", THREE), environ={})
    found = edition_slots_after(settings.newsletter, local(2026, 11, 30), 5)
    first_week = [(item.edition, item.slot.date().isoformat()) for item in found[:7]]
    assert first_week[:6] == [
        ("daily", "2026-11-30"),
        ("daily", "2026-12-01"),
        ("daily", "2026-12-02"),
        ("daily", "2026-12-03"),
        ("daily", "2026-12-04"),
        ("monthly", "2026-12-04"),
    ]
    monthly = next(item for item in found if item.edition == "monthly")
    assert (monthly.window.start, monthly.window.end) == (local(2026, 11, 1), local(2026, 12, 1))


# -- digest init writes the monthly, commented out -------------------------------------------------------------------


def test_init_writes_the_weekly_and_a_monthly_that_uncommenting_turns_on(tmp_path: Path) -> None:
    assert digest("init", str(tmp_path / "news"), "--name", "Harbour Notes").returncode == 0
    config = tmp_path / "news" / "config" / "digest.toml"
    text = config.read_text(encoding="utf-8")
    (weekly,) = load_settings(config, environ={}).newsletter.editions
    assert weekly.name == "weekly" and weekly.cron == "0 9 * * fri" and (weekly.window.mode, weekly.window.days) == ("days", 7)
    lines = text.splitlines()
    start = lines.index("# [editions.monthly]")
    block = []
    for line in lines[start:]:
        if not line.startswith("# ") or ("=" not in line and line != "# [editions.monthly]"):
            break
        block.append(line)
    assert len(block) >= 4 and all(line.startswith("# ") for line in block)
    on = "\n".join([*lines[:start], *(line[2:] for line in block), *lines[start + len(block) :]]) + "\n"
    config.write_text(on, encoding="utf-8")
    weekly, monthly = load_settings(config, environ={}).newsletter.editions
    assert monthly.name == "monthly" and monthly.window.mode == "month" and monthly.roundup
    assert (monthly.slot.day, monthly.slot.hour, monthly.slot.minute) == ("1st fri", "9", "0")  # the weekly's time
    (slot,) = edition_slots(monthly, weekly_zone(config), local(2026, 12, 1), 1)
    assert slot.date().isoformat() == "2026-12-04"


def weekly_zone(config: Path) -> ZoneInfo:
    return load_settings(config, environ={}).newsletter.schedule_zone


# -- the round-up ----------------------------------------------------------------------------------------------------


def test_the_rank_pins_then_most_outlets_then_clicks_then_newest() -> None:
    day = local(2026, 11, 2, 12)
    posts = [make_post(f"Post {n}", day + timedelta(days=n), url=f"https://example.org/{n}") for n in range(6)]
    told_twice = replace(posts[0], also=(AlsoIn(outlet="Other", url="https://other.example/0", title="Post 0"),))
    posts[0] = told_twice
    clicks = {posts[1].id: 40, posts[2].id: 7}
    ranked = rank(posts, pinned=(posts[3].id,), clicks=clicks)
    assert [post.title for post in ranked] == ["Post 3", "Post 0", "Post 1", "Post 2", "Post 5", "Post 4"]
    # Clicks not counted: skipped, the newest first after the stronger stories.
    assert [post.title for post in rank(posts)] == ["Post 0", "Post 5", "Post 4", "Post 3", "Post 2", "Post 1"]


def write_month(root: Path) -> None:
    """A month of posts: 12 about transport, 3 about housing in November 2026, and one either side of it."""
    posts = root / "posts"
    for n in range(12):
        day = 1 + n * 2
        write(
            posts / f"t{n}.md",
            f'---\ntitle: "Bus route {n}"\ndate: 2026-11-{day:02d}T10:00:00Z\nurl: https://news.example/t{n}\noutlet: "Gazette"\ntags: [transport]\n---\n\nRoute {n} changes.\n',
        )
    for n in range(3):
        write(
            posts / f"h{n}.md",
            f'---\ntitle: "Flats {n}"\ndate: 2026-11-{10 + n}T10:00:00Z\nurl: https://news.example/h{n}\noutlet: "Courier"\ntags: [housing]\n---\n\nHomes {n}.\n',
        )
    write(
        posts / "oct.md",
        '---\ntitle: "October bus"\ndate: 2026-10-31T10:00:00Z\nurl: https://news.example/o\ntags: [transport]\n---\n\nOld.\n',
    )
    write(
        posts / "dec.md",
        '---\ntitle: "December bus"\ndate: 2026-12-02T10:00:00Z\nurl: https://news.example/d\ntags: [transport]\n---\n\nNew.\n',
    )


MONTH_CONFIG = """root = ".."
[newsletter]
name = "Harbour Notes"
timezone = "Europe/London"
base_url = "https://news.example.org"
[[sources]]
location = "posts"
[[themes]]
name = "Transport"
tags = ["transport"]
[[themes]]
name = "Housing"
tags = ["housing"]
[editions.weekly]
cron = "0 9 * * fri"
window = "7d"
[editions.monthly]
day = "first friday"
time = "09:00"
window = "previous month"
cap_per_theme = 8
subject = "{name}: the month of {month}"
intro = "The month's **strongest** posts."
"""


class Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []
        self._href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""

    def handle_data(self, data: str) -> None:
        if self._href is not None and data.strip():
            self.found.append((data.strip(), self._href))
            self._href = None


def test_digest_build_edition_monthly_is_a_round_up_with_the_cap_line(tmp_path: Path) -> None:
    write(tmp_path / "config" / "digest.toml", MONTH_CONFIG)
    write_month(tmp_path)
    built = digest("build", "--edition", "monthly", "--as-of", "2026-12-04T10:00", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    (folder,) = (tmp_path / "out").iterdir()
    model = json.loads((folder / "digest.json").read_text(encoding="utf-8"))
    assert model["edition"] == "monthly" and model["title"] == "Harbour Notes: the month of November 2026"
    assert model["window"]["start"].startswith("2026-11-01T00:00") and model["window"]["end"].startswith("2026-12-01T00:00")
    sections = {section["theme"]: section for section in model["sections"]}
    transport = [post["title"] for group in sections["Transport"]["outlets"] for post in group["posts"]]
    # Eight of twelve, the newest first (no pins, one outlet each, no clicks counted); October's and December's out.
    assert transport == [f"Bus route {n}" for n in range(11, 3, -1)]
    assert sections["Transport"]["more"] == 4 and sections["Transport"]["more_url"] == "https://news.example.org/archive/2026-11/"
    assert "more" not in sections["Housing"] and len(sections["Housing"]["outlets"][0]["posts"]) == 3
    html = (folder / "digest.html").read_text(encoding="utf-8")
    anchors = Anchors()
    anchors.feed(html)
    assert ("and 4 more in the archive", "https://news.example.org/archive/2026-11/") in anchors.found
    assert "<strong>strongest</strong>" in html and "Bus route 3" not in html
    text = (folder / "digest.txt").read_text(encoding="utf-8")
    line = next(line for line in text.splitlines() if "more in the archive" in line)
    number = line.split("[")[-1].rstrip("]")
    assert line.strip().startswith("and 4 more in the archive [")
    assert f"[{number}] https://news.example.org/archive/2026-11/" in text
    # The weekly of the same day is today's issue: every post of its seven days, no cap line.
    weekly = digest("build", "--as-of", "2026-12-04T10:00", cwd=tmp_path)
    assert weekly.returncode in (0, 1), weekly.stderr


def test_an_unknown_edition_is_a_usage_error_listing_the_editions(tmp_path: Path) -> None:
    write(tmp_path / "config" / "digest.toml", MONTH_CONFIG)
    write_month(tmp_path)
    refused = digest("build", "--edition", "daily", cwd=tmp_path)
    assert refused.returncode == 2
    assert 'no edition "daily" in Harbour Notes (its editions: weekly, monthly)' in refused.stderr


def test_the_round_up_stage_counts_what_it_cuts_per_theme(make_settings) -> None:  # type: ignore[no-untyped-def]
    from digest.models import OutletGroup, Section

    day = local(2026, 11, 1, 12)
    posts = [make_post(f"P{n}", day + timedelta(days=n), url=f"https://e.example/{n}", outlet="AB"[n % 2]) for n in range(20)]
    sections = (
        Section(theme="One", description="", outlets=(OutletGroup(outlet="A", posts=tuple(posts[:14])),)),
        Section(theme="Two", description="", outlets=(OutletGroup(outlet="B", posts=tuple(posts[14:])),)),
    )
    cut = roundup_sections(sections, 8, "https://e.example/archive/2026-11/")
    assert [len(section.posts) for section in cut] == [8, 6] and [section.more for section in cut] == [6, 0]
    assert cut[0].more_url.endswith("/2026-11/") and cut[1].more_url == ""
    # The eight strongest are kept (the newest here), one group per outlet: the outlets in the order of their strongest
    # post, each outlet's posts in the rank's order (runs of one outlet showed "A" and "B" four times each here).
    assert sorted(post.title for post in cut[0].posts) == sorted(f"P{n}" for n in range(13, 5, -1))
    assert [(group.outlet, [post.title for post in group.posts]) for group in cut[0].outlets] == [
        ("B", ["P13", "P11", "P9", "P7"]),
        ("A", ["P12", "P10", "P8", "P6"]),
    ]


def test_an_empty_day_of_a_daily_is_skipped_and_recorded(delivery_settings, smtp_server) -> None:  # type: ignore[no-untyped-def]
    """The daily edition's slot with no post in its last day: no email, the slot recorded as skipped (as an empty week)."""
    from digest.app.scheduling import Scheduler
    from digest.config.rhythm import SlotRule, WindowRule
    from digest.store import Store

    from conftest import FIXTURES
    from support.settings import overridden

    project = load_settings(FIXTURES / "project" / "config" / "digest.toml", environ={})
    base = delivery_settings(smtp_server.port)
    daily = Edition(name="daily", slot=SlotRule.from_cron("0 7 * * *"), window=WindowRule(mode="days", days=1), min_posts=1)
    weekly = base.newsletter.edition()
    settings = overridden(base, root=project.install.root, sources=project.newsletter.sources, editions=(weekly, daily))
    store = Store.open(settings.install.database_url)
    store.subscribers.add("s0@example.org")
    runner = Scheduler(settings, store, edition="daily")
    assert runner.newsletter.edition.name == "daily"
    outcome = runner.catch_up(datetime(2025, 6, 2, 7, 30, tzinfo=LONDON))
    assert outcome is not None and outcome.state == "skipped" and outcome.slot == datetime(2025, 6, 2, 7, tzinfo=LONDON)
    assert outcome.reason == "0 post(s) in the window, fewer than schedule.min_posts = 1; no email sent"
    # Recorded as the daily's run (v25: runs are keyed by edition), none of the weekly's.
    assert smtp_server.handler.received == [] and store.of_edition("daily").runs.get(outcome.slot).state == "skipped"  # type: ignore[union-attr]
    assert store.runs.get(outcome.slot) is None


def test_the_monthly_email_pins_first_and_carries_the_cap_line_in_both_parts(tmp_path: Path) -> None:
    """Built through the app layer, compiled into the message a reader gets, and read back with the email package."""
    import email
    import email.policy

    from digest.app.issues import Newsletter
    from digest.send.delivery import compile_issue

    write(tmp_path / "config" / "digest.toml", MONTH_CONFIG.replace("cap_per_theme = 8", "cap_per_theme = 5"))
    write_month(tmp_path)
    # The editor pins the month's oldest bus post: it leads its theme whatever the rank says of the others. (The
    # monthly's file names its edition: a weekly or daily issue ending on 30 November has 2026-11-30.md.)
    write(tmp_path / "content" / "issues" / "2026-11-30-monthly.md", "---\npin: [https://news.example/t0]\n---\n")
    settings = load_settings(tmp_path / "config" / "digest.toml", environ={"DIGEST_SECRET_KEY": "q7VbX2kR9mT4wZ8nL3pF6hJ1sD5gC0aE"})
    monthly = Newsletter(settings, lambda: pytest.fail("a build of a round-up without a database opens none"), "monthly")
    now = datetime(2026, 12, 4, 9, tzinfo=LONDON)
    built = monthly.build(monthly.slot_target(now).window, now)
    transport = next(section for section in built.digest.sections if section.theme == "Transport")
    assert [post.title for post in transport.posts] == ["Bus route 0", "Bus route 11", "Bus route 10", "Bus route 9", "Bus route 8"]
    assert transport.more == 7 and built.digest.edition == "monthly"
    raw = compile_issue(built.issue, settings, date=now).render(1, "reader@example.org", "A Reader")
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Subject"] == "Harbour Notes: the month of November 2026"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "and 7 more in the archive [" in text and "https://news.example.org/archive/2026-11/" in text
    anchors = Anchors()
    anchors.feed(html)
    assert ("and 7 more in the archive", "https://news.example.org/archive/2026-11/") in anchors.found


def test_two_editions_issues_of_one_last_day_have_two_issue_files(tmp_path: Path) -> None:
    """A daily and a monthly both ending on 30 November: each has its own file, the first edition's keeping the name
    an install made before editions gave it (issue 35)."""
    from digest.app.issues import Newsletter
    from digest.issue.editorial import issue_file_path

    write(tmp_path / "config" / "digest.toml", MONTH_CONFIG + '[editions.daily]\ncron = "0 7 * * *"\nwindow = "1d"\n')
    write_month(tmp_path)
    settings = load_settings(tmp_path / "config" / "digest.toml", environ={})
    publication = settings.newsletter
    issues = tmp_path / "content" / "issues"
    monthly = Newsletter(settings, lambda: pytest.fail("a build opens no database"), "monthly")
    daily = Newsletter(settings, lambda: pytest.fail("a build opens no database"), "daily")
    month = monthly.slot_target(datetime(2026, 12, 4, 9, tzinfo=LONDON)).window
    day = daily.slot_target(datetime(2026, 11, 30, 7, tzinfo=LONDON)).window  # 29 November 07:00 to the 30th
    assert issue_file_path(publication, month, monthly.edition) == issues / "2026-11-30-monthly.md"
    assert issue_file_path(publication, day, daily.edition) == issues / "2026-11-30-daily.md"
    assert issue_file_path(publication, month) == issue_file_path(publication, month, publication.editions[0]) == issues / "2026-11-30.md"
    write(issues / "2026-11-30-monthly.md", "---\nsubject: The month, as the editor put it\n---\n")
    write(issues / "2026-11-30-daily.md", "---\nsubject: The day, as the editor put it\n---\n")
    now = datetime(2026, 12, 4, 9, tzinfo=LONDON)
    assert monthly.build(month, now).issue.subject == "The month, as the editor put it"
    assert daily.build(day, now).issue.subject == "The day, as the editor put it"
