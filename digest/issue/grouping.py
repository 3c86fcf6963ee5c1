"""Putting posts into themed sections, and within a section, by outlet.

A post's theme comes, in this order, from its own ``theme`` field, from a tag
mapped to a theme, from keyword scoring (a match in the title counts three
times one in the excerpt), else from the fallback section. The reason is kept
for every post, so an editor can see why a post landed where it did.

Keywords match word forms: each word of a keyword and of a post is reduced to
its stem with the Snowball stemmer of the newsletter's language (snowballstemmer,
the Snowball project's own algorithms), so ``rent`` matches "Rents",
``flood`` "floods" and ``food bank`` "food banks". A language Snowball has no
stemmer for matches whole words, as before.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from types import MappingProxyType

import snowballstemmer

from digest.config import Theme
from digest.models import NO_OUTLET, Judgement, OutletGroup, OutletShare, Post, Problem, ReaderInterest, Section, shares

TITLE_WEIGHT = 3
EXCERPT_WEIGHT = 1
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Placement:
    theme: str
    reason: str


# Snowball's algorithm names for the base languages it covers (newsletter.language "en-GB" → "en").
SNOWBALL = {
    "ar": "arabic", "ca": "catalan", "da": "danish", "de": "german", "el": "greek", "en": "english", "es": "spanish",
    "eu": "basque", "fi": "finnish", "fr": "french", "ga": "irish", "hu": "hungarian", "hy": "armenian", "id": "indonesian",
    "it": "italian", "lt": "lithuanian", "nb": "norwegian", "ne": "nepali", "nl": "dutch", "nn": "norwegian", "no": "norwegian",
    "pt": "portuguese", "ro": "romanian", "ru": "russian", "sr": "serbian", "sv": "swedish", "ta": "tamil", "tr": "turkish",
    "yi": "yiddish",
}  # fmt: skip


@cache
def stemmer_for(language: str) -> Callable[[str], str]:
    """The stem of a lower-case word in ``language`` (a BCP 47 tag); the word itself where Snowball has none."""
    name = SNOWBALL.get(language.replace("_", "-").split("-")[0].lower())
    if name is None:
        return lambda word: word
    algorithm = snowballstemmer.stemmer(name)
    return lru_cache(maxsize=65_536)(algorithm.stemWord)  # a week's posts repeat most of their words


def stems(text: str, language: str) -> tuple[str, ...]:
    """The stems of the words of ``text``, in order."""
    stem = stemmer_for(language)
    return tuple(stem(word) for word in _WORD.findall(text.lower()))


@dataclass(frozen=True, slots=True)
class _KeywordTable:
    """The themes' keywords as stems, sorted for lookup: one-word keywords by their stem, phrases by their stems."""

    words: dict[str, list[tuple[int, int, str]]]  # stem -> (theme order, keyword position, keyword)
    phrases: tuple[tuple[int, int, str, tuple[str, ...]], ...]  # (theme order, keyword position, keyword, stems)


@cache
def _keyword_table(themes: tuple[Theme, ...], language: str) -> _KeywordTable:
    words: dict[str, list[tuple[int, int, str]]] = {}
    phrases: list[tuple[int, int, str, tuple[str, ...]]] = []
    for order, theme in enumerate(themes):
        for position, keyword in enumerate(theme.keywords):
            keyword_stems = stems(keyword, language)
            if len(keyword_stems) == 1:
                words.setdefault(keyword_stems[0], []).append((order, position, keyword))
            elif keyword_stems:
                phrases.append((order, position, keyword, keyword_stems))
    return _KeywordTable(words, tuple(phrases))


def _occurrences(phrase: tuple[str, ...], text: tuple[str, ...], first: Counter[str]) -> int:
    """How many times the stems ``phrase`` run in ``text`` (``first``: the stem counts of ``text``)."""
    if not first[phrase[0]]:
        return 0
    width = len(phrase)
    return sum(1 for at in range(len(text) - width + 1) if text[at : at + width] == phrase)


