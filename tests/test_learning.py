"""Placement learnt from labelled posts (issue 32): the starting set, every frozen issue teaching, reasons, forgetting.

The model tests load the model digest[meaning] installs (make setup does) and skip, saying why, without it; the
starting set's file is read and checked everywhere.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from digest.config import load_settings, parse_source_spec
from digest.issue.grouping import group_posts, place_by_labels
from digest.issue.meaning import meaning_of, post_text
from digest.issue.meaning.classifier import Label, LabelSource
from digest.models import Judgement, Window
from digest.models.errors import ConfigError

from conftest import write
from factories import make_post, make_stored_issue
from support.settings import overridden
from support.teaching import NOW, first_week, move, needs_model, shipped_starting_set
from support.wordpiece import tokenizer_json

REPO = Path(__file__).resolve().parent.parent
WHEN = datetime(2026, 11, 20, 9, tzinfo=UTC)


def project(tmp_path: Path, labelled: str | None = None, setting: str = 'examples_file = "labelled-posts.txt"') -> Path:
    """The shipped config in tmp_path/config, with the starting set's file given (or the shipped one)."""
    text = (REPO / "config" / "digest.toml").read_text(encoding="utf-8")
    assert 'examples_file = "labelled-posts.txt"' in text
    config = write(tmp_path / "config" / "digest.toml", text.replace('examples_file = "labelled-posts.txt"', setting))
    if labelled is None:
        shipped_starting_set(config.parent)
    else:
        write(config.parent / "labelled-posts.txt", labelled)
    return config


def test_the_shipped_starting_set_is_read_whole_with_every_section_taught(tmp_path: Path) -> None:
    settings = load_settings(project(tmp_path), environ={})
    starting = settings.newsletter.meaning.starting
    by_theme = {name: sum(1 for post in starting if post.theme == name) for name in settings.newsletter.theme_names}
    # Item 3: at least 150, every theme and the fallback among them; every line of the file read.
    lines = [
        x for x in (REPO / "config" / "labelled-posts.txt").read_text(encoding="utf-8").splitlines() if x.strip() and not x.startswith("#")
    ]
    assert len(starting) == len(lines) >= 150 and min(by_theme.values()) >= 25, by_theme
    assert all(post.title and post.excerpt for post in starting)


def test_each_bad_line_of_the_starting_set_is_named_by_file_and_line(tmp_path: Path) -> None:
    config = project(
        tmp_path,
        "\ufeff# a comment, after the byte-order mark Notepad writes\n\nenergy | Solar farm approved | Panels on forty acres.\n"
        "weather | Frost tonight | Cold.\n"  # no such key
        "Energy & Climate | By the theme's name | Names work too.\n"
        "transport | Bus | lane | opens\n"  # a "|" in a title
        " | No key | At all.\n"
        "food|Market day moves|Stalls on Saturdays.\n"  # no spaces: read all the same
        "more | A title alone |\n"  # its excerpt left empty
        "transport | Solar farm approved | The same title, another section.\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={})
    problems = caught.value.problems
    path = config.parent / "labelled-posts.txt"
    assert any(f"{path}:4: 'weather' is not a theme's key" in p and "more" in p and "transport" in p for p in problems), problems
    assert any(f"{path}:6: expected 'key | title | excerpt', got 4 fields (a '|' inside a title or excerpt" in p for p in problems)
    assert any(f"{path}:7: the key is empty" in p for p in problems), problems
    assert any(f"{path}:10: 'Solar farm approved' is labelled Getting Around here and Energy & Climate on line 3" in p for p in problems)
    assert len([p for p in problems if "labelled-posts.txt:" in p]) == 4  # lines 3, 5, 8 and 9 are labels
    latin = write(config.parent / "labelled-posts.txt", "energy | Caf\xe9 | Cold.\n".encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={})
    assert any(f"{latin}:1: not UTF-8 text (byte 0xe9); save the file as UTF-8" in p for p in caught.value.problems)


def test_a_starting_set_that_is_not_there_is_a_config_error_naming_the_path(tmp_path: Path) -> None:
    config = project(tmp_path, setting='examples_file = "nowhere.txt"')
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={})
    assert any("grouping.examples_file" in p and str(config.parent / "nowhere.txt") in p for p in caught.value.problems)
    # Without the key, the newsletter starts from its theme texts alone.
    assert load_settings(project(tmp_path / "bare", setting=""), environ={}).newsletter.meaning.starting == ()


