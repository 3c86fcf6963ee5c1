"""``digest subscribers``: import, add, list, remove and export the list."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from digest.cli.common import EXIT_PROBLEMS, EXIT_USAGE, Context, fail, say, terminal_json
from digest.models import SUBSCRIBER_STATUS_WORDS, SubscriberStatus

if TYPE_CHECKING:
    from digest.app.subscribers import Imported, ImportedRow


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
    First Name + Last Name) and the delimiter sniffed (, ; or tab; a file
    split by another, or not in UTF-8, is refused whole, naming the line). Rows an
    export marks as unsubscribed, blocklisted or cleaned are kept as
    unsubscribed or bounced, never mailed; unconfirmed ones are skipped.
    Bad rows are reported with their line, the rest imported. An import
    never re-subscribes someone who unsubscribed or bounced, and an opt-out
    it carries is always honoured: an active subscriber the export marks as
    unsubscribed or cleaned is unsubscribed or bounced here too. An address
    someone asked to have forgotten is not added back (only they can sign
    up again); the summary counts them.
    """
    from digest.app.subscribers import Roster, RowFate
    from digest.models.errors import ListFileError

    try:
        data = csv_file.read_bytes()
    except OSError as exc:
        fail(f"{csv_file}: cannot read: {exc.strerror or exc}")
    try:
        imported = Roster(obj.settings, obj.store).import_rows(data, csv_file.name)
    except ListFileError as exc:
        fail(f"{csv_file}:{exc.line}: {exc.message}")
    for row in imported.rows:
        if (note := _note(row)) is not None:
            say(f"note: {csv_file}:{row.line}: {note}", err=True)  # a list file's text: shown, never obeyed
    for row in imported.bad:
        said = f"{row.email} {row.problem}; skipped" if row.fate is RowFate.REPEATED else row.problem
        say(f"warning: {csv_file}:{row.line}: {said}", err=True)
    click.echo(_import_summary(imported))
    if imported.bad:
        sys.exit(EXIT_PROBLEMS)


def _note(row: ImportedRow) -> str | None:
    """What an import says of a row it did not simply add or find, for the operator's eyes."""
    from digest.app.subscribers import RowFate

    if row.fate is RowFate.UNCONFIRMED:
        return row.problem
    if row.fate is RowFate.FORGOTTEN:
        return f"{row.email} asked to be forgotten: not added back (only they can sign up again)"
    if row.fate is RowFate.NOT_RESUBSCRIBED:
        return f"{row.email} is {_word(row.was)}; not re-subscribed by an import"
    if row.fate is RowFate.OPTED_OUT:
        return f"{row.email} was {_word(row.was)}; now {_word(row.status)} as the export says"
    return None


def _word(status: SubscriberStatus | None) -> str:
    return SUBSCRIBER_STATUS_WORDS[status] if status is not None else "unknown"


def _import_summary(imported: Imported) -> str:
    from digest.app.subscribers import RowFate

    left_statuses = (SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.BOUNCED)
    left = ", ".join(f"{n} as {_word(s)}" for s in left_statuses if (n := imported.count(RowFate.ADDED, s)))
    honoured = ", ".join(f"{n} {_word(s)} by this import" for s in left_statuses if (n := imported.count(RowFate.OPTED_OUT, s)))
    existing = sum(imported.count(fate) for fate in (RowFate.ALREADY, RowFate.NOT_RESUBSCRIBED, RowFate.OPTED_OUT))
    skipped, forgotten = imported.count(RowFate.UNCONFIRMED), imported.count(RowFate.FORGOTTEN)
    return (
        f"{imported.count(RowFate.ADDED)} added{f' ({left}: kept on file, never mailed)' if left else ''}, {existing} already on the list"
        + (f" ({honoured}: their opt-out honoured)" if honoured else "")
        + f", {len(imported.bad)} bad row(s)"
        + (f", {skipped} unconfirmed skipped" if skipped else "")
        + (f", {forgotten} forgotten at their request, not added back" if forgotten else "")
    )


