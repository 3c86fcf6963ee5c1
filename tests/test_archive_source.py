from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pytest

from digest.config import Scope, SourceSpec
from digest.models import Post
from digest.sources.archive import ArchiveSource, parse_dateline, strip_link_text

from conftest import FIXTURES, LONDON, write

ARCHIVE = FIXTURES / "archives" / "harbour-watch.txt"


@pytest.fixture
def gathered(make_settings: Callable[..., Scope]) -> tuple[dict[str, Post], list[str]]:
    result = ArchiveSource(SourceSpec(kind="archive", location=str(ARCHIVE)), make_settings()).gather()
    return {p.title: p for p in result.posts}, [str(p) for p in result.problems]


def test_title_dates_outlet_and_author(gathered: tuple[dict[str, Post], list[str]]) -> None:
    posts, _ = gathered
    post = posts["Dredging Plan Delayed Again"]  # the title line's trailing non-breaking space is gone
    assert post.published == datetime(2025, 3, 2, tzinfo=LONDON)
    assert post.original_date == date(2025, 3, 1)
    assert (post.author, post.outlet) == ("Jo Marsh", "The Quay Herald")
    assert post.url is None
    assert post.excerpt_text == (
        "The dredging of the inner basin, promised for last autumn, has slipped to the summer. "
        "Fishing crews say the silt now grounds boats at low tide."
    )


def test_empty_posted_on_falls_back_to_the_dateline(gathered: tuple[dict[str, Post], list[str]]) -> None:
    posts, _ = gathered
    post = posts["Harbour Watch Weekly Digest – March 3, 2025"]
    assert post.published == datetime(2025, 3, 3, tzinfo=LONDON)
    assert (post.author, post.outlet) == (None, "Harbour Watch")  # only an outlet in the dateline
    assert post.excerpt_text == "Our round-up of the week: dredging, the ferry timetable and the lighthouse."


def test_typo_month_and_stray_period_before_link_text(gathered: tuple[dict[str, Post], list[str]]) -> None:
    posts, _ = gathered
    post = posts["Ferry Timetable Cut in Winter"]
    assert post.original_date == date(2025, 2, 27)  # "Febuary"
    assert post.outlet == "Pier Post"
    assert post.excerpt_text.endswith("the operator said.")


def test_day_first_date_and_outlet_with_comma_and_folded_quotes(gathered: tuple[dict[str, Post], list[str]]) -> None:
    posts, _ = gathered
    post = posts["Lighthouse Keepers’ Cottages to Become Homes"]
    assert (post.author, post.outlet) == ("Ana Ruiz", "Coast & Country, Bristol")
    assert post.original_date == date(2025, 2, 25)
    assert post.excerpt_text == "The three cottages at the foot of the lighthouse will be let at social rents."


def test_no_dateline_uses_the_site_as_outlet(gathered: tuple[dict[str, Post], list[str]]) -> None:
    posts, _ = gathered
    post = posts["Volunteers Count Seals on the Breakwater"]
    assert post.published == datetime(2025, 2, 20, tzinfo=LONDON)
    assert (post.author, post.outlet, post.original_date) == (None, "Harbour Watch", None)
    assert post.excerpt_text == "Forty-one seals were counted on Sunday, the highest number since the count began."


def test_unparsable_posted_on_uses_dateline_and_multi_paragraph_bodies(gathered: tuple[dict[str, Post], list[str]]) -> None:
    posts, _ = gathered
    post = posts["Boats’ “New” Mooring Rules – Explained"]
    assert post.published == datetime(2025, 2, 18, tzinfo=LONDON)
    assert post.excerpt_text == "The harbour master has published new mooring rules."  # the first paragraph


def test_undatable_entry_is_reported_with_its_line(gathered: tuple[dict[str, Post], list[str]]) -> None:
    posts, problems = gathered
    assert len(posts) == 6
    assert problems == [f'{ARCHIVE}:46: "An Entry With No Date At All": no date (empty "Posted on:" and no dateline); skipped']


def test_ids_are_stable_and_distinct(make_settings: Callable[..., Scope]) -> None:
    spec = SourceSpec(kind="archive", location=str(ARCHIVE))
    first = [p.id for p in ArchiveSource(spec, make_settings()).gather().posts]
    second = [p.id for p in ArchiveSource(spec, make_settings()).gather().posts]
    assert first == second and len(set(first)) == len(first)


def test_not_an_archive_and_bad_bytes(tmp_path: Path, make_settings: Callable[..., Scope]) -> None:
    write(tmp_path / "pages" / "notes.txt", "just some notes\n")
    write(tmp_path / "pages" / "binary.txt", b"Posted on: \xff\xfe\n")
    result = ArchiveSource(SourceSpec(kind="archive", location="pages"), make_settings()).gather()
    assert result.posts == ()
    assert sorted(str(p) for p in result.problems) == [
        "pages/binary.txt:1: not UTF-8 (byte 0xff at offset 11)",
        "pages/notes.txt: no 'Posted on:' lines: not an author-page archive",
    ]


@pytest.mark.parametrize(
    ("line", "author", "outlet", "day"),
    [
        ("NBC News, October 18 2019:… text", None, "NBC News", date(2019, 10, 18)),
        ("Casey Michel, The New Republic, October 16 2019:… text", "Casey Michel", "The New Republic", date(2019, 10, 16)),
        ("A. Writer, Daily Thing, Oct. 3, 2020: text", "A. Writer", "Daily Thing", date(2020, 10, 3)),
        ("Desk, 3rd March 2021… text", None, "Desk", date(2021, 3, 3)),
    ],
)
def test_datelines(line: str, author: str | None, outlet: str, day: date) -> None:
    parsed = parse_dateline(line)
    assert parsed is not None
    assert (parsed.author, parsed.outlet, parsed.day, parsed.rest) == (author, outlet, day, "text")


@pytest.mark.parametrize("line", ["No dateline here, just words.", "Outlet, Someday 40 2019: x", "Posted: 2019"])
def test_not_datelines(line: str) -> None:
    assert parse_dateline(line) is None


def test_link_text_only_removed_when_it_repeats_the_title() -> None:
    assert strip_link_text("Body text. Title Here", "Title Here") == "Body text."
    assert strip_link_text("Body text about Title", "Other") == "Body text about Title"
    assert strip_link_text("Title", "Title") == "Title"  # never empties an excerpt
