"""``digest subscribers``: import, add, list, remove and export the list."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import click

from digest.cli.common import EXIT_PROBLEMS, Context, fail


@click.group()
def subscribers() -> None:
    """Manage the subscriber list (stored in the database)."""


@subscribers.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def import_(obj: Context, csv_file: Path) -> None:
    """Import CSV rows of email[,name]; bad rows are reported with their line, the rest imported.

    An address already on the list is left as it is: an import never
    re-subscribes someone who unsubscribed or bounced.
    """
    from digest.addresses import read_csv

    try:
        text = csv_file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{csv_file}: cannot read: {exc}")
    store = obj.store
    added = existing = 0
    bad: list[str] = []
    seen: dict[str, int] = {}
    for row in read_csv(text):
        if row.email is None:
            bad.append(f"{csv_file}:{row.line}: {row.problem}")
            continue
        key = row.email.casefold()
        if key in seen:
            bad.append(f"{csv_file}:{row.line}: {row.email} repeats line {seen[key]}; skipped")
            continue
        seen[key] = row.line
        subscriber, created = store.subscribers.add(row.email, row.name)
        if created:
            added += 1
        else:
            existing += 1
            if subscriber.status != "active":
                click.echo(f"note: {csv_file}:{row.line}: {row.email} is {subscriber.status}; not re-subscribed by an import", err=True)
    for problem in bad:
        click.echo(f"warning: {problem}", err=True)
    click.echo(f"{added} added, {existing} already on the list, {len(bad)} bad row(s)")
    if bad:
        sys.exit(EXIT_PROBLEMS)


@subscribers.command()
@click.argument("address")
@click.option("--name", help="The subscriber's name, used in the To: header.")
@click.pass_obj
def add(obj: Context, address: str, name: str | None) -> None:
    """Add ADDRESS (or re-subscribe it, if it had left)."""
    from digest.addresses import clean_name, normalise_address

    try:
        email = normalise_address(address)
    except ValueError as exc:
        fail(f"{address!r}: {exc}")
    subscriber, created = obj.store.subscribers.add(email, clean_name(name), reactivate=True)
    click.echo(f"{'added' if created else 'already on the list (active)'}: {subscriber.email}")


@subscribers.command("list")
@click.option("--status", type=click.Choice(["active", "unsubscribed", "bounced"]), help="Only subscribers with this status.")
@click.pass_obj
def list_(obj: Context, status: str | None) -> None:
    """List subscribers: id, status, address and name."""
    from digest.models import SubscriberStatus

    count = 0
    for subscriber in obj.store.subscribers.iter(SubscriberStatus(status) if status else None):
        click.echo(f"{subscriber.id:>7}  {subscriber.status:<12}  {subscriber.email}  {subscriber.name or ''}".rstrip())
        count += 1
    counts = obj.store.subscribers.counts()
    click.echo(f"{count} listed; " + ", ".join(f"{n} {s}" for s, n in counts.items()), err=True)


@subscribers.command()
@click.argument("address")
@click.pass_obj
def remove(obj: Context, address: str) -> None:
    """Unsubscribe ADDRESS. Its delivery history is kept; it gets no further issues."""
    from digest.models import SubscriberStatus

    store = obj.store
    subscriber = store.subscribers.get(address.strip())
    if subscriber is None:
        fail(f"{address} is not on the list", EXIT_PROBLEMS)
    changed = store.subscribers.set_status(subscriber.id, SubscriberStatus.UNSUBSCRIBED, "removed by an operator")
    click.echo(f"{'unsubscribed' if changed else 'already unsubscribed'}: {subscriber.email}")


@subscribers.command()
@click.pass_obj
def export(obj: Context) -> None:
    """Write the whole list as CSV (email,name,status) to standard output."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["email", "name", "status"])
    for subscriber in obj.store.subscribers.iter():
        writer.writerow([subscriber.email, subscriber.name or "", subscriber.status])
