"""A classifier that learns where posts go from labelled posts: the themes' own texts, the starting set, the editor.

Closeness to a theme's texts alone stops near 75 % on posts nobody tuned on (issue 32's measures): a description
and three examples cannot say where the edges of a theme lie. Labelled posts can. Each label is a post's vector
(:func:`digest.issue.meaning.post_text` read by the model) and the section it belongs in, the fallback a class of its own
learnt from its own examples rather than a threshold. The model is scikit-learn's multinomial logistic regression
(L2, lbfgs: deterministic for the same labels), fitted once per set of labels: the fit is cached by the labels'
hash, in memory and beside the vectors, and placing reads the stored weights with numpy alone, so a repeated
build neither fits nor imports scikit-learn (its import takes about a second, the fit of a thousand labels about
0.1 s; ``make bench`` says both).

Who taught what counts: the editor's confirmed placements weigh more than the starting set, and the editor's
corrections (a post moved to another theme, or brought in) more again, so an editor's own labels join the starting
set and outweigh it as issues go out.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from digest.issue.meaning.model import Vectors


class LabelSource(StrEnum):
    """Where a label comes from, which says how much it weighs."""

    THEME = "theme"  # a theme's own words: its name with its description, its name with its keywords
    EXAMPLE = "example"  # an example in the config (a theme's `examples`, `[grouping] fallback_examples`)
    STARTING = "starting"  # a post of the starting set (`[grouping] examples_file`)
    CONFIRMED = "confirmed"  # a post of a frozen issue, in the theme digest chose for it
    CORRECTED = "corrected"  # a post of a frozen issue the editor moved to another theme, or brought in


# How much each label counts in the fit. The editor's word outweighs the starting set, a correction most of all (it
# is where digest was wrong). Chosen on teaching replays of bench/data/placement.txt (three issues, the editor
# confirming and correcting each: bench/placement.py), never on the untuned set: 3 and 6 were the pairs tried
# (1/2, 1/4, 2/4, 2/8, 3/6, 4/8, 1/8) that never lowered the next issue from the starting set; per-class balancing
# changed nothing there.
WEIGHT = {
    LabelSource.THEME: 1.0,
    LabelSource.EXAMPLE: 1.0,
    LabelSource.STARTING: 1.0,
    LabelSource.CONFIRMED: 3.0,
    LabelSource.CORRECTED: 6.0,
}
EDITOR = frozenset({LabelSource.CONFIRMED, LabelSource.CORRECTED})
# The inverse of the L2 penalty: how far the fit may follow single labels. Chosen on the tune rows of
# bench/data/placement.txt (10 placed best among 1, 3, 10, 30, 100), never on the untuned set.
STRENGTH = 10.0
FIT_VERSION = "lr2"  # part of the cache key: a change to the fit, another cache entry


@dataclass(frozen=True, slots=True)
class Label:
    """One labelled post: its text as the model reads it, the section it belongs in (a theme's name, or the
    fallback's), and where the label comes from."""

    text: str
    theme: str
    source: LabelSource


@dataclass(frozen=True, slots=True)
class Classifier:
    """A fitted classifier: a row of weights and a bias per section (``classes``, in the newsletter's order)."""

    classes: tuple[str, ...]
    weights: Vectors  # one row per class; a class without labels has a row of zeros and a bias of -inf
    bias: Vectors

    def probabilities(self, vectors: Vectors) -> Vectors:
        """Each post's probability of each class (rows sum to 1)."""
        import numpy as np

        scores = vectors @ self.weights.T + self.bias
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        result: Vectors = (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
        return result

    def to_bytes(self) -> bytes:
        import numpy as np

        buffer = io.BytesIO()
        np.savez(buffer, weights=self.weights, bias=self.bias)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, classes: tuple[str, ...], data: bytes) -> Classifier:
        import numpy as np

        with np.load(io.BytesIO(data)) as stored:
            return cls(classes=classes, weights=stored["weights"], bias=stored["bias"])


def can_learn(labels: Sequence[Label], fallback: str) -> bool:
    """Whether the labels can teach a classifier: two sections at least, the fallback among them (without its own
    examples the fallback could never be chosen, and closeness with a threshold places posts as before)."""
    themes = {label.theme for label in labels}
    return fallback in themes and len(themes) >= 2


def labels_key(model_id: str, classes: Sequence[str], labels: Sequence[Label]) -> str:
    """The cache's name for the fit of these labels by this model: another label, weight or class, another fit."""
    digest = hashlib.sha256(f"{FIT_VERSION}\0{STRENGTH}\0{model_id}\0{chr(1).join(classes)}".encode())
    for label in labels:
        digest.update(f"\0{label.theme}\1{WEIGHT[label.source]}\1{label.text}".encode())
    return digest.hexdigest()


def fit(classes: tuple[str, ...], labels: Sequence[Label], vectors: Vectors) -> Classifier:
    """Fit a classifier of ``classes`` to ``labels`` (their vectors in order)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    index = {name: number for number, name in enumerate(classes)}
    wanted = np.array([index[label.theme] for label in labels], dtype=np.int64)
    weight = np.array([WEIGHT[label.source] for label in labels], dtype=np.float64)
    model = LogisticRegression(C=STRENGTH, max_iter=2000)
    model.fit(vectors.astype(np.float64), wanted, sample_weight=weight)
    present = [int(number) for number in model.classes_]
    weights = np.zeros((len(classes), vectors.shape[1]), dtype=np.float32)
    bias = np.full(len(classes), -np.inf, dtype=np.float32)
    if len(present) == 2:  # scikit-learn keeps one row for two classes: the second's score against the first's 0
        weights[present[1]], bias[present[1]] = model.coef_[0], model.intercept_[0]
        weights[present[0]], bias[present[0]] = 0.0, 0.0
    else:
        for row, number in enumerate(present):
            weights[number], bias[number] = model.coef_[row], model.intercept_[row]
    return Classifier(classes=classes, weights=weights, bias=bias)


def fitted(
    classes: tuple[str, ...],
    labels: Sequence[Label],
    embed: Callable[[list[str]], Vectors],
    key: str,
    remember: Callable[[str, Callable[[], bytes]], bytes],
) -> Classifier:
    """The classifier of ``labels``, fitted once: ``remember(key, compute)`` keeps the fit's bytes (the cache)."""
    data = remember(key, lambda: fit(classes, labels, embed([label.text for label in labels])).to_bytes())
    return Classifier.from_bytes(classes, data)
