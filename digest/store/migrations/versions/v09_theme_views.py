"""Theme views and pauses: issues.layout, subscribers.paused_until.

Revision ID: v09
Revises: v08
"""

import sqlalchemy as sa
from alembic import op

revision = "v09"
down_revision = "v08"


def upgrade() -> None:
    op.add_column("issues", sa.Column("layout", sa.Text))
    op.add_column("subscribers", sa.Column("paused_until", sa.String(10)))