def test_a_reason_shows_the_two_probabilities_and_the_keywords_apart() -> None:
    settings = load_settings(REPO / "config" / "digest.toml", environ={})
    post = make_post("Park and ride bus fares frozen", WHEN, excerpt="The council keeps the fare at two pounds.")
    judged = Judgement(probabilities=(0.62, 0.05, 0.01, 0.01, 0.30, 0.01))
    placed = place_by_labels(post, settings.newsletter.themes, settings.newsletter.fallback_theme, judged)
    assert placed.theme == "Getting Around"
    # The keyword found is shown with its theme, not added to any probability ("park" is Culture's word).
    assert placed.reason == 'Getting Around 62%; next Culture & Public Space 30%; keywords: "bus" in title (Getting Around)'
    # Another theme's keywords that scored more are shown too: they argued against the choice.
    heat = make_post("Heat pumps fitted to forty council homes", WHEN, excerpt="Tenants of the housing estate will pay less for heat.")
    judged = Judgement(probabilities=(0.01, 0.02, 0.95, 0.01, 0.005, 0.005))
    said = place_by_labels(heat, settings.newsletter.themes, settings.newsletter.fallback_theme, judged).reason
    assert said.startswith("Energy & Climate 95%; next Homes & Neighbourhoods 2%; keywords: ")
    assert '"heat pump" in title (Energy & Climate); ' in said and said.endswith("(Homes & Neighbourhoods)"), said
    # What is not certain never reads as certain, and the editor's labels are named when they decided.
    sure = place_by_labels(
        post, settings.newsletter.themes, settings.newsletter.fallback_theme, Judgement((0.999, 0.001, 0, 0, 0, 0), taught="taught by 2")
    )
    assert sure.reason.startswith("Getting Around 99%; next Homes & Neighbourhoods 1%") and sure.reason.endswith("; taught by 2")


@needs_model
def test_the_editors_labels_decide_and_the_reason_says_by_how_many_and_which(tmp_path: Path) -> None:
    settings = overridden(load_settings(project(tmp_path), environ={}), cache_dir=tmp_path / "cache")
    post = make_post(
        "Seed swap at the library every Saturday", WHEN, excerpt="Gardeners bring packets of saved seed to trade in the reading room."
    )
    untaught = meaning_of(settings)
    assert untaught is not None and untaught.place is not None
    before = group_posts([post], settings.newsletter.themes, settings.newsletter.fallback_theme, judged=untaught.place([post]))
    assert before[0].theme == "Food & Growing", before[0].reasons
    # This editor reads seed and plant swaps as a town's shared life: three moved to Culture & Public Space in past issues.
    taught = [
        Label(text, "Culture & Public Space", LabelSource.CORRECTED)
        for text in (
            "Seed library opens at the town museum. Visitors borrow packets and bring back seed at the end of summer.",
            "Gardening club swaps cuttings in the parish hall. Members meet monthly to trade plants and tips.",
            "Library starts a plant swap shelf. Readers leave cuttings and take one home.",
        )
    ]
    meaning = meaning_of(settings, taught)
    assert meaning is not None and meaning.place is not None
    after = group_posts([post], settings.newsletter.themes, settings.newsletter.fallback_theme, judged=meaning.place([post]))
    reason = after[0].reasons[post.id]
    assert after[0].theme == "Culture & Public Space", reason
    assert 'taught by 3 of your past placements here (nearest: "Seed library opens at the town museum.' in reason
    assert reason.endswith('…"); without them: Food & Growing')


@needs_model
def test_a_repeated_placement_fits_nothing_and_the_fit_is_kept_beside_the_vectors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from digest.issue.meaning import cache, classifier

    monkeypatch.setattr(cache, "_fits", {})  # as in a new process (another test may have fitted these labels)
    settings = overridden(load_settings(project(tmp_path), environ={}), cache_dir=tmp_path / "cache")
    post = make_post("Night buses return to the ring road", WHEN, excerpt="Services every half hour until three.")
    first = meaning_of(settings)
    assert first is not None and first.place is not None
    judged = first.place([post])[post.id]
    with sqlite3.connect(tmp_path / "cache" / "meaning.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM fits").fetchone() == (1,)
    # Another process: nothing in memory; the fit is read back, never made again, and places the same.
    monkeypatch.setattr(cache, "_fits", {})

    def refuse(*_: object) -> None:
        raise AssertionError("fitted again")

    monkeypatch.setattr(classifier, "fit", refuse)
    again = meaning_of(settings)
    assert again is not None and again.place is not None
    assert again.place([post])[post.id] == judged


