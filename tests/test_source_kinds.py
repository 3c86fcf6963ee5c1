"""The kinds of source are one table (digest.config.kinds): the config, the guess from a location, the command
line's ``kind:`` and the factory all read it, and every kind in it goes from a config file to posts."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from digest.config import KIND_NAMES, SOURCE_KINDS, SourceKind, SourceSpec, detect_kind, load_settings, parse_source_spec
from digest.models.errors import ConfigError
from digest.sources import open_source
from digest.sources.base import READERS

from conftest import REPO, write


def test_an_unknown_kind_in_the_config_file_is_an_error_naming_the_known_ones(tmp_path: Path) -> None:
    config = write(tmp_path / "digest.toml", '[[sources]]\nlocation = "content/posts"\nkind = "gopher"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={})
    assert caught.value.problems == (f'{config}: sources[0].kind: must be one of markdown, feed, archive, got "gopher"',)


def test_a_spec_of_an_unknown_kind_is_not_read_as_markdown(tmp_path: Path) -> None:
    """Built in code rather than read from a file, a spec of no registered kind is refused, not opened as Markdown."""
    settings = load_settings(write(tmp_path / "digest.toml", ""), environ={})
    with pytest.raises(ConfigError, match='source kind must be one of markdown, feed, archive, got "gopher"'):
        open_source(SourceSpec(kind="gopher", location=str(tmp_path)), settings)


@pytest.mark.parametrize("spec", ["rss:content/feeds/news.xml", "Atom:news.xml", "gopher:pages/"])
def test_a_spec_whose_word_before_the_colon_names_no_kind_is_refused_naming_the_known_ones(spec: str) -> None:
    """``--source rss:news.xml`` was read as a Markdown path of that name ("no such file"); now the word is refused,
    the known kinds named, and the way to a path with a colon in it given."""
    with pytest.raises(ConfigError) as caught:
        parse_source_spec(spec)
    [problem] = caught.value.problems
    assert "is no kind of source (one of markdown, feed, archive)" in problem and f"./{spec}" in problem


def test_a_host_and_port_without_a_scheme_is_told_to_take_one() -> None:
    with pytest.raises(ConfigError, match=r"a URL needs its scheme: https://localhost:8080/feed\.xml \(or http://"):
        parse_source_spec("localhost:8080/feed.xml")


@pytest.mark.parametrize(
    ("spec", "kind"),
    [("https://example.org/feed.xml", "feed"), ("./rss:news.xml", "feed"), ("C:/posts", "markdown"), ("file:///srv/posts", "markdown")],
)
def test_a_url_a_dotted_path_or_a_drive_letter_is_still_a_location(spec: str, kind: str) -> None:
    parsed = parse_source_spec(spec)
    assert (parsed.kind, parsed.location) == (kind, spec)


@pytest.mark.parametrize("kind", SOURCE_KINDS, ids=KIND_NAMES)
def test_every_registered_kind_goes_from_the_config_to_posts(kind: SourceKind, tmp_path: Path) -> None:
    """The shipped config has a source of each kind: read with its kind named, opened by the class registered for
    it, that source yields posts and no problem; the kind's endings guess it, and ``kind:`` on a command line forces it."""
    shipped = load_settings(REPO / "config" / "digest.toml", environ={})
    [spec] = [spec for spec in shipped.newsletter.sources if spec.kind == kind.name]
    folder = tmp_path / "newsletter"
    config = write(
        folder / "config" / "digest.toml",
        f'root = "{REPO}"\n[[sources]]\nlocation = "{spec.location}"\nkind = "{kind.name}"\n[feeds]\ncache_dir = "{tmp_path / "cache"}"\n',
    )
    settings = load_settings(config, environ={})
    assert settings.newsletter.sources == (dataclasses.replace(spec, outlet=None),)

    source = open_source(settings.newsletter.sources[0], settings)
    assert type(source) is READERS[kind.name]
    assert type(source).kind is kind
    gathered = source.gather()
    assert gathered.posts
    assert not gathered.problems
    assert {post.source.partition(":")[0] for post in gathered.posts} == {kind.name}

    assert parse_source_spec(f"{kind.name}:elsewhere/x.bin").kind == kind.name
    for ending in kind.endings:
        assert detect_kind(f"pages/posts{ending.upper()}") == kind.name
        if kind.urls:
            assert detect_kind(f"https://example.org/posts{ending}?page=2") == kind.name


def test_a_location_no_ending_names_is_guessed_by_its_form() -> None:
    """A folder or glob is read as the kind guessed for paths (Markdown), a URL as the kind guessed for URLs (a
    feed), and a URL is never guessed to be a kind that cannot read one."""
    [for_paths] = [kind for kind in SOURCE_KINDS if kind.guessed == "paths"]
    [for_urls] = [kind for kind in SOURCE_KINDS if kind.guessed == "urls"]
    assert for_urls.urls
    assert detect_kind("content/posts") == for_paths.name == "markdown"
    assert detect_kind("content/**/*") == "markdown"
    assert detect_kind("https://example.org/rss") == for_urls.name == "feed"
    for kind in SOURCE_KINDS:
        for ending in kind.endings:
            assert kind.urls or detect_kind(f"https://example.org/post{ending}") == "feed"


def test_no_ending_belongs_to_two_kinds() -> None:
    endings = [ending for kind in SOURCE_KINDS for ending in kind.endings]
    assert len(endings) == len(set(endings))
    assert all(ending.startswith(".") and ending == ending.lower() for ending in endings)


def test_the_words_for_the_kinds_name_every_registered_kind() -> None:
    """--source's help and the two config files' comments spell the kinds out: each registered kind is in them."""
    shown = subprocess.run([sys.executable, "-m", "digest", "build", "--help"], capture_output=True, text=True, check=True, cwd=REPO).stdout
    help_text = " ".join(shown.split())
    scaffold = " ".join((REPO / "digest" / "scaffold" / "digest.toml").read_text(encoding="utf-8").split())
    shipped = " ".join((REPO / "config" / "digest.toml").read_text(encoding="utf-8").split())
    for name in KIND_NAMES:
        assert f"{name}:" in help_text
        assert name in scaffold.partition("`kind` is ")[2].partition(";")[0]
        assert name in shipped.partition("`kind` (")[2].partition(";")[0]
