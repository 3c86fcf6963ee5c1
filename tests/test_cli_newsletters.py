"""Several newsletters from the command line (issue 34): `digest newsletters add/list`, choosing one with
--newsletter (before or after the command name) or DIGEST_NEWSLETTER, the usage error without it, the hints that name
it, and `digest status` over every newsletter. Real processes where starting the program is the subject."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from conftest import write
from support.cli import INHERITED, SECRET, cli, cli_process, in_process
from support.project import PROJECT


def project(tmp_path: Path) -> Path:
    """The fixture project's config as config/digest.toml of a folder of the test's own (its root, its store)."""
    text = (PROJECT / "config" / "digest.toml").read_text(encoding="utf-8")
    text += f'\n[store]\nurl = "sqlite:///{tmp_path / "digest.sqlite"}"\n'
    return write(tmp_path / "config" / "digest.toml", text)


def two_newsletters(tmp_path: Path) -> Path:
    config = project(tmp_path)
    added = cli(config, "newsletters", "add", "culture", "--name", "Culture Monthly")
    assert added.returncode == 0, added.stderr
    return config


def test_newsletters_add_writes_a_documented_file_that_loads_and_refuses_the_same_slug_twice(tmp_path: Path) -> None:
    config = project(tmp_path)
    first = cli_process(config, "newsletters", "add", "culture", "--name", "Culture Monthly")
    assert first.returncode == 0, first.stderr
    written = tmp_path / "config" / "newsletters" / "culture.toml"
    assert f"Wrote {written}" in first.stdout and "--newsletter culture preview" in first.stdout
    text = written.read_text(encoding="utf-8")
    assert 'name = "Culture Monthly"' in text and 'location = "content/culture"' in text and "[[themes]]" in text
    assert 'cron = "0 9 * * fri"' in text and text.count("\n#") > 10  # the fixture's schedule, and documented
    assert 'list_id = "culture.golden.example"' in text  # pinned: a later change of sender keeps its links
    assert (tmp_path / "content" / "culture").is_dir()

    again = cli_process(config, "newsletters", "add", "culture", "--name", "Another")
    assert again.returncode == 2 and '"culture" is already a newsletter of this install' in again.stderr
    assert "choose another slug" in again.stderr and written.read_text(encoding="utf-8") == text
    bad = cli(config, "newsletters", "add", "Big News", "--name", "Big News")
    assert bad.returncode == 2 and 'try "big-news"' in bad.stderr
    assert not (tmp_path / "config" / "newsletters" / "Big News.toml").exists()

    listed = cli(config, "newsletters", "list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["slug"], r["name"], r["path"]) for r in rows] == [
        ("golden-gazette", "Golden Gazette", "/"),
        ("culture", "Culture Monthly", "/culture"),
    ]
    assert all(r["subscribers"] == {"active": 0, "total": 0} and r["next_slot"] for r in rows)


def test_a_command_about_one_newsletter_needs_it_named_among_several(tmp_path: Path) -> None:
    config = two_newsletters(tmp_path)
    refused = cli_process(config, "sources", "--format", "json")
    assert refused.returncode == 2, refused.stderr
    assert "golden-gazette, culture" in refused.stderr and "--newsletter SLUG" in refused.stderr and "DIGEST_NEWSLETTER" in refused.stderr
    assert refused.stdout == ""

    def locations(result: subprocess.CompletedProcess[str]) -> list[str]:
        assert result.returncode == 0, result.stderr
        return [row["source"] for row in json.loads(result.stdout)]

    assert locations(cli_process(config, "--newsletter", "culture", "sources", "--format", "json")) == ["content/culture"]
    assert locations(cli_process(config, "sources", "--format", "json", "--newsletter", "culture")) == ["content/culture"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(INHERITED)} | {
        "DIGEST_SECRET_KEY": SECRET,
        "DIGEST_NEWSLETTER": "culture",
    }
    by_env = subprocess.run(
        [sys.executable, "-m", "digest", "--config", str(config), "sources", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert locations(by_env) == ["content/culture"]
    first = in_process(
        ["--config", str(config), "sources", "--format", "json", "--newsletter", "golden-gazette"],
        env={"DIGEST_SECRET_KEY": SECRET},
        drop=INHERITED,
    )
    assert "content/culture" not in locations(first)

    unknown = cli(config, "--newsletter", "nope", "sources")
    assert unknown.returncode == 2 and 'no newsletter "nope"' in unknown.stderr and "golden-gazette, culture" in unknown.stderr


def test_the_refusal_s_example_is_the_command_as_typed_and_pasted_does_what_was_asked(tmp_path: Path) -> None:
    """A journey (issue 34): the "name it with --newsletter" example dropped what was typed (`send --dry-run` became
    `send`, a real send; `publish FOLDER` lost its argument). Now it keeps every word; pasted, it runs."""
    import re
    import shlex

    config = two_newsletters(tmp_path)
    refused = cli_process(config, "sources", "--format", "json")
    assert refused.returncode == 2
    # One command per newsletter, the first not singled out (pasted in haste, `send --yes` would have mailed its list).
    examples = re.findall(r"^  (digest .+)$", refused.stderr, re.MULTILINE)
    assert len(examples) == 2 and "as one of:" in refused.stderr, refused.stderr
    named = [shlex.split(example) for example in examples]
    assert [words[words.index("--newsletter") + 1] for words in named] == ["golden-gazette", "culture"]
    assert all(words[-3:] == ["sources", "--format", "json"] for words in named)
    words = named[1]
    pasted = in_process([*words[1:]], env={"DIGEST_SECRET_KEY": SECRET}, drop=INHERITED, cwd=tmp_path)
    assert pasted.returncode == 0, pasted.stderr
    assert [row["source"] for row in json.loads(pasted.stdout)] == ["content/culture"]


def test_a_second_different_newsletter_on_one_line_is_refused_and_the_variable_is_named_as_such(tmp_path: Path) -> None:
    config = two_newsletters(tmp_path)
    twice = cli_process(config, "--newsletter", "culture", "sources", "--newsletter", "golden-gazette")
    assert twice.returncode == 2 and "given twice (culture and golden-gazette)" in twice.stderr
    again = cli_process(config, "--newsletter", "culture", "sources", "--format", "json", "--newsletter", "culture")
    assert again.returncode == 0, again.stderr  # the same one twice names one newsletter
    wrong = in_process(["--config", str(config), "sources"], env={"DIGEST_SECRET_KEY": SECRET, "DIGEST_NEWSLETTER": "nope"}, drop=INHERITED)
    assert wrong.returncode == 2 and 'DIGEST_NEWSLETTER: no newsletter "nope"' in wrong.stderr, wrong.stderr


def test_help_says_where_newsletter_goes(tmp_path: Path) -> None:
    top = in_process(["--help"])
    assert "--newsletter SLUG" in top.stdout and "after it" in top.stdout and "DIGEST_NEWSLETTER" in top.stdout
    send = in_process(["send", "--help"])
    assert "--newsletter SLUG" in send.stdout and "before the command name" in send.stdout


def test_status_covers_every_newsletter_and_its_hints_name_them(tmp_path: Path) -> None:
    config = two_newsletters(tmp_path)
    shown = cli(config, "status", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    found = json.loads(shown.stdout)
    assert {"scheduler", "deliveries", "subscribers", "issues", "deliverability"} <= set(found)
    assert [n["slug"] for n in found["newsletters"]] == ["golden-gazette", "culture"]
    culture = found["newsletters"][1]
    assert culture["name"] == "Culture Monthly" and culture["path"] == "/culture" and culture["last_issue"] is None
    assert culture["subscriber_counts"] == {"active": 0, "total": 0} and culture["next_slot"] and "issues" in culture

    text = cli(config, "status")
    assert text.returncode == 0, text.stderr
    assert "== Golden Gazette (golden-gazette, /) ==" in text.stdout and "== Culture Monthly (culture, /culture) ==" in text.stdout
    assert "--newsletter culture doctor" in text.stdout and "--newsletter golden-gazette doctor" in text.stdout


def test_one_newsletter_install_is_as_before(tmp_path: Path) -> None:
    config = project(tmp_path)
    assert cli(config, "sources", "--format", "json").returncode == 0
    found = json.loads(cli(config, "status", "--json").stdout)
    assert [n["slug"] for n in found["newsletters"]] == ["golden-gazette"]
    text = cli(config, "status").stdout
    assert "==" not in text and "--newsletter" not in text and f"digest --config {config} doctor" in text


def test_the_install_commands_are_commands() -> None:
    from digest.cli import main
    from digest.cli.common import INSTALL_COMMANDS

    assert set(main.commands) >= INSTALL_COMMANDS


def test_schedule_runs_every_newsletter_and_one_failing_never_holds_up_another(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from digest.app.scheduling import Scheduler
    from digest.models.errors import SourceError

    config = two_newsletters(tmp_path)
    culture = tmp_path / "config" / "newsletters" / "culture.toml"
    culture.write_text(culture.read_text(encoding="utf-8").replace('cron = "0 9 * * fri"', 'cron = "0 8 * * *"'), encoding="utf-8")
    listed = cli(config, "schedule", "--list", "--as-of", "2025-03-03T10:00")
    assert listed.returncode == 0, listed.stderr
    assert "golden-gazette: cron '0 9 * * fri'" in listed.stdout and "culture: cron '0 8 * * *'" in listed.stdout

    caught_up = Scheduler.catch_up

    def failing_first(self: Scheduler, now: datetime) -> object:
        if self.settings.newsletter.slug == "golden-gazette":
            raise SourceError("content/posts", "the first newsletter's sources are down")
        return caught_up(self, now)

    monkeypatch.setattr(Scheduler, "catch_up", failing_first)
    once = cli(config, "schedule", "--once", "--as-of", "2025-03-03T10:00")
    assert once.returncode == 1
    assert "golden-gazette: failed: content/posts: the first newsletter's sources are down" in once.stdout
    assert "culture: 2025-03-03T08:00:00+00:00: " in once.stdout  # the other newsletter's slot ran all the same


def test_schedule_stores_every_newsletters_jobs(tmp_path: Path) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    from digest.app.scheduling import Scheduler
    from digest.app.session import open_store
    from digest.cli.schedule import _add_jobs
    from digest.config import load_config

    config = two_newsletters(tmp_path)
    scopes = load_config(config, environ={}).scopes()
    stores = [open_store(scope) for scope in scopes]
    try:
        scheduler = BackgroundScheduler()
        _add_jobs(scheduler, [Scheduler(scope, store) for scope, store in zip(scopes, stores, strict=True)])
        ids = {job.id for job in scheduler.get_jobs()}
    finally:
        for store in stores:
            store.close()
    assert {
        "golden-gazette:weekly",
        "golden-gazette:retry",
        "golden-gazette:doctor",
        "culture:weekly",
        "culture:retry",
        "culture:doctor",
    } <= ids
    assert "webhooks" in ids


def test_an_operator_s_name_on_a_second_newsletter_replaces_the_person_s_and_says_so(tmp_path: Path) -> None:
    """The person is one row across newsletters: `subscribers add --name` on the second once kept the first name
    silently (issue 34); the typed name now wins, is said back, and shows in both newsletters' lists."""
    config = two_newsletters(tmp_path)
    first = cli(config, "--newsletter", "golden-gazette", "subscribers", "add", "ann@example.org", "--name", "Ann")
    assert first.returncode == 0 and "name set" not in first.stdout, first.stderr
    second = cli(config, "--newsletter", "culture", "subscribers", "add", "ann@example.org", "--name", "Ann Smith")
    assert second.returncode == 0, second.stderr
    assert "added: ann@example.org" in second.stdout
    assert "name set to 'Ann Smith' (was 'Ann'), in the To: header of every newsletter they are on" in second.stdout
    same = cli(config, "--newsletter", "culture", "subscribers", "add", "ann@example.org", "--name", "Ann Smith")
    assert "already on the list" in same.stdout and "name set" not in same.stdout
    unnamed = cli(config, "--newsletter", "culture", "subscribers", "add", "ann@example.org")
    assert "name set" not in unnamed.stdout
    removed = cli(config, "--newsletter", "culture", "subscribers", "remove", "ann@example.org")
    assert removed.stdout == "unsubscribed: ann@example.org (from culture; their other newsletters unchanged)\n", removed.stdout
    for slug in ("golden-gazette", "culture"):
        listed = cli(config, "--newsletter", slug, "subscribers", "list")
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.rstrip().endswith("ann@example.org  Ann Smith"), listed.stdout


