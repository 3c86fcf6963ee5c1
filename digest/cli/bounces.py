"""``digest bounces process``: read bounces, complaints and mailed unsubscribes, and update the list."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from digest.cli.common import EXIT_PROBLEMS, EXIT_TEMPFAIL, EXIT_USAGE, Context, confirmed, fail, hint, quote, say

EX_DATAERR = 65  # sysexits.h: an input could not be read (a file named on the command line)


@click.group()
def bounces() -> None:
    """What came back: bounces, complaints (feedback loops) and mail to the unsubscribe address."""


@bounces.command()
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--recipient", help="The envelope recipient, as the MTA gives it (Postfix: ${original_recipient}).")
@click.pass_obj
def process(obj: Context, files: tuple[Path, ...], recipient: str | None) -> None:
    """Read raw messages from FILES (or one from standard input) and apply them.

    Each message is read once: the same one again (same Message-ID) changes
    nothing. Only a token of ours names a subscriber: a report without one is
    kept for `digest bounces review` and changes nothing. Exit 0 when every
    message was read, whatever it said (a malformed one is stored as
    unrecognised); 65 when a file could not be read (the others still are);
    75 (try again later) only when the database could not be written, so an
    MTA piping mail in keeps the message.
    """
    from digest.app.bounces import process_message
    from digest.models.errors import StoreError

    settings = obj.settings
    from digest.app.bounces import KEY_USE_TOKENS

    settings.install.require_secret(KEY_USE_TOKENS)  # a ConfigError: exit 2 with the fix, before any message is read
    inputs: list[tuple[str, bytes]] = []
    unreadable = 0
    for path in files or (Path("-"),):
        if str(path) == "-":
            inputs.append(("stdin", sys.stdin.buffer.read()))
            continue
        try:
            inputs.append((str(path), path.read_bytes()))
        except OSError as exc:
            say(f"error: {path}: cannot read: {exc.strerror or exc}", err=True)
            unreadable += 1
    every = obj.whole.scopes()  # a token of any newsletter's is read, whichever --newsletter names (the install's mailbox)
    try:
        store = obj.store
        for name, raw in inputs:
            outcome = process_message(raw, settings, store, recipient=recipient, newsletters=every)
            say(f"{name}: {outcome.describe()}")
    except StoreError as exc:
        say(f"error: {exc}; nothing lost: the message can be processed again", err=True)
        sys.exit(EXIT_TEMPFAIL)  # an MTA that piped the message in keeps it and tries again later
    if unreadable:
        sys.exit(EX_DATAERR)


@bounces.command()
@click.pass_obj
def fetch(obj: Context) -> None:
    """Read the bounce mailbox over IMAP (IMAP_HOST, IMAP_USERNAME, IMAP_PASSWORD) and file each message away.

    What digest understood goes to the folder Processed, the rest to
    Unrecognised. `digest schedule` runs this every bounces.poll_minutes.
    """
    from digest.app.bounces import KEY_USE_TOKENS, fetch_mailbox
    from digest.models.errors import DeliveryError

    obj.settings.install.require_secret(KEY_USE_TOKENS)
    try:
        report = fetch_mailbox(obj.settings, obj.store, obj.whole.scopes())
    except DeliveryError as exc:
        fail(str(exc), EXIT_PROBLEMS)
    for uid, outcome in report.outcomes:
        say(f"uid {uid}: {outcome.describe()}")
    say(f"Read       {report.read} message(s) from {obj.settings.install.bounces.imap_folder} on {obj.settings.install.bounces.imap_host}")


@bounces.command()
@click.option("--apply", "apply_id", type=int, metavar="ID", help="Apply report ID to the subscriber it names.")
@click.option("--address", help="With --apply: which of the addresses the report names (when it names several).")
@click.option("--dismiss", "dismiss_id", type=int, metavar="ID", help="Dismiss report ID: it changes nothing.")
@click.option("--dismiss-all", is_flag=True, help="Dismiss every waiting report (a flood of forged ones): they change nothing.")
@click.option("--before", metavar="DATE", help="With --dismiss-all: only those read before DATE (a date means local midnight).")
@click.option("--yes", "-y", is_flag=True, help="With --dismiss-all: do not ask for confirmation (required without a terminal).")
@click.pass_obj
def review(
    obj: Context, apply_id: int | None, address: str | None, dismiss_id: int | None, dismiss_all: bool, before: str | None, yes: bool
) -> None:
    """Bounces and complaints that carried no token of ours: list them, apply one, or dismiss one or all.

    Such a report (a relay rewrote the return path, or someone forged one to
    unsubscribe another person) never changes a status by itself. With no
    option, each waiting report is listed with the addresses and Message-IDs
    it names and whether each address is on the list.
    """
    if sum((apply_id is not None, dismiss_id is not None, dismiss_all)) > 1:
        fail("--apply, --dismiss and --dismiss-all each decide on their own: give one of them")
    if address is not None and apply_id is None:
        fail("--address goes with --apply ID")
    if (before is not None or yes) and not dismiss_all:
        fail(f"{'--before' if before is not None else '--yes'} goes with --dismiss-all")
    if dismiss_all:
        _dismiss_all(obj, before, yes)
    elif apply_id is not None or dismiss_id is not None:
        _decide(obj, apply_id, dismiss_id, address)
    else:
        _list_waiting(obj)


def _dismiss_all(obj: Context, before: str | None, yes: bool) -> None:
    """Every waiting report (read before DATE) dismissed in one command, after a person confirmed the count."""
    from digest.app.bounces import dismiss_all, waiting_reports
    from digest.app.session import moment
    from digest.models.errors import WindowError

    try:
        until = moment(before, obj.settings.newsletter.timezone) if before is not None else None
    except WindowError as exc:
        raise click.BadParameter(str(exc), param_hint="--before") from None
    which = f" read before {until:%Y-%m-%d %H:%M %Z}" if until is not None else ""
    flood = waiting_reports(obj.store, until)
    if not flood.count:
        say(f"No report{which} is waiting for review: nothing dismissed.")
        return
    again = hint(obj, "bounces", "review", "--dismiss-all", *(("--before", before) if before is not None else ()), "--yes")
    if not confirmed(
        f"Dismiss {flood.count} waiting report(s){which}? None changes any subscriber.",
        yes=yes,
        unattended=f"to dismiss them without a question: `{again}`",
    ):
        fail("nothing dismissed", EXIT_USAGE)
    dismissed = dismiss_all(obj.store, flood)
    say(f"{dismissed} report(s){which} dismissed: nothing changed")


def _decide(obj: Context, apply_id: int | None, dismiss_id: int | None, address: str | None) -> None:
    from digest.app.bounces import review as decide
    from digest.models import ReviewProblem
    from digest.models.errors import ReviewError

    event_id = apply_id if apply_id is not None else dismiss_id
    try:
        said = decide(event_id or 0, apply_to=address, dismiss=dismiss_id is not None, settings=obj.settings, store=obj.store)
    except ReviewError as exc:
        fix = {
            ReviewProblem.NOT_WAITING: f"`{hint(obj, 'bounces', 'review')}` lists those that are",
            ReviewProblem.WHICH_ADDRESS: "say which with --address",
            ReviewProblem.NOT_LISTED: f"dismiss the report with `{hint(obj, 'bounces', 'review', '--dismiss', str(exc.event_id))}`",
        }.get(exc.problem)
        fail(f"{exc}: {fix}" if fix else str(exc), EXIT_PROBLEMS)
    say(said)


def _list_waiting(obj: Context) -> None:
    """Each unattributed report: what it is, what it names (and whether each address is on the list), the commands."""
    from digest.app.bounces import awaiting_review

    waiting = awaiting_review(obj.store)
    if not waiting:
        say("No report is waiting for review.")
        return
    command = hint(obj, "bounces", "review")
    for report in waiting:
        event = report.event
        when = event.received_at.strftime("%Y-%m-%d %H:%M") if event.received_at else "?"
        status = f" {event.status}" if event.status else ""
        issue = f", issue {event.issue_id}" if event.issue_id else ""
        say(f"report {event.id}: {event.kind}{status}, read {when}{issue}: {event.diagnostic[:120]}")
        for named_address, listed in report.named:
            say(f"    names {named_address}: {f'on the list ({listed})' if listed else 'not on the list'}")
        for message_id in event.named.message_ids if event.named else ():
            say(f"    quotes Message-ID {message_id}")
        if len(report.named) == 1:
            say(f"    apply: {command} --apply {event.id}")
        for listed_address in [named for named, listed in report.named if listed] if len(report.named) > 1 else ():
            say(f"    apply: {command} --apply {event.id} --address {quote([listed_address])}")  # only a listed one applies
        say(f"    dismiss: {command} --dismiss {event.id}")
    say(f"{len(waiting)} report(s) waiting. None changes anything until applied.")
    if len(waiting) > 1:
        say(f"Dismiss them all at once (a flood of forged ones): {command} --dismiss-all")
