"""A view's text twin, made the cheaper way (names parsed once, links renumbered in one scan, paragraphs encoded
once a send), is byte for byte what the plain way made: over every theme choice of the sample issue and cuts of it.

The plain way is kept here as the reference: the walk as it was, the renumbering by a second scan, and the text
quoted-printable encoded whole (issue 35, item 6).
"""

from __future__ import annotations

import html as html_lib
import itertools
import random
import re
from collections import Counter
from collections.abc import Sequence

import pytest

from digest.app.issues import frozen_form
from digest.config import Scope, load_settings, theme_key
from digest.issue.assembly import build_issue
from digest.issue.selection import window_for
from digest.mail.message import CompiledMessage, body_pieces, text_body_pieces
from digest.models import Layout, RecipientView, StoredIssue, ViewKind, shares
from digest.render import render_issue
from digest.render.i18n import automatic_preheader, counts_phrase
from digest.render.plaintext import tidy_text
from digest.render.views import Node, Region, View, Views, _hole, post_numbers, view_of
from digest.send.delivery import compile_issue
from digest.send.variants import Variants, recipient_view

from conftest import REPO
from support.issues import NOW
from support.settings import overridden

_PLACE = re.compile(r"s([0-9]+)(?:p([0-9]+))?")
_REF = re.compile("\ufdd2([0-9]+)]")


def _numbers(name: str) -> list[int]:
    return [int(part) for part in name.split()[1:] if part.isdigit()]


def reference_emit(nodes: Sequence[Node], view: View, out: list[str], *, html: bool, row: tuple[int, int, float] | None) -> None:
    """The walk as it was before issue 35's item 6: each mark's name parsed again at every visit."""
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
            continue
        name = node.name
        if name.startswith("s "):
            if view.kept.intersection(_numbers(name)):
                reference_emit(node.children, view, out, html=html, row=row)
        elif name.startswith("p "):
            if not view.dropped.intersection(_numbers(name)):
                reference_emit(node.children, view, out, html=html, row=row)
        elif name.startswith("any "):
            places = [place.groups() for place in _PLACE.finditer(name)]
            if any(int(s) in view.kept and (p is None or int(p) not in view.dropped) for s, p in places):
                reference_emit(node.children, view, out, html=html, row=row)
        elif name == "toc":
            if len(view.kept) > 1:
                reference_emit(node.children, view, out, html=html, row=row)
        elif name == "rows":
            rows = {_numbers(c.name)[0]: c for c in node.children if isinstance(c, Region) and c.name.startswith("row ")}
            out.extend([c for c in node.children if isinstance(c, str)][:1])
            for this in view.rows:
                if this[0] in rows:
                    reference_emit(rows[this[0]].children, view, out, html=html, row=this)
        elif name in ("counts", "pre", "count", "share", "line"):
            value = _hole(name, view, row, html=html)
            if value is None:
                reference_emit(node.children, view, out, html=html, row=row)
            else:
                out.append(html_lib.escape(value, quote=False) if html else value)
        else:
            reference_emit(node.children, view, out, html=html, row=row)