def test_a_newsletter_whose_file_went_is_named_with_its_readers_and_the_file_to_put_back(tmp_path: Path) -> None:
    """Its rows stay (nothing is lost), but nothing says they exist once no config names the slug: `status` and
    `newsletters list` warn, naming the counts and the file to put back (issue 34)."""
    config = two_newsletters(tmp_path)
    added = cli(config, "--newsletter", "culture", "subscribers", "add", "ann@example.org")
    assert added.returncode == 0, added.stderr
    file = tmp_path / "config" / "newsletters" / "culture.toml"
    kept = file.read_text(encoding="utf-8")
    file.unlink()
    said = f'the database holds newsletter "culture" (1 subscription(s), 0 issue(s)) that no config names, so its readers get nothing: put back {file}'
    status = cli(config, "status")
    assert status.returncode == 0, status.stderr
    assert f"warning: {said}" in status.stdout
    as_json = cli(config, "status", "--format", "json")
    assert json.loads(as_json.stdout)["unconfigured"] == [{"slug": "culture", "subscriptions": 1, "issues": 0}]
    listed = cli(config, "newsletters", "list", "--format", "json")
    assert [row["slug"] for row in json.loads(listed.stdout)] == ["golden-gazette"] and said in listed.stderr

    file.write_text(kept, encoding="utf-8")
    again = cli(config, "status", "--format", "json")
    assert json.loads(again.stdout)["unconfigured"] == []
    assert "no config names" not in cli(config, "newsletters", "list").stderr


