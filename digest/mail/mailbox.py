"""The bounce mailbox read over IMAP (TLS, certificates checked), each message handed on and filed away.

Every message in the folder (``INBOX``) is read (``BODY.PEEK[]``, so a
failure leaves it unread and in place), handed to the caller's handler
(:func:`digest.app.bounces.fetch_mailbox` processes it), and moved: to
``Processed`` when digest understood it (bounces, complaints, unsubscribes,
auto-replies), to ``Unrecognised`` for a person to look at (a bounce or
complaint that carried no token of ours, listed by ``digest bounces
review``; a message the parsers cannot take apart), so no message stays in
the folder to stop every later fetch. A message is only moved after the
handler returned; one handled but not moved (the connection dropped) is read
again next time and found to be a duplicate, so nothing counts twice.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from collections.abc import Callable

from digest.config import BounceOptions
from digest.models.errors import DeliveryError

PROCESSED, UNRECOGNISED = "Processed", "Unrecognised"
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")


# Told each raw message and its UID (``<UIDVALIDITY>:<uid>``): whether digest understood it (filed under
# Processed) or a person should look at it (Unrecognised). A failure of ours (the database) is raised, and
# the message stays in the folder for the next fetch.
Handler = Callable[[bytes, str], bool]


def fetch(options: BounceOptions, handle: Handler) -> int:
    """Hand every message waiting in the bounce mailbox to ``handle`` and file it; how many were read.
    Raises DeliveryError when IMAP fails."""
    if not options.imap_host:
        raise DeliveryError("IMAP_HOST is not set: there is no bounce mailbox to read (set IMAP_HOST, IMAP_USERNAME, IMAP_PASSWORD)")
    context = ssl.create_default_context(cafile=str(options.imap_ca_file) if options.imap_ca_file else None)
    try:
        client = imaplib.IMAP4_SSL(options.imap_host, options.imap_port, ssl_context=context, timeout=30)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise DeliveryError(f"cannot reach the IMAP server {options.imap_host}:{options.imap_port}: {exc}") from exc
    try:
        prefix = _open_folder(client, options)
        return _file_each(client, prefix, handle)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise DeliveryError(f"the IMAP conversation with {options.imap_host} failed: {exc}") from exc
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            client.logout()


def log_in(options: BounceOptions) -> str | None:
    """Whether ``digest bounces fetch`` can log in and open its folder (read-only: nothing is read or moved);
    None when it can, else what failed. Never raises."""
    context = ssl.create_default_context(cafile=str(options.imap_ca_file) if options.imap_ca_file else None)
    try:
        client = imaplib.IMAP4_SSL(options.imap_host, options.imap_port, ssl_context=context, timeout=15)
    except (OSError, imaplib.IMAP4.error) as exc:
        return f"cannot reach the IMAP server {options.imap_host}:{options.imap_port}: {exc}"
    try:
        client.login(options.imap_username or "", options.imap_password or "")
        kind, data = client.select(options.imap_folder, readonly=True)
        return None if kind == "OK" else f"cannot open the IMAP folder {options.imap_folder!r}: {_text(data)}"
    except imaplib.IMAP4.error as exc:
        return f"the IMAP server refused the login of {options.imap_username!r}: {_text(exc)}"
    except OSError as exc:
        return f"the IMAP conversation with {options.imap_host} failed: {exc}"
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            client.logout()


def _open_folder(client: imaplib.IMAP4_SSL, options: BounceOptions) -> str:
    """Log in, make the two folders messages are filed in, select the one read; its UIDVALIDITY, for the UIDs."""
    try:
        client.login(options.imap_username or "", options.imap_password or "")
    except imaplib.IMAP4.error as exc:
        raise DeliveryError(f"the IMAP server refused the login of {options.imap_username!r}: {_text(exc)}") from exc
    for folder in (PROCESSED, UNRECOGNISED):
        client.create(folder)  # "already exists" is an answer, not a failure
    kind, data = client.select(options.imap_folder)
    if kind != "OK":
        raise DeliveryError(f"cannot open the IMAP folder {options.imap_folder!r}: {_text(data)}")
    validity = _UIDVALIDITY.search(b" ".join(d for d in client.response("UIDVALIDITY")[1] if isinstance(d, bytes)) or b"")
    return validity.group(1).decode() if validity else "0"


def _file_each(client: imaplib.IMAP4_SSL, prefix: str, handle: Handler) -> int:
    """Each message handed on, then moved (or copied and expunged, without MOVE) to where the handler says."""
    kind, data = client.uid("SEARCH", "ALL")
    uids = [uid.decode() for uid in data[0].split()] if kind == "OK" and data and data[0] else []
    can_move = "MOVE" in client.capabilities
    read = 0
    for uid in uids:
        kind, parts = client.uid("FETCH", uid, "(BODY.PEEK[])")
        raw = next((part[1] for part in parts if isinstance(part, tuple) and isinstance(part[1], bytes)), None)
        if kind != "OK" or raw is None:
            continue
        read += 1
        target = PROCESSED if handle(raw, f"{prefix}:{uid}") else UNRECOGNISED
        if can_move:
            client.uid("MOVE", uid, target)
        else:
            client.uid("COPY", uid, target)
            client.uid("STORE", uid, "+FLAGS", r"(\Deleted)")
    if not can_move and uids:
        client.expunge()
    return read


def _text(value: object) -> str:
    if isinstance(value, BaseException):
        value = value.args[0] if value.args else value
    if isinstance(value, list):
        value = b" ".join(v for v in value if isinstance(v, bytes))
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
