"""Each placement of a frozen issue teaches later builds until the editor forgets it (`digest themes forget-label`),
and keeps its theme's key, so that a theme renamed with its key kept keeps what it was taught.

Every placement stored before teaches, as it did, by its theme's name (its key is not known).

Revision ID: v18
Revises: v17
"""

import sqlalchemy as sa
from alembic import op

revision = "v18"
down_revision = "v17"


def upgrade() -> None:
    with op.batch_alter_table("placements") as batch:
        batch.add_column(sa.Column("taught", sa.Boolean, nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("theme_key", sa.Text))
