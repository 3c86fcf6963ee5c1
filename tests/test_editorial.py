"""The editor's issue file (content/issues/<last day>.md): every key, built through the real pipeline."""

from __future__ import annotations

import email
from collections.abc import Callable
from datetime import UTC, date, datetime
from email.policy import default
from pathlib import Path

from digest.app.issues import Built, Newsletter
from digest.config import Scope, SourceSpec
from digest.issue.editorial import Ref, issue_file_path, read_issue_file, write_issue_file
from digest.issue.selection import window_between
from digest.models import ExclusionKind
from digest.models.serialize import digest_to_json
from digest.store import Store

from conftest import write

Make = Callable[..., Scope]
NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)

POSTS = {
    "lanes": ("Bus lanes on London Road run all day", "2026-11-17T09:00:00Z", "Bus lanes and buses on the road."),
    "rents": ("Rents rise again in the old town", "2026-11-17T10:00:00Z", "Homes and rents and housing."),
    "choir": ("A choir for the harbour", "2026-11-18T10:00:00Z", "Singers meet on Tuesdays."),
    "solar": ("Solar panels on the school roof", "2026-11-18T11:00:00Z", "Solar energy for the school."),
    "trams": ("Trams return to the quay", "2026-11-19T11:00:00Z", "Trams and bus routes change."),
    "old": ("A story from last month", "2026-10-20T11:00:00Z", "Published well before the window."),
    "early": ("Published the week before", "2026-11-10T11:00:00Z", "Just before the window."),
}


def project(tmp_path: Path, make_settings: Make) -> Scope:
    for slug, (title, published, body) in POSTS.items():
        write(
            tmp_path / "content" / "posts" / f"{slug}.md",
            f'---\ntitle: "{title}"\ndate: {published}\nurl: https://example.org/{slug}\noutlet: Harbour Times\n---\n\n{body}\n',
        )
    return make_settings(sources=(SourceSpec(kind="markdown", location="content"),), editorial_dir=tmp_path / "content" / "issues")


