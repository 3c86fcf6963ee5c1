"""The HTTP API's tokens (only their hashes) and the audit log of its requests.

Revision ID: v20
Revises: v19
"""

import sqlalchemy as sa
from alembic import op

revision = "v20"
down_revision = "v19"


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("public_id", sa.String(32), nullable=False, unique=True),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("scopes", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("revoked_at", sa.String(32)),
        sa.Column("last_used_at", sa.String(32)),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "api_audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("token", sa.String(64)),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("subject_kind", sa.String(16)),
        sa.Column("subject", sa.String(128)),
        sa.Column("subject_hash", sa.String(64)),
        sqlite_autoincrement=True,
    )
    op.create_index("api_audit_by_subject", "api_audit", ["subject_kind", "subject"])
