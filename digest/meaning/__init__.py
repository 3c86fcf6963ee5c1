"""Meaning: sentence embeddings of posts and themes, computed here, offline, on the CPU.

::

    model.py   the model: an ONNX export of a sentence-transformers model and its tokenizer, run by ONNX Runtime
               (no PyTorch), mean-pooled and normalised; found in a folder, or in the packages of digest[meaning]
    cache.py   vectors already computed, by model and text, in the cache folder: a repeated build computes none
    space.py   the themes as points in that space, and how close a post is to each

The optional extra ``digest[meaning]`` brings ONNX Runtime, the tokenizer and the
packaged model; without it, :func:`available` says why, and themes are placed by
their keywords alone (:mod:`digest.issue.grouping`).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from digest.config.extras import install_command
from digest.config.schema import MEANING_RUNTIME

if TYPE_CHECKING:
    from digest.config import Settings
    from digest.meaning.model import Vectors
    from digest.models import OnStep, Post

# Posts → each post's closeness to each theme, in theme order, then to the fallback's examples (by post id).
Near = Callable[[Sequence["Post"]], Mapping[str, tuple[float, ...]]]
# Posts → how close any two of them are (by post id): one story told twice, or two stories.
Alike = Callable[[Sequence["Post"]], Callable[[str, str], float]]


@dataclass(frozen=True, slots=True)
class Meaning:
    """What meaning adds to a build: where each post belongs, and which posts tell one story."""

    near: Near
    alike: Alike


def post_text(post: Post) -> str:
    """A post as the model reads it (and as an example is kept): its title, and its excerpt."""
    return f"{post.title}. {post.excerpt_text}" if post.excerpt_text else post.title


def available() -> str | None:
    """None when the runtime of meaning is installed; else what is missing, and how to install it."""
    missing = [name for name in MEANING_RUNTIME if importlib.util.find_spec(name) is None]
    if missing:
        return f"{', '.join(missing)} not installed: {install_command('meaning')} (make setup installs it) to place posts by meaning"
    return None


SHOWN_FROM = 64  # texts to embed before progress is worth showing (a batch of titles takes a blink)
PLACING = "placing posts by meaning"


def meaning_of(settings: Settings, learned: Sequence[tuple[str, str]] = (), on_step: OnStep | None = None) -> Meaning | None:
    """How close posts are to the themes, by meaning: None when ``[grouping] meaning`` is off, or its runtime is
    not installed (loading the config said so, with the command that installs it). ``learned``: (post text,
    theme) of the editor's past corrections, examples beside the config's own. ``on_step``: the progress of the
    model's work, when it has many texts to read (a first build of a large archive)."""
    if not settings.meaning.enabled or not settings.themes or not settings.meaning.reads(settings.language) or available() is not None:
        return None
    from digest.meaning.cache import cached_vectors
    from digest.meaning.model import embedder, model_key
    from digest.meaning.space import ThemeSpace, ThemeText

    setting = settings.meaning.model
    key = model_key(setting)
    store = settings.cache_dir / "meaning.sqlite"

    def compute(texts: list[str]) -> Vectors:
        # The model is loaded only when a text is new.
        if on_step is None or len(texts) < SHOWN_FROM:
            return embedder(setting).embed(texts)
        on_step(PLACING, 0, len(texts))
        return embedder(setting).embed(texts, lambda done: on_step(PLACING, done, len(texts)))

    def embed(texts: list[str]) -> Vectors:
        return cached_vectors(store, key, texts, compute)

    taught: dict[str, list[str]] = {}
    for text, theme in learned:
        taught.setdefault(theme, []).append(text)
    texts = [ThemeText(t.name, t.description, t.keywords, t.examples, tuple(taught.get(t.name, ()))) for t in settings.themes]
    fallback_examples = (*settings.meaning.fallback_examples, *taught.get(settings.fallback_theme, ()))
    space = ThemeSpace(texts, embed, fallback_examples)

    def near(posts: Sequence[Post]) -> Mapping[str, tuple[float, ...]]:
        closeness = space.closeness([post.title for post in posts], [post_text(post) for post in posts])
        return {post.id: tuple(float(x) for x in row) for post, row in zip(posts, closeness, strict=True)}

    def alike(posts: Sequence[Post]) -> Callable[[str, str], float]:
        # The titles are read here too, though only ``near`` needs them: one pass over every new text (one progress
        # bar on a first build, fuller batches), and ``near`` then finds them all in the cache.
        bodies = embed([post_text(post) for post in posts] + [post.title for post in posts])[: len(posts)]
        vectors = dict(zip((post.id for post in posts), bodies, strict=True))
        return lambda a, b: float(vectors[a] @ vectors[b])

    return Meaning(near=near, alike=alike)
