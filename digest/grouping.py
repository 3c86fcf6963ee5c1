"""Putting posts into themed sections, and within a section, by outlet.

A post's theme comes, in this order, from its own ``theme`` field, from a tag
mapped to a theme, from keyword scoring (a match in the title counts three
times one in the excerpt), else from the fallback section. The reason is kept
for every post, so an editor can see why a post landed where it did.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

from digest.config import Theme
from digest.models import OutletGroup, OutletShare, Post, Section

TITLE_WEIGHT = 3
EXCERPT_WEIGHT = 1
NO_OUTLET = "Other sources"
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Placement:
    theme: str
    reason: str


@cache
def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    # Whole words and phrases, any spacing between words, case-insensitive.
    words = [re.escape(word) for word in keyword.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _KeywordTable:
    """The themes' keywords, sorted for lookup: one-word keywords by their word, phrases with their first word."""

    words: dict[str, list[tuple[int, int, str]]]  # word -> (theme order, keyword position, keyword)
    phrases: tuple[tuple[int, int, str, str | None], ...]  # (theme order, keyword position, keyword, first word or None)


@cache
def _keyword_table(themes: tuple[Theme, ...]) -> _KeywordTable:
    words: dict[str, list[tuple[int, int, str]]] = {}
    phrases: list[tuple[int, int, str, str | None]] = []
    for order, theme in enumerate(themes):
        for position, keyword in enumerate(theme.keywords):
            lowered = keyword.lower()
            if _WORD.fullmatch(lowered):
                words.setdefault(lowered, []).append((order, position, keyword))
            else:
                lead = _WORD.match(lowered)
                phrases.append((order, position, keyword, lead.group(0) if lead else None))
    return _KeywordTable(words, tuple(phrases))


def classify(post: Post, themes: Iterable[Theme], fallback: str) -> Placement:
    """Which section a post belongs to, and why."""
    themes = tuple(themes)
    if post.theme:
        for theme in themes:
            if theme.name.casefold() == post.theme.casefold():
                return Placement(theme.name, f'theme "{post.theme}" set on the post')
    for tag in post.tags:
        for theme in themes:
            if tag.casefold() in theme.tags:
                return Placement(theme.name, f'tag "{tag}" maps to {theme.name}')
    # A keyword matches whole words only (the pattern's boundaries say so). So a one-word
    # keyword's matches are the post's words equal to it, counted once per post, and a
    # phrase is only worth its pattern when its first word is among the post's words.
    table = _keyword_table(themes)
    title_words = Counter(_WORD.findall(post.title.lower()))
    excerpt_words = Counter(_WORD.findall(post.excerpt_text.lower()))
    found: dict[int, list[tuple[int, str, int, int]]] = {}  # theme -> (keyword position, keyword, in title, in excerpt)
    for word in title_words.keys() | excerpt_words.keys():
        for order, position, keyword in table.words.get(word, ()):
            found.setdefault(order, []).append((position, keyword, title_words[word], excerpt_words[word]))
    for order, position, keyword, lead in table.phrases:
        if lead is None or lead in title_words or lead in excerpt_words:
            pattern = _keyword_pattern(keyword)
            in_title, in_excerpt = len(pattern.findall(post.title)), len(pattern.findall(post.excerpt_text))
            if in_title or in_excerpt:
                found.setdefault(order, []).append((position, keyword, in_title, in_excerpt))
    best: tuple[int, int, str, str] | None = None  # (score, -order, theme, reason)
    for order in sorted(found):
        hits = sorted(found[order])  # in the configured order of the theme's keywords
        score = sum(TITLE_WEIGHT * in_title + EXCERPT_WEIGHT * in_excerpt for _, _, in_title, in_excerpt in hits)
        if best is None or (score, -order) > best[:2]:
            described = [f'"{keyword}" in {"title" if in_title else "excerpt"}' for _, keyword, in_title, _ in hits[:3]]
            best = (score, -order, themes[order].name, f"matched {', '.join(described)} (score {score})")
    if best is not None:
        return Placement(best[2], best[3])
    if post.theme:
        return Placement(fallback, f'theme "{post.theme}" is not a configured theme; no keyword matched')
    return Placement(fallback, "no theme, tag or keyword matched")


