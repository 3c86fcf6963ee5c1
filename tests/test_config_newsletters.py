"""Several newsletters in one install's config (issue 34): config/digest.toml keeps its shape (the install and the
first newsletter); each further one is config/newsletters/SLUG.toml beside it, holding only a newsletter's sections."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.config import load_config
from digest.models.errors import ConfigError

from conftest import write

INSTALL = """
[newsletter]
name = "Open Streets"
sender = "Open Streets <digest@openstreets.example>"
timezone = "Europe/London"

[[sources]]
location = "content/posts"

[[smtp.relays]]
name = "main"
host = "mx1.example.org"

[[smtp.relays]]
name = "bulk"
host = "mx2.example.org"

[delivery]
backend = "smtp"
rate = 10
"""

CULTURE = """
[newsletter]
name = "Culture Monthly"
sender = "Culture <culture@openstreets.example>"
language = "fr"
relay = "bulk"
rate = 2.5

[[sources]]
location = "content/culture"

[[themes]]
name = "Musique"
keywords = ["concert"]

[schedule]
cron = "0 8 1 * *"
"""


def install(tmp_path: Path, **files: str) -> Path:
    config = write(tmp_path / "config" / "digest.toml", INSTALL)
    for slug, text in files.items():
        write(tmp_path / "config" / "newsletters" / f"{slug}.toml", text)
    return config


def test_a_config_with_two_newsletters_loads_each_with_its_own_sections_and_the_first_unchanged(tmp_path: Path) -> None:
    loaded = load_config(install(tmp_path, culture=CULTURE), environ={})
    first, culture = loaded.newsletters
    assert loaded.slugs == ("open-streets", "culture")
    assert (first.path, first.relay, first.rate) == ("/", "", None)
    assert (culture.name, culture.slug, culture.path, culture.language) == ("Culture Monthly", "culture", "/culture", "fr")
    assert [s.location for s in culture.sources] == ["content/culture"] and [t.name for t in culture.themes] == ["Musique"]
    assert culture.schedule.cron == "0 8 1 * *" and first.schedule.cron != culture.schedule.cron
    assert culture.sender.addr_spec == "culture@openstreets.example" and culture.list_id != first.list_id
    assert culture.source == tmp_path / "config" / "newsletters" / "culture.toml"
    # Each scope is the install as its newsletter sends through it: its relay and its rate; the first the install's.
    one, two = loaded.scopes()
    assert [r.name for r in one.install.relays] == ["main", "bulk"] and one.install.delivery.rate == 10
    assert [r.name for r in two.install.relays] == ["bulk"] and two.install.delivery.rate == 2.5
    assert one.shared and two.shared and loaded.scope("culture").newsletter == culture
    with pytest.raises(ConfigError, match=r"name one \(the newsletters: open-streets, culture\)"):
        loaded.scope()


def test_one_newsletter_install_is_unchanged(tmp_path: Path) -> None:
    loaded = load_config(install(tmp_path), environ={})
    scope = loaded.scope()
    assert loaded.slugs == ("open-streets",) and not scope.shared and scope.install == loaded.install


def test_errors_in_every_file_are_reported_at_once_with_file_and_key(tmp_path: Path) -> None:
    bad = """