@needs_model
def test_every_frozen_issue_teaches_and_a_label_can_be_forgotten(tmp_path: Path) -> None:
    from support.cli import cli

    config, settings, newsletter, target = first_week(tmp_path)
    built = newsletter.build(target.window, NOW)
    posts = {post.title: (post, section.theme) for section in built.digest.sections for post in section.posts}
    title = "Draughty council houses to get new doors and windows"
    moved_to = "Food & Growing" if posts[title][1] != "Food & Growing" else "Getting Around"  # a move by mistake
    move(settings, target, posts[title][0].url, moved_to)
    newsletter.freeze(newsletter.build(target.window, NOW))
    # Every post of the frozen issue is a label: the kept ones confirmed, the move a correction.
    labels = newsletter.store.placements.labels(settings.newsletter.theme_keys)
    assert len(labels) == len(posts) and [(theme, corrected) for text, theme, corrected in labels if text.startswith(title)] == [
        (moved_to, True)
    ]
    report = cli(config, "themes", "report")
    assert report.returncode == 0, report.stderr
    assert f"Learning    from {len(posts) - 1} confirmed placement(s) and 1 correction(s) (weighted more)" in report.stdout, report.stdout
    assert "By issue    placed by digest before the editor's changes" in report.stdout and "█" in report.stdout

    # A title nothing starts with is refused, naming what was looked for.
    unknown = cli(config, "themes", "forget-label", "No such post")
    assert unknown.returncode == 2 and "no placement has the post id or a title starting 'No such post'" in unknown.stderr
    assert "at least 3 characters" in cli(config, "themes", "forget-label", "D").stderr  # one letter would name half the list
    elsewhere = cli(config, "themes", "forget-label", "draughty council", "--issue", "2026-11-14-71ea4c")
    assert (
        elsewhere.returncode == 2
        and "no placement in issue 2026-11-14-71ea4c matches 'draughty council'; it went out in issue " in elsewhere.stderr
    )
    forgotten = cli(config, "themes", "forget-label", "draughty council")
    assert forgotten.returncode == 0, forgotten.stderr
    assert 'Forgotten: "Draughty council houses to get new doors and windows. Tenants say the…" in ' + moved_to in forgotten.stdout
    assert [text for text, _, _ in newsletter.store.placements.labels(settings.newsletter.theme_keys) if text.startswith(title)] == []
    # Said twice, it finds nothing left to forget; the report still counts the placement.
    twice = cli(config, "themes", "forget-label", "  Draughty council")
    assert twice.returncode == 2 and "names a placement forgotten already (issue " in twice.stderr
    after = cli(config, "themes", "report")
    assert "1 forgotten" in after.stdout and f"of {len(posts)} posts in the theme the editor kept them in" in after.stdout


def test_several_labels_matching_are_each_named_with_the_command_that_forgets_it(tmp_path: Path) -> None:
    from digest.models import Placed, PlacementKind
    from digest.store import Store

    from support.cli import cli

    config = project(tmp_path)
    settings = load_settings(config, environ={})
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    for issue_id in ("2026-11-20-aaaaaa", "2026-11-27-bbbbbb"):
        placed = (
            Placed(
                post_id=f"p-{issue_id}",
                text="Bridge closes. For repairs.",
                automatic="Getting Around",
                theme="Getting Around",
                kind=PlacementKind.KEPT,
            ),
        )
        store.issues.save(dataclasses.replace(make_stored_issue(issue_id), placements=placed))
    both = cli(config, "themes", "forget-label", "bridge")
    assert both.returncode == 2, both.stdout
    assert "2 placements match 'bridge': name one by its issue and post id" in both.stderr
    for issue_id in ("2026-11-20-aaaaaa", "2026-11-27-bbbbbb"):
        assert f"themes forget-label p-{issue_id} --issue {issue_id}" in both.stderr
    one = cli(config, "themes", "forget-label", "p-2026-11-27-bbbbbb", "--issue", "2026-11-27-bbbbbb")
    assert one.returncode == 0 and "Forgotten" in one.stdout


