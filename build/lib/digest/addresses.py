"""Subscriber addresses and names: validated once, on the way in, so the hot loop can trust them.

Address syntax is checked by email-validator (RFC 5322/6531 rules, without
DNS look-ups). Addresses that would need SMTPUTF8 are refused for now: many
servers cannot take them, and a refusal at import is clearer than a bounce.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from digest.mail.message import single_line

MAX_NAME = 200


def normalise_address(raw: str) -> str:
    """The address as it will be stored and sent to; raises ValueError saying what is wrong."""
    candidate = raw.strip()
    if any(ch in candidate for ch in "\r\n\0"):
        raise ValueError("control characters in an address")
    try:
        result = validate_email(candidate, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    return str(result.normalized)


def clean_name(raw: str | None) -> str | None:
    """A display name on one line, without control characters, at most 200 characters."""
    if raw is None:
        return None
    name = single_line(raw)[:MAX_NAME]
    return name or None


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    email: str | None  # None when the row is bad
    name: str | None
    problem: str | None = None


def read_csv(text: str) -> Iterator[Row]:
    """Rows of ``email[,name]`` (a header line is recognised and skipped); bad rows carry their problem."""
    for number, fields in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not fields or not any(f.strip() for f in fields):
            continue
        raw_email = fields[0].strip()
        if number == 1 and "@" not in raw_email and raw_email.lower() in ("email", "e-mail", "address", "email address"):
            continue
        if len(fields) > 2 and any(f.strip() for f in fields[2:]):
            yield Row(number, None, None, f"expected email[,name], got {len(fields)} fields")
            continue
        try:
            email = normalise_address(raw_email)
        except ValueError as exc:
            yield Row(number, None, None, f"{raw_email!r}: {exc}")
            continue
        yield Row(number, email, clean_name(fields[1]) if len(fields) > 1 else None)
