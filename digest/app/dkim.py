"""DKIM keys as an operator handles them: make one (private half written for its owner only), and compare a
configured key with the TXT record DNS publishes for it."""

from __future__ import annotations

import base64
import os
import re
from datetime import date
from pathlib import Path

from digest.app.hints import scope_hint
from digest.config import Scope
from digest.mail.dkim import SELECTOR, DkimKey, load_key, new_key


def keygen_hint(settings: Scope, domain: str) -> str:
    """The command that makes ``settings``' newsletter a key of ``domain``, as every message that asks for one says it."""
    # A selector of this month's: one named "news" may be taken by a key already (keygen refuses to overwrite it); in an
    # install of several newsletters, the slug's, so that each newsletter's pasted hint makes its own key.
    prefix = settings.newsletter.slug if settings.shared else "news"
    return scope_hint(settings, "dkim", "keygen", "--selector", f"{prefix}{date.today():%Y%m}", "--domain", domain)


def is_selector(text: str) -> bool:
    """A DNS label such as "news2026"."""
    return SELECTOR.fullmatch(text) is not None


def write_new_key(path: Path, kind: str, bits: int, *, domain: str, selector: str) -> DkimKey:
    """A new private key at ``path`` (which must not exist), readable by its owner only; the key as loaded back."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created with owner-only permissions from the start: the key is never readable by others, even briefly.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(new_key(kind, bits))
    return load_key(path, domain=domain, selector=selector)


def record_tags(text: str) -> dict[str, str]:
    """The tags of a DKIM key record, from a value pasted as published: quotes, splits and whitespace removed."""
    joined = "".join(re.findall(r'"([^"]*)"', text)) if '"' in text else text
    tags: dict[str, str] = {}
    for part in joined.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            tags[name.strip().lower()] = re.sub(r"\s+", "", value)
    return tags


def compare(expected: str, published: str) -> str | None:
    """None when the published record carries the expected key; else what is wrong."""
    if not published.strip():
        return "no TXT record found"
    want, got = record_tags(expected), record_tags(published)
    if got.get("v", "DKIM1") != "DKIM1":
        return f"v={got['v']}: a DKIM key record starts with v=DKIM1"
    if got.get("k", "rsa") != want["k"]:
        return f"k={got.get('k', 'rsa')}, but the configured key is {want['k']}"
    if not got.get("p"):
        return "p= is empty: the key is revoked (RFC 6376 3.6.1)"
    # h= and s= narrow what the key may verify: a receiver ignores it for a sha256 signature, or for email.
    if "h" in got and "sha256" not in got["h"].lower().split(":"):
        return f"h={got['h']}: the key accepts no sha256 signature, and digest signs with sha256 (drop h=)"
    if "s" in got and not {"email", "*"} & set(got["s"].lower().split(":")):
        return f"s={got['s']}: the key is not for email (drop s=, or make it s=email)"
    try:
        if base64.b64decode(got["p"], validate=True) != base64.b64decode(want["p"]):
            return "p= is another key than the configured one (an old key, or a record for another selector)"
    except ValueError:
        return "p= is not valid base64 (cut short when it was pasted into DNS?)"
    return None


def txt_strings(record: str) -> str:
    """A TXT value as quoted strings of at most 255 characters each, as DNS needs for a 2048-bit key."""
    return " ".join(f'"{record[i : i + 255]}"' for i in range(0, len(record), 255))
