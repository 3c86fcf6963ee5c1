"""Theme views of one issue: what a reader who chose some of its themes receives, cut from the one render.

A send gives each subscriber only the themes they chose, yet the issue is
rendered once (Jinja, MJML and premailer take about 20 ms) and each copy is
filled in by substitution in about 20 µs: rendering once per choice would
cost more than the whole send. So the templates mark what depends on the
themes, the marked render is frozen with the issue, and a view is that
render with the other themes' parts left out and the numbers that count
them worked out again: a walk over a small tree, no template in sight.

The marks are regions, written by the templates as ``v(name)`` … ``v()``:

- ``s 2 5``: kept when section 2 or section 5 (1-based, in the issue's order)
  is: a section, its line in the contents, a link in the text's list of links.
- ``p 7``: post 7 (1-based, over the whole issue), left out of a copy that
  cuts it (an earlier issue of the reader's carried it).
- ``any s2p7 s4``: a link in the text's list met in post 7 of section 2 and
  somewhere else in section 4: kept when one of the places it is met is kept
  (``s2p7``: section 2 is kept and post 7 is not cut), so a copy that cuts a
  post lists none of the links only that post held.
- ``toc``: the contents, kept when two or more sections are.
- ``rows`` holding ``row N``: the outlets table, one row per outlet (N: its
  place in the whole issue's table), put in the view's own order.
- holes, whose content is replaced: ``counts`` (the "9 posts from 5 outlets"
  line), ``pre`` (the preheader, only when the program wrote it), and
  ``count``, ``share`` and ``line`` inside a row.

In HTML a mark is a comment (``<!--v:s 2-->`` … ``<!--/v-->``), which MRML
and premailer keep and sanitised post HTML cannot contain; in the text it is
a pair of Unicode noncharacters, which :func:`digest.sources.base.visible_text`
takes out of all content, so no post can forge one. The issue as stored has
no marks: it is the view of every theme, and a test holds the two equal.
In the text a link's number is written ``\ufdd2N]`` (as wide as ``[N]``, so
lines wrap the same) and a view numbers its links again from 1: a number
only ever gets smaller, so no line grows past the width it was wrapped to.
"""

from __future__ import annotations

import html as html_lib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from markupsafe import Markup

from digest.models import NO_OUTLET, Layout, shares
from digest.models.errors import RenderError
from digest.render.i18n import automatic_preheader, colon, counts_phrase, percent
from digest.render.plaintext import tidy_text, wrap

HTML_OPEN, HTML_CLOSE = "<!--v:", "<!--/v-->"
TEXT_OPEN, TEXT_END, TEXT_CLOSE = "\ufdd0", "\ufdd1", "\ufdd0/\ufdd1"
_HTML_MARK = re.compile(r"<!--v:([a-z0-9 ]+)-->|<!--/v-->")
_TEXT_MARK = re.compile("\ufdd0([a-z0-9 ]+)\ufdd1|\ufdd0/\ufdd1")
REF = "\ufdd2"  # opens a link number in the marked text, in place of "["
_REF = re.compile("\ufdd2([0-9]+)]")


def share_text(share: float, language: str = "en") -> str:
    """An outlet's share of the issue as the outlets table shows it: ``43%`` (French: ``43 %``)."""
    return percent(share, language)


@lru_cache(maxsize=4096)  # a send's views repeat the same few lines hundreds of times
def outlet_line(outlet: str, count: int, share: float, language: str = "en") -> str:
    """One outlet's line in the text's table, wrapped."""
    return wrap(f"{colon(outlet, language)} {count} ({share_text(share, language)})", indent="    ", first="  ")


