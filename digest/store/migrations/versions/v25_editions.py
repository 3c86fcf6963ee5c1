"""Editions in the store: each issue is of one edition of its newsletter, schedule runs are keyed by edition, and a
subscription names its edition and what the last issue delivered to it covered.

Every issue and schedule run made before is of the first edition of the newsletter whose config opened the database
(``edition`` in the config's attributes, as the store passes it; without one, ``weekly``, the edition a newsletter
without ``[editions.*]`` tables has). A subscription's ``edition`` stays NULL (the newsletter's first edition, whichever
that is then), and its ``covered_until`` NULL (nothing recorded yet: no cut).

Revision ID: v25
Revises: v24
"""

import sqlalchemy as sa
from alembic import op

revision = "v25"
down_revision = "v24"

TIME = sa.String(32)
NAME = sa.String(32)


def upgrade() -> None:
    config = op.get_context().config
    first = str((config.attributes.get("edition") if config is not None else None) or "weekly")
    conn = op.get_bind()
    op.add_column("subscribers", sa.Column("edition", NAME))
    op.add_column("subscribers", sa.Column("covered_until", TIME))
    op.add_column("subscribers", sa.Column("covered_edition", NAME))
    if conn.dialect.name == "sqlite":
        # SQLite adds a NOT NULL column only with a default: every issue made before is the first edition's.
        op.add_column("issues", sa.Column("edition", NAME, nullable=False, server_default=first))
        _runs_on_sqlite(conn, first)
    else:
        for table in ("issues", "schedule_runs"):
            op.add_column(table, sa.Column("edition", NAME, nullable=False, server_default=first))
            op.alter_column(table, "edition", server_default=None)
        op.drop_constraint("schedule_runs_pkey", "schedule_runs", type_="primary")
        op.create_primary_key("schedule_runs_pkey", "schedule_runs", ["newsletter", "edition", "slot"])


def _runs_on_sqlite(conn: sa.engine.Connection, first: str) -> None:
    """``schedule_runs`` keyed by (newsletter, edition, slot): made anew (nothing points at it), its rows the first
    edition's."""
    columns = "newsletter, slot, issue_id, state, reason, started_at, finished_at"
    conn.exec_driver_sql(f"CREATE TEMP TABLE v25_runs AS SELECT {columns} FROM schedule_runs")  # noqa: S608 (fixed names)
    conn.exec_driver_sql("DROP TABLE schedule_runs")
    sa.Table(
        "schedule_runs",
        sa.MetaData(),
        sa.Column("newsletter", sa.String(64), primary_key=True),
        sa.Column("edition", NAME, primary_key=True),
        sa.Column("slot", TIME, primary_key=True),
        sa.Column("issue_id", sa.String(64)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("finished_at", TIME),
    ).create(conn)
    conn.execute(
        sa.text(f"INSERT INTO schedule_runs (edition, {columns}) SELECT :first, {columns} FROM v25_runs"),  # noqa: S608
        {"first": first},
    )
    conn.exec_driver_sql("DROP TABLE v25_runs")
