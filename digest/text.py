"""Text from outside as people may see it: no control or invisible characters, spaces folded.

One rule for every field that arrives from outside and is shown to someone:
post titles and excerpts (digest.sources), the editor's issue files, and
subscribers' names (a bidi override in a name reached operator output).
"""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")

# Format characters that carry meaning in real text: ZWNJ and ZWJ join letters in Persian and Indic
# scripts and build emoji sequences. They cannot reorder or hide text, unlike the bidi controls.
_KEEP_FORMAT = frozenset("\u200c\u200d")


def visible_text(text: str, keep: str = "") -> str:
    """``text`` without the characters no reader should get: C0/C1 controls (but those in ``keep``),
    format characters (bidi overrides such as U+202E, zero-width spaces, U+2066 isolates: they can
    make a title read as something else), surrogates and noncharacters (U+FFFE). Any of them can
    also break the MJML compiler, and with it the whole issue."""
    if text.isprintable():  # the common case, in C: nothing to look at
        return text
    return "".join(ch for ch in text if ch.isprintable() or ch in keep or _harmless(ch))


def _harmless(ch: str) -> bool:
    category = unicodedata.category(ch)
    if category[0] == "Z" or category == "Co":  # spaces and line separators (folded later), private use
        return True
    return ch in _KEEP_FORMAT


def clean_text(text: str) -> str:
    """One line of plain text: non-breaking and odd spaces folded, invisible and control characters gone."""
    return _SPACE.sub(" ", visible_text(text, keep="\t\n\r").replace("\u00a0", " ")).strip()


def single_line(text: str) -> str:
    """No control character can survive into a header: CR, LF and friends become spaces."""
    return " ".join(_CONTROL.sub(" ", text).split())