@pytest.mark.slow(4)
@needs_model
def test_a_post_in_another_language_is_read_by_the_multilingual_model_when_one_is_named(tmp_path: Path) -> None:
    """Item 7: no multilingual model can be fetched here, so the packaged model's files in a folder stand in for
    one; what is tested is the path: which posts it reads, with labels fitted by it, and what is said."""
    import numpy as np

    from digest.issue.assembly import build_issue
    from digest.issue.meaning import cache, starting_texts
    from digest.issue.meaning.model import model_files, model_key, packaged_tokenizer

    folder = tmp_path / "multilingual-export"
    folder.mkdir()
    (folder / "model.onnx").symlink_to(model_files("packaged").onnx)
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer_json(packaged_tokenizer())), encoding="utf-8")  # read as BERT's
    text = (
        (REPO / "config" / "digest.toml")
        .read_text(encoding="utf-8")
        .replace('# multilingual_model = ""', f'multilingual_model = "{folder}"', 1)
    )
    settings = week_of(
        tmp_path,
        (
            (
                "Le marché du samedi s'installe sur la place de l'église",
                "Les producteurs de la région vendront fruits, légumes et fromages chaque samedi matin.",
            ),
            (
                "Saturday market moves to the church square",
                "Growers from the valley will sell fruit, vegetables and cheese every Saturday morning.",
            ),
        ),
        text,
    )
    assert settings.newsletter.meaning.multilingual == str(folder)
    # The stand-in is the packaged model, whose vectors of the starting set are shipped (held to be its own by
    # test_the_shipped_starting_vectors_are_the_models_own…): put in the cache under the stand-in's name, as its first
    # build leaves them, so that the build reads the path rather than the 300 posts through the model again (30 s of
    # CPU). Its classifier is still fitted on vectors by its own name; the themes' texts and the post it reads, it embeds.
    packaged, shipped = model_key(settings.newsletter.meaning.model), cache._seed(settings.newsletter.meaning.seed)

    def from_shipped(texts: list[str]) -> Any:
        return np.stack([np.frombuffer(shipped[cache.vector_key(packaged, text)], dtype=np.float32) for text in texts])

    starting = starting_texts(settings.newsletter)
    cache.cached_vectors(settings.install.cache_dir / "meaning.sqlite", model_key(str(folder)), starting, from_shipped)
    digest = build_issue(settings, WEEK, WHEN)
    reasons = {post.title[:6]: section.reasons[post.id] for section in digest.sections for post in section.posts}
    assert reasons["Le mar"].endswith("; read by multilingual-export"), reasons
    assert "read by" not in reasons["Saturd"], reasons
    flagged = [problem.message for problem in digest.problems if problem.advisory]
    assert flagged == [
        "\"Le marché du samedi s'installe sur la place de l'église\": in French; placed by the multilingual model (multilingual-export)"
    ]
    # A folder that holds no model is a config error naming the key and the folder.
    broken = write(tmp_path / "broken" / "config" / "digest.toml", text.replace(str(folder), str(tmp_path / "nothing-here")))
    shutil.copy(REPO / "config" / "labelled-posts.txt", broken.parent)
    with pytest.raises(ConfigError) as caught:
        load_settings(broken, environ={})
    assert any("grouping.multilingual_model" in p and "needs model.onnx" in p for p in caught.value.problems)


WEEK = Window(start=datetime(2026, 11, 13, 9, tzinfo=UTC), end=datetime(2026, 11, 20, 9, tzinfo=UTC))


def week_of(tmp_path: Path, posts: tuple[tuple[str, str], ...], text: str | None = None):  # type: ignore[no-untyped-def]
    """The shipped config (or ``text``) on a folder of these posts (title, excerpt), dated in :data:`WEEK` an hour apart, in
    order, each from an outlet of its own; its cache in tmp_path."""
    folder = tmp_path / "content" / "posts"
    for number, (title, excerpt) in enumerate(posts):
        write(
            folder / f"post-{number}.md",
            f'---\ntitle: "{title}"\ndate: 2026-11-18T{9 + number:02d}:00:00+00:00\nurl: https://example.org/{number}\noutlet: Outlet {number}\n---\n\n{excerpt}\n',
        )
    config = write(tmp_path / "config" / "digest.toml", text or (REPO / "config" / "digest.toml").read_text(encoding="utf-8"))
    shipped_starting_set(config.parent)
    loaded = load_settings(config, environ={})
    return overridden(loaded, sources=(parse_source_spec(str(folder)),), cache_dir=tmp_path / "cache")


