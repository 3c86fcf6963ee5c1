"""Sending that listens: each relay's pace as a receiver's rate limit left it (relay_paces), and the copies sent on
each day of a warm-up (warmup_days), so that `digest status` shows both and the next day's run knows its cap.

Revision ID: v23
Revises: v22
"""

import sqlalchemy as sa
from alembic import op

revision = "v23"
down_revision = "v22"


def upgrade() -> None:
    op.create_table(
        "relay_paces",
        sa.Column("relay", sa.String(128), primary_key=True),
        sa.Column("rate", sa.Float, nullable=False),
        sa.Column("connections", sa.Integer, nullable=False),
        sa.Column("configured_rate", sa.Float, nullable=False),
        sa.Column("configured_connections", sa.Integer, nullable=False),
        sa.Column("throttled", sa.Boolean, nullable=False),
        sa.Column("share", sa.Float, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("since", sa.String(32)),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "warmup_days",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("sent", sa.Integer, nullable=False, server_default="0"),
    )
