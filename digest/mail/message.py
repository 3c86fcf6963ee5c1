"""The issue as MIME bytes, compiled once, filled in per recipient by substitution.

Building an ``EmailMessage`` and serialising it costs milliseconds; a send to
a large list cannot pay that per recipient. So the message is compiled once
per issue into a list of byte chunks: static chunks already encoded
(headers, boundaries, quoted-printable bodies) and a few fills that hold the
recipient's fields. Filling it is a handful of small encodes and one join.

Quoted-printable lets this work: a soft line break (``=`` CRLF) can end an
encoded line anywhere without changing the decoded text, so each static
segment is encoded on its own, each fill is encoded when filled in, and
the pieces are joined with soft breaks. The result has no line over 76
octets in the bodies and keeps to RFC 5322's 998 in the headers.

Wire format: CRLF line ends, ``multipart/alternative`` with text/plain first
and text/html last, both UTF-8 and quoted-printable (7bit on the wire).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import html
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from enum import IntEnum

from digest.mail.dkim import BodyHasher, DkimSigner, HeaderPlan, sign_canonical, split_headers
from digest.models import placeholders, routes
from digest.models.text import single_line
from digest.models.tokens import ReturnPathSigner, Signer

CRLF = b"\r\n"
QP_LINE = 76  # RFC 2045: encoded lines, soft break included, at most 76 octets
# Text quoted-printable leaves as it is: printable ASCII but "=", not starting with ".", short enough that the
# soft break after it ("=") keeps the line within 76 octets.
_QP_SAFE = re.compile(r"[!-\-/-<>-~][!-<>-~]{0,74}")
_HTML_SPECIAL = re.compile(r"[&<>\"']")
_HEADER_END = re.compile(rb"\r\n(?![ \t])")
_SAFE_PHRASE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ .-]*")


class Fill(IntEnum):
    """A recipient-specific piece of the message."""

    TO = 0
    MESSAGE_ID = 1
    LIST_UNSUBSCRIBE = 2
    TEXT_UNSUBSCRIBE = 3
    TEXT_EMAIL = 4
    HTML_UNSUBSCRIBE = 5
    HTML_EMAIL = 6
    TEXT_PREFERENCES = 7
    HTML_PREFERENCES = 8


@dataclass(frozen=True, slots=True, kw_only=True)
class Envelope:
    """What a transport needs besides the bytes: the SMTP envelope, and names for files and logs."""

    sender: str
    recipient: str
    issue_id: str
    label: str  # unique within the issue: the recipient's address, or "test-…" for a test send
    dot_safe: bool = False  # no line of the data starts with ".": true of every compiled message (see qp)


def qp(data: str) -> bytes:
    """Quoted-printable of UTF-8 text, CRLF line ends, trailing spaces encoded, no line starting with a dot.

    Every piece of a compiled message starts on a line of its own, so a piece
    with no line starting with "." makes a message with none, and SMTP's
    dot-stuffing (RFC 5321 4.5.2), a scan of every byte per recipient, has
    nothing to do: such a dot is written ``=2E``, as RFC 2045 allows.
    """
    if _QP_SAFE.fullmatch(data):  # a URL or an address, per recipient: nothing to encode (a third of a fill, else)
        return data.encode("ascii")
    encoded = binascii.b2a_qp(data.encode("utf-8"), quotetabs=False, istext=True, header=False)
    encoded = encoded.replace(b"\r\n", b"\n").replace(b"\n", CRLF)
    if encoded.startswith(b".") or b"\n." in encoded:
        encoded = CRLF.join(_no_leading_dot(line) for line in encoded.split(CRLF))
    return encoded


def _no_leading_dot(line: bytes) -> bytes:
    """The line with a leading "." as ``=2E``, with a soft break after it when the line would pass 76 octets."""
    if not line.startswith(b"."):
        return line
    rest = line[1:]
    if len(rest) + 3 <= QP_LINE:
        return b"=2E" + rest
    return b"=2E=" + CRLF + _no_leading_dot(rest)


def _escape(text: str) -> str:
    return html.escape(text) if _HTML_SPECIAL.search(text) else text


def display_address(name: str | None, email: str) -> str:
    """``"Name" <email>``, with the name as an RFC 2047 encoded word when it is not plain ASCII."""
    if not name:
        return email
    name = single_line(name)
    if _SAFE_PHRASE.fullmatch(name):
        escaped = name.replace("\\", "\\\\").replace('"', '\\"')
        # Folded before the address when "To: " and all would pass 78 characters (RFC 5322 2.1.1).
        return f'"{escaped}"{" " if len(escaped) + len(email) < 68 else CRLF.decode() + " "}<{email}>'
    return f"{encoded_words(name)} <{email}>"


def encoded_words(text: str, budget: int = 45) -> str:
    """RFC 2047 B-encoded words of at most ``budget`` source bytes each, folded with CRLF SP."""
    words: list[str] = []
    chunk = ""
    for ch in text:
        if len((chunk + ch).encode("utf-8")) > budget:
            words.append(chunk)
            chunk = ""
        chunk += ch
    words.append(chunk)
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(w.encode('utf-8')).decode('ascii')}?=" for w in words)


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageParts:
    """Everything about one issue's message that is the same for every recipient."""

    issue_id: str
    subject: str
    html: str
    text: str
    sender: Address
    list_id: str
    list_name: str
    base_url: str
    date: datetime
    # An address whose mail unsubscribes the sender (RFC 2369's mailto), only if something reads it: never a dead one.
    unsubscribe_mailto: str | None = None
    # [bounces]: each copy's envelope sender is bounce_address with "+<token>" (VERP), its mailto unsubscribe_address so.
    bounce_address: str | None = None
    unsubscribe_address: str | None = None


