"""Signed unsubscribe tokens: HMAC-SHA256 over the list and the subscriber, checked in constant time.

A token is ``<subscriber id>.<mac>``, the MAC in unpadded base64url, so it
needs no escaping in a URL, a header or quoted-printable text. The MAC covers
the subscriber's own link salt (a random value of their row): a link acts on
the row it was made for and on no other, even one that came to hold its id.
A row from before salts (none stored) keeps the MAC it was signed with.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from functools import lru_cache

from digest.models.errors import ConfigError

_ID = re.compile(r"0|[1-9][0-9]{0,17}", re.ASCII)


def _keyed(key: str, purpose: str, list_id: str) -> hmac.HMAC:
    """The keyed state after a purpose's and a list's fixed prefix: computed once per signer, copied per token."""
    if not key:
        raise ConfigError(["an empty secret key cannot sign anything"])
    return hmac.new(key.encode("utf-8"), f"{purpose}\0{list_id}\0".encode(), hashlib.sha256)


class Signer:
    """Makes and checks tokens for one list with one key; cheap to call per recipient."""

    def __init__(self, key: str, list_id: str) -> None:
        self._base = _keyed(key, "unsubscribe", list_id)

    def _mac(self, subscriber_id: int, salt: str | None) -> str:
        mac = self._base.copy()
        mac.update(str(subscriber_id).encode("ascii"))
        if salt:
            mac.update(b"\0" + salt.encode("ascii"))
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")

    def token(self, subscriber_id: int, salt: str | None = None) -> str:
        return f"{subscriber_id}.{self._mac(subscriber_id, salt)}"

    @staticmethod
    def subscriber_id_of(token: str) -> int | None:
        """The id a token claims (nothing checked yet); None when it is not even shaped like one."""
        number, dot, mac = token.partition(".")
        # Canonical ASCII digits only: str.isdigit() also takes "１" and "٣", and int() would read "01" as 1,
        # so one id had many spellings. There is one token per id, spelled as token() spells it.
        if not dot or not _ID.fullmatch(number) or not mac.isascii():
            return None
        return int(number)

    def matches(self, token: str, subscriber_id: int, salt: str | None) -> bool:
        """Whether ``token`` was made for this subscriber's row (their id and salt), in constant time."""
        if self.subscriber_id_of(token) != subscriber_id:
            return False
        return hmac.compare_digest(self._mac(subscriber_id, salt), token.partition(".")[2])

    def verify(self, token: str) -> int | None:
        """The subscriber id of a token signed without a salt (a row from before v13, tests); None otherwise."""
        subscriber_id = self.subscriber_id_of(token)
        return subscriber_id if subscriber_id is not None and self.matches(token, subscriber_id, None) else None


class ExpiringSigner:
    """Tokens for one purpose ("confirm") that stop working at a set time: ``<id>.<expiry>.<mac>``.

    The expiry (Unix seconds) is inside the MAC, so it cannot be moved; a token
    for another purpose, or an unsubscribe token, never verifies here.
    """

    def __init__(self, key: str, list_id: str, purpose: str) -> None:
        self._base = _keyed(key, purpose, list_id)

    def _mac(self, subscriber_id: int, expires: int) -> str:
        mac = self._base.copy()
        mac.update(f"{subscriber_id}\0{expires}".encode("ascii"))
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")

    def token(self, subscriber_id: int, expires: int) -> str:
        return f"{subscriber_id}.{expires}.{self._mac(subscriber_id, expires)}"

    def check(self, token: str, now: int) -> tuple[int, bool, int] | None:
        """(subscriber id, still valid, expiry) for a genuine token; None for a forged, altered or malformed one."""
        number, _, rest = token.partition(".")
        expires, _, mac = rest.partition(".")
        if not _ID.fullmatch(number) or not _ID.fullmatch(expires) or not mac.isascii():
            return None
        subscriber_id, moment = int(number), int(expires)
        if not hmac.compare_digest(self._mac(subscriber_id, moment), mac):
            return None
        return subscriber_id, now < moment, moment


def address_hash(key: str, address: str) -> str:
    """A keyed hash of an address (case-folded): what the suppression list keeps instead of the address."""
    return hmac.new(key.encode("utf-8"), f"suppress\0{address.casefold()}".encode(), hashlib.sha256).hexdigest()


@lru_cache(maxsize=64)  # one issue per send: computed once, not per recipient
def issue_tag(issue_id: str) -> bytes:
    """Four bytes that name an issue inside a return-path token (the store finds the issue they name)."""
    return hashlib.sha256(issue_id.encode("utf-8")).digest()[:4]


class ReturnPathSigner:
    """Tokens for address local parts (VERP, RFC 2369 mailto): ``bounces+<token>@…``, ``unsubscribe+<token>@…``.

    A token carries a subscriber id and an issue's tag under a 56-bit MAC, in
    lower-case base32 (26 characters), because mail systems may change the
    case of a local part; ``bounces+`` and a token stay far inside the
    64-octet local-part limit. ``purpose`` keeps a bounce token from working
    as an unsubscribe token and the other way round.
    """

    LENGTH = 26
    PATTERN = re.compile(r"\b(bounces|unsubscribe)\+([a-z2-7]{26})@", re.IGNORECASE)

    def __init__(self, key: str, list_id: str) -> None:
        self._base = _keyed(key, "return-path", list_id)

    def _mac(self, purpose: str, payload: bytes) -> bytes:
        mac = self._base.copy()
        mac.update(purpose.encode("ascii") + b"\0" + payload)
        return mac.digest()[:7]

    def token(self, purpose: str, subscriber_id: int, issue_id: str) -> str:
        payload = subscriber_id.to_bytes(5, "big") + issue_tag(issue_id)
        return base64.b32encode(payload + self._mac(purpose, payload)).decode("ascii").rstrip("=").lower()

    def verify(self, purpose: str, token: str) -> tuple[int, bytes] | None:
        """(subscriber id, issue tag) of a genuine token for ``purpose``; None otherwise."""
        if len(token) != self.LENGTH or not token.isascii():
            return None
        try:
            raw = base64.b32decode(token.upper() + "======")
        except ValueError:
            return None
        payload, mac = raw[:9], raw[9:]
        if not hmac.compare_digest(self._mac(purpose, payload), mac):
            return None
        return int.from_bytes(payload[:5], "big"), payload[5:]


_ISSUE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", re.ASCII)


class LinkSigner:
    """Tokens of the click-counting redirect (``/r/<token>``): ``<issue id>.<link number>.<mac>``.

    They name an issue and one of its links, and nothing about the reader:
    every copy of the issue carries the same token for the same link. The
    MAC makes a token for a link that does not exist impossible to make, and
    the destination is read from the frozen issue, never from the token.
    """

    def __init__(self, key: str, list_id: str) -> None:
        self._base = _keyed(key, "click", list_id)

    def _mac(self, issue_id: str, number: int) -> str:
        mac = self._base.copy()
        mac.update(f"{issue_id}\0{number}".encode())
        return base64.urlsafe_b64encode(mac.digest()[:16]).rstrip(b"=").decode("ascii")

    def token(self, issue_id: str, number: int) -> str:
        return f"{issue_id}.{number}.{self._mac(issue_id, number)}"

    def verify(self, token: str) -> tuple[str, int] | None:
        """(issue id, link number) of a genuine token; None for a forged, altered or malformed one."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        issue_id, number, mac = parts
        if not _ISSUE_ID.fullmatch(issue_id) or not _ID.fullmatch(number) or not mac.isascii():
            return None
        return (issue_id, int(number)) if hmac.compare_digest(self._mac(issue_id, int(number)), mac) else None
