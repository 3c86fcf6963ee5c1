"""What would otherwise grow for ever, kept for its configured time ([retention]): webhook events once every
endpoint got them, and the HTTP API's audit log. ``digest schedule``'s daily pass and ``digest db prune`` call this."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from digest.config.schema import Retention
from digest.store import Store


@dataclass(frozen=True, slots=True)
class Pruned:
    """What one prune deleted, and the moments before which it did (None: that part is kept for ever)."""

    events: int
    audit: int
    events_before: datetime | None
    audit_before: datetime | None


def prune(store: Store, retention: Retention, now: datetime) -> Pruned:
    """Delete the delivered webhook events and the audit log's lines past their time (a 0 keeps that part for ever).
    An event still to deliver, or failing, is never deleted: it waits for its endpoint whatever its age."""
    events_before = now - timedelta(days=retention.webhook_events_days) if retention.webhook_events_days else None
    audit_before = now - timedelta(days=retention.audit_days) if retention.audit_days else None
    return Pruned(
        events=store.webhooks.prune(events_before) if events_before is not None else 0,
        audit=store.api.prune(audit_before) if audit_before is not None else 0,
        events_before=events_before,
        audit_before=audit_before,
    )
