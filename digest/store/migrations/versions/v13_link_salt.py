"""A salt per subscriber in the MAC of their links: a link names one row, and only while that row is theirs.

Rows made from here on get one; a row made before keeps none, and its links (in mail already delivered)
keep working as they were signed.

Revision ID: v13
Revises: v12
"""

import sqlalchemy as sa
from alembic import op

revision = "v13"
down_revision = "v12"


def upgrade() -> None:
    op.add_column("subscribers", sa.Column("link_salt", sa.String(32)))
