"""The doctor's latest findings (issue 37): one row per check of the setup, replaced whole at each run of
`digest doctor` (or `digest schedule`'s daily one), for `digest status`.

Revision ID: v21
Revises: v20
"""

import sqlalchemy as sa
from alembic import op

revision = "v21"
down_revision = "v20"


def upgrade() -> None:
    op.create_table(
        "setup_checks",
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("verdict", sa.String(8), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("fix", sa.Text, nullable=False),
        sa.Column("checked_at", sa.String(32), nullable=False),
    )
