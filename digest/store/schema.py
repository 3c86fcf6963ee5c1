"""The tables as they are now, and the engine (SQLite set up for a ledger).

How a database gets to this shape is :mod:`digest.store.migrations` (Alembic
revisions, applied at open); a test holds the two equal. Timestamps are
stored as ISO 8601 text in UTC and come back timezone-aware.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa

from digest.models import OUTSTANDING_STATES, SubscriberStatus
from digest.models.errors import NaiveDatetimeError

T = TypeVar("T")


def from_row(cls: Callable[..., T], names: tuple[str, ...], row: Any, **convert: Callable[[Any], Any]) -> T:
    """A record built from the columns ``names`` of ``row``, some passed through a converter (a text state to its enum)."""
    return cls(**{name: convert[name](row[name]) if name in convert else row[name] for name in names})


def now_utc() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; ISO 8601 text in between."""

    impl = sa.String(32)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise NaiveDatetimeError("naive datetime given to the store")
        return value.astimezone(UTC).isoformat(timespec="microseconds")

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> datetime | None:
        return datetime.fromisoformat(value) if value is not None else None


metadata = sa.MetaData()


people = sa.Table(
    "people",
    metadata,
    # v24: one row per person (address), whatever newsletters they are on: a hard bounce or a complaint is about the
    # address, so it reaches every subscription of theirs (digest.store.subscribers). Made from the subscribers of v23
    # (one per address then), each keeping its subscriber's id as its own.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(320), nullable=False),  # as given
    # Unique case-insensitively: the key is the address folded to lower case.
    sa.Column("email_key", sa.String(320), nullable=False, unique=True),
    sa.Column("name", sa.String(200)),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sqlite_autoincrement=True,
)