class Marks:
    """The templates' ``v(name)`` and ``v()``: open and close a region, as comments or noncharacters.

    In the text it also tells the link numbering where a link is met (the
    section's number, and the post's within it: ``2p7``), so the list of links
    can keep only the links of kept sections and posts.
    """

    def __init__(self, *, html: bool, on_section: Callable[[str | None], None] | None = None) -> None:
        self.html = html
        self.on_section = on_section
        self.stack: list[str] = []

    def __call__(self, name: str | None = None) -> str:
        if name is not None:
            if not re.fullmatch(r"[a-z0-9 ]+", name):
                raise RenderError("v()", f"not a view mark: {name!r}")
            self.stack.append(name)
            self._tell()
            # The name was checked above: nothing but [a-z0-9 ] can reach the comment.
            return Markup(f"{HTML_OPEN}{name}-->") if self.html else f"{TEXT_OPEN}{name}{TEXT_END}"  # noqa: S704
        if self.stack:
            self.stack.pop()
            self._tell()
        return Markup(HTML_CLOSE) if self.html else TEXT_CLOSE  # noqa: S704

    def _tell(self) -> None:
        if self.on_section is not None:
            sections = [name[2:] for name in self.stack if name.startswith("s ")]
            posts = [name[2:] for name in self.stack if name.startswith("p ")]
            if not sections:
                self.on_section(None)
            else:
                self.on_section(f"{sections[-1]}p{posts[-1]}" if posts else sections[-1])


def strip(marked: str, *, html: bool) -> str:
    """The marked render with its marks taken out: the issue as every theme's reader gets it."""
    if html:
        return _HTML_MARK.sub("", marked)
    return _TEXT_MARK.sub("", marked).replace(REF, "[")


# -- the tree ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Region:
    name: str
    children: tuple[Node, ...]


Node = str | Region


def parse(marked: str, *, html: bool) -> tuple[Node, ...]:
    """The marked render as a tree; raises RenderError when the marks do not pair up."""
    stack: list[tuple[str, list[Node]]] = [("", [])]
    position = 0
    for match in (_HTML_MARK if html else _TEXT_MARK).finditer(marked):
        if match.start() > position:
            stack[-1][1].append(marked[position : match.start()])
        position = match.end()
        if match.group(1) is not None:
            stack.append((match.group(1), []))
        else:
            if len(stack) == 1:
                raise RenderError("the view marks", "a view mark closes a region that was never opened")
            name, children = stack.pop()
            stack[-1][1].append(Region(name, tuple(children)))
    if len(stack) != 1:
        raise RenderError("the view marks", f"the view mark {stack[-1][0]!r} is never closed")
    if position < len(marked):
        stack[0][1].append(marked[position:])
    return tuple(stack[0][1])


# -- what a view holds ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class View:
    """What differs in the copy for readers of some of the issue's sections."""

    kept: frozenset[int]  # 1-based section numbers
    counts: str
    preheader: str | None  # None: the issue's own preheader stays
    rows: tuple[tuple[int, int, float], ...]  # (row number in the whole issue, count, share), in the view's order
    outlets: tuple[str, ...]  # the outlet of each row of the whole issue, by row number - 1
    language: str = "en"
    share_sign: bool = True  # the share hole carries its percent sign (layouts of version 2 on)
    dropped: frozenset[int] = frozenset()  # post numbers left out (an earlier issue of theirs carried them)


def view_of(
    layout: Layout, kept: frozenset[int], dropped: frozenset[int] = frozenset(), *, tallies: Sequence[Counter[str]] | None = None
) -> View:
    """What differs in the copy for readers of the sections numbered ``kept`` without the posts numbered ``dropped``:
    their counts, preheader and outlet rows. ``tallies``: each section's outlets counted (:attr:`Views.tallies`), for a
    caller making many views of one layout, so a section that loses no post is not counted again."""
    numbered = post_numbers(layout)
    # Counted section by section in the order, each outlet where first met: the order ties are left in.
    counted: Counter[str] = Counter()
    for number in sorted(kept):
        if tallies is not None and (not dropped or dropped.isdisjoint(numbered[number - 1])):
            counted.update(tallies[number - 1])
        else:
            section = zip(layout.post_outlets[number - 1], numbered[number - 1], strict=True)
            counted.update(outlet for outlet, post in section if post not in dropped)
    posts = sum(counted.values())
    order = sorted(counted.items(), key=lambda item: (-item[1], item[0].casefold()))
    row_of = {outlet: number for number, outlet in enumerate(layout.outlets, 1)}
    preheader = None
    if layout.automatic_preheader:
        preheader = automatic_preheader(posts, len(counted), [layout.themes[n - 1] for n in sorted(kept)], layout.language)
    return View(
        kept=kept,
        counts=counts_phrase(posts, len(counted), layout.language),
        preheader=preheader,
        rows=tuple(
            (row_of[outlet], count, share)
            for (outlet, count), share in zip(order, shares([count for _, count in order]), strict=True)
            if outlet in row_of
        ),
        outlets=layout.outlets,
        language=layout.language,
        share_sign=layout.version >= 2,
        dropped=dropped,
    )