def explicit(post: Post, themes: tuple[Theme, ...]) -> Placement | None:
    """The post's own word: its ``theme`` field naming a configured theme (by name or key), or a tag mapped to one."""
    if post.theme:
        wanted = post.theme.casefold()
        for theme in themes:
            if wanted in (theme.name.casefold(), theme.key):
                return Placement(theme.name, f'theme "{post.theme}" set on the post')
    for tag in post.tags:
        for theme in themes:
            if tag.casefold() in theme.tags:
                return Placement(theme.name, f'tag "{tag}" maps to {theme.name}')
    return None


@dataclass(frozen=True, slots=True)
class Evidence:
    """One theme's keywords found in a post: how many times in the title and in the excerpt, and which."""

    in_title: int
    in_excerpt: int
    said: str  # '"flood" in title, "rain" in excerpt'

    @property
    def score(self) -> int:
        return TITLE_WEIGHT * self.in_title + EXCERPT_WEIGHT * self.in_excerpt


def keyword_evidence(post: Post, themes: tuple[Theme, ...], language: str) -> dict[int, Evidence]:
    """Each theme's keywords found in the post (by theme order), matched by their stems in ``language``."""
    # A keyword matches whole words, in any of their forms: a one-word keyword's matches are the
    # post's words with its stem, and a phrase's are runs of its stems in the post's words.
    table = _keyword_table(themes, language)
    title, excerpt = stems(post.title, language), stems(post.excerpt_text, language)
    title_words, excerpt_words = Counter(title), Counter(excerpt)
    found: dict[int, list[tuple[int, str, int, int]]] = {}  # theme -> (keyword position, keyword, in title, in excerpt)
    for word in title_words.keys() | excerpt_words.keys():
        for order, position, keyword in table.words.get(word, ()):
            found.setdefault(order, []).append((position, keyword, title_words[word], excerpt_words[word]))
    for order, position, keyword, phrase in table.phrases:
        in_title, in_excerpt = _occurrences(phrase, title, title_words), _occurrences(phrase, excerpt, excerpt_words)
        if in_title or in_excerpt:
            found.setdefault(order, []).append((position, keyword, in_title, in_excerpt))
    evidence = {}
    for order, hits in found.items():
        hits.sort()  # in the configured order of the theme's keywords
        described = [f'"{keyword}" in {"title" if in_title else "excerpt"}' for _, keyword, in_title, _ in hits[:3]]
        evidence[order] = Evidence(in_title=sum(hit[2] for hit in hits), in_excerpt=sum(hit[3] for hit in hits), said=", ".join(described))
    return evidence


def unknown_themes(posts: Iterable[Post], themes: Sequence[Theme], fallback: Theme) -> tuple[Problem, ...]:
    """A problem for each post whose own ``theme`` names no theme (by name or key) nor the fallback: a typo or a theme
    renamed in the config. The post is placed as one without a theme (by meaning or keywords, else the fallback)."""
    every = (*themes, fallback)
    known = {theme.name.casefold() for theme in every} | {theme.key for theme in every}
    names = ", ".join(f'"{theme.name}"' for theme in every)
    return tuple(
        Problem(
            where=post.source,
            message=f'"{post.title}": theme "{post.theme}" is not a configured theme ({names}); placed as a post without one',
        )
        for post in posts
        if post.theme and post.theme.casefold() not in known
    )


def classify(post: Post, themes: Iterable[Theme], fallback: str, language: str = "en") -> Placement:
    """Which section a post belongs to by keywords, and why (matched by their stems in ``language``)."""
    themes = tuple(themes)
    if (placed := explicit(post, themes)) is not None:
        return placed
    found = keyword_evidence(post, themes, language)
    if found:
        order = max(found, key=lambda number: (found[number].score, -number))
        return Placement(themes[order].name, f"matched {found[order].said} (score {found[order].score})")
    if post.theme:
        return Placement(fallback, f'theme "{post.theme}" is not a configured theme; no keyword matched')
    return Placement(fallback, "no theme, tag or keyword matched")