@needs_model
def test_a_story_kept_apart_says_so_in_its_reason_naming_the_other_and_what_differs(tmp_path: Path) -> None:
    from digest.issue.assembly import build_issue

    settings = week_of(
        tmp_path,
        (
            ("Jazz festival returns to the Corn Exchange", "Three days of jazz with bands from across the region."),
            ("Folk festival comes to the Corn Exchange", "Three days of folk music with singers from across the region."),
        ),
    )
    digest = build_issue(settings, WEEK, WHEN)
    assert len(digest.posts) == 2, digest.excluded
    reasons = {post.title: section.reasons[post.id] for section in digest.sections for post in section.posts}
    assert 'not the story of "Jazz festival returns to the Corn Exchange" (Outlet 0)' in reasons["Folk festival comes to the Corn Exchange"]
    assert reasons["Folk festival comes to the Corn Exchange"].endswith("different kind: jazz / folk"), reasons


@needs_model
def test_the_shipped_starting_vectors_are_the_models_own_and_spare_a_first_build_the_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np

    from digest.issue.meaning import cache, starting_texts
    from digest.issue.meaning.model import embedder, model_key

    settings = overridden(load_settings(REPO / "config" / "digest.toml", environ={}), cache_dir=tmp_path / "cache")
    assert settings.newsletter.meaning.seed == REPO / "config" / "labelled-posts.vectors.npz"
    texts = starting_texts(settings.newsletter)
    key = model_key(settings.newsletter.meaning.model)
    seeded = cache._seed(settings.newsletter.meaning.seed)
    stale = [text for text in texts if cache.vector_key(key, text) not in seeded]
    assert not stale, f"{len(stale)} starting post(s) have no shipped vector (first: {stale[0]!r}): run `make starting-vectors`"
    sample = texts[::60]
    computed = embedder(settings.newsletter.meaning.model).embed(sample)
    shipped = np.stack([np.frombuffer(seeded[cache.vector_key(key, text)], dtype=np.float32) for text in sample])
    assert np.array_equal(computed, shipped)
    # A first build (nothing in memory, an empty cache folder) embeds the themes' texts, not the set.
    monkeypatch.setattr(cache, "_memo", {})
    monkeypatch.setattr(cache, "_fits", {})
    steps: list[int] = []
    meaning = meaning_of(settings, on_step=lambda _what, _done, total: steps.append(total))
    assert meaning is not None and meaning.place is not None
    meaning.place([make_post("Bus station reopens after repairs", WHEN, excerpt="The canopy is fixed.")])
    assert steps == [], steps  # under SHOWN_FROM new texts: the set came from the shipped file
    unseeded = overridden(settings, meaning=dataclasses.replace(settings.newsletter.meaning, seed=None), cache_dir=tmp_path / "cold")
    monkeypatch.setattr(cache, "_memo", {})
    monkeypatch.setattr(cache, "_fits", {})

    class HandedTheSetError(Exception):
        """Raised by the progress as the model is given its texts: what it is given is the point, not reading them (20 s)."""

    def given(_what: str, _done: int, total: int) -> None:
        steps.append(total)
        raise HandedTheSetError

    cold = meaning_of(unseeded, on_step=given)
    assert cold is not None and cold.place is not None
    with pytest.raises(HandedTheSetError):
        cold.place([make_post("Bus station reopens after repairs", WHEN, excerpt="The canopy is fixed.")])
    assert steps and max(steps) >= len(texts)  # without it, the model reads the whole set first


@needs_model
def test_a_move_by_key_teaches_and_its_label_follows_the_theme_through_a_rename(tmp_path: Path) -> None:
    config, settings, newsletter, target = first_week(tmp_path)
    post = newsletter.build(target.window, NOW).digest.posts[0]
    move(settings, target, post.url, "food")  # the theme's key, as a post's own theme may
    newsletter.freeze(newsletter.build(target.window, NOW))
    assert [
        (text[:20], theme, corrected)
        for text, theme, corrected in newsletter.store.placements.labels(settings.newsletter.theme_keys)
        if corrected
    ] == [(post_text(post)[:20], "Food & Growing", True)]
    # The theme renamed, its key kept: the label teaches the theme under its new name; a theme gone teaches nothing.
    renamed = config.read_text(encoding="utf-8").replace('name = "Food & Growing"', 'name = "Eating"')
    assert renamed != config.read_text(encoding="utf-8")
    config.write_text(renamed, encoding="utf-8")
    again = load_settings(config, environ={"DIGEST_SECRET_KEY": "k" * 32})
    labels = newsletter.store.placements.labels(again.newsletter.theme_keys)
    assert [theme for text, theme, corrected in labels if corrected] == ["Eating"]
    gone = {key: name for key, name in again.newsletter.theme_keys.items() if key != "food"}
    assert [theme for _, theme, corrected in newsletter.store.placements.labels(gone) if corrected] == []
