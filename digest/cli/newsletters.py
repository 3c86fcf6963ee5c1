"""``digest newsletters``: the install's newsletters: add one (a file in config/newsletters/), list them."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from digest.cli.common import Context, display_path, fail, say, terminal_json


@click.group()
def newsletters() -> None:
    """The install's newsletters: config/digest.toml holds the first, config/newsletters/SLUG.toml each other one.

    With several, a command about one names it: `digest --newsletter SLUG COMMAND` or
    `digest COMMAND --newsletter SLUG`, or DIGEST_NEWSLETTER=SLUG."""


@newsletters.command("add")
@click.argument("slug")
@click.option("--name", required=True, help="The newsletter's name, in its subjects and its From.")
@click.pass_obj
def add(obj: Context, slug: str, name: str) -> None:
    """Add the newsletter SLUG (lower-case letters, digits and "-"): writes config/newsletters/SLUG.toml, documented,
    with its sources in content/SLUG/ (made here), the default theme and the first newsletter's schedule. Asks nothing."""
    from digest.app.hints import command_hint
    from digest.app.newsletters import add_newsletter
    from digest.models.errors import ConfigError

    try:
        added = add_newsletter(obj.whole, slug, name)
    except ConfigError as exc:
        fail("\n".join(exc.problems))
    click.echo(f"Wrote {added.config_file}: the newsletter {name!r} ({added.slug}), its pages under /{added.slug}")
    if added.content is not None:
        click.echo(f"Made  {display_path(added.content)}: its posts (Markdown with front matter)")
    click.echo("Edit the file for its sender, themes, sources and schedule; then try it:")
    click.echo(f"  {command_hint(obj.whole.install.config_path, 'preview', newsletter=added.slug)}")


@newsletters.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format.")
@click.pass_obj
def list_(obj: Context, fmt: str) -> None:
    """Each newsletter: its slug, name, base path, subscribers (active/total) and next slot."""
    from digest.app.newsletters import newsletter_lines, unconfigured
    from digest.app.session import existing_store

    lines = newsletter_lines(obj.scopes(), existing_store, datetime.now(UTC))
    store = existing_store(obj.settings)
    try:
        orphans = unconfigured(store, obj.whole.slugs) if store is not None else ()
    finally:
        if store is not None:
            store.close()
    for orphan in orphans:  # on stderr: the JSON on stdout keeps its shape, a list of configured newsletters
        click.echo(f"warning: {orphan.said(obj.whole.install.config_path)}", err=True)
    if fmt == "json":
        click.echo(
            terminal_json(
                [
                    {
                        "slug": line.slug,
                        "name": line.name,
                        "path": line.path,
                        "config": str(line.config_file) if line.config_file else None,
                        "subscribers": {"active": line.active, "total": line.total},
                        "next_slot": line.next_slot.isoformat() if line.next_slot else None,
                    }
                    for line in lines
                ],
                indent=2,
            )
        )
        return
    for line in lines:
        slot = f"{line.next_slot.astimezone(UTC):%a %Y-%m-%d %H:%M} UTC" if line.next_slot else "none"
        say(f"{line.slug:<20} {line.name}  ({line.path}): {line.active}/{line.total} subscribers active, next slot {slot}")
