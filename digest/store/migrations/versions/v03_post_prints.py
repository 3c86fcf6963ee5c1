"""issues.post_prints: what the reader saw of each post, to tell a stale frozen copy.

Revision ID: v03
Revises: v02
"""

import sqlalchemy as sa
from alembic import op

revision = "v03"
down_revision = "v02"


def upgrade() -> None:
    op.add_column("issues", sa.Column("post_prints", sa.Text))
