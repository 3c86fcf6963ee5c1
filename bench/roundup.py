"""Issue 35's round-up at scale: a month of posts built into a monthly, and each reader's copy of it.

    .venv/bin/python bench/roundup.py [N] [--posts P] [--switched F] [--cpu]

Writes a month of Markdown posts (P in November 2026, 1,000 by default, and the
same rate on to the morning of Friday 4 December) in 8 themes from 12 outlets,
a tenth of them a story another outlet told already, with a config of three
editions: a daily (07:00, 24 h), a weekly (Fridays 09:00, 7 days) and a
monthly (the first Friday, the previous month, 8 posts a theme). Then:

- the monthly of 4 December built once (gather, assemble, render and the
  frozen form, through the app's build use case) and compiled: seconds, a
  first run (the post index empty) and a repeated one; the weekly of 20
  November, a week of the same month, beside it;
- the monthly personalised for N readers (default 20,000), 60 % taking every
  theme and the rest a random subset, F of them (default 0.1) switched from
  the weekly or the daily: their copy is cut where their last issue ended
  (``covered_until``, :func:`digest.send.variants.carried`). Each run starts
  with no view compiled, so the figure includes compiling every view and cut
  it meets (target: at most 50 µs a copy); the same readers with none
  switched beside it;
- the morning of 4 December: the daily, the weekly and the monthly each
  compiled once, the same N readers split in thirds between them (each has
  one edition) and personalised: a copy costs what a copy of one issue
  costs, not three times that.

Per-copy figures are medians of 5 runs. ``--cpu`` times them by the
process's CPU time (``time.process_time``), for a machine other work shares
(bench/results/2026-12-07-cut35.md); builds are always wall-clock seconds
(the Markdown is read by worker processes a process's CPU time leaves out).
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from digest.app.issues.build import Building
from digest.config import Scope, load_settings
from digest.issue.slots import edition_slots, edition_window, latest_slot, make_trigger
from digest.mail.message import CompiledMessage
from digest.models import ExclusionKind, Layout, StoredIssue, Window
from digest.send.delivery import compile_issue
from digest.send.variants import Variants
from digest.sources.index import RACY_SECONDS
from digest.store import Store
from digest.store.people import theme_choice

from common import WORDS, overridden, theme_choices

ZONE = ZoneInfo("Europe/London")
MORNING = datetime(2026, 12, 4, 9, 30, tzinfo=ZONE)  # the first Friday of December: all three editions have a slot
WEEKLY_OF_THE_MONTH = datetime(2026, 11, 20, 9, 30, tzinfo=ZONE)
THEMES = ("transport", "homes", "energy", "health", "culture", "schools", "water", "work")
WEIGHTS = (18, 16, 12, 12, 10, 8, 6, 8)  # some themes busier than others; 10 in 100 posts fit none (the fallback)
OUTLETS = tuple(f"Outlet {n}" for n in range(12))
EDITIONS = ("daily", "weekly", "monthly")

CONFIG = """root = "{root}"
[newsletter]
name = "Harbour Notes"
timezone = "Europe/London"
sender = "Harbour Notes <news@harbour.example>"
base_url = "https://harbour.example"
address = "Harbour Notes, 1 Quay Street, Portsmouth PO1 1AA, United Kingdom"
[store]
url = "sqlite:///{root}/digest.sqlite"
[grouping]
meaning = "off"
[[sources]]
location = "posts"
{themes}
[editions.weekly]
cron = "0 9 * * fri"
window = "7d"
[editions.monthly]
day = "first friday"
time = "09:00"
window = "previous month"
cap_per_theme = 8
[editions.daily]
cron = "0 7 * * *"
window = "24h"
min_posts = 1
"""

# A reader as the send's query hands one over: id, address, name, link salt, stored themes (JSON), covered_until.
Reader = tuple[int, str, str, str, str | None, datetime | None]


@dataclass(frozen=True, slots=True)
class Edition:
    """One edition's issue of a slot, built and compiled once, with what its readers' copies are made from."""

    name: str
    window: Window
    issue: StoredIssue
    full: CompiledMessage
    layout: Layout | None
    first: float  # seconds: the build with the post index empty
    repeated: float  # seconds: the build again, the index in use
    compile: float  # seconds: compile_issue
    placed: int  # the window's posts in a section, shown or beyond a round-up's cap
    folded: int  # posts of a story another outlet's post tells (shown once, "Also in")

    def variants(self) -> Variants:
        """A send's variants: nothing compiled yet but the whole issue."""
        return Variants(self.full, self.layout, self.window.end.astimezone(ZONE).date())


