"""Several newsletters in one store: one row per person (``people``), one per subscription (``subscribers``, a
person on one newsletter), and issues and schedule runs named by their newsletter's slug.

Every row made before belongs to the newsletter whose config opened the database (``newsletter`` in the config's
attributes, as the store passes it; without one, the embedded default's slug). Each subscriber becomes a person (the
address was unique then) whose id is the subscriber's, and a subscription that keeps the subscriber's id: deliveries,
mail events, signed links and VERP tokens name it, so a link in a mail sent before still works.

Revision ID: v24
Revises: v23
"""

import sqlalchemy as sa
from alembic import op

revision = "v24"
down_revision = "v23"

TIME = sa.String(32)
SLUG = sa.String(64)
# What a subscription keeps of the subscriber row it was (the rest moved to people).
KEPT = "id, status, status_reason, created_at, updated_at, themes, confirm_sent_at, paused_until, confirming_since, link_salt"


def upgrade() -> None:
    config = op.get_context().config
    slug = str((config.attributes.get("newsletter") if config is not None else None) or _default_slug())
    conn = op.get_bind()
    op.create_table(
        "people",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("email_key", sa.String(320), nullable=False, unique=True),
        sa.Column("name", sa.String(200)),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sqlite_autoincrement=True,
    )
    conn.exec_driver_sql(
        "INSERT INTO people (id, email, email_key, name, created_at, updated_at) "
        "SELECT id, email, email_key, name, created_at, updated_at FROM subscribers ORDER BY id"
    )
    if conn.dialect.name == "sqlite":
        _subscriptions_on_sqlite(conn, slug)
        _runs_on_sqlite(conn, slug)
        # SQLite adds a NOT NULL column only with a default: every row made before is the opening newsletter's.
        op.add_column("issues", sa.Column("newsletter", SLUG, nullable=False, server_default=slug))
    else:
        conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('people', 'id'), coalesce(max(id), 0) + 1, false) FROM people")
        _subscriptions_on_postgresql(slug)
        for table in ("issues", "schedule_runs"):
            op.add_column(table, sa.Column("newsletter", SLUG, nullable=False, server_default=slug))
            op.alter_column(table, "newsletter", server_default=None)
        op.drop_constraint("schedule_runs_pkey", "schedule_runs", type_="primary")
        op.create_primary_key("schedule_runs_pkey", "schedule_runs", ["newsletter", "slot"])
    op.create_index("issues_by_newsletter", "issues", ["newsletter", "window_end"])
    op.create_index("subscribers_by_person", "subscribers", ["person_id"])


def _default_slug() -> str:
    from digest.config.schema import Publication

    return Publication().slug


def _subscriptions_on_postgresql(slug: str) -> None:
    op.add_column("subscribers", sa.Column("person_id", sa.Integer))
    op.add_column("subscribers", sa.Column("newsletter", SLUG, nullable=False, server_default=slug))
    op.alter_column("subscribers", "newsletter", server_default=None)
    op.execute("UPDATE subscribers SET person_id = id")
    op.alter_column("subscribers", "person_id", nullable=False)
    for column in ("email", "email_key", "name"):  # the unique key on email_key goes with its column
        op.drop_column("subscribers", column)
    op.create_foreign_key("subscribers_person_id_fkey", "subscribers", "people", ["person_id"], ["id"])
    op.create_unique_constraint("subscriptions_once", "subscribers", ["newsletter", "person_id"])


def _subscriptions_on_sqlite(conn: sa.engine.Connection, slug: str) -> None:
    """Rebuild ``subscribers`` as subscriptions, inside the upgrade's transaction, as v12 rebuilt it: foreign keys are
    on and cannot be turned off in a transaction, and renaming a table rewrites the references of the tables that
    point at it; so the rows go to a temporary copy, the table is dropped and made anew under its own name, and the
    rows come back with their ids. The checks of ``deliveries`` wait for the commit (each row put back settles its
    children); ``mail_events`` (ON DELETE SET NULL) gets its subscriber links back from a copy."""
    conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
    known = sa.MetaData()
    sa.Table("people", known, sa.Column("id", sa.Integer, primary_key=True))  # made above: named, for the foreign key
    table = sa.Table(
        "subscribers",
        known,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("person_id", sa.Integer, sa.ForeignKey("people.id"), nullable=False),
        sa.Column("newsletter", SLUG, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        sa.Column("status_reason", sa.Text),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("themes", sa.Text),
        sa.Column("confirm_sent_at", TIME),
        sa.Column("paused_until", sa.String(10)),
        sa.Column("confirming_since", TIME),
        sa.Column("link_salt", sa.String(32)),
        sa.UniqueConstraint("newsletter", "person_id", name="subscriptions_once"),
        sqlite_autoincrement=True,
    )
    conn.exec_driver_sql(f"CREATE TEMP TABLE v24_subscribers AS SELECT {KEPT} FROM subscribers")  # noqa: S608 (fixed names)
    conn.exec_driver_sql("CREATE TEMP TABLE v24_links AS SELECT id, subscriber_id FROM mail_events WHERE subscriber_id IS NOT NULL")
    conn.exec_driver_sql("DROP TABLE subscribers")
    table.create(conn)
    conn.execute(
        sa.text(
            f"INSERT INTO subscribers (person_id, newsletter, {KEPT}) "  # noqa: S608 (fixed names)
            f"SELECT id, :slug, {KEPT} FROM v24_subscribers ORDER BY id"
        ),
        {"slug": slug},
    )
    conn.exec_driver_sql(
        "UPDATE mail_events SET subscriber_id = (SELECT subscriber_id FROM v24_links WHERE v24_links.id = mail_events.id) "
        "WHERE id IN (SELECT id FROM v24_links)"
    )
    conn.exec_driver_sql("DROP TABLE v24_subscribers")
    conn.exec_driver_sql("DROP TABLE v24_links")


def _runs_on_sqlite(conn: sa.engine.Connection, slug: str) -> None:
    """``schedule_runs`` keyed by (newsletter, slot): made anew (nothing points at it), its rows the opening one's."""
    columns = "slot, issue_id, state, reason, started_at, finished_at"
    conn.exec_driver_sql(f"CREATE TEMP TABLE v24_runs AS SELECT {columns} FROM schedule_runs")  # noqa: S608 (fixed names)
    conn.exec_driver_sql("DROP TABLE schedule_runs")
    sa.Table(
        "schedule_runs",
        sa.MetaData(),
        sa.Column("newsletter", SLUG, primary_key=True),
        sa.Column("slot", TIME, primary_key=True),
        sa.Column("issue_id", sa.String(64)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("finished_at", TIME),
    ).create(conn)
    conn.execute(
        sa.text(f"INSERT INTO schedule_runs (newsletter, {columns}) SELECT :slug, {columns} FROM v24_runs"),  # noqa: S608
        {"slug": slug},
    )
    conn.exec_driver_sql("DROP TABLE v24_runs")
