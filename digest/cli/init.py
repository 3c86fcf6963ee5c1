"""``digest init``: a new newsletter in a folder, ready for ``digest preview`` and ``digest send``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from digest.cli.common import EXIT_PROBLEMS, fail
from digest.models import ClickTracking


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=Path())
@click.option("--name", default="My Newsletter", show_default=True, help="The newsletter's name, in the subject and the sender.")
@click.option("--timezone", "zone", default="UTC", show_default=True, help="An IANA time zone name, e.g. Europe/London.")
@click.option(
    "--base-url",
    metavar="URL",
    help="The public https address where `digest serve` will answer (unsubscribe and archive links); asked on a terminal.",
)
@click.option(
    "--clicks",
    type=click.Choice([kind.value for kind in ClickTracking]),
    help="Count clicks on post links as totals per post and theme (aggregate: nothing about any reader), or not; asked on a terminal.",
)
@click.option(
    "--warmup/--no-warmup",
    default=None,
    help="A new sending domain: start with the warm-up's growing daily caps ([delivery.warmup]); asked on a terminal, else off.",
)
def init(folder: Path, name: str, zone: str, base_url: str | None, clicks: str | None, warmup: bool | None) -> None:
    """Start a newsletter in FOLDER (default: here).

    \b
    Writes config/digest.toml (every key documented), content/posts/ with an
    example post in the latest scheduled issue (what `digest send` sends now)
    and one in the coming issue (what `digest preview` shows), an empty
    templates/ folder for your overrides of the bundled email templates, and
    .env with a fresh DIGEST_SECRET_KEY. Nothing that exists is overwritten.
    """
    from datetime import UTC, datetime

    from digest.app.scaffold import check_new_config, config_path, new_newsletter
    from digest.models.errors import ConfigError

    base_url = _checked(name, zone, base_url)
    if clicks is None:
        clicks = _asked_clicks()
    if warmup is None:
        warmup = sys.stdin.isatty() and click.confirm(
            "Is the sending domain new (no mail sent from it yet)? Then the first sends are capped per day, growing "
            "on a ramp, so receivers learn to trust it",
            default=True,
        )
    config = config_path(folder)
    if config.exists():
        fail(f"{config} exists already: nothing written (this folder has a newsletter; edit its config instead)", EXIT_PROBLEMS)

    def put(path: Path, text: str) -> None:
        if path.exists():
            click.echo(f"kept     {path} (exists)")
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        click.echo(f"wrote    {path}")

    for new in new_newsletter(folder, name, zone, base_url, datetime.now(UTC).replace(microsecond=0), ClickTracking(clicks), warmup=warmup):
        put(new.path, new.text)
    _secret_key(folder / ".env")
    try:
        check_new_config(folder)
    except ConfigError as exc:  # pragma: no cover (the scaffold is tested; this guards an edit of it)
        fail("the new config does not load: " + "; ".join(exc.problems), EXIT_PROBLEMS)
    where = "" if folder.resolve() == Path.cwd().resolve() else f"cd {folder}\n  "
    click.echo(
        "\nNext:\n"
        f"  {where}digest preview                            # the coming issue, live, at http://127.0.0.1:8000/\n"
        "  digest subscribers add you@example.org    # your first subscriber\n"
        "  digest send --dry-run                     # what a send would do\n"
        "  digest send                               # send it (to the outbox until [smtp] host is set)\n"
        "\nPlacing posts: your themes' descriptions, keywords and examples place the first issues. Every issue you\n"
        "freeze teaches the next: each post where it went out, your moves at the desk counting more, so your own\n"
        "labels join and soon outweigh the config's (a starting set of your own: [grouping] examples_file).\n"
        "`digest themes report` shows how often digest placed posts where you kept them, issue by issue."
    )


def _checked(name: str, zone: str, base_url: str | None) -> str:
    """The options checked (a usage error naming the option otherwise); the base URL, asked on a terminal."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f'unknown time zone "{zone}" (use an IANA name like "Europe/London")', param_hint="--timezone") from None
    if not name.strip() or any(ch in name for ch in '\r\n<>"'):
        raise click.BadParameter(f"{name!r}: a name on one line, without <, > or quotes", param_hint="--name")
    if base_url is None and sys.stdin.isatty():
        base_url = click.prompt(
            "Public https address of `digest serve` (unsubscribe links point there; Enter: decide later)", default="", show_default=False
        )
    base_url = (base_url or "").strip().rstrip("/") or "http://127.0.0.1:8080"
    if not base_url.startswith(("http://", "https://")):
        raise click.BadParameter(f"{base_url!r}: an address like https://news.example.org", param_hint="--base-url")
    return base_url


def _asked_clicks() -> str:
    """[tracking] clicks, asked on a terminal (off without one): the operator decides, knowing what it keeps."""
    if not sys.stdin.isatty():
        return ClickTracking.OFF.value
    answer: str = click.prompt(
        "Count clicks on post links? aggregate: totals per post and theme, nothing about who clicked; off: direct links",
        type=click.Choice([kind.value for kind in ClickTracking]),
        default=ClickTracking.OFF.value,
    )
    return answer


def _secret_key(env: Path) -> None:
    """A fresh DIGEST_SECRET_KEY in ``.env`` (readable by its owner only), unless it has one."""
    import secrets

    if env.exists() and "DIGEST_SECRET_KEY" in env.read_text(encoding="utf-8"):
        click.echo(f"kept     {env} (it has a DIGEST_SECRET_KEY)")
        return
    if os.environ.get("DIGEST_SECRET_KEY"):
        # A second, different key in .env would lose to the environment's now and win wherever the variable is not
        # set (`serve` under a service manager): the links of mail signed with one would look forged to the other.
        click.echo(f"no key   in {env}: DIGEST_SECRET_KEY is set in your environment; set it wherever digest runs")
        return
    with env.open("a", encoding="utf-8") as handle:
        handle.write(f"DIGEST_SECRET_KEY={secrets.token_urlsafe(32)}\n")
    env.chmod(0o600)
    click.echo(f"wrote    {env} (a fresh DIGEST_SECRET_KEY; keep it out of version control)")
