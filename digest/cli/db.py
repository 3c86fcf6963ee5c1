"""``digest db``: where the database's schema is, and bringing it up to date (Alembic revisions)."""

from __future__ import annotations

import click

from digest.cli.common import EXIT_PROBLEMS, Context, fail


@click.group()
def db() -> None:
    """The database's schema: every digest command upgrades it as it opens it; these do it on their own
    (before starting several services on a new release, say) and tell where it is."""


@db.command()
@click.pass_obj
def current(obj: Context) -> None:
    """Print the schema revision the database is at, and whether this program would upgrade it."""
    from digest.store import Store, safe_url
    from digest.store.migrations import HEAD

    store = Store.open(obj.settings.database_url, upgrade=False)
    try:
        revision = store.version()
    finally:
        store.close()
    where = safe_url(obj.settings.database_url)
    if revision is None:
        click.echo(f"{where}: empty (no digest tables yet); this program creates revision {HEAD} when it opens it")
    elif revision == HEAD:
        click.echo(f"{where}: revision {revision} (up to date)")
    else:
        click.echo(f"{where}: revision {revision}; this program upgrades it to {HEAD} when it opens it (or: digest db upgrade)")


@db.command()
@click.pass_obj
def upgrade(obj: Context) -> None:
    """Apply every revision the database lacks (in one transaction: all or nothing)."""
    from digest.errors import StoreError
    from digest.store import Store, safe_url

    store = Store.open(obj.settings.database_url, upgrade=False)
    try:
        before, after = store.migrate()
    except StoreError as exc:
        fail(str(exc), EXIT_PROBLEMS)
    finally:
        store.close()
    where = safe_url(obj.settings.database_url)
    if before == after:
        click.echo(f"{where}: already at revision {after}; nothing to do")
    else:
        click.echo(f"{where}: upgraded from {before or 'empty'} to revision {after}")