@subscribers.command()
@click.argument("address")
@click.option("--name", help="The subscriber's name, used in the To: header.")
@click.option(
    "--resubscribe", is_flag=True, help="They left (unsubscribed, complained, bounced) and asked you to bring them back: re-subscribe them."
)
@click.pass_obj
def add(obj: Context, address: str, name: str | None, resubscribe: bool) -> None:
    """Add ADDRESS. Someone who left is refused unless --resubscribe says they asked to come back; an address
    someone asked to have forgotten is always refused (only they can sign up again)."""
    from digest.app.subscribers import AddOutcome, Roster, address_of, name_of
    from digest.cli.refusals import worded
    from digest.models.errors import AddressError, RefusedError

    try:
        email = address_of(address)
    except AddressError as exc:
        fail(f"{address!r}: {exc}")
    try:
        added = Roster(obj.settings, obj.store).add(email, name_of(name), resubscribe=resubscribe)
    except RefusedError as exc:
        fail(worded(obj, exc.refusal), EXIT_PROBLEMS)
    if added.outcome is AddOutcome.RESUBSCRIBED:
        said = f"re-subscribed at their request (was {_word(added.was)}{f': {added.why}' if added.why else ''})"
    elif added.outcome is AddOutcome.ADDED:
        said = "added" + (f" (was {_word(added.was)}: active now on your word)" if added.was else "")
    else:
        said = "already on the list (active)"
    click.echo(f"{said}: {added.subscriber.email}")
    if added.renamed_from is not None:
        was = f"was {added.renamed_from!r}" if added.renamed_from else "had none"
        click.echo(f"name set to {added.subscriber.name!r} ({was}), in the To: header of every newsletter they are on")


@subscribers.command("list")
@click.option(
    "--status",
    type=click.Choice([word for status, word in SUBSCRIBER_STATUS_WORDS.items() if status is not SubscriberStatus.PENDING]),
    help="Only subscribers with this status.",
)
@click.option(
    "--theme",
    metavar="KEY",
    help="Only subscribers who chose the theme with this key (not those who take every theme); any key, gone or not.",
)
@click.pass_obj
def list_(obj: Context, status: str | None, theme: str | None) -> None:
    """List subscribers: id, status, address and name."""
    from digest.app.subscribers import Roster
    from digest.models.errors import ConfigError

    roster = Roster(obj.settings, obj.store)
    count = 0
    by_word = {word: status for status, word in SUBSCRIBER_STATUS_WORDS.items()}
    try:
        listed = roster.listed(by_word[status] if status else None, theme)
    except ConfigError as exc:
        raise click.BadParameter(exc.problems[0], param_hint="--theme") from None
    for subscriber in listed:
        said = SUBSCRIBER_STATUS_WORDS[subscriber.status]
        click.echo(f"{subscriber.id:>7}  {said:<12}  {subscriber.email}  {subscriber.name or ''}".rstrip())
        count += 1
    counts = roster.counts()
    click.echo(f"{count} listed; " + ", ".join(f"{n} {SUBSCRIBER_STATUS_WORDS[s]}" for s, n in counts.items()), err=True)


@subscribers.command()
@click.argument("address")
@click.pass_obj
def remove(obj: Context, address: str) -> None:
    """Unsubscribe ADDRESS. Its delivery history is kept; it gets no further issues."""
    from digest.app.subscribers import Roster
    from digest.models.errors import UnknownSubscriberError

    try:
        subscriber, changed = Roster(obj.settings, obj.store).remove(address)
    except UnknownSubscriberError as exc:
        fail(str(exc), EXIT_PROBLEMS)
    # With several newsletters, which one: the person stays on the others.
    of = f" (from {obj.settings.newsletter.slug}; their other newsletters unchanged)" if obj.settings.shared else ""
    click.echo(f"{'unsubscribed' if changed else 'already unsubscribed'}: {subscriber.email}{of}")