def write_month(folder: Path, count: int, rng: random.Random) -> int:
    """``count`` posts over November 2026, the same rate on to 07:00 on 4 December; a tenth retell a story (the same
    number, the words reordered, another outlet, a few hours later). Returns how many posts were written."""
    start = datetime(2026, 11, 1, tzinfo=ZONE)
    span = (datetime(2026, 12, 4, 7, tzinfo=ZONE) - start).total_seconds()
    total = round(count * span / (30 * 86400))
    written = 0
    for n in range(total):
        when = start + timedelta(seconds=rng.uniform(0, span))
        theme = rng.choices((*THEMES, None), weights=(*WEIGHTS, 10))[0]
        words = [rng.choice(WORDS) for _ in range(5)]
        outlet = rng.choice(OUTLETS)
        tellings = [(when, words, outlet)]
        if rng.random() < 0.1:
            later = min(when + timedelta(hours=rng.uniform(1, 12)), start + timedelta(seconds=span))
            tellings.append((later, rng.sample(words, len(words)), rng.choice([o for o in OUTLETS if o != outlet])))
        for told, (moment, title, source) in enumerate(tellings):
            tags = f"tags: [{theme}]\n" if theme else ""
            (folder / f"post-{n:05d}-{told}.md").write_text(
                f'---\ntitle: "{" ".join(title).capitalize()} {n + 100}"\ndate: {moment.astimezone(UTC).isoformat()}\n'
                f"url: https://{source.lower().replace(' ', '')}.example/{n}\noutlet: {source}\n{tags}---\n\n"
                + " ".join(rng.choice(WORDS) for _ in range(60))
                + ".\n",
                encoding="utf-8",
            )
            written += 1
    return written


def month_settings(root: Path) -> Scope:
    themes = "\n".join(f'[[themes]]\nkey = "{key}"\nname = "{key.capitalize()} news"\ntags = ["{key}"]' for key in THEMES)
    path = root / "config" / "digest.toml"
    path.parent.mkdir(parents=True)
    path.write_text(CONFIG.format(root=root, themes=themes), encoding="utf-8")
    return overridden(load_settings(path, environ={}), secret_key="bench-key")


def no_store() -> Store:
    raise AssertionError("a build of an explicit window opens no database")


def build_edition(settings: Scope, name: str, moment: datetime) -> Edition:
    """The issue of ``name``'s latest slot at ``moment``: built with the index empty, again with it in use, compiled."""
    building = Building(settings, no_store, name)
    slot = latest_slot(make_trigger(settings.newsletter, building.edition), moment)
    assert slot is not None
    window = edition_window(building.edition, slot, ZONE)
    timings = []
    for fresh in (True, False):
        if fresh:
            assert settings.install.cache_dir.is_relative_to(settings.install.root)  # the bench's own folder, never another
            shutil.rmtree(settings.install.cache_dir, ignore_errors=True)
        start = time.perf_counter()
        built = building.build(window, slot)
        timings.append(time.perf_counter() - start)
    start = time.perf_counter()
    full = compile_issue(built.issue, settings, date=slot)
    compiled = time.perf_counter() - start
    layout = Layout.load(built.issue.layout, settings.newsletter.key_of)
    digest = built.digest
    placed = len(digest.posts) + sum(section.more for section in digest.sections)
    folded = digest.excluded_by_kind().get(ExclusionKind.SAME_STORY, 0)
    return Edition(name, window, built.issue, full, layout, timings[0], timings[1], compiled, placed, folded)


def switch_points(settings: Scope, edition: Edition) -> list[datetime]:
    """Where a reader who switched to ``edition`` may have been left by their last issue: the other editions' slots
    in the week before its window and in it (one before the window cuts nothing, as in a real list)."""
    points = []
    for other in EDITIONS:
        if other == edition.name:
            continue
        rule = settings.newsletter.edition(other)
        since = edition.window.start - timedelta(days=7)
        points += [slot for slot in edition_slots(rule, ZONE, since, 64) if slot < edition.window.end]
    return sorted(points)


