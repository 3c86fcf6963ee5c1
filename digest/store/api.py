"""The HTTP API's tokens (their hashes) and its audit log: ``store.api``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digest.models import ApiScope, ApiToken, AuditEntry, Subject, SubjectKind
from digest.models.errors import StoreError
from digest.store.engine import reads_of
from digest.store.schema import api_audit, api_tokens


class ApiStore:
    """Reads and writes of ``api_tokens`` and ``api_audit``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reads = reads_of(engine)

    def create(self, name: str, public_id: str, secret_hash: str, scopes: Iterable[ApiScope], now: datetime) -> ApiToken | None:
        """A new token's row; None when a live token has that name already (checked in the same transaction)."""
        chosen = sorted({scope.value for scope in scopes})
        with self.engine.begin() as conn:
            taken = conn.execute(sa.select(api_tokens.c.id).where(api_tokens.c.name == name, api_tokens.c.revoked_at.is_(None))).first()
            if taken is not None:
                return None
            new_id = conn.execute(
                sa.insert(api_tokens).values(
                    name=name, public_id=public_id, secret_hash=secret_hash, scopes=json.dumps(chosen), created_at=now
                )
            ).inserted_primary_key
            if new_id is None:  # pragma: no cover (every dialect we run returns it)
                raise StoreError("the database returned no id for a new API token")
        return ApiToken(id=int(new_id[0]), name=name, public_id=public_id, scopes=frozenset(ApiScope(s) for s in chosen), created_at=now)

    def find(self, public_id: str) -> tuple[ApiToken, str] | None:
        """The live token with this public part, and its secret's stored hash; None for an unknown or revoked one."""
        with self.reads.begin() as conn:
            row = (
                conn.execute(sa.select(api_tokens).where(api_tokens.c.public_id == public_id, api_tokens.c.revoked_at.is_(None)))
                .mappings()
                .first()
            )
        return (_token(row), str(row["secret_hash"])) if row is not None else None

    def listed(self) -> list[ApiToken]:
        """Every token, live and revoked, oldest first."""
        with self.reads.begin() as conn:
            return [_token(row) for row in conn.execute(sa.select(api_tokens).order_by(api_tokens.c.id)).mappings()]

    def any_live(self) -> bool:
        with self.reads.begin() as conn:
            return conn.execute(sa.select(api_tokens.c.id).where(api_tokens.c.revoked_at.is_(None)).limit(1)).first() is not None

    def revoke(self, name: str, now: datetime) -> bool:
        """Revoke the live token of this name; False when there is none."""
        with self.engine.begin() as conn:
            done = conn.execute(
                sa.update(api_tokens).where(api_tokens.c.name == name, api_tokens.c.revoked_at.is_(None)).values(revoked_at=now)
            )
        return bool(done.rowcount)

    def record(self, entry: AuditEntry, token_id: int | None = None) -> None:
        """One request in the audit log (and, for a valid token, when it was last used): one short transaction."""
        subject = entry.subject
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(api_audit).values(
                    at=entry.at,
                    token=entry.token,
                    method=entry.method,
                    operation=entry.operation,
                    status=entry.status,
                    subject_kind=subject.kind.value if subject else None,
                    subject=subject.id if subject else None,
                    subject_hash=subject.address_hash if subject else None,
                )
            )
            if token_id is not None:
                conn.execute(sa.update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=entry.at))

    def audit(self, limit: int, token: str | None = None) -> list[AuditEntry]:
        """The latest ``limit`` requests (of the token named ``token``), newest first."""
        query = sa.select(api_audit).order_by(api_audit.c.id.desc()).limit(limit)
        if token is not None:
            query = query.where(api_audit.c.token == token)
        with self.reads.begin() as conn:
            return [_entry(row) for row in conn.execute(query).mappings()]

    def prune(self, before: datetime) -> int:
        """Delete the audit log's lines older than ``before``; how many."""
        with self.engine.begin() as conn:
            return int(conn.execute(sa.delete(api_audit).where(api_audit.c.at < before)).rowcount or 0)

    def forget_subscriber(self, subscriber_id: int) -> int:
        """The audit log keeps only the keyed hash of a forgotten subscriber: their id is cleared from its lines."""
        kind = SubjectKind.SUBSCRIBER.value
        with self.engine.begin() as conn:
            done = conn.execute(
                sa.update(api_audit).where(api_audit.c.subject_kind == kind, api_audit.c.subject == str(subscriber_id)).values(subject=None)
            )
        return int(done.rowcount)


def _token(row: Any) -> ApiToken:
    return ApiToken(
        id=int(row["id"]),
        name=str(row["name"]),
        public_id=str(row["public_id"]),
        scopes=frozenset(ApiScope(value) for value in json.loads(row["scopes"]) if value in ApiScope._value2member_map_),
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
    )


def _entry(row: Any) -> AuditEntry:
    kind = row["subject_kind"]
    subject = Subject(kind=SubjectKind(kind), id=row["subject"], address_hash=row["subject_hash"]) if kind else None
    return AuditEntry(
        at=row["at"], token=row["token"], method=row["method"], operation=row["operation"], status=int(row["status"]), subject=subject
    )
