"""suppressions: keyed hashes of the addresses of people who asked to be forgotten.

Revision ID: v07
Revises: v06
"""

import sqlalchemy as sa
from alembic import op

revision = "v07"
down_revision = "v06"


def upgrade() -> None:
    op.create_table(
        "suppressions",
        sa.Column("address_hash", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