def post_numbers(layout: Layout) -> list[range]:
    """Each section's post numbers (from 1, the sections' posts in order: the templates' "p N")."""
    numbers, start = [], 1
    for section in layout.post_outlets:
        numbers.append(range(start, start + len(section)))
        start += len(section)
    return numbers


def layout_of(
    marked_html: str,
    marked_text: str,
    *,
    themes: Sequence[str],
    keys: Sequence[str],
    post_outlets: Sequence[Sequence[str | None]],
    outlets: Sequence[str],
    language: str,
    automatic_preheader: bool,
    post_published: Sequence[str] = (),
) -> Layout | None:
    """The layout of a render, or None when its templates do not mark every section (an editor's own template); its
    posts' times kept only when both templates mark every post ("p N"), so a reader's copy can be cut post by post."""
    every_post = True
    for marked, html in ((marked_html, True), (marked_text, False)):
        try:
            tree = parse(marked, html=html)
        except RenderError:
            return None
        names = list(_names(tree))
        found = {number for name in names if name.startswith("s ") for number in _numbers(name)}
        if not set(range(1, len(themes) + 1)) <= found:
            return None
        posts = {number for name in names if name.startswith("p ") for number in _numbers(name)}
        every_post = every_post and set(range(1, len(post_published) + 1)) <= posts
    return Layout(
        html=marked_html,
        text=marked_text,
        themes=tuple(themes),
        keys=tuple(keys),
        post_outlets=tuple(tuple(outlet or NO_OUTLET for outlet in section) for section in post_outlets),
        outlets=tuple(outlets),
        language=language,
        automatic_preheader=automatic_preheader,
        post_published=tuple(post_published) if every_post else (),
    )


def _names(nodes: Iterable[Node]) -> Iterable[str]:
    for node in nodes:
        if isinstance(node, Region):
            yield node.name
            yield from _names(node.children)


def _numbers(name: str) -> list[int]:
    return [int(part) for part in name.split()[1:] if part.isdigit()]


# -- assembling a view ----------------------------------------------------------------------


class Views:
    """One frozen issue's layout, parsed once, and the HTML and text of any view of it."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.html_tree = parse(layout.html, html=True)
        self.text_tree = parse(layout.text, html=False)
        self.tallies = [Counter(section) for section in layout.post_outlets]
        self.html_steps = _prepare(self.html_tree)
        self.text_steps = _prepare(self.text_tree)

    def view(self, kept: frozenset[int], dropped: frozenset[int] = frozenset()) -> View:
        """:func:`view_of` the layout, its sections' outlets counted once for all its views."""
        return view_of(self.layout, kept, dropped, tallies=self.tallies)

    def render(self, view: View) -> tuple[str, str]:
        """(html, text) of the view."""
        return "".join(self.html_parts(view)), self.text(view)

    def html_parts(self, view: View) -> list[str]:
        """The view's HTML as the pieces it is joined from: the layout's own strings (the same objects each
        time, so a caller can encode each once per issue) and the values of its holes."""
        out: list[str] = []
        _emit(self.html_steps, view, out, True, None)
        return out

    def text(self, view: View) -> str:
        out: list[str] = []
        _emit(self.text_steps, view, out, False, None)
        return tidy_text(_renumber("".join(out)))


# What a mark does to a view, decided once a layout from its name (a send walks the tree once a view, hundreds of
# times: issue 35, item 6).
_OTHER, _SECTION, _POST, _ANY, _TOC, _ROWS, _HOLE = range(7)
_HOLES = frozenset(("counts", "pre", "count", "share", "line"))