def test_a_newsletter_may_not_take_a_path_of_the_first_newsletter_s_pages(tmp_path: Path) -> None:
    """A journey: `newsletters add archive` (or u, confirm, api…) was written, and its pages were the first's."""
    config = project(tmp_path)
    for slug in ("archive", "u", "confirm", "api", "healthz"):
        refused = cli(config, "newsletters", "add", slug, "--name", "Taken")
        assert refused.returncode == 2 and f'"{slug}" names the first newsletter\'s pages' in refused.stderr, refused.stderr
        assert not (tmp_path / "config" / "newsletters" / f"{slug}.toml").exists()
    write(tmp_path / "config" / "newsletters" / "culture.toml", '[newsletter]\nname = "Culture"\npath = "/archive/culture"\n')
    loaded = cli(config, "newsletters", "list")
    assert loaded.returncode == 2 and 'newsletter.path: "/archive/culture" starts with /archive' in loaded.stderr, loaded.stderr
    write(tmp_path / "config" / "newsletters" / "culture.toml", '[newsletter]\nname = "Culture"\npath = "/archives"\n')
    assert cli(config, "newsletters", "list").returncode == 0  # a segment of its own, however like one


def test_status_says_each_newsletter_s_mail_checks_with_the_doctor_s_key_command(tmp_path: Path) -> None:
    """A journey: status's `mail:` line was the first newsletter's only, and its key command named another selector
    than the doctor's. Now each section has its own, one selector whoever asks (the slug's, in an install of several)."""
    from datetime import date

    config = two_newsletters(tmp_path)
    status = cli(config, "status")
    assert status.returncode == 0, status.stderr
    culture = status.stdout[status.stdout.index("== Culture Monthly") :]
    first = status.stdout[: status.stdout.index("== Culture Monthly")]
    month = f"{date.today():%Y%m}"
    for section, slug in ((first, "golden-gazette"), (culture, "culture")):
        lines = [line for line in section.splitlines() if line.startswith(("mail:", "warning: DMARC"))]
        assert len(lines) == 1, section
        assert f"--newsletter {slug} dkim keygen --selector {slug}{month} --domain golden.example" in lines[0], lines[0]
    as_json = json.loads(cli(config, "status", "--format", "json").stdout)
    assert [each["deliverability"]["dmarc"]["from_domain"] for each in as_json["newsletters"]] == ["golden.example"] * 2
    assert as_json["deliverability"] == as_json["newsletters"][0]["deliverability"]


def test_an_added_newsletter_s_file_offers_a_monthly_edition_that_loads_uncommented(tmp_path: Path) -> None:
    """A journey: `newsletters add culture --name "Culture Monthly"` wrote a weekly schedule and never said editions."""
    import re

    config = two_newsletters(tmp_path)
    file = tmp_path / "config" / "newsletters" / "culture.toml"
    text = file.read_text(encoding="utf-8")
    block = re.search(r"^# \[editions\.monthly\]\n(?:# [a-z_]+ = .*\n)+", text, re.MULTILINE)
    assert block is not None, text
    file.write_text(text.replace(block.group(0), re.sub(r"^# ", "", block.group(0), flags=re.MULTILINE)), encoding="utf-8")
    listed = cli(config, "--newsletter", "culture", "schedule", "--list")
    assert listed.returncode == 0, listed.stderr
    slots = re.findall(r"^  Fri \d{4}-\d\d-(\d\d) 09:00", listed.stdout, re.MULTILINE)  # the first Friday of each month
    assert "'first friday 09:00'" in listed.stdout and len(slots) == 5 and all(1 <= int(day) <= 7 for day in slots), listed.stdout
