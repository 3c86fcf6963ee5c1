"""Each reader's message: the issue's compiled message for the themes they chose.

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

from digest.mail.message import CompiledMessage, Slot, body_pieces
from digest.render.views import Layout, Views
from digest.store.subscribers import chosen_themes

_UNSEEN = object()


class Variants:
    """The issue's message per theme choice, compiled lazily, shared by the send's workers."""

    def __init__(self, full: CompiledMessage, layout: Layout | None) -> None:
        if layout is not None and not layout.themes:
            layout = None  # an issue with no sections (sent with --force): no theme to choose, everyone gets it whole
        self.full = full
        self.layout = layout
        self.views = Views(layout) if layout is not None else None
        self.every = layout.sections_for(None) if layout is not None else frozenset()
        # Keyed by the stored choice as it is (a JSON list, or None for every theme): one dict look-up per recipient.
        self.by_choice: dict[str | None, CompiledMessage | None] = {None: full}
        self.by_sections: dict[frozenset[int], CompiledMessage | None] = {self.every: full, frozenset(): None}
        self.lock = threading.Lock()
        # Each piece of the marked HTML quoted-printable encoded once for the run, whatever views it is in.
        self.encoded: dict[str, list[bytes | Slot]] = {}

    @property
    def compiled(self) -> int:
        """How many theme views were compiled (the whole issue not counted)."""
        return sum(1 for message in self.by_sections.values() if message is not None and message is not self.full)

    def message_for(self, choice: str | None) -> CompiledMessage | None:
        """The message for a subscriber whose stored theme choice is ``choice``; None when it has no posts this time."""
        found = self.by_choice.get(choice, _UNSEEN)
        if found is not _UNSEEN:
            return found  # type: ignore[return-value]
        with self.lock:
            message = self._compile(choice)
            self.by_choice[choice] = message
        return message

    def _compile(self, choice: str | None) -> CompiledMessage | None:
        if self.layout is None or self.views is None:
            return self.full  # an issue whose templates mark no themes: every reader gets all of it
        kept = self.layout.sections_for(chosen_themes(choice))
        if kept in self.by_sections:
            return self.by_sections[kept]
        view = self.layout.view(kept)
        html: list[bytes | Slot] = []
        for part in self.views.html_parts(view):
            encoded = self.encoded.get(part)
            if encoded is None:
                encoded = self.encoded[part] = body_pieces(part, html=True)
            html += encoded
        message = self.full.with_bodies(html, self.views.text(view))
        self.by_sections[kept] = message
        return message
