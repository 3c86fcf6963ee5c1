"""``digest publish DIR``: the archive of sent issues as a static site, with Atom feeds."""

from __future__ import annotations

from pathlib import Path

import click

from digest.cli.common import Context, StepBar


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.pass_obj
def publish(obj: Context, folder: Path) -> None:
    """Write every sent issue to FOLDER: index.html, one page per issue, one per month (YYYY-MM/index.html: every
    post of the month), feed.atom, editions/<edition>.atom (each edition but the first) and themes/<theme>.atom.

    Deployable to any static host; set newsletter.archive_url to where it is
    served, so the feeds' links point there. Running it again rewrites the
    files; entry ids never change.
    """
    from digest.app.archive import archive_url
    from digest.app.archive import publish as write_archive
    from digest.app.archive_month import month_of

    written = write_archive(obj.settings, obj.store, folder, StepBar())
    pages = [path for path in written if path.name == "index.html" and path.parent != folder]
    months = sum(1 for path in pages if month_of(path.parent.name) is not None)
    feeds = sum(1 for path in written if path.suffix == ".atom")
    click.echo(
        f"Published  {len(pages) - months} issue(s), {months} month page(s) and {feeds} feed(s) to {folder}/ "
        f"(links point at {archive_url(obj.settings)}/)"
    )
