"""What mjml-python (MRML) writes differently from official MJML, and what neither writes, put right.

Measured against official MJML 5 on the same source (bench/ runs both):

- MRML drops ``role="presentation"`` on the table of an ``mj-table``: screen
  readers then announce a layout table as data. Every table gets the role.
- MRML sizes the Outlook fallback table of an ``mj-divider`` to the whole
  column (``width="600px"``) where MJML takes the divider's padding off
  (``544px`` inside 28 px on each side): in Outlook the line overhangs.
- The hidden preheader: MRML colours it white, which SpamAssassin scores as
  low-contrast text (HTML_FONT_LOW_CONTRAST) on a light page, and leaves it
  without ``mso-hide:all`` (Outlook shows it) and without a spacer, so inbox
  previews run on into the email's first lines. Ours has no colour, hides in
  Outlook, and is padded with zero-width joiners and spaces.
- The head gets what MJML leaves out: the colour schemes the email supports
  (it has a dark palette), and no reformatting or auto-linking of numbers by
  Apple Mail and iOS.
"""

from __future__ import annotations

import html as html_lib
import re

_TABLE_WITHOUT_ROLE = re.compile(r"<table\b(?![^>]*\brole=)", re.IGNORECASE)
_DIVIDER = re.compile(
    r'(padding:(?P<padding>[0-9.px ]+);word-break:break-word;">\s*<p style="border-top:[^"]*"></p>\s*'
    r"<!--\[if mso \| IE\]><table [^>]*?)width=\"(?P<width>\d+)px\"(?P<between> style=\"[^\"]*?)width:(?P=width)px;"
)
_PREVIEW = re.compile(r'<div style="display:none;[^"]*">(?P<text>.*?)</div>', re.DOTALL)
_HEAD = re.compile(r"<head>", re.IGNORECASE)
# Zero-width non-joiner, combining grapheme joiner and a space, repeated: fills the inbox preview after
# the preheader with nothing visible, in every client measured by the email community.
SPACER = "&#847;&zwnj;&nbsp;" * 80
META = (
    '<meta name="color-scheme" content="light dark">'
    '<meta name="supported-color-schemes" content="light dark">'
    '<meta name="x-apple-disable-message-reformatting">'
    '<meta name="format-detection" content="telephone=no, date=no, address=no, email=no, url=no">'
)


PREVIEW_OPEN = '<div style="display:none;max-height:0;max-width:0;overflow:hidden;mso-hide:all;font-size:1px;line-height:1px;">'


def mark_preheader(html: str, preheader: str) -> str:
    """The hidden preheader marked as a hole for theme views (:mod:`digest.render.views`), after premailer.

    Marked only now: premailer puts a line break before a comment that opens
    an element, and that break would show in the inbox preview. Not found
    (premailer escaped it otherwise): left unmarked, and views keep it whole.
    """
    text = html_lib.escape(preheader, quote=False)
    return html.replace(PREVIEW_OPEN + text, f"{PREVIEW_OPEN}<!--v:pre-->{text}<!--/v-->", 1)


def fix_mrml(html: str, preheader: str) -> str:
    """MRML's HTML with the differences above put right."""
    html = _TABLE_WITHOUT_ROLE.sub('<table role="presentation"', html)
    html = _DIVIDER.sub(_divider_width, html)
    hidden = f"{PREVIEW_OPEN}{html_lib.escape(preheader, quote=False)}{SPACER}</div>"
    html, found = _PREVIEW.subn(lambda _: hidden, html, count=1)
    if not found and preheader:
        html = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + hidden, html, count=1)
    return _HEAD.sub(lambda m: m.group(0) + META, html, count=1)


def _divider_width(match: re.Match[str]) -> str:
    sides = [float(part.removesuffix("px") or 0) for part in match["padding"].split()]
    # CSS shorthand: one value for all sides; two or three: the second is left and right; four: right is second, left fourth.
    right = sides[0] if len(sides) == 1 else sides[1]
    left = sides[3] if len(sides) == 4 else right
    inner = int(match["width"]) - int(left) - int(right)
    return f'{match.group(1)}width="{inner}px"{match["between"]}width:{inner}px;'