# Keywords as evidence beside meaning: a title match moves a post towards its theme, a passing word in the
# excerpt only a little, and neither alone outweighs what the post is about (closeness runs about 0 to 0.8).
# The fallback wins a post that is clearly closer to its examples than to any theme (by 1 / FALLBACK_MARGIN).
# Chosen on the "tune" rows of bench/data/placement.txt (bench/placement.py --sweep), never on the "check" rows.
TITLE_EVIDENCE = 0.06
EXCERPT_EVIDENCE = 0.02
MAX_EVIDENCE_HITS = 2
FALLBACK_MARGIN = 0.9


def place_by_meaning(
    post: Post, themes: tuple[Theme, ...], fallback: str, closeness: Sequence[float], threshold: float, language: str = "en"
) -> Placement:
    """Which section a post belongs to by its meaning (``closeness`` to each theme, in theme order, then to the
    fallback's examples), with its keywords as evidence; below ``threshold``, or clearly closer to the fallback's
    examples, the fallback, saying so."""
    if (placed := explicit(post, themes)) is not None:
        return placed
    found = keyword_evidence(post, themes, language)
    scored = sorted(
        (
            (
                closeness[order]
                + TITLE_EVIDENCE * min(found[order].in_title, MAX_EVIDENCE_HITS)
                + EXCERPT_EVIDENCE * min(found[order].in_excerpt, MAX_EVIDENCE_HITS)
                if order in found
                else closeness[order],
                -order,
            )
            for order in range(len(themes))
        ),
        reverse=True,
    )
    if not scored:
        return Placement(fallback, "no themes configured")
    best, order = scored[0][0], -scored[0][1]
    # Below the threshold by less than the rounding: said with a digit more ("0.148: below 0.150", never "0.15: below 0.15").
    digits = 3 if best < threshold and f"{best:.2f}" == f"{threshold:.2f}" else 2
    said = f"closest to {themes[order].name}, {_closeness(best, digits)}"
    if len(scored) > 1:
        said += f"; next {themes[-scored[1][1]].name}, {_closeness(scored[1][0], digits)}"
    if order in found:
        said += f" (keywords: {found[order].said})"
    if best < threshold:
        return Placement(fallback, f"{said}: below {_closeness(threshold, digits)}, so no theme")
    if len(closeness) > len(themes) and FALLBACK_MARGIN * closeness[len(themes)] > best:
        return Placement(fallback, f"closer to what goes in {fallback} ({_closeness(closeness[len(themes)])}) than to any theme; {said}")
    return Placement(themes[order].name, said)


def place_by_labels(post: Post, themes: tuple[Theme, ...], fallback: str, judged: Judgement, language: str = "en") -> Placement:
    """Which section a post belongs to by the classifier learnt from labelled posts (``judged``: its probability of
    each theme, in theme order, then of the fallback), saying the top two probabilities, the keywords found apart
    (they are shown, not counted: the labels already say what words mean), and what the editor's labels decided."""
    if (placed := explicit(post, themes)) is not None:
        return placed
    names = (*(theme.name for theme in themes), fallback)
    ranked = sorted(range(len(names)), key=lambda number: (-judged.probabilities[number], number))
    chosen = names[ranked[0]]
    said = f"{chosen} {_percent(judged.probabilities[ranked[0]])}"
    if len(ranked) > 1:
        said += f"; next {names[ranked[1]]} {_percent(judged.probabilities[ranked[1]])}"
    said += _keywords_said(keyword_evidence(post, themes, language), themes, ranked[0])
    if judged.taught:
        said += f"; {judged.taught}"
    if judged.note:
        said += f"; {judged.note}"
    return Placement(chosen, said)


def _keywords_said(found: Mapping[int, Evidence], themes: tuple[Theme, ...], chosen: int) -> str:
    """The keywords found, shown beside the probabilities: the chosen theme's, and another's that scored more."""
    if not found:
        return ""
    shown = [chosen] if chosen in found else []
    top = max(found, key=lambda number: (found[number].score, -number))
    if top != chosen and (chosen not in found or found[top].score > found[chosen].score):
        shown.append(top)
    return "; keywords: " + "; ".join(f"{found[order].said} ({themes[order].name})" for order in shown)


