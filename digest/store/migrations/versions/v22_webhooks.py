"""Webhooks: the endpoints, the transactional outbox of events, and each event's delivery to each endpoint.

Revision ID: v22
Revises: v21
"""

import sqlalchemy as sa
from alembic import op

revision = "v22"
down_revision = "v21"


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("events", sa.Text, nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("failing_since", sa.String(32)),
        sa.Column("disabled_at", sa.String(32)),
        sa.Column("last_error", sa.Text),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(40), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("subscriber_id", sa.Integer),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
        sa.Column("once", sa.String(120), unique=True),
        sqlite_autoincrement=True,
    )
    op.create_index("webhook_events_by_subscriber", "webhook_events", ["subscriber_id"])
    op.create_index("webhook_events_by_time", "webhook_events", ["created_at"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("event_id", sa.Integer, sa.ForeignKey("webhook_events.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("endpoint_id", sa.Integer, sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("delivered_at", sa.String(32)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.String(32), nullable=False),
        sa.Column("claim", sa.String(40)),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("webhook_deliveries_due", "webhook_deliveries", ["delivered_at", "next_attempt_at"])
    op.create_index("webhook_deliveries_in_order", "webhook_deliveries", ["endpoint_id", "subject", "event_id"])
