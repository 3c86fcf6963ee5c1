"""``digest sample``: what ``make run`` does, on a database of its own and the outbox, whatever the config says.

A new user's first command must not be able to mail anyone: the sample
subscribers go into ``.digest-sample/digest.sqlite`` under the project root
(never the configured database, whose list may be real), and the issue goes
to the outbox backend (never SMTP, whatever ``delivery.backend``,
``DIGEST_BACKEND`` or ``.env`` say).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import click

from digest.cli.common import EXIT_PROBLEMS, Context, display_path, fail, window_request

SAMPLE_FOLDER = ".digest-sample"


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
    import secrets

    from digest.app.issues import Newsletter
    from digest.app.output import write_issue
    from digest.config import DeliveryOptions
    from digest.errors import DigestError
    from digest.store import Store
    from digest.subscribers.csv_formats import read_csv

    base = obj.settings
    folder = base.root / SAMPLE_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    delivery: DeliveryOptions = replace(base.delivery, backend="outbox")
    settings = replace(
        base,
        database_url=f"sqlite:///{folder / 'digest.sqlite'}",
        delivery=delivery,
        secret_key=base.secret_key or secrets.token_urlsafe(32),
    )
    store = Store.open(settings.database_url)
    try:
        newsletter = Newsletter(settings, store)
        now = datetime.now(UTC)
        try:
            target = newsletter.target(window_request(as_of, None, None), now)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--as-of") from None
        path = csv_file if csv_file.is_absolute() else base.root / csv_file
        try:
            rows = list(read_csv(path.read_text(encoding="utf-8-sig")))
        except OSError as exc:
            fail(f"{path}: cannot read the sample subscribers: {exc.strerror or exc}")
        added = sum(store.subscribers.add(row.email, row.name, status=row.status)[1] for row in rows if row.email is not None)
        try:
            plan = newsletter.plan_send(target, now)
            if plan.built is not None and plan.built.digest.posts:
                click.echo(display_path(write_issue(settings.output_dir, plan.built.digest, plan.built.rendered)))
            click.echo(f"Issue      {plan.issue.id}: {plan.issue.subject} ({len(plan.issue.post_ids)} posts)")
            click.echo(
                f"Sample     {added} subscriber(s) added to {display_path(folder)}digest.sqlite (the configured database is not used)"
            )
            report = newsletter.send(plan, now)
        except DigestError as exc:
            fail(str(exc), EXIT_PROBLEMS)
        outbox = display_path(settings.delivery.outbox_dir / plan.issue.id)
        if report is None:
            click.echo(f"Outbox     nothing to send: every sample subscriber has it already ({outbox})")
            return
        click.echo(f"Outbox     {report.sent} message(s) in {outbox}")
        if not report.complete:
            sys.exit(EXIT_PROBLEMS)
    finally:
        store.close()
