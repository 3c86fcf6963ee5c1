"""Compiling MJML to HTML with mjml-python (MRML), and pulling out the CSS we inline ourselves.

MRML leaves ``<mj-style inline="inline">`` CSS in a plain ``<style>`` tag,
where it cannot be told apart from MJML's own. So the inline CSS is taken out
of the MJML before compiling and handed to the inline step directly, as
official MJML does with juice.
"""

from __future__ import annotations

import re

import mjml

from digest.models.errors import MjmlError

MJML_ERROR = "MJML error"
_INLINE_STYLE = re.compile(r"<mj-style\b[^>]*\binline\s*=\s*([\"'])inline\1[^>]*>(.*?)</mj-style\s*>", re.IGNORECASE | re.DOTALL)


def split_inline_css(source: str) -> tuple[str, str]:
    """(MJML without its inline ``mj-style`` blocks, their CSS joined)."""
    blocks: list[str] = []

    def take(match: re.Match[str]) -> str:
        blocks.append(match.group(2).strip())
        return ""

    return _INLINE_STYLE.sub(take, source), "\n".join(blocks)


def compile_mjml(source: str, where: str = "digest.mjml") -> str:
    """HTML from MJML; raises RenderError with MRML's message and position."""
    try:
        # fonts={}: no Google Fonts <link>/@import, which would fetch at read time and track readers.
        # Comments are kept: they carry the theme marks (digest.render.views); the templates write no others.
        return str(mjml.mjml2html(source, disable_comments=False, fonts={}))
    except ValueError as exc:
        raise MjmlError(where, f"{MJML_ERROR}: {exc}") from exc
