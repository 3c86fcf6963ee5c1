"""Where posts land: keyword rules against meaning, on bench/data/placement.txt (150 posts an editor placed).

``python bench/placement.py [--sweep]``: accuracy on the tune and check rows, each theme's recall, the
fallback's precision, and the milliseconds per post of placing by meaning (model loaded, nothing cached).
``--sweep`` tries thresholds on the tune rows only.

``python bench/placement.py --stories [FILE]``: one story by meaning, on every story set (:data:`STORY_SETS`, each
said "tuned" when rules were chosen on it, else "untuned"), or on FILE alone in the same format (said untuned):
"folded N of M same, wrongly folded K of L apart" for each.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from digest.config import Scope, load_settings
from digest.issue.grouping import classify, place_by_meaning
from digest.issue.meaning import post_text
from digest.issue.meaning.classifier import Label
from digest.models import Post

from common import overridden

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data" / "placement.txt"


@dataclass(frozen=True, slots=True)
class Labelled:
    split: str
    theme: str
    post: Post


def labelled() -> list[Labelled]:
    rows = []
    for number, line in enumerate(DATA.read_text(encoding="utf-8").splitlines()):
        if not line.strip() or line.startswith("#"):
            continue
        split, theme, title, excerpt = (part.strip() for part in line.split(" | "))
        post = Post(
            id=f"p{number}",
            title=title,
            url=None,
            published=datetime(2026, 11, 20, tzinfo=UTC),
            outlet=None,
            author=None,
            excerpt_html=excerpt,
            excerpt_text=excerpt,
            source="bench",
        )
        rows.append(Labelled(split, theme, post))
    return rows


def score(rows: list[Labelled], placed: list[str], fallback: str, split: str | None = None) -> dict[str, object]:
    pairs = [(row.theme, got) for row, got in zip(rows, placed, strict=True) if split is None or row.split == split]
    right = sum(1 for want, got in pairs if want == got)
    to_fallback = [want for want, got in pairs if got == fallback]
    per_theme = {
        theme: sum(1 for w, g in pairs if w == g == theme) / max(1, sum(1 for w, _ in pairs if w == theme))
        for theme in sorted({w for w, _ in pairs})
    }
    return {
        "accuracy": right / len(pairs),
        "n": len(pairs),
        "fallback_precision": (to_fallback.count(fallback) / len(to_fallback)) if to_fallback else 1.0,
        "recall": per_theme,
        "confusions": Counter((w, g) for w, g in pairs if w != g).most_common(5),
    }


def meaning_placements(rows: list[Labelled], settings: Scope, threshold: float | None = None) -> tuple[list[str], float]:
    from digest.issue.meaning.model import embedder
    from digest.issue.meaning.space import ThemeSpace, ThemeText

    model = embedder(settings.newsletter.meaning.model)
    themes = settings.newsletter.themes
    space = ThemeSpace(
        [ThemeText(t.name, t.description, t.keywords, t.examples) for t in themes],
        model.embed,
        settings.newsletter.meaning.fallback_examples,
    )
    start = time.perf_counter()
    near = space.closeness([r.post.title for r in rows], [f"{r.post.title}. {r.post.excerpt_text}" for r in rows])
    placed = [
        place_by_meaning(
            r.post,
            themes,
            settings.newsletter.fallback_theme,
            tuple(float(x) for x in near[n]),
            threshold or settings.newsletter.meaning.threshold,
        ).theme
        for n, r in enumerate(rows)
    ]
    return placed, (time.perf_counter() - start) / len(rows) * 1000


UNTUNED = ROOT / "bench" / "data" / "placement-untuned.txt"
PAIRS = ROOT / "bench" / "data" / "story-pairs.txt"  # written blind, then tuned on (its header says)
PAIRS_2 = ROOT / "bench" / "data" / "story-pairs-2.txt"  # the same, a second set
PAIRS_3 = ROOT / "bench" / "data" / "story-pairs-3.txt"  # and a third
PAIRS_4 = ROOT / "bench" / "data" / "story-pairs-4.txt"  # and a fourth
# Written blind by other hands and never tuned on: the fifth set (its per-pair diagnostics were read once, on
# 2026-12-06, no rule changed since), and a sixth written in another voice and place (measured, never read).
UNTUNED_PAIRS = ROOT / "bench" / "data" / "story-pairs-untuned.txt"
UNTUNED_PAIRS_2 = ROOT / "bench" / "data" / "story-pairs-untuned-2.txt"
# Round 4 (one story = one event): the rules were chosen on a tuning set of their own (Morrowby), and measured on a
# set written before they changed, in another town and voice (Hedlington), never tuned on.
TUNING_PAIRS = ROOT / "bench" / "data" / "story-pairs-morrowby-tuning.txt"
HELD_OUT_PAIRS = ROOT / "bench" / "data" / "story-pairs-hedlington.txt"
# Round 4b (folding across voices): a set written before that pass changed any rule, in another town (Brennock),
# each pair in two voices (wire, press release, chatty post); never tuned on.
HELD_OUT_PAIRS_2 = ROOT / "bench" / "data" / "story-pairs-brennock.txt"
# Written blind in the session of 2026-12-07 (third) by a helper who read no file of the project: measured once, never tuned on.
BLIND_PAIRS_7 = ROOT / "bench" / "data" / "story-pairs-blind-7.txt"
TUNING_PAIRS_2 = ROOT / "bench" / "data" / "story-pairs-wetherfold-tuning.txt"  # and that pass's own tuning pairs


def untuned(settings: Scope) -> list[Labelled]:
    """bench/data/placement-untuned.txt: 150 posts written apart from every set digest learns or was tuned on
    (another town, wire-style, longer excerpts), never used to choose anything: ``key | title | excerpt``."""
    names = settings.newsletter.theme_keys
    rows = []
    for number, line in enumerate(UNTUNED.read_text(encoding="utf-8").splitlines()):
        if not line.strip() or line.startswith("#"):
            continue
        key, title, excerpt = (part.strip() for part in line.split(" | "))
        rows.append(Labelled("untuned", names[key], _post(f"u{number}", title, excerpt, "Wire", 9)))
    return rows


def learned_placements(rows: list[Labelled], settings: Scope, taught: Sequence[Label] = ()) -> list[str]:
    """Where the classifier of ``settings`` (its theme texts, examples and starting set) and ``taught`` puts each row."""
    from digest.issue.meaning import meaning_of

    meaning = meaning_of(settings, taught)
    assert meaning is not None and meaning.place is not None
    judged = meaning.place([row.post for row in rows])
    names = settings.newsletter.theme_names
    return [names[max(range(len(names)), key=lambda k: judged[row.post.id].probabilities[k])] for row in rows]


def teaching_curve(rows: list[Labelled], settings: Scope) -> list[tuple[float, float]]:
    """Three issues: each row's issue is its number modulo 3 (the sets are written theme by theme). For the second
    and third issue, the accuracy untaught and after the editor confirmed and corrected the issues before it."""
    from digest.issue.meaning.classifier import Label, LabelSource

    issues = [[row for n, row in enumerate(rows) if n % 3 == k] for k in range(3)]
    curve = []
    taught: list[Label] = []
    for k in range(3):
        if k:
            before = learned_placements(issues[k], settings)
            after = learned_placements(issues[k], settings, taught)
            curve.append((_accuracy(issues[k], before), _accuracy(issues[k], after)))
        automatic = learned_placements(issues[k], settings, taught)
        taught += [
            Label(post_text(row.post), row.theme, LabelSource.CONFIRMED if got == row.theme else LabelSource.CORRECTED)
            for row, got in zip(issues[k], automatic, strict=True)
        ]
    return curve


def _accuracy(rows: list[Labelled], placed: list[str]) -> float:
    return sum(row.theme == got for row, got in zip(rows, placed, strict=True)) / len(rows)


def bench_placement(rows_out: list[str]) -> None:
    from digest.issue.meaning import available

    if (missing := available()) is not None:
        rows_out.append(f"| placement by meaning | skipped: {missing} | | |")
        return
    shipped = overridden(load_settings(ROOT / "config" / "digest.toml", environ={}), cache_dir=ROOT / ".digest-cache")
    bare = overridden(shipped, meaning=dataclasses.replace(shipped.newsletter.meaning, starting=()))
    fallback = shipped.newsletter.fallback_theme
    sets = (("tuned", "bench/data/placement.txt", labelled()), ("untuned", "bench/data/placement-untuned.txt", untuned(shipped)))
    for label, name, rows in sets:
        keywords = [classify(r.post, shipped.newsletter.themes, fallback, shipped.newsletter.language).theme for r in rows]
        zero_shot, _ = meaning_placements(rows, shipped)
        said = []
        for method, placed in (
            ("learned, shipped config", learned_placements(rows, shipped)),
            ("learned from theme texts alone", learned_placements(rows, bare)),
            ("zero-shot closeness", zero_shot),
            ("keywords", keywords),
        ):
            s = score(rows, placed, fallback)
            said.append(f"{method} {s['accuracy']:.1%} (fallback precision {s['fallback_precision']:.0%})")
        rows_out.append(f"| placement, {label}: {len(rows)} posts ({name}) | {said[0]} | {'; '.join(said[1:])} | |")
    for label, name, rows in sets:
        for start, settings in (("the starting set", shipped), ("theme texts alone", bare)):
            curve = teaching_curve(rows, settings)
            steps = "; ".join(
                f"issue {k + 2}: {a:.0%} untaught, {b:.0%} taught ({(b - a) * 100:+.0f} points)" for k, (a, b) in enumerate(curve)
            )
            rows_out.append(
                f"| teaching, {label} ({name}), from {start} | {steps} | | the editor confirms and corrects each earlier issue |"
            )
    rows_out.extend(story_row(shipped, path, label) for path, label in STORY_SETS)
    rows_out.append(fit_row(shipped))


def fit_row(settings: Scope) -> str:
    """The cost of learning: scikit-learn's import, one fit of the shipped labels, and placing a post by the fit."""
    import numpy as np

    from digest.issue.meaning import labels_of
    from digest.issue.meaning.cache import cached_vectors
    from digest.issue.meaning.classifier import fit
    from digest.issue.meaning.model import embedder, model_key
    from digest.issue.meaning.space import ThemeText

    texts = [ThemeText(t.name, t.description, t.keywords, t.examples) for t in settings.newsletter.themes]
    labels = labels_of(settings.newsletter, texts)
    vectors = cached_vectors(
        settings.install.cache_dir / "meaning.sqlite",
        model_key(settings.newsletter.meaning.model),
        [x.text for x in labels],
        embedder(settings.newsletter.meaning.model).embed,
    )
    timer = "import time; t = time.perf_counter(); import sklearn.linear_model; print(time.perf_counter() - t)"
    imported = float(subprocess.run([sys.executable, "-c", timer], capture_output=True, text=True, check=True).stdout)  # a fresh process
    start = time.perf_counter()
    classifier = fit(tuple(settings.newsletter.theme_names), labels, vectors)
    fitted = time.perf_counter() - start
    posts = np.repeat(vectors, 10, axis=0)
    start = time.perf_counter()
    classifier.probabilities(posts)
    per_post = (time.perf_counter() - start) / len(posts) * 1000
    return (
        f"| learning, per fit and per post | fit of {len(labels)} labels {fitted * 1000:.0f} ms; placing {per_post:.4f} ms a post "
        f"(its vector known) | scikit-learn's import {imported * 1000:.0f} ms, once per process and only when a fit is not cached | |"
    )


