"""Plain text as the text twin writes it: lines wrapped to 78 columns, tidied.

Kept apart from the renderer (no Jinja, MJML or premailer here) because a
send assembles theme views of the text too (:mod:`digest.render.views`).
"""

from __future__ import annotations

import re
import textwrap

TEXT_WIDTH = 78
_BLANK_RUN = re.compile(r"\n{3,}")


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
    # "-- " (with its space) is the signature separator mail clients recognise; keep it whole.
    lines = [line if line == "-- " else line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip("\n") + "\n"
