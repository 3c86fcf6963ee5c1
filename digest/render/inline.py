"""Inlining the newsletter's own CSS into the compiled HTML with premailer, safely for MJML output.

premailer's defaults break MJML: ``strip_important`` collapses the desktop
column rules, the lowercase doctype is dropped, ``<link>`` stylesheets are
fetched. Here MJML's own ``<style>`` blocks are left untouched (marked for
premailer to ignore); only the CSS the template asked to inline is applied,
and what cannot be inlined (media queries, pseudo-classes) stays in the head.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any

from digest.models.errors import RenderError

_DOCTYPE = "<!doctype html>"
_STYLE_OPEN = re.compile(r"<style\b", re.IGNORECASE)
_HAS_DOCTYPE = re.compile(r"^\s*<!doctype\b", re.IGNORECASE)


@functools.cache
def _premailer() -> Callable[..., Any]:
    """premailer, imported when a render first needs it: with cssutils and requests it was about 60 ms of every
    command's start (``digest status``: 0.79 s of CPU, 0.86 s before), and many commands (status, subscribers,
    bounces) render nothing."""
    import cssutils
    from premailer import Premailer

    # cssutils warns about every mso-* and -webkit-* property MJML writes; they are intended.
    cssutils.log.setLevel(logging.CRITICAL)
    made: Callable[..., Any] = Premailer
    return made


def inline_css(html: str, css: str) -> str:
    """``html`` with ``css`` applied as style attributes; MJML's own styles and comments kept."""
    if not css.strip():
        return html
    protected = _STYLE_OPEN.sub('<style data-premailer="ignore"', html)
    try:
        inlined = _premailer()(
            protected,
            css_text=[css],
            strip_important=False,
            keep_style_tags=False,
            allow_network=False,
            allow_loading_external_files=False,
            disable_validation=True,
            disable_link_rewrites=True,
            cssutils_logging_level=logging.CRITICAL,
        ).transform()
    except Exception as exc:  # premailer raises bare lxml/cssutils errors of many kinds
        raise RenderError("inline CSS", f"premailer failed: {exc}") from exc
    result = str(inlined)
    if _HAS_DOCTYPE.match(html) and not _HAS_DOCTYPE.match(result):
        result = f"{_DOCTYPE}\n{result}"
    return result