STORIES = ROOT / "bench" / "data" / "stories.txt"
# Every story set, each said tuned (rules were chosen on it) or untuned (never chosen on).
STORY_SETS = (
    (STORIES, "tuned"),
    (PAIRS, "tuned"),
    (PAIRS_2, "tuned"),
    (PAIRS_3, "tuned"),
    (PAIRS_4, "tuned"),
    (TUNING_PAIRS, "tuned"),
    (TUNING_PAIRS_2, "tuned"),
    (UNTUNED_PAIRS, "untuned"),
    (UNTUNED_PAIRS_2, "untuned"),
    (HELD_OUT_PAIRS, "untuned"),
    (HELD_OUT_PAIRS_2, "untuned"),
    (BLIND_PAIRS_7, "untuned"),
)


def story_row(settings: Scope, path: Path = STORIES, label: str = "tuned") -> str:
    """``path`` (bench/data/stories.txt by default): how many pairs of one story fold, and how many pairs of two do."""
    from digest.issue.stories import STORY_CLOSE

    folded, total = story_counts(settings, path)
    name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    return (
        f"| one story by meaning, {label} ({name}) | folded {folded['same']} of {total['same']} same | "
        f"wrongly folded {folded['apart']} of {total['apart']} apart | an anchor of the event's identity shared (never closeness alone), "
        f"closeness at least {STORY_CLOSE}, less the more telling marks agree (digest.issue.stories), nothing of it conflicting "
        "(digest.issue.identity) |"
    )


