"""The HTTP API's tokens and its audit log: who may call it, with which scopes, and what each call did.

A token is ``dgt_`` + a public part (12 hex digits: finds its row) + ``_`` + a secret part (32 random bytes). Only
the SHA-256 of the whole token is stored, compared in constant time: the secret has 256 bits of entropy, so a
plain hash is as good as a slow one, and a stolen database gives no token. The token is shown once, when made.
No live token, no API: it answers 404 until one exists (``digest api-tokens create``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from digest.models import ApiScope, ApiToken, AuditEntry
from digest.store import Store

TOKEN_PREFIX = "dgt_"  # noqa: S105 (the visible start of every token, so a leaked one is recognised by secret scanners)
PUBLIC_DIGITS = 12
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a token (None when it can): 1–64 letters, digits, ``.``, ``_`` or ``-``."""
    if _NAME.match(name) is None:
        return f"{name!r} cannot name a token: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
    return None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Created:
    token: ApiToken
    value: str  # the token itself: shown once, never stored


class ApiAccess:
    """The tokens and the audit log of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, name: str, scopes: Iterable[ApiScope], now: datetime) -> Created | None:
        """A new token with ``scopes`` (its name checked before: :func:`name_problem`); None when a live token has that name."""
        public_id = secrets.token_hex(PUBLIC_DIGITS // 2)
        value = f"{TOKEN_PREFIX}{public_id}_{secrets.token_urlsafe(32)}"
        made = self.store.api.create(name, public_id, token_hash(value), scopes, now)
        return Created(made, value) if made is not None else None

    def listed(self) -> list[ApiToken]:
        return self.store.api.listed()

    def revoke(self, name: str, now: datetime) -> bool:
        return self.store.api.revoke(name, now)

    def enabled(self) -> bool:
        """Whether the API answers at all: some live token exists."""
        return self.store.api.any_live()

    def authenticate(self, presented: str) -> ApiToken | None:
        """The live token ``presented`` is, or None (malformed, unknown, revoked, or a wrong secret part)."""
        public_id = presented[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + PUBLIC_DIGITS]
        if (
            not presented.startswith(TOKEN_PREFIX)
            or presented[len(TOKEN_PREFIX) + PUBLIC_DIGITS : len(TOKEN_PREFIX) + PUBLIC_DIGITS + 1] != "_"
        ):
            return None
        found = self.store.api.find(public_id)
        if found is None:
            return None
        token, stored = found
        return token if hmac.compare_digest(token_hash(presented), stored) else None

    def record(self, entry: AuditEntry, token: ApiToken | None = None) -> None:
        self.store.api.record(entry, token.id if token is not None else None)

    def audit(self, limit: int, token: str | None = None) -> list[AuditEntry]:
        return self.store.api.audit(limit, token)