def build(settings: Scope, tmp_path: Path) -> Built:
    window = window_between(date(2026, 11, 13), date(2026, 11, 20), settings.newsletter.timezone)
    return Newsletter(settings, lambda: Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")).build(window, NOW)


ISSUE_FILE = """---
subject: "Bus lanes, rents and a choir"
preheader: "Why the London Road lanes run all day"
pin: [https://example.org/choir, https://example.org/lanes]
exclude: [https://example.org/solar]
include: [https://example.org/early]
theme: {https://example.org/rents: "Culture & Public Space"}
note: {https://example.org/lanes: "The one to read this week."}
---

This week the **buses** win. <script>alert(1)</script>

A second paragraph of the intro.
"""


def test_every_key_of_the_issue_file_shapes_the_issue(tmp_path: Path, make_settings: Make) -> None:
    settings = project(tmp_path, make_settings)
    path = tmp_path / "content" / "issues" / "2026-11-19.md"
    assert (
        issue_file_path(settings.newsletter, window_between(date(2026, 11, 13), date(2026, 11, 20), settings.newsletter.timezone)) == path
    )
    write(path, ISSUE_FILE)
    built = build(settings, tmp_path)
    digest, rendered = built.digest, built.rendered
    # The file is not a post; every post named is where the editor put it.
    assert "Bus lanes, rents and a choir" not in [post.title for post in digest.posts]
    assert rendered.subject == "Bus lanes, rents and a choir" and built.issue.subject == "Bus lanes, rents and a choir"
    assert digest.title.startswith(settings.newsletter.name) and digest.title in rendered.html  # the title in the body stays
    assert digest.preheader == "Why the London Road lanes run all day"
    [solar] = [item for item in digest.excluded if item.post.url == "https://example.org/solar"]
    assert solar.kind is ExclusionKind.EDITOR and solar.reason == "excluded by the editor"
    assert "Published the week before" in [post.title for post in digest.posts]
    [culture] = [section for section in digest.sections if section.theme == "Culture & Public Space"]
    assert [post.title for post in culture.posts][:1] == ["A choir for the harbour"]  # pinned first
    assert "Rents rise again in the old town" in [post.title for post in culture.posts]
    rents = next(post for post in culture.posts if post.title.startswith("Rents"))
    assert culture.reasons[rents.id] == "put here by the editor"
    assert culture.reasons[culture.posts[0].id].endswith("; pinned to the top by the editor")
    [getting_around] = [section for section in digest.sections if section.theme == "Getting Around"]
    assert getting_around.posts[0].title == "Bus lanes on London Road run all day"  # the second pin opens its own section
    # The note and the intro, in both parts, the intro sanitised.
    text = rendered.text
    assert "Editor’s note: The one to read this week." in text and "This week the buses win." in text
    assert "A second paragraph of the intro." in text
    assert "The one to read this week." in rendered.html and "<strong>buses</strong>" in rendered.html
    assert "<script" not in rendered.html and "alert(1)" not in rendered.html
    assert text.index("This week the buses win.") < text.index("A choir for the harbour")
    # The model says what the editor changed and why each post is where it is.
    model = digest_to_json(digest)
    assert model["editorial"]["file"] == "content/issues/2026-11-19.md"
    assert model["editorial"]["notes"] == {getting_around.posts[0].id: "The one to read this week."}
    changes = model["editorial"]["changes"]
    assert 'excluded "Solar panels on the school roof"' in changes and 'pinned "A choir for the harbour"' in changes
    assert any(change.startswith('included "Published the week before" (left out before:') for change in changes)
    assert digest.problems == ()
    stats = digest.stats
    assert stats.gathered == stats.selected + stats.excluded + stats.distant
    # What a reader gets: the Subject header is the editor's.
    from digest.send.delivery import compile_issue

    message = email.message_from_bytes(
        compile_issue(built.issue, make_settings(secret_key="k")).render(1, "reader@example.org"), policy=default
    )
    assert message["Subject"] == "Bus lanes, rents and a choir"


def test_what_the_file_gets_wrong_is_reported_with_file_and_line(tmp_path: Path, make_settings: Make) -> None:
    settings = project(tmp_path, make_settings)
    write(
        tmp_path / "content" / "issues" / "2026-11-19.md",
        "---\n"
        "subjet: typo\n"  # 2
        "exclude:\n"  # 3
        "  - https://example.org/nothing-here\n"  # 4
        "  - https://example.org/choir\n"  # 5
        "theme: {https://example.org/rents: Sport}\n"  # 6
        "pin: [https://example.org/choir]\n"  # 7
        "note: {0123456789abcdef: hello}\n"  # 8
        "---\n",
    )
    built = build(settings, tmp_path)
    problems = {problem.where: problem.message for problem in built.digest.problems}
    label = "content/issues/2026-11-19.md"
    assert problems[f"{label}:2"] == "unknown key 'subjet' (did you mean \"subject\"?); ignored"
    assert problems[f"{label}:4"] == "exclude: https://example.org/nothing-here matches no post near this issue's window"
    assert problems[f"{label}:6"].startswith("theme: unknown theme 'Sport' (themes: Getting Around,")
    assert problems[f"{label}:7"] == 'pin: "A choir for the harbour" is not in the issue'
    assert problems[f"{label}:8"] == "note: 0123456789abcdef matches no post near this issue's window"
    assert not any(problem.source_failed for problem in built.digest.problems)  # warnings: the issue is built
    assert "A choir for the harbour" not in [post.title for post in built.digest.posts]  # the good line still counts


def test_the_file_is_written_atomically_and_reads_back_the_same(tmp_path: Path, make_settings: Make) -> None:
    settings = make_settings(editorial_dir=tmp_path / "issues")
    path = tmp_path / "issues" / "2026-11-20.md"
    write_issue_file(
        path,
        subject="Ünïcode: a subject",
        pin=(Ref("https://example.org/a", 0), Ref("https://example.org/b", 0)),
        note=((Ref("https://example.org/a", 0), 'Quotes " and colons: fine'),),
        intro="Hello *readers*.",
    )
    assert [p.name for p in path.parent.iterdir()] == ["2026-11-20.md"]  # no temp file left
    read = read_issue_file(path, settings)
    assert read.problems == ()
    assert read.subject == "Ünïcode: a subject"
    assert [ref.text for ref in read.pin] == ["https://example.org/a", "https://example.org/b"]
    assert [(ref.text, text) for ref, text in read.note] == [("https://example.org/a", 'Quotes " and colons: fine')]
    assert read.intro == "Hello *readers*."
    write_issue_file(path, read, pin=read.pin[1:], intro="")
    again = read_issue_file(path, settings)
    assert [ref.text for ref in again.pin] == ["https://example.org/b"] and again.intro == "" and again.subject == read.subject


def test_every_exclusion_kind_has_its_words() -> None:
    """The CLI kept its own label table for this enum and crashed on the member it lacked (issue 22, item 1)."""
    from digest.models import EXCLUSION_WORDS

    assert set(EXCLUSION_WORDS) == set(ExclusionKind)
    assert ExclusionKind.DUPLICATE.counted(1) == "1 duplicate" and ExclusionKind.DUPLICATE.counted(2) == "2 duplicates"


def test_build_and_freeze_with_the_editors_exclude(tmp_path: Path) -> None:
    """Issue 22, item 1. Reproduction: an issue file that excludes a post (the desk's main action, the README's
    example) made ``digest build`` crash with KeyError: <ExclusionKind.EDITOR>, and ``--freeze`` stored nothing."""
    from support.cli import cli
    from support.preview import WINDOW
    from support.project import make_project

    config = make_project(tmp_path)
    issues = config.parent.parent / "content" / "issues"
    issues.mkdir(parents=True, exist_ok=True)
    (issues / "2025-03-02.md").write_text('---\nexclude: ["https://golden.example/ferry?a=1&b=2"]\n---\n', encoding="utf-8")
    window = [part for pair in WINDOW.split("&") for part in (f"--{pair.split('=')[0]}", pair.split("=")[1])]
    built = cli(config, "build", *window, "--out", str(tmp_path / "out"))
    assert built.returncode == 0, built.stderr
    assert (
        "1 excluded by the editor" in built.stdout and '"Ferry fares <frozen> for a year & a day": excluded by the editor' in built.stdout
    )
    frozen = cli(config, "build", *window, "--out", str(tmp_path / "out"), "--freeze")
    assert frozen.returncode == 0, frozen.stderr
    assert "Traceback" not in frozen.stderr and "froze" in (frozen.stdout + frozen.stderr).lower()
