"""Where posts land: keyword rules against meaning, on bench/data/placement.txt (150 posts an editor placed).

``python bench/placement.py [--sweep]``: accuracy on the tune and check rows, each theme's recall, the
fallback's precision, and the milliseconds per post of placing by meaning (model loaded, nothing cached).
``--sweep`` tries thresholds on the tune rows only.

``python bench/placement.py --stories [FILE]``: one story by meaning only, on bench/data/stories.txt (the pairs
the rules were tuned on, "tuned") and, when given, on FILE in the same format (pairs kept from the tuning,
"untuned"): "folded N of M same, wrongly folded K of L apart" for each.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from digest.config import Settings, load_settings
from digest.issue.grouping import classify, place_by_meaning
from digest.models import Post

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


def meaning_placements(rows: list[Labelled], settings: Settings, threshold: float | None = None) -> tuple[list[str], float]:
    from digest.meaning.model import embedder
    from digest.meaning.space import ThemeSpace, ThemeText

    model = embedder(settings.meaning.model)
    themes = settings.themes
    space = ThemeSpace(
        [ThemeText(t.name, t.description, t.keywords, t.examples) for t in themes], model.embed, settings.meaning.fallback_examples
    )
    start = time.perf_counter()
    near = space.closeness([r.post.title for r in rows], [f"{r.post.title}. {r.post.excerpt_text}" for r in rows])
    placed = [
        place_by_meaning(
            r.post, themes, settings.fallback_theme, tuple(float(x) for x in near[n]), threshold or settings.meaning.threshold
        ).theme
        for n, r in enumerate(rows)
    ]
    return placed, (time.perf_counter() - start) / len(rows) * 1000


def bench_placement(rows_out: list[str]) -> None:
    from digest.meaning import available

    if (missing := available()) is not None:
        rows_out.append(f"| placement by meaning | skipped: {missing} | | |")
        return
    settings = load_settings(ROOT / "config" / "digest.toml", environ={})
    rows = labelled()
    fallback = settings.fallback_theme
    keywords = [classify(r.post, settings.themes, fallback, settings.language).theme for r in rows]
    meaning, per_post = meaning_placements(rows, settings)
    for split in ("tune", "check"):
        k, m = score(rows, keywords, fallback, split), score(rows, meaning, fallback, split)
        rows_out.append(
            f"| placement, {m['n']} {split} posts (bench/data/placement.txt) | meaning {m['accuracy']:.1%} in the editor's theme, "
            f"fallback precision {m['fallback_precision']:.0%} | keyword rules {k['accuracy']:.1%}, fallback precision {k['fallback_precision']:.0%} | "
            f"{settings.meaning.model} model, threshold {settings.meaning.threshold} |"
        )
    rows_out.append(story_row(settings))
    rows_out.append(
        f"| placement by meaning, per post | {per_post:.2f} ms (150 posts, nothing cached, one thread) | | title and title + excerpt embedded |"
    )


STORIES = ROOT / "bench" / "data" / "stories.txt"


def story_row(settings: Settings, path: Path = STORIES, label: str = "tuned") -> str:
    """``path`` (bench/data/stories.txt by default): how many pairs of one story fold, and how many pairs of two do."""
    from digest.issue.stories import STORY_CLOSE, STORY_CLOSE_AGREED

    folded, total = story_counts(settings, path)
    name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    return (
        f"| one story by meaning, {label} ({name}) | folded {folded['same']} of {total['same']} same | "
        f"wrongly folded {folded['apart']} of {total['apart']} apart | closeness at least {STORY_CLOSE} ({STORY_CLOSE_AGREED} when a named "
        "place, body, person, date or figure agrees), nothing of the event's identity conflicting (digest.issue.identity) |"
    )


def story_counts(settings: Settings, path: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Pairs folded and pairs read, by label ("same": one story told twice; "apart": two stories)."""
    from digest.issue.stories import fold_stories
    from digest.meaning import meaning_of

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
        cached = dataclasses.replace(settings, cache_dir=ROOT / ".digest-cache")
        print(story_row(cached))
        if (at := sys.argv.index("--stories") + 1) < len(sys.argv):
            print(story_row(cached, Path(sys.argv[at]).resolve(), "untuned"))
        return
    rows = labelled()
    fallback = settings.fallback_theme
    if "--sweep" in sys.argv:
        for threshold in (0.15, 0.2, 0.25, 0.28, 0.3, 0.32, 0.35, 0.4):
            placed, _ = meaning_placements(rows, settings, threshold)
            s = score(rows, placed, fallback, "tune")
            print(f"threshold {threshold:.2f}: tune accuracy {s['accuracy']:.1%}, fallback precision {s['fallback_precision']:.0%}")
        return
    keywords = [classify(r.post, settings.themes, fallback, settings.language).theme for r in rows]
    meaning, per_post = meaning_placements(rows, settings)
    for name, placed in (("keywords", keywords), ("meaning", meaning)):
        for split in ("tune", "check", None):
            s = score(rows, placed, fallback, split)
            print(f"{name:9} {split or 'all':5} {s['accuracy']:.1%} (n={s['n']}) fallback precision {s['fallback_precision']:.0%}")
            if split is None:
                print("   recall", {k: f"{v:.0%}" for k, v in s["recall"].items()})  # type: ignore[attr-defined]
                print("   confusions", s["confusions"])
    print(f"meaning: {per_post:.2f} ms per post")
    print(story_row(dataclasses.replace(settings, cache_dir=ROOT / ".digest-cache")))


if __name__ == "__main__":
    main()
