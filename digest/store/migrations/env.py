"""Alembic's entry point: runs the revisions on the connection digest hands it (digest.store.migrations)."""

from alembic import context

from digest.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("digest applies its migrations itself, on the configured database: run `digest db upgrade`")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    # APScheduler's job table lives in the same database (digest schedule) but is APScheduler's to shape.
    include_name=lambda name, kind, _parent: not (kind == "table" and name == "apscheduler_jobs"),
)
with context.begin_transaction():
    context.run_migrations()
