"""Each post of a frozen issue with the theme digest chose and the one it went out in: what the desk teaches.

Issues frozen before keep none (nothing is guessed for them).

Revision ID: v14
Revises: v13
"""

import sqlalchemy as sa
from alembic import op

revision = "v14"
down_revision = "v13"


def upgrade() -> None:
    op.create_table(
        "placements",
        sa.Column("issue_id", sa.String(64), sa.ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("post_id", sa.String(200), primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("automatic", sa.Text),
        sa.Column("theme", sa.Text),
        sa.Column("kind", sa.String(16), nullable=False),
    )