subscribers = sa.Table(
    "subscribers",
    metadata,
    # v24: one row per subscription (a person on one newsletter). The id stays the subscription's: deliveries, mail
    # events, signed links and VERP tokens carry it, so a link in a mail sent before v24 still names its row.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("person_id", sa.Integer, sa.ForeignKey("people.id"), nullable=False),
    sa.Column("newsletter", sa.String(64), nullable=False),  # the newsletter's slug
    sa.Column("status", sa.String(16), nullable=False, server_default=SubscriberStatus.ACTIVE.value),
    sa.Column("status_reason", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # v6: the themes chosen at sign-up (a JSON list; NULL: every theme), and when the last confirmation
    # mail went out (one per 10 minutes at most, whatever a form is made to send).
    sa.Column("themes", sa.Text),
    sa.Column("confirm_sent_at", UTCDateTime),
    # v9: no issue until this day (ISO date, the newsletter's time zone), chosen on the preferences page.
    sa.Column("paused_until", sa.String(10)),
    # v12: when the sign-up awaiting this person's confirmation was made (NULL: none is). Someone who had left
    # (unsubscribed, complained, bounced) and signs up again keeps that status until they confirm, and an
    # expired sign-up only clears this; a confirmation link made before it is used up. Ids are never reused
    # (AUTOINCREMENT on SQLite, a sequence on PostgreSQL): an old link names its own person or nobody.
    sa.Column("confirming_since", UTCDateTime),
    # v13: a random salt in the MAC of this subscriber's unsubscribe and preferences links (digest.models.tokens),
    # so a link never acts on anyone but the row it was made for. NULL for rows made before: their links keep working.
    sa.Column("link_salt", sa.String(32)),
    # v25: the edition this subscription gets (NULL: the newsletter's first), and the end of the window of the last issue
    # delivered to it (set with the delivery's "sent", in its transaction): a reader's copy leaves out what came before.
    sa.Column("edition", sa.String(32)),
    sa.Column("covered_until", UTCDateTime),
    sa.Column("covered_edition", sa.String(32)),  # the edition of the issue that set covered_until
    sa.UniqueConstraint("newsletter", "person_id", name="subscriptions_once"),
    sa.Index("subscribers_by_person", "person_id"),  # a hard bounce or complaint reaches every subscription of theirs
    sqlite_autoincrement=True,
)


issues = sa.Table(
    "issues",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("window_start", UTCDateTime, nullable=False),
    sa.Column("window_end", UTCDateTime, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("preheader", sa.Text, nullable=False),
    sa.Column("html", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("post_ids", sa.Text, nullable=False),  # JSON array
    sa.Column("checks", sa.Text, nullable=False),  # JSON array of {code, level, message}
    sa.Column("created_at", UTCDateTime, nullable=False),
    # v3: JSON object {post id: fingerprint of what the reader sees}, to tell a stale frozen copy.
    sa.Column("post_prints", sa.Text, nullable=True),
    # v8: the Weekly Digest model as digest.json has it: the archive's per-theme feeds read its sections.
    sa.Column("model", sa.Text, nullable=True),
    # v9: the marked render that each reader's theme view is cut from (digest.models.Layout, JSON).
    sa.Column("layout", sa.Text, nullable=True),
    # v24: the newsletter's slug. Ids stay unique across newsletters (the slug is in their hash: models.issue_id).
    sa.Column("newsletter", sa.String(64), nullable=False),
    sa.Index("issues_by_newsletter", "newsletter", "window_end"),
    # v25: the edition of the newsletter this is an issue of. An issue id folds the edition's name in unless it is the
    # newsletter's first edition (models.issue_id), so a one-edition install keeps its ids.
    sa.Column("edition", sa.String(32), nullable=False),
)


TO_SEND = f"state IN ({', '.join(repr(state.value) for state in OUTSTANDING_STATES)})"  # the partial index's rows, as SQL


deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("issue_id", sa.String(64), sa.ForeignKey("issues.id"), primary_key=True),
    sa.Column("subscriber_id", sa.Integer, sa.ForeignKey("subscribers.id"), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_reply", sa.Text),
    sa.Column("next_attempt_at", UTCDateTime),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),
    sa.Index("deliveries_by_state", "issue_id", "state"),
    # v16: the rows still to send, in subscriber order: a worker's claim (digest.store.workers) walks this from its
    # first entry instead of passing over every row already sent, so a claim costs the same at the end of a send as at
    # the start (on the whole table, the last claims of a 100,000-reader send each read 90,000 rows).
    sa.Index(
        "deliveries_to_send",
        "issue_id",
        "subscriber_id",
        postgresql_where=sa.text(TO_SEND),
        sqlite_where=sa.text(TO_SEND),
    ),
    # v11: the send worker (digest.send.workers) that claimed the row, while it is claimed; kept once sent, as a record
    # of who sent it. NULL: unclaimed, or handled by a one-process send (which holds the send lease instead).
    sa.Column("worker", sa.String(128)),
)


leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("acquired_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    # v4: the fencing number, raised by one each time the lease changes hands (never reset: a released
    # lease keeps its row). Ledger writes carry the number their run got, and change nothing once it is stale.
    sa.Column("fence", sa.Integer, nullable=False, server_default="0"),
)

schedule_runs = sa.Table(
    "schedule_runs",
    metadata,
    # One row per scheduled slot (the fire time, UTC) of each newsletter (v24) and edition (v25): what happened to it
    # (models.SlotState).
    sa.Column("newsletter", sa.String(64), primary_key=True),
    sa.Column("edition", sa.String(32), primary_key=True),
    sa.Column("slot", UTCDateTime, primary_key=True),
    sa.Column("issue_id", sa.String(64)),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime),
)

setup_checks = sa.Table(
    "setup_checks",
    metadata,
    # v21: the doctor's latest run (`digest doctor`, `digest schedule` daily), one row per check in the order shown
    # (models.CheckName, models.Verdict), replaced whole at each run: what `digest status` reports.
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(32), nullable=False),
    sa.Column("verdict", sa.String(8), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("fix", sa.Text, nullable=False),
    sa.Column("checked_at", UTCDateTime, nullable=False),
)


approvals = sa.Table(
    "approvals",
    metadata,
    # v5: an issue's draft and its approval (schedule.approval = "required"). The prints say what was
    # approved: the stored issue's content and the editor's issue file; a change to either un-approves it.
    sa.Column("issue_id", sa.String(64), primary_key=True),
    sa.Column("draft_at", UTCDateTime),  # when the scheduler froze the draft and mailed the editors
    sa.Column("approved_at", UTCDateTime),
    sa.Column("approved_by", sa.String(320)),
    sa.Column("issue_print", sa.String(64)),
    sa.Column("file_print", sa.String(64)),
)


suppressions = sa.Table(
    "suppressions",
    metadata,
    # v7: people who asked to be forgotten: only a keyed hash of the address (HMAC with the secret key), so a
    # later import of it is refused while nothing readable about them is kept.
    sa.Column("address_hash", sa.String(64), primary_key=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
)


mail_events = sa.Table(
    "mail_events",
    metadata,
    # v10: what came back: bounces, complaints, mailed unsubscribes (digest.app.bounces), one row per message read.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(200), nullable=False, unique=True),  # the message's Message-ID, or a hash of it: read once
    sa.Column("kind", sa.String(16), nullable=False),  # digest.app.bounces.EventKind
    sa.Column("subscriber_id", sa.Integer, sa.ForeignKey("subscribers.id", ondelete="SET NULL")),
    sa.Column("issue_id", sa.String(64)),
    sa.Column("status", sa.String(16)),  # the enhanced status code (5.1.1), when there is one
    sa.Column("diagnostic", sa.Text),
    sa.Column("mailbox_uid", sa.String(64)),  # the IMAP UID it was fetched with
    sa.Column("received_at", UTCDateTime, nullable=False),
    # v12: a bounce or complaint without a token of ours changes nothing: it waits for a person
    # (digest.models.ReviewState), with what it names (JSON {"addresses": […], "message_ids": […]}).
    sa.Column("review", sa.String(16)),
    sa.Column("named", sa.Text),
    sa.Index("mail_events_by_subscriber", "subscriber_id", "kind", "received_at"),
    sa.Index("mail_events_by_issue", "issue_id", "kind"),
)


placements = sa.Table(
    "placements",
    metadata,
    # v14: each post of a frozen issue, the theme digest chose and the one it went out in (digest.models.Placed):
    # the editor's moves and inclusions teach later issues, and `digest themes report` counts them all.
    sa.Column("issue_id", sa.String(64), sa.ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("post_id", sa.String(200), primary_key=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("automatic", sa.Text),
    sa.Column("theme", sa.Text),  # NULL: the editor left the post out
    sa.Column("kind", sa.String(16), nullable=False),  # digest.models.PlacementKind
    # v18: whether builds learn from this placement; `digest themes forget-label` turns it off (a move by mistake).
    sa.Column("taught", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("theme_key", sa.Text),  # v18: the theme's key, so a label follows a renamed theme (NULL: frozen before)
)


links = sa.Table(
    "links",
    metadata,
    # v15: the counted links of an issue frozen with [tracking] clicks = "aggregate" (digest.issue.links): where
    # each leads (the redirect reads it here, never from the request) and what was counted on it. Totals only:
    # no column here, nor anywhere, holds who clicked.
    sa.Column("issue_id", sa.String(64), sa.ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("post_id", sa.String(200), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("theme", sa.Text, nullable=False),
    sa.Column("outlet", sa.Text),
    sa.Column("clicks", sa.Integer, nullable=False, server_default="0"),  # people
    sa.Column("scanned", sa.Integer, nullable=False, server_default="0"),  # link scanners, not counted as clicks
    sa.Column("repeated", sa.Integer, nullable=False, server_default="0"),  # one client again within the repeat window
)

relay_paces = sa.Table(
    "relay_paces",
    metadata,
    # v23: each relay's pace as the last send left it (digest.send.pacing): slowed by a receiver's rate limit, or
    # whole again; what `digest status` shows. One row per relay (the backend's name), written when it changes.
    sa.Column("relay", sa.String(128), primary_key=True),
    sa.Column("rate", sa.Float, nullable=False),  # messages per second; 0: no limit
    sa.Column("connections", sa.Integer, nullable=False),
    sa.Column("configured_rate", sa.Float, nullable=False),
    sa.Column("configured_connections", sa.Integer, nullable=False),
    sa.Column("throttled", sa.Boolean, nullable=False),
    sa.Column("share", sa.Float, nullable=False),  # of the configured pace: where the next run starts, if soon
    sa.Column("reason", sa.Text),  # the reply that last slowed it
    sa.Column("since", UTCDateTime),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

warmup_days = sa.Table(
    "warmup_days",
    metadata,
    # v23: the copies sent (or refused for good) on each day of a [delivery.warmup] ramp, by the newsletter's day
    # (ISO date): the day's cap is what is left of it; the first row is the ramp's day 1 when no start is set.
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("sent", sa.Integer, nullable=False, server_default="0"),
)


send_workers = sa.Table(
    "send_workers",
    metadata,
    # v11: the processes sending an issue together (PostgreSQL; digest.send.workers), each with its heartbeat. A row
    # whose heartbeat is older than delivery.claim_timeout is a dead worker: its claimed rows go to the others.
    sa.Column("id", sa.String(128), primary_key=True),  # host:pid:nonce
    sa.Column("issue_id", sa.String(64), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("heartbeat_at", UTCDateTime, nullable=False),
    sa.Column("stopped_at", UTCDateTime),
    sa.Index("send_workers_by_issue", "issue_id", "heartbeat_at"),
)


source_fetches = sa.Table(
    "source_fetches",
    metadata,
    # v19: each fetch of a feed or URL source (digest.models.FetchRecord), for its health (digest.app.health): when,
    # what came of it (error NULL: read), how many entries and how many new. The latest few per source are kept.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.Text, nullable=False),  # the location as configured
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("status", sa.Integer),  # the HTTP status, when a server answered
    sa.Column("entries", sa.Integer, nullable=False, server_default="0"),
    sa.Column("new_entries", sa.Integer, nullable=False, server_default="0"),
    sa.Column("size", sa.Integer, nullable=False, server_default="0"),  # bytes
    sa.Column("seconds", sa.Float, nullable=False, server_default="0"),
    sa.Index("source_fetches_by_source", "source", "at"),
)


source_entries = sa.Table(
    "source_entries",
    metadata,
    # v19: the entries each source has shown, one row per address and title (key: their normalised hash), with the
    # GUID it was first seen under: the same address and title under another GUID is a reissue, not news.
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("guid", sa.Text),
    sa.Column("post_id", sa.String(200), nullable=False),
    sa.Column("first_seen", UTCDateTime, nullable=False),
    sa.Column("published", UTCDateTime, nullable=False),
)


api_tokens = sa.Table(
    "api_tokens",
    metadata,
    # v20: the HTTP API's tokens (digest.app.api): never a token itself, only the SHA-256 of its secret part, found by
    # its public part. A revoked token keeps its row (the audit log names it); a name is unique among the live ones.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("public_id", sa.String(32), nullable=False, unique=True),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("scopes", sa.Text, nullable=False),  # a JSON list of digest.models.ApiScope values
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime),
    sa.Column("last_used_at", UTCDateTime),
    sqlite_autoincrement=True,
)


api_audit = sa.Table(
    "api_audit",
    metadata,
    # v20: every API request: which token (its name; NULL when none was valid), what, about whom, when, the answer. A
    # subscriber is named by id and by the keyed hash of the address; forgetting them clears the id, the hash stays.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("token", sa.String(64)),
    sa.Column("method", sa.String(8), nullable=False),
    sa.Column("operation", sa.String(64), nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("subject_kind", sa.String(16)),
    sa.Column("subject", sa.String(128)),
    sa.Column("subject_hash", sa.String(64)),
    sa.Index("api_audit_by_subject", "subject_kind", "subject"),
    sqlite_autoincrement=True,
)


webhook_endpoints = sa.Table(
    "webhook_endpoints",
    metadata,
    # v22: where webhooks go (digest.store.webhooks): the URL, the events it asked for (a JSON list of
    # digest.models.EventKind values) and its signing secret (raw bytes, base64: it must be read back to sign).
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("events", sa.Text, nullable=False),
    sa.Column("secret", sa.String(128), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("failing_since", UTCDateTime),  # the first failure since its last success (NULL: the last attempt worked)
    sa.Column("disabled_at", UTCDateTime),  # failing for three days: nothing goes out until re-enabled
    sa.Column("last_error", sa.Text),
    sqlite_autoincrement=True,
)


webhook_events = sa.Table(
    "webhook_events",
    metadata,
    # v22: the transactional outbox: one row per change, written in the transaction that made it (no event without
    # its change, no change without its event). ``body`` is the payload as it goes out (JSON, built from typed values).
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_id", sa.String(40), nullable=False, unique=True),  # the webhook-id: random, never reused
    sa.Column("kind", sa.String(32), nullable=False),
    # What the order holds within: "subscriber:12", "issue:2026-w49"; a later event of one subject waits for the earlier.
    sa.Column("subject", sa.String(80), nullable=False),
    sa.Column("subscriber_id", sa.Integer),  # no foreign key: a forgotten person's events stay, stripped
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("once", sa.String(120), unique=True),  # an event that happens at most once ("issue.sent:ID"); NULL for others
    sa.Index("webhook_events_by_subscriber", "subscriber_id"),
    sa.Index("webhook_events_by_time", "created_at"),
    sqlite_autoincrement=True,
)


webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    # v22: each event to each endpoint that asked for its kind, made with the event. A claim moves next_attempt_at past the
    # lease, so a deliverer that dies mid-post leaves the row due again later (the same webhook-id: receivers dedupe).
    sa.Column("event_id", sa.Integer, sa.ForeignKey("webhook_events.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("endpoint_id", sa.Integer, sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("subject", sa.String(80), nullable=False),
    sa.Column("delivered_at", UTCDateTime),  # NULL: still to deliver
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("claim", sa.String(40)),  # the token of the deliverer holding it; its outcome is recorded only with it
    sa.Column("last_error", sa.Text),
    sa.Index("webhook_deliveries_due", "delivered_at", "next_attempt_at"),
    sa.Index("webhook_deliveries_in_order", "endpoint_id", "subject", "event_id"),
)
