"""Plain text as the text twin writes it: lines wrapped to 78 columns, tidied.

Kept apart from the renderer (no Jinja, MJML or premailer here) because a
send assembles theme views of the text too (:mod:`digest.render.views`).
"""

from __future__ import annotations

import textwrap

TEXT_WIDTH = 78


def wrap(text: str, width: int = TEXT_WIDTH, indent: str = "", first: str | None = None) -> str:
    """Text wrapped to ``width`` columns; long words (URLs) are never broken."""
    return "\n".join(
        textwrap.wrap(
            text,
            width=width,
            initial_indent=indent if first is None else first,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        )
    )


def labelled(label: str, value: str, width: int = TEXT_WIDTH) -> str:
    """``label value`` on one line when it fits, else the value (a URL: never broken) on a line of its own."""
    return f"{label} {value}" if len(label) + 1 + len(value) <= width else f"{label}\n{value}"


def tidy_text(text: str) -> str:
    """The text with its line ends made "\\n", no line ending in white space, no more than one blank line in a row,
    none first or last, and a line break at the end."""
    # A send tidies each theme view's text (issue 35, item 6): each step is a loop in C, not in Python or a regex.
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    tidied = list(map(str.rstrip, lines))
    found = -1
    while True:  # "-- " (with its space) is the signature separator mail clients recognise: put it back whole
        try:
            found = tidied.index("--", found + 1)
        except ValueError:
            break
        if lines[found] == "-- ":
            tidied[found] = "-- "
    joined = "\n".join(tidied)
    while "\n\n\n" in joined:  # each pass shortens every run of three or more line breaks; two stay two
        joined = joined.replace("\n\n\n", "\n\n")
    return joined.strip("\n") + "\n"