@subscribers.command("set-edition")
@click.argument("address")
@click.argument("edition")
@click.pass_obj
def set_edition(obj: Context, address: str, edition: str) -> None:
    """Give ADDRESS the edition EDITION (daily, weekly, monthly…: the newsletter's [editions.*]). Their first issue of
    it leaves out every post their last delivered issue already carried, and misses none published after it."""
    from digest.app.subscribers import Roster
    from digest.models.errors import UnknownSubscriberError

    roster = Roster(obj.settings, obj.store)
    problem = roster.edition_problem(edition.strip().casefold())
    if problem is not None:
        raise click.UsageError(problem)
    try:
        subscriber = roster.find(address)
    except UnknownSubscriberError as exc:
        fail(str(exc), EXIT_PROBLEMS)
    changed = roster.set_edition(subscriber, edition.strip().casefold())
    click.echo(f"{'edition set' if changed else 'edition already'}: {subscriber.email} gets the {edition.strip().casefold()} edition")


@subscribers.command()
@click.pass_obj
def export(obj: Context) -> None:
    """Write the whole list as CSV (email,name,status, and edition when the newsletter has several) to standard
    output: `subscribers import` reads it back as it was."""
    from digest.app.subscribers import Roster

    editions = obj.settings.newsletter.editions
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["email", "name", "status", *(["edition"] if len(editions) > 1 else [])])
    for subscriber in Roster(obj.settings, obj.store).listed():
        edition = [subscriber.edition or editions[0].name] if len(editions) > 1 else []
        writer.writerow([subscriber.email, subscriber.name or "", subscriber.status, *edition])


@subscribers.command()
@click.argument("address")
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
@click.pass_obj
def show(obj: Context, address: str, as_json: bool) -> None:
    """Everything stored about ADDRESS: the subscription (status and its history) and every delivery."""
    from digest.app.subscribers import Roster
    from digest.models.errors import UnknownSubscriberError

    roster = Roster(obj.settings, obj.store)
    try:
        subscriber = roster.find(address)
    except UnknownSubscriberError as exc:
        fail(str(exc), EXIT_PROBLEMS)
    record = roster.record(subscriber)
    if as_json:
        click.echo(terminal_json(record, indent=2))
        return
    # Said through `say`: the status reason, a server's last reply and a bounce's diagnostic are strangers' text.
    person = record["subscriber"]
    for key in ("id", "email", "name", "status", "status_reason", "themes", "paused_until", "created_at", "updated_at", "confirm_sent_at"):
        say(f"{key:<16} {person.get(key) if person.get(key) is not None else '-'}")
    first = obj.settings.newsletter.editions[0].name
    say(f"{'edition':<16} {person.get('edition') or first}")  # none chosen: the newsletter's first
    say(f"{'covered_until':<16} {person.get('covered_until') or '-'}")  # the end of the last issue delivered to them
    theirs = ", ".join(f"{sub['newsletter']} {sub['status']}" for sub in record["subscriptions"])
    say(f"newsletters      {theirs}")
    say(f"deliveries       {len(record['deliveries'])}")
    for delivery in record["deliveries"]:
        say(f"  {delivery['issue_id']}  {delivery['state']:<9} attempts {delivery['attempts']}  {delivery['last_reply'] or ''}".rstrip())
    say(f"returned         {len(record['bounces_and_complaints'])} bounce(s), complaint(s) or mailed unsubscribe(s)")
    for event in record["bounces_and_complaints"]:
        say(
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
    from digest.app.subscribers import Roster
    from digest.models.errors import UnknownSubscriberError

    roster = Roster(obj.settings, obj.store)
    obj.settings.install.require_secret("it keys the hash kept on the suppression list")  # refused before anything is asked
    try:
        subscriber = roster.find(address)
    except UnknownSubscriberError as exc:
        fail(f"{exc} (nothing stored to erase)", EXIT_PROBLEMS)
    if not yes and not click.confirm(f"Erase {subscriber.email} and their delivery history for good?", default=False):
        fail("nothing erased", EXIT_USAGE)
    ended = roster.forget(subscriber)
    others = f"; their subscriptions to {', '.join(ended)} ended" if len(ended) > 1 else ""
    click.echo(f"forgotten: subscriber {subscriber.id}{others}; a keyed hash of the address is kept so no import adds it again")
