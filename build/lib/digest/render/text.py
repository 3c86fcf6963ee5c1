"""Tidying the plain-text part: one newline style, no trailing spaces, at most one blank line in a row."""

from __future__ import annotations

import re

_BLANK_RUN = re.compile(r"\n{3,}")


def tidy_text(text: str) -> str:
    # "-- " (with its space) is the signature separator mail clients recognise; keep it whole.
    lines = [line if line == "-- " else line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip("\n") + "\n"
