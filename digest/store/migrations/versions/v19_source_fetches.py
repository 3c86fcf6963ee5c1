"""Sources' health: every fetch of a feed or URL source, and the entries each source has shown (by address and
title, with the GUID first seen), so that an old post reissued under a new GUID is not taken for news.

A database upgraded from before starts with no history: every source is "unknown" until its first fetch.

Revision ID: v19
Revises: v18
"""

import sqlalchemy as sa
from alembic import op

revision = "v19"
down_revision = "v18"

TIME = sa.String(32)  # digest.store.schema.UTCDateTime stores ISO 8601 text


def upgrade() -> None:
    op.create_table(
        "source_fetches",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("status", sa.Integer),
        sa.Column("entries", sa.Integer, nullable=False, server_default="0"),
        sa.Column("new_entries", sa.Integer, nullable=False, server_default="0"),
        sa.Column("size", sa.Integer, nullable=False, server_default="0"),
        sa.Column("seconds", sa.Float, nullable=False, server_default="0"),
    )
    op.create_index("source_fetches_by_source", "source_fetches", ["source", "at"])
    op.create_table(
        "source_entries",
        sa.Column("source", sa.Text, primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("guid", sa.Text),
        sa.Column("post_id", sa.String(200), nullable=False),
        sa.Column("first_seen", TIME, nullable=False),
        sa.Column("published", TIME, nullable=False),
    )
