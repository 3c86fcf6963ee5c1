"""``digest publish DIR``: the archive of sent issues as a static site, with Atom feeds."""

from __future__ import annotations

from pathlib import Path

import click

from digest.cli.common import Context, StepBar


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
def publish(obj: Context, folder: Path) -> None:
    """Write every sent issue to FOLDER: index.html, one page per issue, feed.atom and themes/<theme>.atom.

    Deployable to any static host; set newsletter.archive_url to where it is
    served, so the feeds' links point there. Running it again rewrites the
    files; entry ids never change.
    """
    from digest.app.archive import archive_url
    from digest.app.archive import publish as write_archive

    written = write_archive(obj.settings, obj.store, folder, StepBar())
    issues = sum(1 for path in written if path.name == "index.html" and path.parent != folder)
    feeds = sum(1 for path in written if path.suffix == ".atom")
    click.echo(f"Published  {issues} issue(s) and {feeds} feed(s) to {folder}/ (links point at {archive_url(obj.settings)}/)")
