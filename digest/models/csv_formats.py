"""Subscriber lists from CSV files: a plain ``email[,name]`` list, or another tool's export as it comes.

- The file is UTF-8 (a byte-order mark is dropped); anything else is refused
  as a whole, naming the first byte that is not UTF-8, its offset and line:
  a guess at another encoding could turn every accented name into nonsense.
- The delimiter is sniffed (``,`` ``;`` or tab). A file whose rows are split
  by another one (``|``, ``^``, ``~``) is refused as a whole, naming it: read
  as one column, ``ann|ann@example.org`` is a valid address, and a wrong one.
- A header row is recognised and its columns mapped: the address from
  ``email``/``Email Address``/``E-mail``/``email_address``, the name from
  ``name``, or ``First Name`` + ``Last Name``, the edition (``daily``, ``monthly``…) from ``edition``; other
  columns are ignored.
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

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from digest.models import SubscriberStatus
from digest.models.addresses import clean_name, normalise_address
from digest.models.errors import ListFileError

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
    edition: str | None = None  # an ``edition`` column's (lower-cased; None: none given): the caller checks the name


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
    edition: int | None = None  # the edition (daily, weekly, monthly…) the reader gets


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
        edition=find({"edition"}),
    )


# The delimiters an import reads, in the words a message uses; and others, which a file is refused for using.
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
FOREIGN_DELIMITERS = "|^~"  # not ":", which names hold ("Ann: editor")
SNIFFED_LINES = 20
READ_DELIMITERS = ", ".join(list(DELIMITERS.values())[:-1]) + f" or {list(DELIMITERS.values())[-1]}"  # "comma, semicolon or tab"


def text_of(data: bytes) -> str:
    """A list file's text: UTF-8, with or without a byte-order mark; raises ListFileError naming the first byte
    that is not UTF-8, its offset and line, and what the file may be in instead."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # utf-8-sig counts its offsets after a byte-order mark (it decodes what follows the mark): the file's are that far on.
        at = exc.start + (len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0)
        line = data.count(b"\n", 0, at) + 1
        start = max(data.rfind(b"\n", 0, at) + 1, len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0)
        end = data.find(b"\n", at)
        guessed = data[start : end if end >= 0 else len(data)].rstrip(b"\r").decode("cp1252", errors="replace")[:120]
        shown = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in guessed)  # nothing raw reaches a terminal
        raise ListFileError(
            line,
            f"byte 0x{data[at]:02x} at offset {at} is not UTF-8, the encoding an import reads "
            f'(read as Windows-1252 or Latin-1, the line is "{shown}"); save the file as UTF-8 and import it again',
        ) from None


def sniff_dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    """The file's dialect, from its first lines: comma, semicolon or tab separated; raises ListFileError when the
    rows are split by a delimiter an import does not read."""
    lines = [line for line in text.splitlines()[:SNIFFED_LINES] if line.strip()]
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters="".join(DELIMITERS))
    except csv.Error:
        pass  # one column, or nothing to tell by: commas, unless another delimiter splits every row
    for char in FOREIGN_DELIMITERS:
        # Every line, or all but one of three or more: a one-column header ("email") above rows split by it.
        having = sum(char in line for line in lines)
        if lines and having >= (len(lines) if len(lines) <= 2 else len(lines) - 1):
            raise ListFileError(
                1,
                f"the rows are split by {char!r} ({having} of the first {len(lines)} non-blank lines have it, and no "
                f"{READ_DELIMITERS} splits them the same way); an import reads {READ_DELIMITERS} separated files: save it "
                "with one of those and import it again",
            )
    return csv.excel


def read_csv(text: str) -> Iterator[Row]:
    """Every non-blank row of a subscriber CSV, good or bad, with the line it starts on (a quoted field may hold
    line breaks); raises ListFileError for a file it cannot read as a whole (see :func:`sniff_dialect`)."""
    text = text.removeprefix("\ufeff")
    dialect = sniff_dialect(text)
    split = f"split by {DELIMITERS.get(str(dialect.delimiter), repr(dialect.delimiter))}"  # in a bad row's message
    reader = csv.reader(io.StringIO(text), dialect)
    columns: Columns | None = None
    first, ended = True, 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ListFileError(reader.line_num, f"{exc}; nothing imported") from None
        number, ended = ended + 1, reader.line_num
        if not fields or not any(f.strip() for f in fields):
            continue
        if first and (columns := columns_of(fields)) is not None:
            first = False
            continue
        first = False
        yield _mapped(number, fields, columns, split) if columns is not None else _plain(number, fields, split)


def _plain(number: int, fields: list[str], split: str) -> Row:
    """A row of a file without a header: ``email[,name]``."""
    if len(fields) > 2 and any(f.strip() for f in fields[2:]):
        return Row(number, None, None, problem=f"expected email[,name], got {len(fields)} fields {split}")
    return _row(number, fields[0], fields[1] if len(fields) > 1 else None, SubscriberStatus.ACTIVE)


def _mapped(number: int, fields: list[str], columns: Columns, split: str) -> Row:
    def cell(index: int | None) -> str:
        return fields[index].strip() if index is not None and index < len(fields) else ""

    if len(fields) > columns.width and any(f.strip() for f in fields[columns.width :]):
        return Row(number, None, None, problem=f"expected {columns.layout}, got {len(fields)} fields {split}")
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
    row = _row(number, cell(columns.email), name or None, status or SubscriberStatus.ACTIVE)
    edition = cell(columns.edition).casefold()
    return replace(row, edition=edition) if edition and row.email is not None else row


def _row(number: int, raw_email: str, raw_name: str | None, status: SubscriberStatus) -> Row:
    try:
        email = normalise_address(raw_email.strip())
    except ValueError as exc:
        return Row(number, None, None, problem=f"{raw_email.strip()!r}: {exc}")
    return Row(number, email, clean_name(raw_name), status)