def reference_view_of(layout: Layout, kept: frozenset[int], dropped: frozenset[int]) -> View:
    """:func:`view_of` as it was: the outlets of every kept post listed and counted again for each view."""
    numbered = post_numbers(layout)
    outlets = [
        outlet
        for number in sorted(kept)
        for outlet, post in zip(layout.post_outlets[number - 1], numbered[number - 1], strict=True)
        if post not in dropped
    ]
    counted = Counter(outlets)
    order = sorted(counted.items(), key=lambda item: (-item[1], item[0].casefold()))
    row_of = {outlet: number for number, outlet in enumerate(layout.outlets, 1)}
    themes = [layout.themes[n - 1] for n in sorted(kept)]
    preheader = automatic_preheader(len(outlets), len(counted), themes, layout.language) if layout.automatic_preheader else None
    return View(
        kept=kept,
        counts=counts_phrase(len(outlets), len(counted), layout.language),
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


def reference_renumber(text: str) -> str:
    numbers = sorted({int(found) for found in _REF.findall(text)})
    new = {number: index for index, number in enumerate(numbers, 1)}
    return _REF.sub(lambda match: f"[{new[int(match.group(1))]}]", text)


def reference(views: Views, kept: frozenset[int], dropped: frozenset[int]) -> tuple[list[str], str]:
    """The view's HTML as the pieces it was joined from, and its text."""
    view = reference_view_of(views.layout, kept, dropped)
    html: list[str] = []
    reference_emit(views.html_tree, view, html, html=True, row=None)
    text: list[str] = []
    reference_emit(views.text_tree, view, text, html=False, row=None)
    return html, reference_tidy(reference_renumber("".join(text)))


@pytest.fixture(scope="module")
def sample() -> tuple[Scope, StoredIssue, Layout]:
    settings = load_settings(REPO / "config" / "digest.toml", environ={})
    settings = overridden(settings, secret_key="test-secret-key-for-the-suite-0123456789", base_url="https://news.example.org")
    digest = build_issue(settings, window_for(NOW, settings.newsletter.window, settings.newsletter.timezone), NOW)
    issue = frozen_form(digest, render_issue(digest, settings), NOW)
    layout = Layout.load(issue.layout, theme_key)
    assert layout is not None and len(layout.themes) == 5 and layout.post_published
    return settings, issue, layout


def the_views(layout: Layout) -> list[tuple[frozenset[int], frozenset[int]]]:
    """Every theme choice, each whole and with random cuts (the posts a reader's earlier issue carried)."""
    rng = random.Random(35)
    posts = [post for numbers in post_numbers(layout) for post in numbers]
    cuts: list[frozenset[int] | None] = [None, frozenset(posts[:1]), frozenset(posts[: len(posts) // 2])]
    cuts += [frozenset(rng.sample(posts, rng.randint(1, len(posts) - 1))) for _ in range(12)]
    found = []
    for size in range(1, len(layout.themes) + 1):
        for keys in itertools.combinations(layout.keys, size):
            for cut in cuts:
                view = recipient_view(layout, frozenset(keys), None, NOW.date(), cut)
                if view.kind is ViewKind.SOME_THEMES and (view.sections, view.dropped) not in found:
                    found.append((view.sections, view.dropped))
    return found


def test_every_view_is_byte_for_byte_what_the_plain_way_made(sample: tuple[Scope, StoredIssue, Layout]) -> None:
    _, _, layout = sample
    views = Views(layout)
    shown = the_views(layout)
    assert len(shown) > 31 * 3  # every theme choice, and cuts of most
    for kept, dropped in shown:
        view = views.view(kept, dropped)
        assert view == view_of(layout, kept, dropped) == reference_view_of(layout, kept, dropped)
        html, text = reference(views, kept, dropped)
        assert views.html_parts(view) == html
        assert views.render(view) == ("".join(html), text)


def test_the_text_encoded_a_paragraph_at_a_time_is_the_text_encoded_whole(sample: tuple[Scope, StoredIssue, Layout]) -> None:
    _, _, layout = sample
    views = Views(layout)
    encoded: dict[str, list[object]] = {}
    for kept, dropped in the_views(layout):
        text = views.text(view_of(layout, kept, dropped))
        assert joined(text_body_pieces(text, encoded)) == joined(body_pieces(text, html=False))  # type: ignore[arg-type]
    # Where quoted-printable has most to do: long lines, trailing spaces and tabs, leading dots, placeholders, "=".
    cases = ["a" * 200 + " \n\n.\n\n. x\n\n" + "é" * 90 + "\n\n\n", "x \t\n\n{{unsubscribe_url}}\n\n.", "=\n\n", "\n\n\n\nend ", ""]
    for text in cases:
        assert joined(text_body_pieces(text, encoded)) == joined(body_pieces(text, html=False))  # type: ignore[arg-type]


def joined(pieces: Sequence[object]) -> list[object]:
    """Neighbouring bytes joined, as a compiled message joins them: what reaches the wire."""
    out: list[object] = []
    for piece in pieces:
        if isinstance(piece, bytes) and out and isinstance(out[-1], bytes):
            out[-1] += piece
        else:
            out.append(piece)
    return out


def test_each_readers_message_is_byte_for_byte_what_it_was(sample: tuple[Scope, StoredIssue, Layout]) -> None:
    settings, issue, layout = sample
    full = compile_issue(issue, settings, date=NOW)
    variants = Variants(full, layout, NOW.date())
    views = Views(layout)
    for kept, dropped in the_views(layout):
        new = variants._message(RecipientView(ViewKind.SOME_THEMES, kept, dropped))
        assert new is not None
        html, text = reference(views, kept, dropped)
        # The HTML as a send joined it, each piece encoded apart; the text encoded whole.
        old = full.with_bodies([encoded for part in html for encoded in body_pieces(part, html=True)], text)
        # What each copy is filled from, the random MIME boundary aside (a DKIM signature covers it, so whole copies
        # of two compilations differ there even when their bodies are alike).
        assert chunks(new) == [chunk.replace(old.boundary.encode(), new.boundary.encode()) for chunk in chunks(old)]


def chunks(message: CompiledMessage) -> list[bytes]:
    return [chunk if isinstance(chunk, bytes) else str(chunk).encode() for chunk in message.chunks]


def reference_tidy(text: str) -> str:
    """:func:`tidy_text` as it was: a line at a time."""
    lines = [line if line == "-- " else line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"


@pytest.mark.parametrize(
    "text",
    [
        "-- \n--  \n -- \n--\t\n-- ",
        "a \u2028\nb\x85 \n\n\n\n c  ",
        "-- ",
        " -- ",
        "x\n-- \t",
        "\n\n\n",
        "",
        "--\n-- \n--",
        "a\r\n\r\n\r\nb \r-- \r",
    ],
)
def test_tidying_is_what_it_was(text: str) -> None:
    assert tidy_text(text) == reference_tidy(text)
