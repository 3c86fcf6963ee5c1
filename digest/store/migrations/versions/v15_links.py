"""The counted links of issues frozen with [tracking] clicks = "aggregate", and their totals.

Issues frozen before have none: their copies carry the posts' own links.

Revision ID: v15
Revises: v14
"""

import sqlalchemy as sa
from alembic import op

revision = "v15"
down_revision = "v14"


def upgrade() -> None:
    op.create_table(
        "links",
        sa.Column("issue_id", sa.String(64), sa.ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("post_id", sa.String(200), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("theme", sa.Text, nullable=False),
        sa.Column("outlet", sa.Text),
        sa.Column("clicks", sa.Integer, nullable=False, server_default="0"),
        sa.Column("scanned", sa.Integer, nullable=False, server_default="0"),
        sa.Column("repeated", sa.Integer, nullable=False, server_default="0"),
    )
