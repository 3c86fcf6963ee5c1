"""The starting set of labelled posts (``[grouping] examples_file``): where each of them belongs, one a line.

The file is the newsletter's own: ``key | title | excerpt`` a line, ``key`` a theme's key or the fallback's (its
name works too), blank lines and ``#`` comments skipped. Every line that cannot be read is a problem naming the
file, the line and why; none is dropped quietly (a label silently lost is a placement silently changed).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from digest.config.schema import LabelledPost, Theme

SEPARATOR = " | "
# The starting set's vectors, made by `make starting-vectors` and shipped beside it (labelled-posts.vectors.npz): read
# as a cache, so a first build need not embed the whole set; a text or a model they were not made for is computed.
SEED_SUFFIX = ".vectors.npz"


def read_labelled(path: Path, themes: Sequence[Theme], fallback: str, fallback_key: str) -> tuple[tuple[LabelledPost, ...], list[str]]:
    """The labelled posts of ``path``, and a problem for each line that is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return (), [f"{path}: cannot be read: {exc}"]
    names = {theme.key: theme.name for theme in themes} | {fallback_key: fallback}
    names |= {name.casefold(): name for name in (*(theme.name for theme in themes), fallback)}
    found: list[LabelledPost] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [part.strip() for part in line.split(SEPARATOR)]
        if len(parts) != 3 or not parts[0] or not parts[1]:
            problems.append(f"{path}:{number}: expected 'key | title | excerpt', got {len(parts)} field(s)")
            continue
        key, title, excerpt = parts
        theme = names.get(key) or names.get(key.casefold())
        if theme is None:
            known = ", ".join(sorted({*(t.key for t in themes), fallback_key}))
            problems.append(f"{path}:{number}: {key!r} is not a theme's key ({known})")
            continue
        found.append(LabelledPost(theme=theme, title=title, excerpt=excerpt))
    return tuple(found), problems
