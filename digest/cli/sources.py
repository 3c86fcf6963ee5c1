"""``digest sources``: each configured source and how it stands: ok, stale or failing, with why, from its recorded
fetches (:mod:`digest.app.health`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from digest.cli.common import Context, say

if TYPE_CHECKING:
    from digest.models import FetchRecord, SourceHealth


@click.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format.")
@click.pass_obj
def sources(obj: Context, fmt: str) -> None:
    """Each source with its health: ok; stale (no new entry for several times its usual interval); failing (its
    last fetches in a row failed); unknown (no fetch recorded: a Markdown folder keeps none). Every fetch a build,
    preview or `digest posts` makes of a feed or URL source is recorded."""
    from digest.app.health import source_health

    judged = source_health(obj.settings.newsletter.sources, obj.store, datetime.now(UTC))
    if fmt == "json":
        click.echo(json.dumps([health_json(item) for item in judged], indent=2))
        return
    if not judged:
        click.echo("No sources configured.")
    for item in judged:
        say(f"{item.health.value:<8} {item.kind}:{item.source}")
        say(f"         {item.reason}")


def health_json(item: SourceHealth) -> dict[str, object]:
    """One source's health as ``digest sources --format json`` gives it."""
    return {
        "source": item.source,
        "kind": item.kind,
        "health": item.health.value,
        "words": item.health.words,
        "reason": item.reason,
        "last_fetch": _fetch_json(item.last),
        "fetches": item.fetches,
        "failures_in_row": item.failures_in_row,
        "entries_known": item.entries_known,
        "last_new_at": item.last_new_at.isoformat() if item.last_new_at else None,
    }


def _fetch_json(record: FetchRecord | None) -> dict[str, object] | None:
    if record is None:
        return None
    return {
        "at": record.at.isoformat(),
        "result": "ok" if record.ok else "failed",
        "error": record.error,
        "http_status": record.status,
        "entries": record.entries,
        "new_entries": record.new_entries,
        "bytes": record.size,
        "seconds": record.seconds,
    }