root = ".."
[newsletter]
name = "Towns"
slug = "villages"
base_url = "https://towns.example"
relay = "backup"
[smtp]
host = "mx3.example.org"
[delivery]
rate = 3
[window]
days = "seven"
"""
    config = install(tmp_path, towns=bad, culture=CULTURE.replace("rate = 2.5", "rate = -1"))
    write(tmp_path / "config" / "newsletters" / "Bad Name.toml", '[newsletter]\nname = "x"\n')
    with pytest.raises(ConfigError) as refused:
        load_config(config, environ={})
    towns = tmp_path / "config" / "newsletters" / "towns.toml"
    problems = refused.value.problems
    expected = [
        f"{towns}: smtp: [smtp] belongs in {config}",
        f"{towns}: delivery: [delivery] belongs in {config}",
        f"{towns}: root: root belongs in {config}",
        f"{towns}: newsletter.base_url: belongs in {config}",
        f'{towns}: newsletter.slug: is the file\'s name, "towns"',
        f'{towns}: window.days: must be an integer, got "seven"',
        f'{towns}: newsletter.relay: no relay named "backup" in [[smtp.relays]] of {config} (the relays: main, bulk)',
        f"{tmp_path / 'config' / 'newsletters' / 'culture.toml'}: newsletter.rate: must be 0 (no limit) or more",
        f"{tmp_path / 'config' / 'newsletters' / 'Bad Name.toml'}: the file's name is the newsletter's slug",
    ]
    for start in expected:
        assert any(problem.startswith(start) for problem in problems), (start, problems)


def test_two_newsletters_with_one_slug_or_one_path_are_refused(tmp_path: Path) -> None:
    config = install(tmp_path, **{"open-streets": CULTURE, "culture": CULTURE + '\n[output]\ndir = "out/culture"\n'})
    write(config, INSTALL.replace('timezone = "Europe/London"', 'timezone = "Europe/London"\npath = "/culture"'))
    with pytest.raises(ConfigError) as refused:
        load_config(config, environ={})
    said = "\n".join(refused.value.problems)
    assert f'open-streets.toml: newsletter.slug: "open-streets" is already the slug of the newsletter of {config}' in said
    assert f'culture.toml: newsletter.path: "/culture" is already the base path of {config}' in said


def test_a_newsletter_file_reads_its_paths_from_the_install_root_and_its_own_path(tmp_path: Path) -> None:
    config = install(tmp_path, towns='[newsletter]\nname = "Towns"\npath = "/towns/hove/"\n[output]\ndir = "out/towns"\n')
    towns = load_config(config, environ={}).scope("towns").newsletter
    assert towns.path == "/towns/hove" and towns.output_dir == load_config(config, environ={}).install.root / "out" / "towns"


def test_a_list_id_is_pinned_in_newsletter_and_delivery_may_not_say_otherwise(tmp_path: Path) -> None:
    """The List-Id keys every signed link (a journey: changing an added newsletter's sender domain broke the links of
    mail sent, and its file could not pin the List-Id): `[newsletter] list_id` in any newsletter's file holds it."""
    pinned = CULTURE.replace('relay = "bulk"', 'relay = "bulk"\nlist_id = "culture.openstreets.example"')
    moved = pinned.replace("culture@openstreets.example", "culture@elsewhere.example")
    config = install(tmp_path, culture=moved)
    culture = load_config(config).newsletters[1]
    assert culture.sender.domain == "elsewhere.example" and culture.list_id == "culture.openstreets.example"
    unpinned = load_config(install(tmp_path / "b", culture=CULTURE.replace("openstreets.example", "elsewhere.example")))
    assert unpinned.newsletters[1].list_id == "culture.elsewhere.example"  # what the pin keeps from changing

    first = write(
        tmp_path / "c" / "config" / "digest.toml",
        INSTALL.replace('timezone = "Europe/London"', 'timezone = "Europe/London"\nlist_id = "open.example"'),
    )
    assert load_config(first).newsletters[0].list_id == "open.example"
    both = write(first, first.read_text(encoding="utf-8") + 'list_id = "other.example"\n')  # under [delivery], the last table
    with pytest.raises(ConfigError) as raised:
        load_config(both)
    assert 'newsletter.list_id: differs from delivery.list_id ("other.example"): keep one of them' in str(raised.value)
    bad = write(first, INSTALL.replace('timezone = "Europe/London"', 'timezone = "Europe/London"\nlist_id = "a b"'))
    with pytest.raises(ConfigError) as raised:
        load_config(bad)
    assert 'newsletter.list_id: must be a dot-atom like "news.example.org", got "a b"' in str(raised.value)
