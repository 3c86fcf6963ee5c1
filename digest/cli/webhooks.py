"""``digest webhooks``: endpoints that get signed events (add, list, remove, enable), a delivery pass, the stored
events, a replay."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import NoReturn

import click

from digest.cli.common import EXIT_PROBLEMS, Context, fail, not_narrowed, said_unnarrowed, say
from digest.models import ENDPOINT_STATE_WORDS, EVENT_WORDS, EventType
from digest.models.errors import RefusedError

_EVENTS = "\n".join(f"  {kind.value:<24} {words}" for kind, words in EVENT_WORDS.items())


@click.group(epilog="\b\nEvents:\n" + _EVENTS)
def webhooks() -> None:
    """Send signed events (Standard Webhooks) to other systems: a CRM, a website, a chat."""


def _refused(obj: Context, exc: RefusedError) -> NoReturn:
    from digest.cli.refusals import refuse

    refuse(obj, exc.refusal)


@webhooks.command("add")
@click.argument("url")
@click.option(
    "--event",
    "events",
    multiple=True,
    required=True,
    type=click.Choice([kind.value for kind in EventType]),
    help="An event to send (repeat).",
)
@click.pass_obj
def add(obj: Context, url: str, events: tuple[str, ...]) -> None:
    """Add an endpoint; print its signing secret (whsec_…) alone on the last line.

    The URL must be https:// and reach a public address; DIGEST_WEBHOOKS_ALLOW_PRIVATE=1 in the environment allows
    loopback and private addresses, and http:// (a test, a private network).
    """
    from digest.app.webhooks import add_endpoint, private_allowed

    not_narrowed(obj, "a webhook endpoint (each event names its newsletter)")
    try:
        endpoint, secret = add_endpoint(
            obj.store, url, [EventType(event) for event in events], datetime.now(UTC), allow_private=private_allowed(os.environ)
        )
    except RefusedError as exc:
        _refused(obj, exc)
    say(f"webhook endpoint {endpoint.id} added: {endpoint.url} ({', '.join(sorted(events))})")
    say("its signing secret (give it to the receiver; it is not shown again):")
    click.echo(secret)


@webhooks.command("list")
@click.pass_obj
def list_(obj: Context) -> None:
    """Every endpoint: its id, state, URL, events, what waits for it and its last error."""
    from digest.app.webhooks import endpoints

    said_unnarrowed(obj, "webhook endpoints and what waits for them")
    found = endpoints(obj.store)
    if not found:
        say("no webhook endpoints")
        return
    for endpoint in found:
        state = ENDPOINT_STATE_WORDS[endpoint.state]
        if endpoint.disabled_at is not None:
            state += f" since {endpoint.disabled_at:%Y-%m-%d %H:%M} UTC (re-enable: digest webhooks enable {endpoint.id})"
        elif endpoint.failing_since is not None:
            state += f" since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC"
        say(f"{endpoint.id}  {endpoint.url}  {state}")
        say(f"    events: {', '.join(sorted(kind.value for kind in endpoint.events))}; waiting: {endpoint.pending}")
        if endpoint.last_error:
            say(f"    last error: {endpoint.last_error}")


@webhooks.command("remove")
@click.argument("endpoint_id", type=int)
@click.pass_obj
def remove(obj: Context, endpoint_id: int) -> None:
    """Remove an endpoint, and what was still to go to it."""
    from digest.app.webhooks import remove_endpoint

    try:
        remove_endpoint(obj.store, endpoint_id)
    except RefusedError as exc:
        _refused(obj, exc)
    say(f"webhook endpoint {endpoint_id} removed")


@webhooks.command("enable")
@click.argument("endpoint_id", type=int)
@click.pass_obj
def enable(obj: Context, endpoint_id: int) -> None:
    """Take back an endpoint disabled after days of failures: what waits for it goes at the next pass, in order."""
    from digest.app.webhooks import enable_endpoint

    try:
        enable_endpoint(obj.store, endpoint_id, datetime.now(UTC))
    except RefusedError as exc:
        _refused(obj, exc)
    say(f"webhook endpoint {endpoint_id} enabled")


@webhooks.command("deliver")
@click.pass_obj
def deliver(obj: Context) -> None:
    """One pass over the deliveries due now, then exit (`digest schedule` runs one every minute)."""
    from digest.app.webhooks import deliver as deliver_due
    from digest.app.webhooks import private_allowed

    done = deliver_due(obj.store, datetime.now(UTC), allow_private=private_allowed(os.environ))
    say(f"{done.delivered} delivered, {done.failed} failed (retried later)")
    for endpoint_id in done.disabled:
        say(f"webhook endpoint {endpoint_id} disabled after days of failures: digest webhooks enable {endpoint_id}", err=True)
    if done.failed:
        raise SystemExit(EXIT_PROBLEMS)


@webhooks.command("replay")
@click.argument("endpoint_id", type=int)
@click.option("--event-id", "event_ids", multiple=True, type=int, help="An event to send again (repeat).")
@click.option("--since", help="Events made at or after this time (ISO 8601; UTC unless it says).")
@click.option("--until", help="Events made before this time (ISO 8601; UTC unless it says).")
@click.pass_obj
def replay(obj: Context, endpoint_id: int, event_ids: tuple[int, ...], since: str | None, until: str | None) -> None:
    """Send events again to one endpoint: by id (any type), or those of its types made in a time range.

    Each goes with the webhook-id it had: a receiver that still knows it keeps it once.
    """
    from digest.app.webhooks import replay as queue_again

    said_unnarrowed(obj, "the events an endpoint is sent again")
    if not event_ids and since is None and until is None:
        fail("name the events: --event-id N, or a range with --since and/or --until")
    if event_ids and (since is not None or until is not None):
        fail("name the events either by --event-id or by a range (--since, --until), not both")
    start, end = _time(since), _time(until)
    if start is not None and end is not None and start >= end:
        fail(f"--since ({since}) must be before --until ({until})")
    try:
        count = queue_again(obj.store, endpoint_id, datetime.now(UTC), event_ids=event_ids, since=start, until=end)
    except RefusedError as exc:
        _refused(obj, exc)
    say(f"{count} event(s) queued again to endpoint {endpoint_id}; `digest webhooks deliver` sends them now")


@webhooks.command("events")
@click.option("--last", default=20, show_default=True, type=click.IntRange(1, 10_000), help="How many, newest first.")
@click.option("--type", "kind", type=click.Choice([kind.value for kind in EventType]), help="Only events of this type.")
@click.pass_obj
def events(obj: Context, last: int, kind: str | None) -> None:
    """The stored events, newest first: the ids `replay --event-id` names, and how far each went."""
    from digest.app.webhooks import latest_events

    said_unnarrowed(obj, "stored events")
    found = latest_events(obj.store, last, EventType(kind) if kind else None)
    if not found:
        say("no stored events (an event is kept until delivered, then for [retention] webhook_events_days)")
    for event in found:
        made = event.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        say(f"{event.id:>8}  {made}  {event.kind.value:<24} {event.subject:<28} {event.delivered} delivered, {event.waiting} waiting")


def _time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{text}: not a time in ISO 8601 (2026-12-06T14:00)")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
