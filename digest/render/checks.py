"""Checks of a rendered issue: what would make it break, clip or annoy in a mail client.

The same checks feed the build summary, the editor preview and the pre-send
gate: an ``error`` stops ``digest send`` unless forced.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import lxml.html

from digest.config import is_loopback
from digest.models import Check, Digest, placeholders
from digest.models.routes import PREFERENCES, UNSUBSCRIBE
from digest.render.plaintext import TEXT_WIDTH

GMAIL_CLIP_BYTES = 102 * 1024
SUBJECT_WARN_CHARS = 78
_LEFTOVER = re.compile(r"\{\{|\{%|<mj-", re.IGNORECASE)
# The longest values a recipient's placeholders plausibly take: an address of 64 characters (RFC 5321's
# local-part limit and a domain), URLs with a signed token. A line holding one of them alone cannot be wrapped.
_LONG_BASE, _LONG_TOKEN = "https://news.example-organisation.org", "123456789.Abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
LONG_VALUES = {
    placeholders.RECIPIENT_EMAIL: "firstname.middlename.lastname+newsletters@mail.example-organisation.org",
    placeholders.UNSUBSCRIBE_URL: UNSUBSCRIBE.link(_LONG_BASE, token=_LONG_TOKEN),
    placeholders.PREFERENCES_URL: PREFERENCES.link(_LONG_BASE, token=_LONG_TOKEN),
}
_URL_LINE = re.compile(r"^\s*(\[\d+\]\s*)?\S+://\S+$|^\s*\S+@\S+$")  # a URL, or an address, alone on its line


def check_issue(
    digest: Digest, subject: str, html: str, text: str, *, markup: tuple[str, str] | None = None, public: bool = False
) -> tuple[Check, ...]:
    """Every finding about one rendered issue, errors first.

    ``markup`` is the (html, text) that the leftover-markup check reads: by
    default the parts themselves; :func:`digest.render.render_issue` passes a
    render whose posts carry no template syntax, so that content is never
    mistaken for a template's leftovers. ``public``: the mail goes to real
    readers (SMTP to another host), so an http or loopback link is an error.
    """
    markup_html, markup_text = markup if markup is not None else (html, text)
    found: list[Check] = []

    def add(code: str, level: str, message: str) -> None:
        found.append(Check(code=code, level=level, message=message))  # type: ignore[arg-type]

    size = len(html.encode("utf-8"))
    if size > GMAIL_CLIP_BYTES:
        add("html-size", "error", f"HTML is {size / 1024:.1f} KB; Gmail clips messages over 102 KB (and hides the unsubscribe link)")
    elif size > GMAIL_CLIP_BYTES * 0.9:
        add("html-size", "warning", f"HTML is {size / 1024:.1f} KB, close to Gmail's 102 KB clipping point")

    if not digest.posts:
        add("empty-issue", "error", "the issue has no posts")
    for section in digest.sections:
        if not section.posts:
            add("empty-section", "warning", f'section "{section.theme}" has no posts')

    if not subject.strip():
        add("subject", "error", "the subject is empty")
    elif len(subject) > SUBJECT_WARN_CHARS:
        add("subject", "warning", f"the subject is {len(subject)} characters; many clients cut it near 60–78")

    for part, body, judged in (("HTML", html, markup_html), ("text", text, markup_text)):
        if placeholders.UNSUBSCRIBE_URL not in body:
            add("unsubscribe", "error", f"the {part} part has no unsubscribe link")
        if match := _LEFTOVER.search(judged):
            line = judged.count("\n", 0, match.start()) + 1
            add("leftover-markup", "error", f"the {part} part has leftover template or MJML markup {match.group(0)!r} at line {line}")

    found.extend(_html_checks(html, public=public))

    # Judged as a reader gets it: each placeholder filled with a long value of its kind (the check of a
    # placeholder alone missed a footer line that ran to 139 characters once the address was in).
    filled = text
    for placeholder, value in LONG_VALUES.items():
        filled = filled.replace(placeholder, value)
    long_lines = [n for n, line in enumerate(filled.splitlines(), 1) if len(line) > TEXT_WIDTH and not _URL_LINE.match(line)]
    if long_lines:
        shown = ", ".join(map(str, long_lines[:5])) + (" …" if len(long_lines) > 5 else "")
        add("text-width", "warning", f"{len(long_lines)} plain-text line(s) over {TEXT_WIDTH} characters (line {shown})")

    order = {"error": 0, "warning": 1, "info": 2}
    return tuple(sorted(found, key=lambda c: order[c.level]))


def _html_checks(html: str, *, public: bool = False) -> list[Check]:
    try:
        tree = lxml.html.document_fromstring(html)
    except Exception as exc:  # lxml raises ParserError and ValueError variants
        return [Check(code="html-parse", level="error", message=f"the HTML cannot be parsed: {exc}")]
    found: list[Check] = []
    if not tree.get("lang"):
        found.append(Check(code="lang", level="warning", message="the <html> element has no lang attribute"))
    missing_alt = [img.get("src", "?") for img in tree.iter("img") if img.get("alt") is None]
    if missing_alt:
        found.append(
            Check(code="img-alt", level="error", message=f"{len(missing_alt)} image(s) without alt text: {', '.join(missing_alt[:3])}")
        )
    bad_links, private = _links(tree, public=public)
    if bad_links:
        found.append(
            Check(
                code="links",
                level="error",
                message=f"{len(bad_links)} link(s) neither absolute http(s) nor to a place in the email: {', '.join(bad_links[:3])}",
            )
        )
    if private:
        found.append(
            Check(
                code="public-links",
                level="error",
                message=f"{len(private)} link(s) readers cannot open safely or at all (http, or this machine): {', '.join(private[:3])}",
            )
        )
    return found


def _links(tree: Any, *, public: bool) -> tuple[list[str], list[str]]:
    """(links that go nowhere a reader can follow, links a reader elsewhere cannot open) among the email's anchors;
    the recipient's own links (placeholders) and jumps inside the email (the table of contents) are fine."""
    bad: list[str] = []
    private: list[str] = []
    ids = {element.get("id") for element in tree.iter() if element.get("id")}
    for anchor in tree.iter("a"):
        href = (anchor.get("href") or "").strip()
        if href in placeholders.ALL or (href.startswith("#") and href[1:] in ids):
            continue
        parts = urlsplit(href)
        if parts.scheme not in ("http", "https", "mailto") or (href.startswith("http") and not parts.netloc):
            bad.append(href or "(empty)")
        elif public and (parts.scheme == "http" or is_loopback(parts.hostname or "")):
            private.append(href)
    return bad, private