def make_readers(count: int, first_id: int, keys: Sequence[str], switched: float, points: Sequence[datetime], seed: int) -> list[Reader]:
    """``count`` readers: themes as bench/common.py deals them; ``switched`` of them carry a ``covered_until`` (each its
    own datetime, as the store returns one per row) drawn from ``points``."""
    chance = random.Random(seed)
    choices = theme_choices(count, list(keys), seed) if len(keys) > 1 else [None] * count  # one section: nothing to choose
    readers: list[Reader] = []
    for n, choice in enumerate(choices, first_id):
        covered = None
        if points and chance.random() < switched:
            covered = datetime.fromtimestamp(chance.choice(points).timestamp(), UTC)
        readers.append((n, f"reader{n}@example.org", f"Reader {n}", f"{n:016x}", choice, covered))
    return readers


def personalise(edition: Edition, readers: Sequence[Reader], clock: Callable[[], float]) -> tuple[float, Variants]:
    """Seconds to make every reader's copy of ``edition``'s issue (none compiled before: each view and cut met is
    compiled in the run), and the variants the run compiled."""
    variants = edition.variants()
    start = clock()
    for sid, email, name, salt, themes, covered in readers:
        _, message = variants.reader(theme_choice(themes), None, covered)  # decoded as the store decodes each row
        if message is not None:
            message.render(sid, email, name, salt)
    return clock() - start, variants


def per_copy(edition: Edition, readers: Sequence[Reader], clock: Callable[[], float], runs: int) -> tuple[float, Variants]:
    """µs a copy, the median of ``runs`` runs, and the last run's variants."""
    timed = [personalise(edition, readers, clock) for _ in range(runs)]
    return statistics.median(seconds for seconds, _ in timed) / len(readers) * 1e6, timed[-1][1]


def verdict(micro: float) -> str:
    return f"target <= 50: {'met' if micro <= 50 else 'MISSED'}"


