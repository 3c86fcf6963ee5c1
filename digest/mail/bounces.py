"""What one message that came back says: a bounce (hard or soft), a complaint, a mailed unsubscribe, or nothing.

One parser for both ways bounces arrive (piped in by the MTA, fetched over
IMAP). In order:

1. ARF (RFC 5965): ``multipart/report; report-type=feedback-report`` from a
   feedback loop: a complaint (``Feedback-Type: abuse``, ``fraud``, …).
2. DSN (RFC 3464): ``multipart/report; report-type=delivery-status``: per
   recipient ``Action``, ``Status`` and ``Diagnostic-Code``; ``failed`` with
   5.x.x is hard, with 4.x.x (or ``delayed``) soft.
3. Mail to ``unsubscribe+<token>@…`` (List-Unsubscribe's mailto, RFC 2369).
4. The many bounces that follow no standard: flufl.bounce (Mailman's
   detectors) names the failed addresses, permanent or temporary.
5. Auto-replies (RFC 3834 ``Auto-Submitted``, vacation notices): ignored.

Who it is about comes only from a signed return-path token (VERP,
:class:`digest.models.tokens.ReturnPathSigner`) that verifies, found where a forger
cannot put one of someone else's: the envelope recipient and the recipient
headers the MTA adds (a bounce goes to the copy's own ``bounces+<token>``
address), or the headers of the returned original message (its Return-Path
or its List-Unsubscribe mailto, as a feedback loop returns them). The
addresses and Message-IDs a report names are kept (``Reading.addresses``,
``Reading.message_ids``) for a person to review; they never decide alone.

Auto-replies (RFC 3834 ``Auto-Submitted``, ``X-Autoreply``, vacation
notices) are recognised before the heuristic detectors run: a vacation notice
that quotes an error line is not a bounce. A mail system's own bounce carries
``Auto-Submitted: auto-replied`` too; it is told apart by its sender (the
mailer daemon, the postmaster) or Exim's ``X-Failed-Recipients``.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import hashlib
import logging
import re
from dataclasses import dataclass
from email.message import Message
from enum import StrEnum

from digest.models.text import storable
from digest.models.tokens import ReturnPathSigner

# flufl.bounce logs every detector's failure with a traceback before raising it; the caller
# (digest.app.bounces.read_safely) records the reason with the message, once, without a traceback.
logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)


class EventKind(StrEnum):
    HARD = "hard"  # a permanent failure: the subscriber is marked bounced
    SOFT = "soft"  # a temporary one: bounces.soft_limit of them within bounces.soft_days make a hard one
    COMPLAINT = "complaint"  # marked as spam: unsubscribed at once
    UNSUBSCRIBE = "unsubscribe"  # a mail to the List-Unsubscribe address
    AUTO_REPLY = "auto-reply"  # a vacation notice and the like: nothing to do
    UNRECOGNISED = "unrecognised"  # nothing digest can act on (kept aside for a person)


@dataclass(frozen=True, slots=True)
class TokenRef:
    """A genuine return-path token found in the message."""

    purpose: str  # "bounces" or "unsubscribe"
    subscriber_id: int
    issue_tag: bytes
    in_recipient: bool  # found in the message's own recipient headers, not quoted in its body


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    kind: EventKind
    key: str  # what makes it the same message read twice: its Message-ID, or a hash of its bytes
    status: str | None = None  # the enhanced status code, 5.1.1
    diagnostic: str = ""
    refs: tuple[TokenRef, ...] = ()
    addresses: tuple[str, ...] = ()  # the failed (or complaining) addresses the report names: for review only
    original_message_id: str | None = None  # of the message that bounced or was complained about, when quoted

    def __post_init__(self) -> None:
        # Every text a reading carries came from a stranger's mail and is stored as it is: here, once, it is made
        # storable (a NUL in a Message-ID made PostgreSQL refuse the row and stopped every later message).
        for name in ("key", "status", "diagnostic", "original_message_id"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, storable(value))
        object.__setattr__(self, "addresses", tuple(storable(address) for address in self.addresses))

    @property
    def ref(self) -> TokenRef | None:
        """The token that says who this is about: one in the recipient headers first."""
        return next((r for r in self.refs if r.in_recipient), None) or (self.refs[0] if self.refs else None)


RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")
# Where our token sits in the copy we sent, as a report quotes it back: the envelope sender the receiving
# MTA recorded, and the List-Unsubscribe mailto (feedback loops often strip the rest).
ORIGINAL_HEADERS = ("Return-Path", "List-Unsubscribe")
MAIL_SYSTEMS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon", "mdaemon")
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_SPACE = re.compile(r"\s+")


def read_message(raw: bytes, tokens: ReturnPathSigner, *, recipient: str | None = None) -> Reading:
    """Classify one raw RFC 5322 message. ``recipient``: the envelope recipient, when the MTA gives it.

    The third-party parsers may raise on hostile input: :func:`digest.app.bounces.read_safely` wraps this.
    """
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    key = _key(message, raw)
    original = _original(message)
    refs = _tokens_of(message, original, tokens, recipient)
    report = message.get_param("report-type", header="content-type") if message.get_content_type() == "multipart/report" else None
    report_type = str(report).lower() if isinstance(report, str) else ""
    if report_type == "feedback-report":
        return _complaint(message, key, refs)
    if report_type == "delivery-status" and (found := _delivery_status(message, key, refs)) is not None:
        return found
    if any(r.purpose == "unsubscribe" and r.in_recipient for r in refs):
        return Reading(kind=EventKind.UNSUBSCRIBE, key=key, refs=refs, diagnostic=_first_words(message))
    subject = _clean(str(message.get("Subject", "")))
    if _is_auto_reply(message):
        return Reading(kind=EventKind.AUTO_REPLY, key=key, refs=refs, diagnostic=subject)
    return _nonstandard(message, original, key, refs) or Reading(kind=EventKind.UNRECOGNISED, key=key, refs=refs, diagnostic=subject)


def _tokens_of(message: Message, original: Message | None, tokens: ReturnPathSigner, recipient: str | None) -> tuple[TokenRef, ...]:
    """Our verified tokens where a forger cannot put someone else's: the recipient headers, then the headers of
    the returned original (a token quoted anywhere else counts for nothing)."""
    recipients = [recipient or ""] + [str(value) for name in RECIPIENT_HEADERS for value in message.get_all(name, [])]
    refs = _refs(tokens, " ".join(recipients), in_recipient=True)
    if original is None:
        return refs
    quoted = " ".join(str(value) for name in ORIGINAL_HEADERS for value in original.get_all(name, []))
    named = {(r.purpose, r.subscriber_id) for r in refs}
    return refs + tuple(r for r in _refs(tokens, quoted, in_recipient=False) if (r.purpose, r.subscriber_id) not in named)


def _nonstandard(message: Message, original: Message | None, key: str, refs: tuple[TokenRef, ...]) -> Reading | None:
    """A bounce in one of the older formats flufl.bounce's detectors know (permanent or temporary), or None."""
    from flufl.bounce import all_failures  # here: its detectors cost a tenth of a second, which `digest status` never needs

    temporary, permanent = all_failures(message)
    if not (permanent or temporary):
        return None
    hard = bool(permanent)
    status = _STATUS.search(_text_of(message))
    return Reading(
        kind=EventKind.HARD if hard else EventKind.SOFT,
        key=key,
        status=status.group(0) if status and status.group(1) == ("5" if hard else "4") else ("5.0.0" if hard else "4.0.0"),
        diagnostic=_first_words(message),
        refs=refs,
        addresses=tuple(sorted(a.decode("utf-8", "replace") for a in (permanent or temporary))),
        original_message_id=_message_id_of(original),
    )


