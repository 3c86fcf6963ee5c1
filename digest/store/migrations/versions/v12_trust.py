"""Trust: subscriber ids never reused, sign-ups that keep an opt-out, unattributed reports kept for review.

- ``subscribers`` on SQLite is rebuilt with AUTOINCREMENT: without it SQLite
  hands the highest id out again after that row is deleted (``subscribers
  forget``, an expired sign-up), and a forgotten person's old links then acted
  on the newcomer. PostgreSQL's sequence never reuses a value already.
- ``subscribers.confirming_since``: when the sign-up now awaiting the
  person's confirmation was made. Someone who had left (unsubscribed,
  complained, bounced) and signs up again keeps that status until they
  confirm; a confirmation link made before this time is used up.
- ``mail_events.review`` / ``named``: a bounce or complaint that carried no
  token of ours is kept for a person (``digest bounces review``) with the
  addresses and Message-IDs it names, and changes nothing by itself.

Revision ID: v12
Revises: v11
"""

import sqlalchemy as sa
from alembic import op

revision = "v12"
down_revision = "v11"

TIME = sa.String(32)


def upgrade() -> None:
    op.add_column("mail_events", sa.Column("review", sa.String(16)))
    op.add_column("mail_events", sa.Column("named", sa.Text))
    op.add_column("subscribers", sa.Column("confirming_since", TIME))
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        _autoincrement_on_sqlite(conn)


def _autoincrement_on_sqlite(conn: sa.engine.Connection) -> None:
    """Rebuild ``subscribers`` with AUTOINCREMENT, inside the upgrade's transaction.

    Foreign keys are on and cannot be turned off inside a transaction, and
    renaming a table rewrites the references of the tables that point at it,
    so the rows go to a temporary copy, the table is dropped and made again
    under its own name, and the rows come back. Dropping runs an implicit
    DELETE: the checks of ``deliveries`` are deferred to the commit (each row
    put back settles its children), and ``mail_events`` (ON DELETE SET NULL)
    gets its subscriber links back from a copy.
    """
    conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
    table = sa.Table(
        "subscribers",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("email_key", sa.String(320), nullable=False, unique=True),
        sa.Column("name", sa.String(200)),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        sa.Column("status_reason", sa.Text),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("themes", sa.Text),
        sa.Column("confirm_sent_at", TIME),
        sa.Column("paused_until", sa.String(10)),
        sa.Column("confirming_since", TIME),
        sqlite_autoincrement=True,
    )
    columns = ", ".join(column.name for column in table.columns)
    conn.exec_driver_sql(f"CREATE TEMP TABLE v12_subscribers AS SELECT {columns} FROM subscribers")  # noqa: S608 (fixed names)
    conn.exec_driver_sql("CREATE TEMP TABLE v12_links AS SELECT id, subscriber_id FROM mail_events WHERE subscriber_id IS NOT NULL")
    conn.exec_driver_sql("DROP TABLE subscribers")
    table.create(conn)
    conn.exec_driver_sql(f"INSERT INTO subscribers ({columns}) SELECT {columns} FROM v12_subscribers ORDER BY id")  # noqa: S608
    conn.exec_driver_sql(
        "UPDATE mail_events SET subscriber_id = (SELECT subscriber_id FROM v12_links WHERE v12_links.id = mail_events.id) "
        "WHERE id IN (SELECT id FROM v12_links)"
    )
    conn.exec_driver_sql("DROP TABLE v12_subscribers")
    conn.exec_driver_sql("DROP TABLE v12_links")
