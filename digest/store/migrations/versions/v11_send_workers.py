"""Send workers (PostgreSQL): deliveries.worker, and send_workers with their heartbeats.

Revision ID: v11
Revises: v10
"""

import sqlalchemy as sa
from alembic import op

revision = "v11"
down_revision = "v10"


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("worker", sa.String(128)))
    op.create_table(
        "send_workers",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("issue_id", sa.String(64), nullable=False),
        sa.Column("started_at", sa.String(32), nullable=False),
        sa.Column("heartbeat_at", sa.String(32), nullable=False),
        sa.Column("stopped_at", sa.String(32)),
    )
    op.create_index("send_workers_by_issue", "send_workers", ["issue_id", "heartbeat_at"])
