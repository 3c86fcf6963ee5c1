"""The themes as points in the model's space, and how close each post is to each.

A theme is where its words point: its name with its description, its name with
its keywords, and each example an editor gave it (``examples`` in the config,
and the posts the desk re-themed). A post is its title and its title with its
excerpt, the title so counted twice: what a post is about is mostly in its
title. How close a post is to a theme is the cosine to the theme's words, or
halfway to its nearest example when that is closer (one good example says more
than a description): a number from about 0 (unrelated) to 1 (the same text).
The fallback section has no subject of its own, only examples of what goes
there (crime, sport, health...): a post's closeness to them is the last
column, 0 when there are none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from digest.issue.meaning.model import Vectors

EXAMPLE_WEIGHT = 0.5  # how much the nearest example counts beside the theme's own words, when it is closer
# The editor's corrections, a theme's learned posts, count by their centre (what they share: "the home energy
# stories go in Energy"), and only for a post at least this close to it: a scatter of unrelated corrections
# has a centre close to nothing and changes nothing (tried on replays of bench/data/placement.txt).
LEARNED_CLOSE = 0.4


@dataclass(frozen=True, slots=True)
class ThemeText:
    """What a theme says about itself: its name, description and keywords, and the examples given for it."""

    name: str
    description: str
    keywords: tuple[str, ...]
    examples: tuple[str, ...] = ()
    learned: tuple[str, ...] = ()  # posts the editor moved here (the desk), newest first

    def words(self) -> list[str]:
        said = [f"{self.name}: {self.description}" if self.description else self.name]
        if self.keywords:
            said.append(f"{self.name}: {', '.join(self.keywords)}")
        return said


class ThemeSpace:
    """The themes' points; ``embed`` turns texts into unit vectors (cached or computed)."""

    def __init__(self, themes: Sequence[ThemeText], embed: Callable[[list[str]], Vectors], fallback_examples: Sequence[str] = ()) -> None:
        import numpy as np

        self.names = tuple(theme.name for theme in themes)
        self.embed = embed
        anchors = []
        for theme in themes:
            vectors = embed(theme.words())
            mean = vectors.mean(axis=0)
            anchors.append(mean / max(float(np.linalg.norm(mean)), 1e-12))
        self.anchors = np.stack(anchors) if anchors else np.zeros((0, 0), np.float32)
        texts = [(number, text) for number, theme in enumerate(themes) for text in theme.examples]
        self.example_theme = np.array([number for number, _ in texts], dtype=np.int64)
        self.examples = embed([text for _, text in texts]) if texts else None
        taught = [(number, text) for number, theme in enumerate(themes) for text in theme.learned]
        self.learned_theme = np.array([number for number, _ in taught], dtype=np.int64)
        self.learned = embed([text for _, text in taught]) if taught else None
        self.fallback = embed(list(fallback_examples)) if fallback_examples else None

    def closeness(self, titles: Sequence[str], bodies: Sequence[str]) -> Vectors:
        """For each post (its title, and its title with its excerpt): its closeness to each theme, in theme order,
        then to the fallback's examples."""
        import numpy as np

        if not titles or not self.names:
            return np.zeros((len(titles), len(self.names) + 1), np.float32)
        both = self.embed([*titles, *bodies])
        posts = both[: len(titles)] + both[len(titles) :]
        posts /= np.clip(np.linalg.norm(posts, axis=1, keepdims=True), 1e-12, None)
        near = posts @ self.anchors.T
        if self.examples is not None:
            to_examples = posts @ self.examples.T
            for number in range(len(self.names)):
                mine = self.example_theme == number
                if mine.any():
                    best = to_examples[:, mine].max(axis=1)
                    near[:, number] = np.maximum(near[:, number], (1 - EXAMPLE_WEIGHT) * near[:, number] + EXAMPLE_WEIGHT * best)
        if self.learned is not None:
            for number in range(len(self.names)):
                mine = self.learned_theme == number
                if mine.any():
                    centre = self.learned[mine].mean(axis=0)
                    centre /= max(float(np.linalg.norm(centre)), 1e-12)
                    best = posts @ centre
                    near[:, number] = np.where(best >= LEARNED_CLOSE, np.maximum(near[:, number], best), near[:, number])
        fallback = (posts @ self.fallback.T).max(axis=1) if self.fallback is not None else np.zeros(len(titles), np.float32)
        return np.column_stack([near, fallback]).astype(np.float32)
