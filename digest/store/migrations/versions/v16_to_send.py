"""An index of the deliveries still to send, so that a send worker's claim does not pass over the rows already sent.

Revision ID: v16
Revises: v15
"""

import sqlalchemy as sa
from alembic import op

revision = "v16"
down_revision = "v15"

TO_SEND = "state IN ('pending', 'sending', 'deferred')"  # as digest.store.schema.TO_SEND was when this was written


def upgrade() -> None:
    op.create_index(
        "deliveries_to_send",
        "deliveries",
        ["issue_id", "subscriber_id"],
        postgresql_where=sa.text(TO_SEND),
        sqlite_where=sa.text(TO_SEND),
    )


def downgrade() -> None:
    op.drop_index("deliveries_to_send", "deliveries")
