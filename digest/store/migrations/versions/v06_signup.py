"""Sign-up: the themes a subscriber chose, and when their last confirmation mail went out.

Revision ID: v06
Revises: v05
"""

import sqlalchemy as sa
from alembic import op

revision = "v06"
down_revision = "v05"


def upgrade() -> None:
    op.add_column("subscribers", sa.Column("themes", sa.Text))
    op.add_column("subscribers", sa.Column("confirm_sent_at", sa.String(32)))
