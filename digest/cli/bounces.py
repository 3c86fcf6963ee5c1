"""``digest bounces process``: read bounces, complaints and mailed unsubscribes, and update the list."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from digest.cli.common import EXIT_PROBLEMS, Context, fail

EX_TEMPFAIL = 75  # sysexits.h: an MTA that piped the message in keeps it and tries again later


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
    nothing. Exit 0 when every message was read, whatever it said; 1 when a
    file could not be read; 75 (try again later) when the database could not
    be written, so an MTA piping mail in keeps the message.
    """
    from digest.bounces import process_message
    from digest.errors import StoreError

    settings = obj.settings
    if not settings.secret_key:
        fail("DIGEST_SECRET_KEY is not set: it checks the tokens in the bounce addresses (set it in the environment or .env)")
    inputs: list[tuple[str, bytes]] = []
    unreadable = 0
    for path in files or (Path("-"),):
        if str(path) == "-":
            inputs.append(("stdin", sys.stdin.buffer.read()))
            continue
        try:
            inputs.append((str(path), path.read_bytes()))
        except OSError as exc:
            click.echo(f"error: {path}: cannot read: {exc.strerror or exc}", err=True)
            unreadable += 1
    try:
        store = obj.store
        for name, raw in inputs:
            outcome = process_message(raw, settings, store, recipient=recipient)
            click.echo(f"{name}: {outcome.describe()}")
    except StoreError as exc:
        click.echo(f"error: {exc}; nothing lost: the message can be processed again", err=True)
        sys.exit(EX_TEMPFAIL)
    if unreadable:
        sys.exit(1)


@bounces.command()
@click.pass_obj
def fetch(obj: Context) -> None:
    """Read the bounce mailbox over IMAP (IMAP_HOST, IMAP_USERNAME, IMAP_PASSWORD) and file each message away.

    What digest understood goes to the folder Processed, the rest to
    Unrecognised. `digest schedule` runs this every bounces.poll_minutes.
    """
    from digest.bounces.mailbox import fetch as fetch_mailbox
    from digest.errors import DeliveryError

    if not obj.settings.secret_key:
        fail("DIGEST_SECRET_KEY is not set: it checks the tokens in the bounce addresses (set it in the environment or .env)")
    try:
        report = fetch_mailbox(obj.settings, obj.store)
    except DeliveryError as exc:
        fail(str(exc), EXIT_PROBLEMS)
    for uid, outcome in report.outcomes:
        click.echo(f"uid {uid}: {outcome.describe()}")
    click.echo(f"Read       {report.read} message(s) from {obj.settings.bounces.imap_folder} on {obj.settings.bounces.imap_host}")
