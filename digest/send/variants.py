"""Each reader's message: what a reader gets by their own choices (:func:`recipient_view`, the one rule the
plan and the send share), and the issue's compiled message for the themes they chose.

The frozen issue stays one issue; a subscriber who chose some of its themes
gets a view of it (:mod:`digest.render.views`). A send compiles one message per
distinct choice actually met among its recipients, the first time it is
met, and keeps it for the run: a list of 20,000 with a few hundred distinct
choices compiles a few hundred messages. Each costs little: the headers are
the whole issue's, and the HTML is joined from pieces quoted-printable
encoded once per run; only the short text twin is encoded per view.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from typing import TypeAlias

from digest.mail.message import CompiledMessage, Fill, body_pieces, text_body_pieces
from digest.models import Layout, RecipientView, ViewKind, paused_on
from digest.render.views import Views, post_numbers

_UNSEEN = object()


EVERY_THEME = RecipientView(ViewKind.EVERY_THEME)


Cut: TypeAlias = "frozenset[int] | None"  # post numbers a reader's earlier issues carried (None: no cut)


def recipient_view(
    layout: Layout | None, themes: frozenset[str] | None, paused_until: date | None, today: date, cut: Cut = None
) -> RecipientView:
    """The one rule for what a recipient gets: paused (until a day after today) first, then their themes cut
    from the issue's layout (an issue frozen without a layout, or without themes, goes whole to everyone), less the
    posts ``cut`` numbers (:func:`carried`): a section left with none goes too."""
    if paused_on(paused_until, today):
        return RecipientView(ViewKind.PAUSED)
    if layout is None or not layout.themes:
        return EVERY_THEME
    kept = layout.sections_for(themes)
    dropped: frozenset[int] = frozenset()
    if cut:
        numbers = post_numbers(layout)
        kept = frozenset(number for number in kept if not set(numbers[number - 1]) <= cut)
        dropped = frozenset(post for number in kept for post in numbers[number - 1] if post in cut)
    if not kept:
        return RecipientView(ViewKind.NO_POSTS)
    if kept == layout.sections_for(None) and not dropped:
        return EVERY_THEME
    return RecipientView(ViewKind.SOME_THEMES, kept, dropped)


def carried(layout: Layout | None, covered_until: datetime | None) -> Cut:
    """The post numbers of the issue published before ``covered_until`` (what the reader's last delivered issue
    covered): an earlier issue carried them, so their copy leaves them out. None: nothing to cut."""
    if layout is None or covered_until is None or not layout.post_published:
        return None
    before = covered_until.astimezone(UTC)
    found = frozenset(n for n, published in enumerate(layout.post_published, 1) if datetime.fromisoformat(published) < before)
    return found or None


class Variants:
    """The issue's message per theme choice, compiled lazily, shared by the send's workers."""

    def __init__(self, full: CompiledMessage, layout: Layout | None, today: date | None = None) -> None:
        if layout is not None and not layout.themes:
            layout = None  # an issue with no sections (sent with --force): no theme to choose, everyone gets it whole
        self.full = full
        self.layout = layout
        self.today = today or datetime.now(UTC).date()  # the newsletter's day: a pause ends on a day
        self.views = Views(layout) if layout is not None else None
        self.every = layout.sections_for(None) if layout is not None else frozenset()
        # Keyed by the reader's choices as the store decoded them (one shared set per distinct choice, a date
        # or None): one dict look-up per recipient once a choice has been met.
        self.by_reader: dict[tuple[frozenset[str] | None, date | None, datetime | None], tuple[RecipientView, CompiledMessage | None]] = {
            (None, None, None): (EVERY_THEME, full)
        }
        # The cut of each distinct covered_until met (most readers of an edition share one: their last issue's end).
        self.cuts: dict[datetime, Cut] = {}
        self.by_sections: dict[tuple[frozenset[int], frozenset[int]], CompiledMessage | None] = {
            (self.every, frozenset()): full,
            (frozenset(), frozenset()): None,
        }
        self.lock = threading.Lock()
        # Each piece of the marked HTML quoted-printable encoded once for the run, whatever views it is in.
        self.encoded: dict[str, list[bytes | Fill]] = {}
        # And each paragraph of the views' text twins, which repeat the same paragraphs in view after view.
        self.encoded_text: dict[str, list[bytes | Fill]] = {}

    @property
    def compiled(self) -> int:
        """How many theme views were compiled (the whole issue not counted)."""
        return sum(1 for message in self.by_sections.values() if message is not None and message is not self.full)

    def reader(
        self, themes: frozenset[str] | None, paused_until: date | None = None, covered_until: datetime | None = None
    ) -> tuple[RecipientView, CompiledMessage | None]:
        """What a reader with these choices gets (:func:`recipient_view`, less what their last delivered issue covered),
        and its message: None when they are skipped."""
        key = (themes, paused_until, covered_until)
        found = self.by_reader.get(key)
        if found is not None:
            return found
        with self.lock:
            cut = None
            if covered_until is not None:
                if covered_until not in self.cuts:
                    self.cuts[covered_until] = carried(self.layout, covered_until)
                cut = self.cuts[covered_until]
            view = recipient_view(self.layout, themes, paused_until, self.today, cut)
            found = (view, self._message(view))
            self.by_reader[key] = found
        return found

    def message_for(self, themes: frozenset[str] | None, paused_until: date | None = None) -> CompiledMessage | None:
        """The message for a reader with these choices; None when they are skipped (no posts in their themes, paused)."""
        return self.reader(themes, paused_until)[1]

    def _message(self, view: RecipientView) -> CompiledMessage | None:
        if view.kind is ViewKind.EVERY_THEME:
            return self.full
        if view.kind is not ViewKind.SOME_THEMES or self.layout is None or self.views is None:
            return None
        kept, dropped = view.sections, view.dropped
        if (kept, dropped) in self.by_sections:
            return self.by_sections[(kept, dropped)]
        html: list[bytes | Fill] = []
        shown = self.views.view(kept, dropped)
        for part in self.views.html_parts(shown):
            encoded = self.encoded.get(part)
            if encoded is None:
                encoded = self.encoded[part] = body_pieces(part, html=True)
            html += encoded
        text = self.views.text(shown)
        message = self.full.with_bodies(html, text, text_body_pieces(text, self.encoded_text))
        self.by_sections[(kept, dropped)] = message
        return message
