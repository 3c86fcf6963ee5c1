"""``digest sample``: what ``make run`` does (see digest.app.sample): the sample issue to the outbox, on a database of its own."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from digest.cli.common import EXIT_PROBLEMS, Context, display_path, fail


@click.command()
@click.option("--as-of", metavar="WHEN", help="Act as if it were WHEN: the issue of the latest schedule slot at or before WHEN.")
@click.option(
    "--subscribers",
    "csv_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("config/subscribers.sample.csv"),
    show_default=True,
    help="Sample subscribers (CSV), read into the sample database only.",
)
@click.pass_obj
def sample(obj: Context, as_of: str | None, csv_file: Path) -> None:
    """Build the sample issue and deliver it to the outbox, on a sample database of its own (what `make run` does).

    The configured database and SMTP settings are never used, so this cannot
    mail a real list. Run it again and nothing is sent twice.
    """
    from digest.app.sample import SampleRun, deliver_sample
    from digest.models.errors import DigestError, WindowError

    base = obj.placing()
    path = csv_file if csv_file.is_absolute() else base.install.root / csv_file
    try:
        rows = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        fail(f"{path}: cannot read the sample subscribers: {exc.strerror or exc}")

    def tell(run: SampleRun) -> None:
        if run.written is not None:
            click.echo(display_path(run.written))
        click.echo(f"Issue      {run.plan.issue.id}: {run.plan.issue.subject} ({len(run.plan.issue.post_ids)} posts)")
        click.echo(
            f"Sample     {run.added} subscriber(s) added to {display_path(run.folder)}digest.sqlite (the configured database is not used)"
        )

    try:
        run = deliver_sample(base, rows, as_of, datetime.now(UTC), on_plan=tell)
    except WindowError as exc:
        raise click.BadParameter(str(exc), param_hint="--as-of") from None
    except DigestError as exc:
        fail(str(exc), EXIT_PROBLEMS)
    outbox = display_path(run.outbox)
    if run.report is None:
        click.echo(f"Outbox     nothing to send: every sample subscriber has it already ({outbox})")
        return
    click.echo(f"Outbox     {run.report.sent} message(s) in {outbox}")
    if not run.report.complete:
        sys.exit(EXIT_PROBLEMS)