class CompiledMessage:
    """One issue's message, ready to be filled in per recipient with :meth:`render`."""

    def __init__(
        self,
        parts: MessageParts,
        signer: Signer | None,
        *,
        test: bool = False,
        mark: str = "[TEST]",
        headers: bytes | None = None,
        html_pieces: list[bytes | Fill] | None = None,
        text_pieces: list[bytes | Fill] | None = None,
        dkim: DkimSigner | None = None,
        return_paths: ReturnPathSigner | None = None,
    ) -> None:
        self.parts = parts
        self.dkim = dkim
        # VERP and the per-copy mailto: only for real copies of an issue with [bounces] set.
        self.return_paths = return_paths if (parts.bounce_address and parts.unsubscribe_address and not test) else None
        self.signer = signer
        self.test = test
        self.mark = mark  # a test copy's Subject prefix: [TEST], or [DRAFT] for the editors' draft
        self.domain = parts.sender.domain
        self.envelope_sender = parts.bounce_address or parts.sender.addr_spec
        self._bounce_local, _, self._bounce_domain = (parts.bounce_address or "").partition("@")
        self._unsub_local, _, self._unsub_domain = (parts.unsubscribe_address or "").partition("@")
        self._unsubscribe_base = parts.base_url + routes.UNSUBSCRIBE.prefix
        self._preferences_base = parts.base_url + routes.PREFERENCES.prefix
        mailto = parts.unsubscribe_address or parts.unsubscribe_mailto
        self._mailto = f",\r\n <mailto:{mailto}?subject=unsubscribe>" if mailto else ""
        self._id_key = hashlib.blake2s(f"{parts.issue_id}\0{parts.list_id}".encode(), digest_size=16).digest()
        boundary = "=_digest_" + secrets.token_hex(12)  # "=_" can never occur in quoted-printable text
        self.boundary = boundary
        self.chunks: list[bytes | Fill] = []
        self.headers = headers if headers is not None else self._static_headers()
        self._compile(boundary, html_pieces, text_pieces)

    def with_bodies(self, html: list[bytes | Fill], text: str, text_pieces: list[bytes | Fill] | None = None) -> CompiledMessage:
        """The same message with other bodies (a theme view): the HTML as :func:`body_pieces`, the headers as they are;
        the text as it is, and encoded already when ``text_pieces`` (:func:`text_body_pieces` of it) are given."""
        parts = dataclasses.replace(self.parts, html="", text=text)
        return CompiledMessage(
            parts,
            self.signer,
            test=self.test,
            mark=self.mark,
            headers=self.headers,
            html_pieces=html,
            text_pieces=text_pieces,
            dkim=self.dkim,
            return_paths=self.return_paths,
        )

    # -- compile once -------------------------------------------------------

    def _static_headers(self) -> bytes:
        head = EmailMessage(policy=SMTP)
        head["From"] = self.parts.sender
        head["Subject"] = single_line((f"{self.mark} " if self.test else "") + self.parts.subject)
        head["Date"] = format_datetime(self.parts.date)
        head["List-Id"] = f"{single_line(self.parts.list_name)} <{self.parts.list_id}>"
        head["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        head["MIME-Version"] = "1.0"
        # Gmail's Postmaster Tools group complaints by it: campaign (the issue), list, product, sender.
        # The list is named by its List-Id less the sender's domain, which the last field carries: the value
        # then fits one line of 78 for any usual name, and it has no space to fold at.
        list_label = self.parts.list_id.removesuffix(f".{self.domain}") or self.parts.list_id
        feedback = f"{self.parts.issue_id}:{list_label}:digest:{self.domain}"
        if not feedback.isascii():
            head["Feedback-ID"] = feedback
        # The email package folds and RFC 2047-encodes these; the blank line it ends with is ours to add.
        folded = head.as_bytes().rstrip(CRLF) + CRLF
        if feedback.isascii():
            # One token with no space to fold at: the email package would break the line right after the
            # colon, and the value would then parse with a leading space. On one line it stays far below
            # RFC 5322's 998-character limit (the 78 it advises is a SHOULD).
            folded += b"Feedback-ID: " + feedback.encode("ascii") + CRLF
        return folded

    def _compile(self, boundary: str, html: list[bytes | Fill] | None, text_pieces: list[bytes | Fill] | None) -> None:
        out: list[bytes | Fill] = []
        # The From header ends at the first line break that no folding space follows.
        split = _HEADER_END.search(self.headers)
        assert split is not None
        from_header, rest = self.headers[: split.end()], self.headers[split.end() :]
        content_type = f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"'.encode() + CRLF
        out += [from_header + b"To: ", Fill.TO, CRLF + rest, b"Message-ID: ", Fill.MESSAGE_ID, CRLF]
        out += [b"List-Unsubscribe: ", Fill.LIST_UNSUBSCRIBE, CRLF, content_type + CRLF]
        # Each header in order, a fill.s value filled in per copy: what a DKIM signature covers.
        self.header_fields: list[tuple[bytes, bytes | Fill]] = [
            *split_headers(from_header),
            (b"To", Fill.TO),
            *split_headers(rest),
            (b"Message-ID", Fill.MESSAGE_ID),
            (b"List-Unsubscribe", Fill.LIST_UNSUBSCRIBE),
            *split_headers(content_type),
        ]
        body_start = len(out)
        out += [b"This is a multi-part message in MIME format." + CRLF]
        text = text_pieces if text_pieces is not None else body_pieces(self.parts.text, html=False)
        for subtype, pieces in (("plain", text), ("html", html if html is not None else body_pieces(self.parts.html, html=True))):
            out.append(
                f"--{boundary}".encode()
                + CRLF
                + f'Content-Type: text/{subtype}; charset="utf-8"'.encode()
                + CRLF
                + b"Content-Transfer-Encoding: quoted-printable"
                + CRLF
                + CRLF
            )
            out += pieces
            out.append(CRLF)
        out.append(f"--{boundary}--".encode() + CRLF)
        self.body_hash = BodyHasher(out[body_start:]) if self.dkim is not None else None
        self.header_plan = HeaderPlan(self.dkim, self.header_fields) if self.dkim is not None else None
        # Merge neighbouring static chunks so a fill joins as few pieces as possible.
        merged: list[bytes | Fill] = []
        run: list[bytes] = []
        for chunk in out:
            if isinstance(chunk, bytes):
                run.append(chunk)
                continue
            if run:
                merged.append(b"".join(run))
                run = []
            merged.append(chunk)
        if run:
            merged.append(b"".join(run))
        self.chunks = merged
        self.fill_positions = [(i, c) for i, c in enumerate(merged) if isinstance(c, Fill)]

    # -- fill per recipient ---------------------------------------------------

    def token(self, subscriber_id: int, salt: str | None = None) -> str:
        """The reader's signed token: it unsubscribes them and opens their preferences (``test`` in a test copy)."""
        if self.signer is None or self.test:
            return routes.TEST_COPY
        return self.signer.token(subscriber_id, salt)

    def envelope_sender_for(self, subscriber_id: int) -> str:
        """MAIL FROM for one copy: ``bounces+<token>@…`` with [bounces] (so a bounce names its reader), else the sender."""
        if self.return_paths is None:
            return self.envelope_sender
        token = self.return_paths.token("bounces", subscriber_id, self.parts.issue_id)
        return f"{self._bounce_local}+{token}@{self._bounce_domain}"

    def unsubscribe_url(self, subscriber_id: int, salt: str | None = None) -> str:
        return self._unsubscribe_base + self.token(subscriber_id, salt)

    def preferences_url(self, subscriber_id: int, salt: str | None = None) -> str:
        return self._preferences_base + self.token(subscriber_id, salt)

    def message_id(self, subscriber_id: int) -> str:
        """Stable per issue and recipient, so a copy re-sent after a crash can be recognised as the same message."""
        if self.test:
            return f"<{self.parts.issue_id}.test.{secrets.token_hex(8)}@{self.domain}>"
        digest = hashlib.blake2s(str(subscriber_id).encode("ascii"), key=self._id_key, digest_size=10).hexdigest()
        return f"<{self.parts.issue_id}.{digest}@{self.domain}>"

    def _mailto_for(self, subscriber_id: int) -> str:
        if self.return_paths is None:
            return self._mailto
        token = self.return_paths.token("unsubscribe", subscriber_id, self.parts.issue_id)
        return f",\r\n <mailto:{self._unsub_local}+{token}@{self._unsub_domain}?subject=unsubscribe>"

    def render(self, subscriber_id: int, email: str, name: str | None = None, salt: str | None = None) -> bytes:
        """The full message for one recipient, CRLF line ends, ready for DATA."""
        token = self.token(subscriber_id, salt)
        url = self._unsubscribe_base + token
        preferences = self._preferences_base + token
        values = {
            Fill.TO: display_address(name, email).encode("utf-8"),
            Fill.MESSAGE_ID: self.message_id(subscriber_id).encode("ascii"),
            Fill.LIST_UNSUBSCRIBE: f"<{url}>{self._mailto_for(subscriber_id)}".encode("ascii"),
            Fill.TEXT_UNSUBSCRIBE: qp(url),
            Fill.TEXT_EMAIL: qp(email),
            Fill.HTML_UNSUBSCRIBE: qp(_escape(url)),
            Fill.HTML_EMAIL: qp(_escape(email)),
            Fill.TEXT_PREFERENCES: qp(preferences),
            Fill.HTML_PREFERENCES: qp(_escape(preferences)),
        }
        chunks = self.chunks.copy()
        for position, fill in self.fill_positions:
            chunks[position] = values[fill]
        data = b"".join(chunks)  # type: ignore[arg-type]
        if self.dkim is None or self.body_hash is None or self.header_plan is None:
            return data
        plan = self.header_plan
        return sign_canonical(self.dkim, plan.listed, plan.canonical(values), self.body_hash.digest(values)) + data


_FILLS = {
    False: {
        placeholders.UNSUBSCRIBE_URL: Fill.TEXT_UNSUBSCRIBE,
        placeholders.RECIPIENT_EMAIL: Fill.TEXT_EMAIL,
        placeholders.PREFERENCES_URL: Fill.TEXT_PREFERENCES,
    },
    True: {
        placeholders.UNSUBSCRIBE_URL: Fill.HTML_UNSUBSCRIBE,
        placeholders.RECIPIENT_EMAIL: Fill.HTML_EMAIL,
        placeholders.PREFERENCES_URL: Fill.HTML_PREFERENCES,
    },
}
_PLACEHOLDER = re.compile("|".join(re.escape(token) for token in placeholders.ALL))


def body_pieces(body: str, *, html: bool) -> list[bytes | Fill]:
    """A body as quoted-printable pieces and the fills its placeholders become.

    Each piece ends with a line break of its own or a soft one, so pieces of
    several bodies can be joined in any order: a theme view's HTML is
    joined from pieces encoded once per issue (:mod:`digest.send.variants`).
    """
    fills = _FILLS[html]
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    pieces: list[bytes | Fill] = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        segment = text[position : match.start()]
        if segment:
            pieces.append(qp(segment) + (b"" if segment.endswith("\n") else b"=" + CRLF))
        pieces.append(fills[match.group(0)])
        pieces.append(b"=" + CRLF)  # the fill.s encoded value ends with a soft break
        position = match.end()
    tail = text[position:]
    if tail:
        pieces.append(qp(tail) + (b"" if tail.endswith("\n") else b"=" + CRLF))
    return pieces


def reference_message(
    parts: MessageParts, *, name: str | None, email: str, message_id: str, unsubscribe_url: str, preferences_url: str = ""
) -> EmailMessage:
    """The same message built from scratch with the email package: the yardstick in tests and benchmarks."""
    message = EmailMessage(policy=SMTP)
    message["From"] = parts.sender
    message["To"] = Address(display_name=single_line(name or ""), addr_spec=email)
    message["Subject"] = single_line(parts.subject)
    message["Date"] = format_datetime(parts.date)
    message["Message-ID"] = message_id
    message["List-Id"] = f"{single_line(parts.list_name)} <{parts.list_id}>"
    mailto = f", <mailto:{parts.unsubscribe_mailto}?subject=unsubscribe>" if parts.unsubscribe_mailto else ""
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>{mailto}"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"

    def fill(body: str, escape: Callable[[str], str]) -> str:
        return (
            body.replace(placeholders.UNSUBSCRIBE_URL, escape(unsubscribe_url))
            .replace(placeholders.RECIPIENT_EMAIL, escape(email))
            .replace(placeholders.PREFERENCES_URL, escape(preferences_url))
        )

    message.set_content(fill(parts.text, str), subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(fill(parts.html, html.escape), subtype="html", charset="utf-8", cte="quoted-printable")
    return message


def text_body_pieces(body: str, encoded: dict[str, list[bytes | Fill]]) -> list[bytes | Fill]:
    """:func:`body_pieces` of a text body, each paragraph but the last encoded once in ``encoded`` (shared by the views
    of one issue, which repeat the same paragraphs): joined, the same bytes as the body encoded whole.

    Quoted-printable is line by line (the soft breaks, the encoded trailing spaces and leading dots: each depends on
    its own line alone), and each paragraph with the blank line after it ends a line, so it encodes alike wherever it
    stands; the last may end without a line break, so it is encoded as the end of the body. A placeholder has no
    line break in it, so none spans two paragraphs.
    """
    *paragraphs, last = body.replace("\r\n", "\n").replace("\r", "\n").split("\n\n")
    pieces: list[bytes | Fill] = []
    for paragraph in paragraphs:
        found = encoded.get(paragraph)
        if found is None:
            found = encoded[paragraph] = body_pieces(paragraph + "\n\n", html=False)
        pieces += found
    if last:
        pieces += body_pieces(last, html=False)
    return pieces