def _key(message: Message, raw: bytes) -> str:
    message_id = _clean(str(message.get("Message-ID", "")))
    return message_id[:200] if message_id else "sha256:" + hashlib.sha256(raw).hexdigest()


def _refs(tokens: ReturnPathSigner, text: str, *, in_recipient: bool) -> tuple[TokenRef, ...]:
    found: list[TokenRef] = []
    for match in ReturnPathSigner.PATTERN.finditer(text):
        purpose = match.group(1).lower()
        checked = tokens.verify(purpose, match.group(2).lower())
        if checked is not None and all((r.purpose, r.subscriber_id) != (purpose, checked[0]) for r in found):
            found.append(TokenRef(purpose, checked[0], checked[1], in_recipient))
    return tuple(found)


def _parts(message: Message, content_type: str) -> list[Message]:
    return [part for part in message.walk() if part.get_content_type() == content_type]


def _blocks(part: Message) -> list[Message]:
    """The field blocks of a message/delivery-status or message/feedback-report part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    text = payload if isinstance(payload, str) else ""
    return [email.message_from_string(block.strip() + "\n\n") for block in re.split(r"\r?\n\s*\r?\n", text) if block.strip()]


def _delivery_status(message: Message, key: str, refs: tuple[TokenRef, ...]) -> Reading | None:
    worst: tuple[int, str, str] | None = None  # (severity, status, diagnostic)
    addresses: list[str] = []
    for part in _parts(message, "message/delivery-status"):
        for block in _blocks(part):
            action = _clean(str(block.get("Action", ""))).lower()
            if not action:
                continue
            status_field = _STATUS.search(str(block.get("Status", "")))
            status = status_field.group(0) if status_field else ("5.0.0" if action == "failed" else "4.0.0")
            if action == "failed":
                severity = 2 if status.startswith("5") else 1
            elif action == "delayed":
                severity = 1
            else:
                continue  # delivered, relayed, expanded: not a failure
            diagnostic = _clean(str(block.get("Diagnostic-Code", "")).partition(";")[2] or str(block.get("Diagnostic-Code", "")))
            final = str(block.get("Final-Recipient", "") or block.get("Original-Recipient", "")).partition(";")[2].strip()
            if final:
                addresses.append(final.strip("<>"))
            if worst is None or severity > worst[0]:
                worst = (severity, status, diagnostic)
    if worst is None:
        return None
    return Reading(
        kind=EventKind.HARD if worst[0] == 2 else EventKind.SOFT,
        key=key,
        status=worst[1],
        diagnostic=worst[2],
        refs=refs,
        addresses=tuple(addresses),
        original_message_id=_original_message_id(message),
    )


def _complaint(message: Message, key: str, refs: tuple[TokenRef, ...]) -> Reading:
    feedback_type, addresses, source = "", [], ""
    for part in _parts(message, "message/feedback-report"):
        for block in _blocks(part):
            feedback_type = feedback_type or _clean(str(block.get("Feedback-Type", ""))).lower()
            source = source or _clean(str(block.get("Reported-Domain", "") or block.get("User-Agent", "")))
            addresses += [_clean(str(v)).strip("<>") for v in block.get_all("Original-Rcpt-To", [])]
    original = _original(message)
    if original is not None and not addresses and original.get("To"):
        addresses.append(email.utils.parseaddr(str(original.get("To")))[1])
    kind = EventKind.UNRECOGNISED if feedback_type == "not-spam" else EventKind.COMPLAINT
    return Reading(
        kind=kind,
        key=key,
        diagnostic=f"feedback report ({feedback_type or 'no type'})" + (f" via {source}" if source else ""),
        refs=refs,
        addresses=tuple(a for a in addresses if a),
        original_message_id=_original_message_id(message),
    )


def _original(message: Message) -> Message | None:
    """The message that bounced or was complained about, as the report quotes it (whole, or its headers)."""
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
        if kind == "text/rfc822-headers":
            text = part.get_payload(decode=True)
            if isinstance(text, bytes):
                return email.message_from_bytes(text + b"\n\n", policy=email.policy.compat32)
    return None


def _original_message_id(message: Message) -> str | None:
    return _message_id_of(_original(message))


def _message_id_of(original: Message | None) -> str | None:
    value = _clean(str(original.get("Message-ID", ""))) if original is not None else ""
    return value or None


def _is_auto_reply(message: Message) -> bool:
    """A vacation notice or another automatic answer, as opposed to a mail system's bounce."""
    if message.get("X-Failed-Recipients") or _from_mail_system(message):
        return False
    auto = _clean(str(message.get("Auto-Submitted", ""))).lower()
    if auto and auto != "no":
        return True
    if message.get("X-Autoreply") or message.get("X-Autorespond"):
        return True
    return _clean(str(message.get("Precedence", ""))).lower() in ("auto_reply", "bulk", "junk")


def _from_mail_system(message: Message) -> bool:
    sender = email.utils.parseaddr(str(message.get("From", "")))[1].lower()
    return sender.partition("@")[0] in MAIL_SYSTEMS


def _text_of(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return ""


def _first_words(message: Message, limit: int = 300) -> str:
    return _clean(_text_of(message))[:limit]


def _clean(text: str) -> str:
    return _SPACE.sub(" ", text).strip()
