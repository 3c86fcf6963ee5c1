"""``digest api-tokens`` (make, list and revoke the HTTP API's tokens) and ``digest audit`` (what the API was asked)."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from digest.cli.common import EXIT_PROBLEMS, Context, fail, not_narrowed, say
from digest.models import API_SCOPE_WORDS, ApiScope

_SCOPES_HELP = "; ".join(f"{scope.value}: {words}" for scope, words in API_SCOPE_WORDS.items())


@click.group("api-tokens")
def api_tokens() -> None:
    """The tokens of the HTTP API (digest serve, /api/v1/). Without a live token the API is off."""


@api_tokens.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice([scope.value for scope in ApiScope]),
    help=f"What the token may do (repeatable). {_SCOPES_HELP}.",
)
@click.pass_obj
def create(obj: Context, name: str, scopes: tuple[str, ...]) -> None:
    """Make a token NAME (who uses it: "website", "crm") with its scopes; the token is printed once, alone on the last
    line: only its hash is kept, so store it now. A token is the install's: it reaches every newsletter of it, each
    request naming the one it is about (--newsletter does not narrow it)."""
    from digest.app.api import ApiAccess, name_problem

    if (problem := name_problem(name)) is not None:
        raise click.BadParameter(problem, param_hint="NAME")
    not_narrowed(obj, "an API token")
    made = ApiAccess(obj.store).create(name, [ApiScope(scope) for scope in scopes], datetime.now(UTC))
    if made is None:
        fail(
            f"a live token is named {name!r} already: revoke it first (digest api-tokens revoke {name}) or choose another name",
            EXIT_PROBLEMS,
        )
    click.echo(f"Token {name!r} made with {', '.join(sorted(scopes))}. It is shown once, below; only its hash is kept.", err=True)
    click.echo("Send it as 'Authorization: Bearer <token>'.", err=True)
    click.echo(made.value)


@api_tokens.command("list")
@click.pass_obj
def list_(obj: Context) -> None:
    """Every token: its name, scopes, when made, last used and revoked (never the token itself)."""
    from digest.app.api import ApiAccess

    tokens = ApiAccess(obj.store).listed()
    if not tokens:
        click.echo("No API tokens: the API is off (digest api-tokens create NAME --scope …).")
        return
    for token in tokens:
        state = f"revoked {_when(token.revoked_at)}" if token.revoked_at else "live"
        used = _when(token.last_used_at) if token.last_used_at else "never"
        say(f"{token.name:<24} {state:<28} made {_when(token.created_at)}  last used {used}")
        say(f"{'':<24} {' '.join(sorted(scope.value for scope in token.scopes))}")


@api_tokens.command("revoke")
@click.argument("name")
@click.pass_obj
def revoke(obj: Context, name: str) -> None:
    """Revoke the live token NAME: its next request gets a 401."""
    from digest.app.api import ApiAccess

    if not ApiAccess(obj.store).revoke(name, datetime.now(UTC)):
        fail(f"no live token is named {name!r} (digest api-tokens list)", EXIT_PROBLEMS)
    click.echo(f"Revoked {name!r}.")


@click.command()
@click.option("--last", default=50, show_default=True, type=click.IntRange(1, 100_000), help="How many requests to show.")
@click.option("--token", "token", metavar="NAME", help="Only the requests of this token.")
@click.pass_obj
def audit(obj: Context, last: int, token: str | None) -> None:
    """The API's requests, newest first: when, which token, the operation, about whom, the answer. A forgotten
    subscriber shows as the keyed hash of their address only."""
    from digest.app.api import ApiAccess

    entries = ApiAccess(obj.store).audit(last, token)
    if not entries:
        click.echo("No API requests recorded.")
        return
    for entry in entries:
        who = entry.token if entry.token is not None else "(no valid token)"
        say(f"{_when(entry.at)}  {who:<20} {entry.method:<6} {entry.operation:<24} {entry.status}  {entry.subject or ''}".rstrip())


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else "-"