def describe(edition: Edition) -> str:
    return (
        f"{edition.first:6.2f} s first run (index empty), {edition.repeated:5.2f} s repeated; compile "
        f"{edition.compile * 1000:.1f} ms; {edition.placed:,} posts placed, {len(edition.issue.post_ids)} shown, "
        f"{edition.folded} more folded into their story; "
        f"message {len(edition.full.render(0, 'a@example.org')) / 1024:.0f} KB, HTML {len(edition.issue.html.encode()) / 1024:.0f} KB"
        + "".join(f"; check {check.level}: {check.code}" for check in edition.issue.checks)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("readers", nargs="?", type=int, default=20_000)
    parser.add_argument("--posts", type=int, default=1_000, help="posts in the month (default 1,000)")
    parser.add_argument("--switched", type=float, default=0.1, help="the share of readers who switched edition (default 0.1)")
    parser.add_argument("--cpu", action="store_true", help="time the copies by the process's CPU time")
    args = parser.parse_args()
    bench_roundup(Sizes(args.readers, args.posts, args.switched), time.process_time if args.cpu else time.perf_counter)


@dataclass(frozen=True, slots=True)
class Sizes:
    """What a run measures: readers, posts in the month, the share of readers who switched, runs per figure."""

    readers: int
    posts: int = 1_000
    switched: float = 0.1
    runs: int = 5
    settle: bool = True  # wait until the posts' files are old enough for the index to remember them (a repeated build reads none)


def bench_roundup(sizes: Sizes, clock: Callable[[], float] = time.perf_counter) -> None:
    """Every figure of the module docstring, printed."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "posts").mkdir()
        written = write_month(root / "posts", sizes.posts, random.Random(sizes.posts))
        if sizes.settle:
            time.sleep(RACY_SECONDS)  # files younger than this are parsed but not remembered (racy stamps)
        settings = month_settings(root)
        build_edition(settings, "daily", MORNING)  # the process's first build (templates, stemmers) is no edition's cost
        monthly = build_edition(settings, "monthly", MORNING)
        weekly = build_edition(settings, "weekly", WEEKLY_OF_THE_MONTH)
        print(
            f"posts                 {written:,} Markdown files ({sizes.posts:,} in November), {len(THEMES)} themes and the "
            f"fallback, {len(OUTLETS)} outlets"
        )
        print(f"monthly build         {describe(monthly)}")
        print(f"weekly build          {describe(weekly)}  (20 November, a week of the same month)")
        clocked = f"median of {sizes.runs}, {'CPU time' if clock is time.process_time else 'wall clock'}"
        one_issue(settings, monthly, sizes, clock, clocked)
        morning(settings, monthly, sizes, clock, clocked)


def one_issue(settings: Scope, monthly: Edition, sizes: Sizes, clock: Callable[[], float], clocked: str) -> None:
    """The monthly's copies: switched readers' cut, none switched, and the fill alone once every view is compiled."""
    assert monthly.layout is not None
    keys = list(monthly.layout.keys)
    readers = make_readers(sizes.readers, 0, keys, sizes.switched, switch_points(settings, monthly), 35)
    cut, variants = per_copy(monthly, readers, clock, sizes.runs)
    plain, plain_variants = per_copy(monthly, make_readers(sizes.readers, 0, keys, 0.0, [], 35), clock, sizes.runs)
    fill = statistics.median(refill(variants, readers, clock) for _ in range(sizes.runs)) / len(readers) * 1e6
    moved = sum(1 for reader in readers if reader[5] is not None)
    print(
        f"monthly per copy      {cut:8.1f} µs/copy ({sizes.readers:,} readers, 60 % every theme, {moved:,} switched: "
        f"{len(variants.cuts)} cuts met, {variants.compiled:,} views compiled in each run, compiling included; {clocked})  "
        f"{verdict(cut)}"
    )
    print(
        f"  of which the fill   {fill:8.1f} µs/copy (the same readers again, every view compiled already); compiling the views "
        f"{cut - fill:.1f} µs/copy, {(cut - fill) * len(readers) / 1000 / max(variants.compiled, 1):.2f} ms a view"
    )
    print(
        f"  none switched       {plain:8.1f} µs/copy ({plain_variants.compiled:,} views compiled in each run)  the cut costs {cut / plain:.2f}x"
    )


def refill(variants: Variants, readers: Sequence[Reader], clock: Callable[[], float]) -> float:
    """Seconds to make every copy again with ``variants`` whose views are compiled: the look-up and the fill alone."""
    start = clock()
    for sid, email, name, salt, themes, covered in readers:
        _, message = variants.reader(theme_choice(themes), None, covered)
        if message is not None:
            message.render(sid, email, name, salt)
    return clock() - start


def morning(settings: Scope, monthly: Edition, sizes: Sizes, clock: Callable[[], float], clocked: str) -> None:
    """The daily, the weekly and the monthly of one morning: each compiled once, each reader a copy of their own edition's."""
    issues = {"monthly": monthly, **{name: build_edition(settings, name, MORNING) for name in ("daily", "weekly")}}
    count = sizes.readers
    share = {name: range(n, count, len(EDITIONS)) for n, name in enumerate(EDITIONS)}
    readers = {}
    for name in EDITIONS:
        edition = issues[name]
        keys = list(edition.layout.keys) if edition.layout is not None else []
        points = switch_points(settings, edition)
        readers[name] = make_readers(len(share[name]), share[name].start * 1_000_000, keys, sizes.switched, points, 36)
    alone = {name: per_copy(issues[name], readers[name], clock, sizes.runs)[0] for name in EDITIONS}

    def run() -> float:
        return sum(personalise(issues[name], readers[name], clock)[0] for name in EDITIONS)

    together = statistics.median(run() for _ in range(sizes.runs)) / count * 1e6
    expected = sum(alone[name] * len(readers[name]) for name in EDITIONS) / count
    compiled = sum(issues[name].compile for name in EDITIONS)
    for name in EDITIONS:
        print(f"  {name + ' issue':<19} {describe(issues[name])}")
    print(
        "three editions        "
        + ", ".join(f"{name} {alone[name]:.1f} µs/copy alone" for name in EDITIONS)
        + f" (each its third of the readers, {sizes.switched:.0%} switched); the three issues compiled once each, "
        f"{compiled * 1000:.0f} ms in all"
    )
    print(
        f"  one morning         {together:8.1f} µs/copy ({count:,} readers, a third each; {clocked}); each copy as its issue "
        f"alone: {expected:.1f}, ratio {together / expected:.2f} (three times the work a reader: 3.00); against the "
        f"monthly alone {together / alone['monthly']:.2f}  {verdict(together)}"
    )


if __name__ == "__main__":
    main()
