"""mail_events: bounces, complaints and mailed unsubscribes, one row per message read.

Revision ID: v10
Revises: v09
"""

import sqlalchemy as sa
from alembic import op

revision = "v10"
down_revision = "v09"


def upgrade() -> None:
    op.create_table(
        "mail_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subscriber_id", sa.Integer, sa.ForeignKey("subscribers.id", ondelete="SET NULL")),
        sa.Column("issue_id", sa.String(64)),
        sa.Column("status", sa.String(16)),
        sa.Column("diagnostic", sa.Text),
        sa.Column("mailbox_uid", sa.String(64)),
        sa.Column("received_at", sa.String(32), nullable=False),
    )
    op.create_index("mail_events_by_subscriber", "mail_events", ["subscriber_id", "kind", "received_at"])
    op.create_index("mail_events_by_issue", "mail_events", ["issue_id", "kind"])
