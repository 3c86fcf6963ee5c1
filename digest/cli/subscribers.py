"""``digest subscribers``: import, add, list, remove and export the list."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import click

from digest.cli.common import EXIT_PROBLEMS, EXIT_USAGE, Context, fail
from digest.subscribers.tokens import address_hash


@click.group()
def subscribers() -> None:
    """Manage the subscriber list (stored in the database)."""


@subscribers.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def import_(obj: Context, csv_file: Path) -> None:
    """Import a CSV list: email[,name] rows, or an export from Mailchimp, listmonk, Buttondown and the like.

    \b
    A header row is recognised (email / Email Address / E-mail, name or
    First Name + Last Name) and the delimiter sniffed (, ; or tab). Rows an
    export marks as unsubscribed, blocklisted or cleaned are kept as
    unsubscribed or bounced, never mailed; unconfirmed ones are skipped.
    Bad rows are reported with their line, the rest imported. An import
    never re-subscribes someone who unsubscribed or bounced, and an opt-out
    it carries is always honoured: an active subscriber the export marks as
    unsubscribed or cleaned is unsubscribed or bounced here too. An address
    someone asked to have forgotten is not added back (only they can sign
    up again); the summary counts them.
    """
    from collections import Counter

    from digest.models import SubscriberStatus
    from digest.subscribers.csv_formats import read_csv

    try:
        text = csv_file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{csv_file}: cannot read: {exc}")
    store = obj.store
    suppression = obj.settings.secret_key  # the key of the suppression list's hashes (none set: nobody was forgotten here)
    added: Counter[SubscriberStatus] = Counter()
    existing = skipped = forgotten = 0
    opted_out: Counter[SubscriberStatus] = Counter()
    bad: list[str] = []
    seen: dict[str, int] = {}
    for row in read_csv(text):
        if row.skipped is not None:
            skipped += 1
            click.echo(f"note: {csv_file}:{row.line}: {row.skipped}", err=True)
            continue
        if row.email is None:
            bad.append(f"{csv_file}:{row.line}: {row.problem}")
            continue
        key = row.email.casefold()
        if key in seen:
            bad.append(f"{csv_file}:{row.line}: {row.email} repeats line {seen[key]}; skipped")
            continue
        seen[key] = row.line
        if suppression is not None and store.subscribers.suppressed(address_hash(suppression, row.email)):
            forgotten += 1
            click.echo(
                f"note: {csv_file}:{row.line}: {row.email} asked to be forgotten: not added back (only they can sign up again)", err=True
            )
            continue
        subscriber, created = store.subscribers.add(row.email, row.name, status=row.status)
        if created:
            added[row.status] += 1
            continue
        existing += 1
        if subscriber.status != SubscriberStatus.ACTIVE and row.status == SubscriberStatus.ACTIVE:
            click.echo(f"note: {csv_file}:{row.line}: {row.email} is {subscriber.status}; not re-subscribed by an import", err=True)
        elif row.status != SubscriberStatus.ACTIVE and subscriber.status in (SubscriberStatus.ACTIVE, SubscriberStatus.PENDING):
            # The export says they left: an opt-out is honoured wherever it comes from.
            store.subscribers.set_status(subscriber.id, row.status, f"imported as {row.status.value} from {csv_file.name}")
            opted_out[row.status] += 1
            click.echo(f"note: {csv_file}:{row.line}: {row.email} was {subscriber.status}; now {row.status} as the export says", err=True)
    for problem in bad:
        click.echo(f"warning: {problem}", err=True)
    left = ", ".join(f"{added[s]} as {s}" for s in (SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.BOUNCED) if added[s])
    honoured = ", ".join(f"{count} {status.value} by this import" for status, count in opted_out.items())
    click.echo(
        f"{sum(added.values())} added{f' ({left}: kept on file, never mailed)' if left else ''}, {existing} already on the list"
        + (f" ({honoured}: their opt-out honoured)" if honoured else "")
        + f", {len(bad)} bad row(s)"
        + (f", {skipped} unconfirmed skipped" if skipped else "")
        + (f", {forgotten} forgotten at their request, not added back" if forgotten else "")
    )
    if bad:
        sys.exit(EXIT_PROBLEMS)


@subscribers.command()
@click.argument("address")
@click.option("--name", help="The subscriber's name, used in the To: header.")
@click.pass_obj
def add(obj: Context, address: str, name: str | None) -> None:
    """Add ADDRESS (or re-subscribe it, if it had left)."""
    from digest.subscribers.addresses import clean_name, normalise_address

    try:
        email = normalise_address(address)
    except ValueError as exc:
        fail(f"{address!r}: {exc}")
    key = obj.settings.secret_key
    if key and obj.store.subscribers.suppressed(address_hash(key, email)):
        fail(f"{email} asked to be forgotten: only they can sign up again (on the subscribe page, confirming by mail)", EXIT_PROBLEMS)
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


@subscribers.command()
@click.argument("address")
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
@click.pass_obj
def show(obj: Context, address: str, as_json: bool) -> None:
    """Everything stored about ADDRESS: the subscription (status and its history) and every delivery."""
    import json

    subscriber = obj.store.subscribers.get(address.strip())
    if subscriber is None:
        fail(f"{address} is not on the list", EXIT_PROBLEMS)
    record = obj.store.subscribers.record_of(subscriber.id)
    if as_json:
        click.echo(json.dumps(record, ensure_ascii=False, indent=2))
        return
    person = record["subscriber"]
    for key in ("id", "email", "name", "status", "status_reason", "themes", "paused_until", "created_at", "updated_at", "confirm_sent_at"):
        click.echo(f"{key:<16} {person.get(key) if person.get(key) is not None else '-'}")
    click.echo(f"deliveries       {len(record['deliveries'])}")
    for delivery in record["deliveries"]:
        click.echo(
            f"  {delivery['issue_id']}  {delivery['state']:<9} attempts {delivery['attempts']}  {delivery['last_reply'] or ''}".rstrip()
        )
    click.echo(f"returned         {len(record['bounces_and_complaints'])} bounce(s), complaint(s) or mailed unsubscribe(s)")
    for event in record["bounces_and_complaints"]:
        click.echo(
            f"  {event['received_at']}  {event['kind']:<11} {event['issue_id'] or '-'}  {event['status'] or ''} {event['diagnostic'] or ''}".rstrip()
        )


@subscribers.command()
@click.argument("address")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def forget(obj: Context, address: str, yes: bool) -> None:
    """Erase ADDRESS and its delivery history; keep only a keyed hash, so no import adds it again.

    Only the person can come back: by signing up and confirming by mail.
    """
    key = obj.settings.require_secret("it keys the hash kept on the suppression list")
    subscriber = obj.store.subscribers.get(address.strip())
    if subscriber is None:
        fail(f"{address} is not on the list (nothing stored to erase)", EXIT_PROBLEMS)
    if not yes and not click.confirm(f"Erase {subscriber.email} and their delivery history for good?", default=False):
        fail("nothing erased", EXIT_USAGE)
    obj.store.subscribers.forget(subscriber.id, address_hash(key, subscriber.email))
    click.echo(f"forgotten: subscriber {subscriber.id}; a keyed hash of the address is kept so no import adds it again")
