"""Subscriber lists from CSV files: a plain ``email[,name]`` list, or another tool's export as it comes.

- The delimiter is sniffed (``,`` ``;`` or tab); a byte-order mark is dropped.
- A header row is recognised and its columns mapped: the address from
  ``email``/``Email Address``/``E-mail``/``email_address``, the name from
  ``name``, or ``First Name`` + ``Last Name``; other columns are ignored.
- Where an export says someone left, the row keeps that: Mailchimp's
  unsubscribed and cleaned exports (``UNSUB_TIME``, ``CLEAN_TIME``),
  listmonk's ``status`` (``blocklisted``), Buttondown's ``subscriber_type``
  (``unsubscribed``). Such a row is imported as unsubscribed or bounced, so
  they are never mailed and a later import cannot add them as new. Someone
  who never confirmed (``unactivated``, ``pending``) is skipped. A status
  this module does not know is a bad row, never a guess.

Without a header, each row is ``email[,name]``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

from digest.models import SubscriberStatus
from digest.subscribers.addresses import clean_name, normalise_address

_EMAIL = {"email", "email address", "e mail", "e mail address", "mail", "emailaddress"}
_NAME = {"name", "full name", "display name"}
_FIRST = {"first name", "firstname", "fname", "given name"}
_LAST = {"last name", "lastname", "lname", "surname", "family name"}
_STATUS = {"status", "subscriber type", "subscription status"}
_UNSUBSCRIBED_AT = {"unsub time"}  # Mailchimp's unsubscribed export
_CLEANED_AT = {"clean time"}  # Mailchimp's cleaned (bounced) export

# What an export's status means here; None: not a subscriber yet (never confirmed), skipped.
STATUSES: dict[str, SubscriberStatus | None] = {
    "active": SubscriberStatus.ACTIVE,
    "subscribed": SubscriberStatus.ACTIVE,
    "enabled": SubscriberStatus.ACTIVE,  # listmonk
    "confirmed": SubscriberStatus.ACTIVE,
    "regular": SubscriberStatus.ACTIVE,  # Buttondown
    "premium": SubscriberStatus.ACTIVE,
    "gifted": SubscriberStatus.ACTIVE,
    "trialed": SubscriberStatus.ACTIVE,
    "churning": SubscriberStatus.ACTIVE,
    "past due": SubscriberStatus.ACTIVE,
    "unsubscribed": SubscriberStatus.UNSUBSCRIBED,
    "blocklisted": SubscriberStatus.UNSUBSCRIBED,  # listmonk
    "blacklisted": SubscriberStatus.UNSUBSCRIBED,
    "disabled": SubscriberStatus.UNSUBSCRIBED,
    "removed": SubscriberStatus.UNSUBSCRIBED,
    "churned": SubscriberStatus.UNSUBSCRIBED,
    "complained": SubscriberStatus.UNSUBSCRIBED,
    "spammy": SubscriberStatus.UNSUBSCRIBED,
    "bounced": SubscriberStatus.BOUNCED,
    "cleaned": SubscriberStatus.BOUNCED,
    "undeliverable": SubscriberStatus.BOUNCED,
    "pending": None,
    "unconfirmed": None,
    "unactivated": None,  # Buttondown: never confirmed the double opt-in
}


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    email: str | None  # None when the row is bad or skipped
    name: str | None
    status: SubscriberStatus = SubscriberStatus.ACTIVE
    problem: str | None = None  # a bad row
    skipped: str | None = None  # a good row that is not a subscriber (never confirmed)


@dataclass(frozen=True, slots=True)
class Columns:
    """Where each field is in a header row."""

    email: int
    width: int  # how many fields the header has: a longer row is malformed (an unquoted comma, say)
    layout: str  # how a message names the expected fields
    name: int | None = None
    first: int | None = None
    last: int | None = None
    status: int | None = None
    export_status: SubscriberStatus | None = None  # the whole file's, from a Mailchimp export's marker column


def _label(header: str) -> str:
    return re.sub(r"[\s_\-]+", " ", header.strip().strip('"').casefold()).strip()


def columns_of(header: list[str]) -> Columns | None:
    """The mapping of a header row, or None if the row is not a header (no column names an address)."""
    labels = [_label(cell) for cell in header]

    def find(names: set[str]) -> int | None:
        return next((i for i, label in enumerate(labels) if label in names), None)

    email = find(_EMAIL)
    if email is None:  # "address" alone, only when no column says email (Mailchimp has a postal "Address" too)
        email = find({"address"})
    if email is None or any("@" in cell for cell in header):
        return None
    export_status = None
    if find(_CLEANED_AT) is not None:
        export_status = SubscriberStatus.BOUNCED
    elif find(_UNSUBSCRIBED_AT) is not None:
        export_status = SubscriberStatus.UNSUBSCRIBED
    layout = "email[,name]" if labels in (["email"], ["email", "name"]) else f"{len(header)} fields as in the header"
    return Columns(
        email=email,
        width=len(header),
        layout=layout,
        name=find(_NAME),
        first=find(_FIRST),
        last=find(_LAST),
        status=find(_STATUS),
        export_status=export_status,
    )


def sniff_dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    """The file's dialect, from its first lines: comma, semicolon or tab separated."""
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        return csv.excel  # one column, or nothing to tell by: commas


