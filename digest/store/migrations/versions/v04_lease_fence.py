"""leases.fence: the fencing number, raised each time a lease changes hands.

Revision ID: v04
Revises: v03
"""

import sqlalchemy as sa
from alembic import op

revision = "v04"
down_revision = "v03"


def upgrade() -> None:
    op.add_column("leases", sa.Column("fence", sa.Integer, nullable=False, server_default="0"))
