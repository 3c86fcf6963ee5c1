"""Text from outside as people may see it: no control or invisible characters, spaces folded.

One rule for every field that arrives from outside and is shown to someone:
post titles and excerpts (digest.sources), the editor's issue files, and
subscribers' names (a bidi override in a name reached operator output).
Two more for text kept as it came (what returned mail says): :func:`storable`
before it is stored, :func:`for_terminal` where it is printed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

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


# What no database text column can hold: PostgreSQL refuses NUL in text, and a lone surrogate (what the
# email package makes of undecodable bytes) has no UTF-8 form for either store.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` as every store can keep it: NUL and lone surrogates become U+FFFD, so a reader of it sees that
    something was there. The rest is kept as it came (shown through :func:`for_terminal`)."""
    return _UNSTORABLE.sub("\ufffd", text)


def for_terminal(text: str, keep: str = "") -> str:
    """``text`` safe to print to a terminal, every character a terminal would act on made visible as its
    Python escape (ESC as ``\\x1b``, a bidi override as ``\\u202e``): C0 and C1 controls (newlines too: a
    printed line stays one line), DEL, format characters (bidi and zero-width: they reorder or hide what
    follows), line separators, surrogates and unassigned code points. An OSC 52 clipboard write or ``ESC[8m``
    (hidden text) from a stranger's mail is shown, never obeyed. ``keep``: characters left as they are (the
    newlines of a block printed whole)."""
    if text.isprintable():  # the common case, in C
        return text
    return "".join(ch if ch.isprintable() or ch in keep or _shows_as_itself(ch) else _escaped(ch) for ch in text)


def _shows_as_itself(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category == "Zs" or category == "Co" or ch in _KEEP_FORMAT  # spaces, private use, ZWNJ/ZWJ


_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(ch: str) -> str:
    code = ord(ch)
    if ch in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[ch]
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def listed(names: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c": names as a sentence lists them."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def missing_said(names: Sequence[str]) -> str:
    """ "onnxruntime is not installed", "onnxruntime and sklearn are not installed"."""
    return f"{listed(names)} {'is' if len(names) == 1 else 'are'} not installed"
