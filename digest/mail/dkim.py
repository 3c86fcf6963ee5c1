"""DKIM signatures (RFC 6376, ``relaxed/relaxed``), fast enough to sign every copy of an issue.

Each copy differs (its address and signed links), so each is signed. A
general signer (dkimpy) canonicalises and hashes the whole message in
Python and signs with pure-Python RSA: about 7 ms for 49 KB. Here the
compiled message's structure does most of that once per issue:

- the body is static chunks with a few fills between them, each starting a
  line of its own; relaxed canonicalisation works line by line, so each
  static chunk is canonicalised once, and the body hash is advanced over
  everything before the first fill once (``hashlib`` states copy);
- per copy: a copy of that state, updated with the fills' values and the
  canonical chunks after them; the signed headers, canonicalised (the static
  ones once); one RSA (or Ed25519) signature through ``cryptography``.

:func:`sign_message` does the same for any message from scratch (notices,
tests): the same canonicalisation, so both paths produce what dkimpy
verifies. Dual signing (RFC 8463): an Ed25519 key beside the RSA one adds a
second ``DKIM-Signature`` with its own selector.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Sequence
from typing import Any

from digest.config.keys import DEFAULT_HEADERS, SELECTOR, DkimKey, DkimSigner, load_key, new_key

__all__ = [
    "DEFAULT_HEADERS",
    "SELECTOR",
    "BodyHasher",
    "DkimKey",
    "DkimSigner",
    "HeaderPlan",
    "load_key",
    "new_key",
    "sign_canonical",
    "sign_message",
    "signature_headers",
]

CRLF = b"\r\n"
_WSP_RUN = re.compile(rb"[ \t]+")
_FOLD = re.compile(rb"\r\n(?=[ \t])")
_TRAILING_WSP = re.compile(rb"[ \t]+(?=\r\n)")


# -- canonicalisation (RFC 6376 §3.4, relaxed) -----------------------------------------------


def canon_body_lines(data: bytes) -> bytes:
    """Relaxed body canonicalisation of whole lines (or of a run of them, cut anywhere no WSP is cut)."""
    if b" " not in data and b"\t" not in data:  # a fill's value (a URL, an address) nearly always
        return data
    return _TRAILING_WSP.sub(b"", _WSP_RUN.sub(b" ", data))


def canon_body(body: bytes) -> bytes:
    """A whole body, relaxed: WSP runs to one space, none at line ends, no empty lines at the end."""
    canonical = canon_body_lines(body if body.endswith(CRLF) or not body else body + CRLF)
    canonical = canonical.rstrip(CRLF)
    return canonical + CRLF if canonical else b""


def canon_header(name: bytes, value: bytes) -> bytes:
    """One header, relaxed: name in lower case, value unfolded, WSP runs to one space, trimmed; ends with CRLF."""
    unfolded = _FOLD.sub(b"", value)
    return name.strip().lower() + b":" + _WSP_RUN.sub(b" ", unfolded).strip(b" \t\r\n") + CRLF


def split_headers(block: bytes) -> list[tuple[bytes, bytes]]:
    """(name, raw value) for each header in a block of CRLF-ended header lines, folding kept in the value."""
    fields: list[tuple[bytes, bytes]] = []
    for line in re.split(rb"\r\n(?![ \t])", block.rstrip(CRLF)):
        if not line:
            continue
        name, _, value = line.partition(b":")
        fields.append((name, value))
    return fields


# -- signing -------------------------------------------------------------------------------------


def signature_headers(signer: DkimSigner, present: Sequence[tuple[bytes, bytes]], body_hash: bytes, now: int | None = None) -> bytes:
    """The ``DKIM-Signature`` header lines (one per key) for a message with ``present`` headers and that body hash.

    ``present``: every header of the message as (name, raw value), in order. The configured
    names the message has are signed, and ``h=`` oversigns (:attr:`HeaderPlan.listed`).
    """
    plan = HeaderPlan(signer, present)
    return sign_canonical(signer, plan.listed, plan.canonical({}), body_hash, now)


def sign_canonical(signer: DkimSigner, listed: Sequence[str], canonical: bytes, body_hash: bytes, now: int | None = None) -> bytes:
    """The ``DKIM-Signature`` header lines with ``h=`` naming ``listed``, the headers canonicalised as ``canonical``."""
    stamp = int(time.time()) if now is None else now
    bh = base64.b64encode(body_hash).decode()
    out = []
    for key in signer.keys:
        # h= may be folded after any colon (RFC 6376 3.5: FWS around each name): each "name:" is a word of its own.
        names = [f"{name}:" for name in listed[:-1]] + [f"{listed[-1]};"]
        names[0] = "h=" + names[0]
        words = [f"v=1; a={key.algorithm};", "c=relaxed/relaxed;", f"d={key.domain};", f"s={key.selector};", f"t={stamp};"]
        unsigned = _folded("DKIM-Signature:", [*words, *names, f"bh={bh};", "b="]).encode()
        name, _, value = unsigned.partition(b":")
        signature = key.sign(canonical + canon_header(name, value).rstrip(CRLF))
        # The signature on lines of its own (FWS after "b=" is allowed, and verifiers drop it with the value).
        out.append(unsigned + b"\r\n\t" + _fold_b64(base64.b64encode(signature)) + CRLF)
    return b"".join(out)


class HeaderPlan:
    """Which of a message's headers are signed, the static ones canonicalised once; a value that is not
    bytes is a fill, filled in per copy from the values given to :meth:`canonical`."""

    def __init__(self, signer: DkimSigner, present: Sequence[tuple[bytes, Any]]) -> None:
        by_name: dict[bytes, Any] = {}
        for name, value in present:
            by_name.setdefault(name.strip().lower(), value)  # one instance each: the first
        self.signed = [name for name in signer.headers if name.encode() in by_name]
        # Oversigning (RFC 6376 §5.4.2, §8.15): a name in h= covers one instance, the last. Each signed header is
        # named once more than it occurs (our messages carry each once) and every configured absent one once, so
        # a Subject, List-Unsubscribe or Reply-To added above the originals breaks the signature. The extra names
        # match no instance and add nothing to what is hashed: only h= grows.
        self.listed = [*(name for name in self.signed for _ in (0, 1)), *(n for n in signer.headers if n not in self.signed)]
        # Static headers canonicalised now; a fill's stays (name, fill) until a copy's values fill it.
        self.parts: list[bytes | tuple[bytes, Any]] = [
            canon_header(name.encode(), value) if isinstance(value, bytes) else (name.encode(), value)
            for name in self.signed
            for value in (by_name[name.encode()],)
        ]

    def canonical(self, values: dict[Any, bytes]) -> bytes:
        return b"".join(part if isinstance(part, bytes) else canon_header(part[0], values[part[1]]) for part in self.parts)


def _folded(start: str, words: Sequence[str], width: int = 78) -> str:
    """``start`` and ``words`` joined by spaces, folded with CRLF TAB before a word that would pass ``width``.

    A word ending in ":" (inside h=) is joined to the next without a space, which FWS there allows."""
    lines = [start]
    for word in words:
        glue = "" if lines[-1].endswith(":") and lines[-1] != start else " "
        if len(lines[-1]) + len(glue) + len(word) > width:
            lines.append("\t" + word)
        else:
            lines[-1] += glue + word
    return "\r\n".join(lines)


def _fold_b64(data: bytes, width: int = 72) -> bytes:
    """A long base64 value cut into lines (whitespace in b= is ignored by verifiers), so no line passes 78."""
    return b"\r\n\t".join(data[i : i + width] for i in range(0, len(data), width))


def sign_message(signer: DkimSigner, message: bytes, now: int | None = None) -> bytes:
    """``message`` (CRLF line ends) with its DKIM-Signature header(s) in front: the general, slower path."""
    head, separator, body = message.partition(b"\r\n\r\n")
    if not separator:
        head, body = message, b""
    body_hash = hashlib.sha256(canon_body(body)).digest()
    return signature_headers(signer, split_headers(head + CRLF), body_hash, now) + message


class BodyHasher:
    """The body hash of a compiled message per copy: the static chunks canonicalised once, the state before
    the first fill kept, and per copy only the fills and what follows them hashed."""

    def __init__(self, pieces: Sequence[bytes | object]) -> None:
        # pieces: the body as static bytes and fill markers (anything not bytes), static first and last.
        self.prefix = hashlib.sha256()
        self.rest: list[tuple[object, bytes]] = []
        first = True
        statics: list[bytes] = []
        for piece in pieces:
            if isinstance(piece, bytes):
                statics.append(piece)
                continue
            joined = canon_body_lines(b"".join(statics))
            statics = []
            if first:
                self.prefix.update(joined)
                first = False
            else:
                self.rest[-1] = (self.rest[-1][0], joined)
            self.rest.append((piece, b""))
        tail = canon_body(b"".join(statics))
        if first:
            self.prefix.update(tail)
        else:
            self.rest[-1] = (self.rest[-1][0], tail)

    def digest(self, values: dict[Any, bytes]) -> bytes:
        state = self.prefix.copy()
        for fill, after in self.rest:
            state.update(canon_body_lines(values[fill]))
            state.update(after)
        return state.digest()
