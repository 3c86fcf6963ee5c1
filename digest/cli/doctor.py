"""``digest doctor``: will the mail land, and can readers leave? Each check pass, warning or FAIL, in plain words
with the fix (the record to publish); ``digest status`` shows the latest run (``digest schedule`` runs it daily)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from digest.cli.common import EXIT_PROBLEMS, Context, say, terminal_json

if TYPE_CHECKING:
    from digest.models import SetupCheck, SetupReport


@click.command()
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Words, or JSON.")
@click.pass_obj
def doctor(obj: Context, output: str) -> None:
    """Check DNS (SPF, DKIM, DMARC, MX, MTA-STS, TLS-RPT, BIMI), the public app (/healthz, one-click
    unsubscribe), the bounce mailbox and the secrets; exit 1 on any FAIL.

    DNS is asked of [doctor] nameservers in the config, or DIGEST_NAMESERVERS
    (host:port, comma-separated), or the system's resolver. A name that does
    not resolve is a warning, never a failure. Nobody is unsubscribed: the
    one-click check posts to the token test copies carry.

    With several newsletters, each is checked in a section of its own (its sender's domain, DKIM key and public
    path; --newsletter: that one only); the JSON keeps the first's checks at its top level and adds `newsletters`,
    one object per newsletter with its slug and checks. The exit is 1 if any newsletter has a FAIL.
    """
    from digest.app.doctor import diagnose
    from digest.models.errors import StoreError

    settings = obj.settings
    # Kept for `digest status` on a fresh install too (a first run right after `digest init` was never shown there);
    # a database that cannot be opened is said, and the checks still run.
    try:
        store = obj.store
    except StoreError as exc:
        click.echo(f"warning: this run is not kept for `digest status`: {exc}", err=True)
        store = None
    now = datetime.now(UTC)
    # Each newsletter has its own From domain, DKIM key and public path: each is checked (the install's own checks,
    # the secret key and the bounce mailbox, come again in each section). The run kept for status (one for the install)
    # is the install's first newsletter's, whichever was asked: status says whose it is.
    kept, first = settings.newsletter.slug, obj.whole.newsletters[0].slug
    each = [(scope, diagnose(scope, now, store if scope.newsletter.slug == first else None)) for scope in obj.scopes()]
    report = next(item for scope, item in each if scope.newsletter.slug == kept)
    if output == "json":
        found = as_json(report)
        if len(each) > 1:
            found["newsletters"] = [{"slug": scope.newsletter.slug, **as_json(item)} for scope, item in each]
        click.echo(terminal_json(found, indent=2))
    else:
        for scope, item in each:
            if len(each) > 1:
                say(f"== {scope.newsletter.name} ({scope.newsletter.slug}, {scope.newsletter.path}) ==")
            for check in item.checks:
                for line in lines(check):
                    say(line)
            click.echo(summary(item))
    if any(item.failed for _, item in each):
        sys.exit(EXIT_PROBLEMS)


def as_json(report: SetupReport) -> dict[str, object]:
    return {
        "checked_at": report.checked_at.isoformat(),
        "checks": [{"name": c.name.value, "status": c.verdict.value, "detail": c.detail, "fix": c.fix} for c in report.checks],
    }


def lines(check: SetupCheck) -> list[str]:
    """A check in words: its verdict and title, what was found, and the fix on a line of its own."""
    from digest.models import CHECK_WORDS, VERDICT_WORDS

    said = [f"{VERDICT_WORDS[check.verdict]:<8} {CHECK_WORDS[check.name]}: {check.detail}"]
    if check.fix:
        said.append(f"{'':<8} fix: {check.fix}")
    return said


def summary(report: SetupReport) -> str:
    from digest.models import VERDICT_WORDS, Verdict

    counts = ", ".join(f"{report.count(verdict)} {VERDICT_WORDS[verdict]}" for verdict in Verdict)
    return f"Checked    {report.checked_at:%Y-%m-%d %H:%M} UTC: {counts}"