def story_counts(settings: Scope, path: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Pairs folded and pairs read, by label ("same": one story told twice; "apart": two stories)."""
    from digest.issue.meaning import meaning_of
    from digest.issue.stories import fold_stories

    meaning = meaning_of(settings)
    assert meaning is not None
    folded = {"same": 0, "apart": 0}
    total = {"same": 0, "apart": 0}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if not line.strip() or line.startswith("#"):
            continue
        label, title_a, excerpt_a, title_b, excerpt_b = (part.strip() for part in line.split(" | "))
        a = _post(f"a{n}", title_a, excerpt_a, "Civic Ledger", 9)
        b = _post(f"b{n}", title_b, excerpt_b, "Harbour Gazette", 10)
        total[label] += 1
        folded[label] += bool(fold_stories([a, b], alike=meaning.alike([a, b])).folded)
    return folded, total


def _post(post_id: str, title: str, excerpt: str, outlet: str, hour: int) -> Post:
    return Post(
        id=post_id,
        title=title,
        url=f"https://example.org/{post_id}",
        published=datetime(2026, 11, 20, hour, tzinfo=UTC),
        outlet=outlet,
        author=None,
        excerpt_html=excerpt,
        excerpt_text=excerpt,
        source="bench",
    )


def main() -> None:
    settings = load_settings(ROOT / "config" / "digest.toml", environ={})
    if "--stories" in sys.argv:
        cached = overridden(settings, cache_dir=ROOT / ".digest-cache")
        if (at := sys.argv.index("--stories") + 1) < len(sys.argv):
            print(story_row(cached, Path(sys.argv[at]).resolve(), "untuned"))
            return
        for path, label in STORY_SETS:
            print(story_row(cached, path, label))
        return
    rows = labelled()
    fallback = settings.newsletter.fallback_theme
    if "--sweep" in sys.argv:
        for threshold in (0.15, 0.2, 0.25, 0.28, 0.3, 0.32, 0.35, 0.4):
            placed, _ = meaning_placements(rows, settings, threshold)
            s = score(rows, placed, fallback, "tune")
            print(f"threshold {threshold:.2f}: tune accuracy {s['accuracy']:.1%}, fallback precision {s['fallback_precision']:.0%}")
        return
    keywords = [classify(r.post, settings.newsletter.themes, fallback, settings.newsletter.language).theme for r in rows]
    meaning, per_post = meaning_placements(rows, settings)
    for name, placed in (("keywords", keywords), ("meaning", meaning)):
        for split in ("tune", "check", None):
            s = score(rows, placed, fallback, split)
            print(f"{name:9} {split or 'all':5} {s['accuracy']:.1%} (n={s['n']}) fallback precision {s['fallback_precision']:.0%}")
            if split is None:
                print("   recall", {k: f"{v:.0%}" for k, v in s["recall"].items()})  # type: ignore[attr-defined]
                print("   confusions", s["confusions"])
    print(f"meaning: {per_post:.2f} ms per post")
    print(story_row(overridden(settings, cache_dir=ROOT / ".digest-cache")))


if __name__ == "__main__":
    main()
