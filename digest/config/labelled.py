"""The starting set of labelled posts (``[grouping] examples_file``): where each of them belongs, one a line.

The file is the newsletter's own, UTF-8: ``key | title | excerpt`` a line, ``key`` a theme's key or the fallback's
(its name works too), blank lines and ``#`` comments skipped; one title labelled in two sections is a problem. Every line that cannot be read is a problem naming the
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


MAX_PROBLEMS = 20  # a wrong file (another format, another newsletter's) is said in a screenful, not a scroll


def read_labelled(path: Path, themes: Sequence[Theme], fallback: str, fallback_key: str) -> tuple[tuple[LabelledPost, ...], list[str]]:
    """The labelled posts of ``path``, and a problem for each line that is not one (the first MAX_PROBLEMS)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return (), [f"{path}: cannot be read: {exc.strerror or exc}"]
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark (Windows Notepad writes one) is not part of the first line
    except UnicodeDecodeError as exc:
        where = data[: exc.start].count(b"\n") + 1
        return (), [f"{path}:{where}: not UTF-8 text (byte {data[exc.start]:#04x}); save the file as UTF-8"]
    names = {theme.key: theme.name for theme in themes} | {fallback_key: fallback}
    names |= {name.casefold(): name for name in (*(theme.name for theme in themes), fallback)}
    known = ", ".join(sorted({*(t.key for t in themes), fallback_key}))
    found: list[LabelledPost] = []
    problems: list[str] = []
    first_said: dict[str, tuple[int, str]] = {}  # a title's first line and section: one title in two sections is said
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [part.strip() for part in line.split("|")]
        if len(parts) == 2:
            parts.append("")  # an excerpt left empty, its trailing space trimmed: a title alone
        if len(parts) != 3:
            problems.append(
                f"{path}:{number}: expected 'key | title | excerpt', got {len(parts)} fields (a '|' inside a title or excerpt is not allowed)"
            )
            continue
        key, title, excerpt = parts
        if not key or not title:
            problems.append(f"{path}:{number}: the {'key' if not key else 'title'} is empty (expected 'key | title | excerpt')")
            continue
        theme = names.get(key) or names.get(key.casefold())
        if theme is None:
            problems.append(f"{path}:{number}: {key!r} is not a theme's key ({known})")
            continue
        earlier = first_said.setdefault(title.casefold(), (number, theme))
        if earlier[1] != theme:
            problems.append(f"{path}:{number}: {title!r} is labelled {theme} here and {earlier[1]} on line {earlier[0]}: keep one")
            continue
        found.append(LabelledPost(theme=theme, title=title, excerpt=excerpt))
    if len(problems) > MAX_PROBLEMS:
        problems = [*problems[:MAX_PROBLEMS], f"{path}: … and {len(problems) - MAX_PROBLEMS} more line(s) like these"]
    return tuple(found), problems