def group_posts(
    posts: Iterable[Post],
    themes: Iterable[Theme],
    fallback: str,
    fallback_description: str = "",
    *,
    overrides: Mapping[str, str] | None = None,
    pinned: Sequence[str] = (),
) -> tuple[Section, ...]:
    """Sections in configured theme order (the fallback last), each grouped by outlet.

    Outlets inside a section are ordered by how many posts they have, then by
    name; posts inside an outlet newest first, then by title. Empty sections
    are left out. Same input, same output. The editor's word comes first:
    ``overrides`` (post id → theme) places a post, and ``pinned`` posts open
    their section in the order given, their outlets moving up whole.
    """
    themes = tuple(themes)
    placed: dict[str, list[Post]] = {}
    reasons: dict[str, dict[str, str]] = {}
    for post in posts:
        chosen = overrides.get(post.id) if overrides else None
        placement = Placement(chosen, "put here by the editor") if chosen else classify(post, themes, fallback)
        if post.id in pinned:
            placement = Placement(placement.theme, f"{placement.reason}; pinned to the top by the editor")
        placed.setdefault(placement.theme, []).append(post)
        reasons.setdefault(placement.theme, {})[post.id] = placement.reason
    descriptions = {theme.name: theme.description for theme in themes}
    order = [theme.name for theme in themes if theme.name != fallback] + [fallback]
    sections: list[Section] = []
    for name in order:
        if name not in placed:
            continue
        sections.append(
            Section(
                theme=name,
                description=descriptions.get(name, fallback_description),
                outlets=_pinned_first(placed[name], pinned),
                reasons=MappingProxyType(dict(sorted(reasons[name].items()))),
            )
        )
    return tuple(sections)


def _pinned_first(posts: list[Post], pinned: Sequence[str]) -> tuple[OutletGroup, ...]:
    """The outlets of the section's pinned posts first, each whole and in the order of its first pinned post,
    its pinned posts leading it in the editor's order; then the other outlets as usual. One heading per
    outlet: moving a post up must not split its outlet into two groups (issue 22, item 3)."""
    groups = _by_outlet(posts)
    if not pinned:
        return groups
    rank = {post_id: n for n, post_id in enumerate(pinned)}

    def first_pin(group: OutletGroup) -> int:
        return min((rank[post.id] for post in group.posts if post.id in rank), default=len(rank))

    def pins_lead(group: OutletGroup) -> OutletGroup:
        ordered = sorted(group.posts, key=lambda post: rank.get(post.id, len(rank)))  # stable: the rest keep their order
        return OutletGroup(outlet=group.outlet, posts=tuple(ordered))

    lifted = sorted((group for group in groups if first_pin(group) < len(rank)), key=first_pin)
    return (*(pins_lead(group) for group in lifted), *(group for group in groups if first_pin(group) == len(rank)))


def _by_outlet(posts: list[Post]) -> tuple[OutletGroup, ...]:
    groups: dict[str | None, list[Post]] = {}
    for post in posts:
        groups.setdefault(post.outlet, []).append(post)
    ordered = sorted(groups.items(), key=lambda item: (item[0] is None, -len(item[1]), (item[0] or "").casefold()))
    return tuple(
        OutletGroup(outlet=outlet, posts=tuple(sorted(items, key=lambda p: (-p.published.timestamp(), p.title.casefold(), p.id))))
        for outlet, items in ordered
    )


def summarise_outlets(posts: Iterable[Post]) -> tuple[OutletShare, ...]:
    """Each outlet's count and share of the issue, largest first, then by name."""
    counts = Counter(post.outlet or NO_OUTLET for post in posts)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0].casefold()))
    return tuple(
        OutletShare(outlet=outlet, count=count, share=share)
        for (outlet, count), share in zip(ordered, shares([count for _, count in ordered]), strict=True)
    )


def shares(counts: Sequence[int]) -> list[float]:
    """Each count's share of the total in whole percent, as a fraction (0.43), adding up to exactly 1.

    Largest remainder (Hamilton's method): every share is rounded down, and the
    percent points left go to the largest remainders (ties to the earlier
    count). Rounding each on its own showed 34 % + 33 % + 33 % well, but
    51 % + 26 % + 24 % = 101 % for 2, 1, 1 of 4 (issue 22, item 23).
    """
    total = sum(counts)
    if not total:
        return [0.0 for _ in counts]
    exact = [count * 100 / total for count in counts]
    whole = [int(value) for value in exact]
    left = 100 - sum(whole)
    for index in sorted(range(len(counts)), key=lambda i: (-(exact[i] - whole[i]), i))[:left]:
        whole[index] += 1
    return [points / 100 for points in whole]