def read_csv(text: str) -> Iterator[Row]:
    """Every non-blank row of a subscriber CSV, good or bad, with its line number."""
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text), sniff_dialect(text))
    columns: Columns | None = None
    for number, fields in enumerate(reader, start=1):
        if not fields or not any(f.strip() for f in fields):
            continue
        if number == 1 and (columns := columns_of(fields)) is not None:
            continue
        yield _mapped(number, fields, columns) if columns is not None else _plain(number, fields)


def _plain(number: int, fields: list[str]) -> Row:
    """A row of a file without a header: ``email[,name]``."""
    if len(fields) > 2 and any(f.strip() for f in fields[2:]):
        return Row(number, None, None, problem=f"expected email[,name], got {len(fields)} fields")
    return _row(number, fields[0], fields[1] if len(fields) > 1 else None, SubscriberStatus.ACTIVE)


def _mapped(number: int, fields: list[str], columns: Columns) -> Row:
    def cell(index: int | None) -> str:
        return fields[index].strip() if index is not None and index < len(fields) else ""

    if len(fields) > columns.width and any(f.strip() for f in fields[columns.width :]):
        return Row(number, None, None, problem=f"expected {columns.layout}, got {len(fields)} fields")
    if columns.email >= len(fields):
        return Row(number, None, None, problem=f"no address: the row has {len(fields)} field(s), the address is column {columns.email + 1}")
    name = cell(columns.name) or " ".join(part for part in (cell(columns.first), cell(columns.last)) if part)
    status: SubscriberStatus | None = columns.export_status or SubscriberStatus.ACTIVE
    if columns.status is not None and (raw := cell(columns.status)):
        label = _label(raw)
        if label not in STATUSES:
            return Row(number, None, None, problem=f'unknown status "{raw}" (known: {", ".join(sorted(STATUSES))}); not imported')
        status = STATUSES[label]
        if status is None:
            return Row(number, None, None, skipped=f'{cell(columns.email)} is "{raw}" (never confirmed): not imported')
    return _row(number, cell(columns.email), name or None, status or SubscriberStatus.ACTIVE)


def _row(number: int, raw_email: str, raw_name: str | None, status: SubscriberStatus) -> Row:
    try:
        email = normalise_address(raw_email.strip())
    except ValueError as exc:
        return Row(number, None, None, problem=f"{raw_email.strip()!r}: {exc}")
    return Row(number, email, clean_name(raw_name), status)