def _percent(probability: float) -> str:
    """A probability as the editor reads it: whole per cent, never "100%" nor "0%" for what is not certain."""
    shown = min(max(round(probability * 100), 1 if probability > 0 else 0), 99 if probability < 1 else 100)
    return f"{shown}%"


def _closeness(value: float, digits: int = 2) -> str:
    """A closeness as the editor reads it: rounded, and never "-0.00" (a cosine a hair below nought is nought)."""
    text = f"{value:.{digits}f}"
    return text.removeprefix("-") if float(text) == 0 else text


def group_posts(
    posts: Iterable[Post],
    themes: Iterable[Theme],
    fallback: str,
    fallback_description: str = "",
    *,
    overrides: Mapping[str, str] | None = None,
    pinned: Sequence[str] = (),
    language: str = "en",
    near: Mapping[str, Sequence[float]] | None = None,
    threshold: float = 0.15,
    judged: Mapping[str, Judgement] | None = None,
    notes: Mapping[str, str] | None = None,
) -> tuple[Section, ...]:
    """Sections in configured theme order (the fallback last), each grouped by outlet.

    Outlets inside a section are ordered by how many posts they have, then by
    name; posts inside an outlet newest first, then by title. Empty sections
    are left out. Same input, same output. The editor's word comes first:
    ``overrides`` (post id → theme) places a post, and ``pinned`` posts open
    their section in the order given, their outlets moving up whole. ``near``
    (post id → closeness to each theme, :mod:`digest.issue.meaning`) places the
    others by meaning, keywords as evidence; ``judged`` (post id → the
    classifier's probabilities) before it, where labelled posts taught one;
    without either, by keywords alone. ``notes`` (post id → words) end a
    post's reason: a story kept apart from another, and why.
    """
    themes = tuple(themes)
    placed: dict[str, list[Post]] = {}
    reasons: dict[str, dict[str, str]] = {}
    automatic: dict[str, dict[str, str]] = {}
    for post in posts:
        chosen = overrides.get(post.id) if overrides else None
        if judged is not None and post.id in judged:
            placement = place_by_labels(post, themes, fallback, judged[post.id], language)
        elif near is not None and post.id in near:
            placement = place_by_meaning(post, themes, fallback, near[post.id], threshold, language)
        else:
            placement = classify(post, themes, fallback, language)
        if chosen:
            if chosen != placement.theme:  # what digest would have done: the editor's correction to learn from
                automatic.setdefault(chosen, {})[post.id] = placement.theme
            placement = Placement(chosen, "put here by the editor")
        if post.id in pinned:
            placement = Placement(placement.theme, f"{placement.reason}; pinned to the top by the editor")
        if notes and post.id in notes:
            placement = Placement(placement.theme, f"{placement.reason}; {notes[post.id]}")
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
                automatic=MappingProxyType(dict(sorted(automatic.get(name, {}).items()))),
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


def by_reader_interest(sections: Sequence[Section], interest: ReaderInterest | None, fallback: str) -> tuple[tuple[Section, ...], str]:
    """The sections by what readers clicked lately (clicks per post over the recent issues with counted links),
    ties in the config's order, the fallback section last; and why, in words for digest.json and the desk."""
    if interest is None or not interest.issues:
        return tuple(sections), "readers: no clicks counted in a sent issue yet, so the config's order"
    place = {section.theme: number for number, section in enumerate(sections)}

    def key(section: Section) -> tuple[bool, float, int]:
        found = interest.of(section.theme)
        return section.theme == fallback, -(found.per_post if found else 0.0), place[section.theme]

    ordered = tuple(sorted(sections, key=key))
    said = ", ".join(
        f"{s.theme} {found.per_post:.1f}" for s in ordered if (found := interest.of(s.theme)) is not None and s.theme != fallback
    )
    return (
        ordered,
        f"readers: clicks per post over the last {interest.issues} issue(s) with counted links: {said or 'none'}; ties as configured",
    )
