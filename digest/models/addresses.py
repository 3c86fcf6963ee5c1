"""Subscriber addresses and names: validated once, on the way in, so the hot loop can trust them.

Address syntax is checked by email-validator (RFC 5322/6531 rules, without
DNS look-ups). Addresses that would need SMTPUTF8 are refused for now: many
servers cannot take them, and a refusal at import is clearer than a bounce.
An internationalised *domain* is fine: the address is kept in its ASCII form
(the domain in IDNA, ``xn--…``), the form SMTP and every header can carry,
so one such reader never stops a send.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from digest.models.errors import AddressError
from digest.models.text import clean_text, single_line

MAX_NAME = 200


def normalise_address(raw: str) -> str:
    """The address as it will be stored and sent to; raises AddressError saying what is wrong."""
    candidate = raw.strip()
    if any(ch in candidate for ch in "\r\n\0"):
        raise AddressError("control characters in an address")
    try:
        result = validate_email(candidate, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise AddressError(str(exc)) from exc
    # With SMTPUTF8 refused, the local part is ASCII and an ASCII form always exists.
    return str(result.ascii_email or result.normalized)


def envelope_form(address: str) -> str:
    """The form a stored address is sent to: itself when ASCII (all of them, since import stores that
    form), else its IDNA form; raises AddressError when it has none (a row stored by an older release)."""
    if address.isascii():
        return address
    return normalise_address(address)


def clean_name(raw: str | None) -> str | None:
    """A display name on one line, at most 200 characters, cleaned as post text is (:mod:`digest.models.text`): no
    control characters (C0, C1), no bidi overrides, zero-width or other invisible characters."""
    if raw is None:
        return None
    name = single_line(clean_text(raw))[:MAX_NAME]
    return name or None
