"""approvals: an issue's draft and its approval.

Revision ID: v05
Revises: v04
"""

import sqlalchemy as sa
from alembic import op

revision = "v05"
down_revision = "v04"


def upgrade() -> None:
    op.create_table(
        "approvals",
        sa.Column("issue_id", sa.String(64), primary_key=True),
        sa.Column("draft_at", sa.String(32)),
        sa.Column("approved_at", sa.String(32)),
        sa.Column("approved_by", sa.String(320)),
        sa.Column("issue_print", sa.String(64)),
        sa.Column("file_print", sa.String(64)),
    )
