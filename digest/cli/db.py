"""``digest db``: where the database's schema is, bringing it up to date (Alembic revisions), and pruning what is past
its retention."""

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
    from digest.app.session import schema_state

    state = schema_state(obj.settings)
    if state.revision is None:
        click.echo(f"{state.where}: empty (no digest tables yet); this program creates revision {state.head} when it opens it")
    elif state.current:
        click.echo(f"{state.where}: revision {state.revision} (up to date)")
    else:
        click.echo(
            f"{state.where}: revision {state.revision}; this program upgrades it to {state.head} when it opens it (or: digest db upgrade)"
        )


@db.command()
@click.pass_obj
def upgrade(obj: Context) -> None:
    """Apply every revision the database lacks (in one transaction: all or nothing)."""
    from digest.app.session import upgrade_schema
    from digest.models.errors import StoreError

    try:
        before, after = upgrade_schema(obj.settings)
    except StoreError as exc:
        fail(str(exc), EXIT_PROBLEMS)
    if before.revision == after.revision:
        click.echo(f"{after.where}: already at revision {after.revision}; nothing to do")
    else:
        click.echo(f"{after.where}: upgraded from {before.revision or 'empty'} to revision {after.revision}")


@db.command()
@click.pass_obj
def prune(obj: Context) -> None:
    """Delete what is past its [retention]: webhook events every endpoint got (never one still to deliver or
    failing) and the API's audit log by age. `digest schedule` does this once a day."""
    from datetime import UTC, datetime

    from digest.app.retention import prune as prune_old

    kept = obj.settings.install.retention
    done = prune_old(obj.store, kept, datetime.now(UTC))
    events = f"older than {kept.webhook_events_days} days" if done.events_before else "kept for ever (webhook_events_days = 0)"
    audit = f"older than {kept.audit_days} days" if done.audit_before else "kept for ever (audit_days = 0)"
    click.echo(f"webhook events: {done.events} delivered event(s) pruned ({events})")
    click.echo(f"audit log:      {done.audit} line(s) pruned ({audit})")
