"""issues.model: the Weekly Digest model as digest.json has it.

Revision ID: v08
Revises: v07
"""

import sqlalchemy as sa
from alembic import op

revision = "v08"
down_revision = "v07"


def upgrade() -> None:
    op.add_column("issues", sa.Column("model", sa.Text))