@dataclass(frozen=True, slots=True, eq=False)
class _Mark:
    kind: int
    name: str
    numbers: frozenset[int]  # "s" and "p": the sections or posts it is kept for
    places: tuple[tuple[int, int | None], ...]  # "any": (section, post or None) where its link is met
    children: tuple[_Step, ...]
    rows: dict[int, tuple[_Step, ...]]  # "rows": each row's content by its number in the whole issue's table
    lead: tuple[str, ...]  # "rows": what stands before the first row


_Step = str | _Mark


def _prepare(nodes: Sequence[Node]) -> tuple[_Step, ...]:
    steps: list[_Step] = []
    for node in nodes:
        if isinstance(node, str):
            steps.append(node)
            continue
        name = node.name
        kind = _OTHER
        if name.startswith("s "):
            kind = _SECTION
        elif name.startswith("p "):
            kind = _POST
        elif name.startswith("any "):
            kind = _ANY
        elif name in ("toc", "rows"):
            kind = _TOC if name == "toc" else _ROWS
        elif name in _HOLES:
            kind = _HOLE
        rows: dict[int, tuple[_Step, ...]] = {}
        if kind == _ROWS:
            rows = {
                _numbers(child.name)[0]: _prepare(child.children)
                for child in node.children
                if isinstance(child, Region) and child.name.startswith("row ")
            }
        lead = tuple(child for child in node.children if isinstance(child, str))[:1]  # the rest stands between rows
        places = tuple(
            (int(section), None if post is None else int(post)) for section, post in (place.groups() for place in _PLACE.finditer(name))
        )
        steps.append(_Mark(kind, name, frozenset(_numbers(name)), places, _prepare(node.children), rows, lead))
    return tuple(steps)


def _emit(steps: tuple[_Step, ...], view: View, out: list[str], html: bool, row: tuple[int, int, float] | None) -> None:
    for step in steps:
        if isinstance(step, str):
            out.append(step)
            continue
        kind = step.kind
        if kind == _SECTION:
            if not view.kept.isdisjoint(step.numbers):
                _emit(step.children, view, out, html, row)
        elif kind == _POST:
            if view.dropped.isdisjoint(step.numbers):
                _emit(step.children, view, out, html, row)
        elif kind == _ANY:
            if any(section in view.kept and (post is None or post not in view.dropped) for section, post in step.places):
                _emit(step.children, view, out, html, row)
        elif kind == _TOC:
            if len(view.kept) > 1:
                _emit(step.children, view, out, html, row)
        elif kind == _ROWS:
            out.extend(step.lead)
            for this in view.rows:
                if this[0] in step.rows:
                    _emit(step.rows[this[0]], view, out, html, this)
        elif kind == _HOLE:
            value = _hole(step.name, view, row, html=html)
            if value is None:
                _emit(step.children, view, out, html, row)
            else:
                out.append(html_lib.escape(value, quote=False) if html else value)
        else:
            _emit(step.children, view, out, html, row)


_PLACE = re.compile(r"s([0-9]+)(?:p([0-9]+))?")  # a place a link is met: a section, or a post of one


def _renumber(text: str) -> str:
    """Link numbers from 1 in the order they were given: a view's links, without the gaps of the sections it left out."""
    # One scan: the text split at its link numbers (every odd item a number), the numbers then put back renumbered.
    parts = _REF.split(text)
    found = parts[1::2]
    new = {number: f"[{index}]" for index, number in enumerate(sorted({int(number) for number in found}), 1)}
    parts[1::2] = [new[int(number)] for number in found]
    return "".join(parts)


def _hole(name: str, view: View, row: tuple[int, int, float] | None, *, html: bool) -> str | None:
    if name == "counts":
        return view.counts
    if name == "pre":
        return None if view.preheader is None else view.preheader if html else wrap(view.preheader)
    if row is None:
        return None
    number, count, share = row
    if name == "count":
        return str(count)
    if name == "share":
        return share_text(share, view.language) if view.share_sign else f"{share * 100:.0f}"
    return outlet_line(view.outlets[number - 1], count, share, view.language)
