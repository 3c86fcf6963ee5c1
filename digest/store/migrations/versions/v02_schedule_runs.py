"""One row per scheduled slot: what happened to it.

Revision ID: v02
Revises: v01
"""

import sqlalchemy as sa
from alembic import op

revision = "v02"
down_revision = "v01"


def upgrade() -> None:
    op.create_table(
        "schedule_runs",
        sa.Column("slot", sa.String(32), primary_key=True),
        sa.Column("issue_id", sa.String(64)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("started_at", sa.String(32), nullable=False),
        sa.Column("finished_at", sa.String(32)),
    )
