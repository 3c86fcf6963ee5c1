"""The database: subscribers, frozen issues, the delivery ledger and leases (SQLAlchemy Core).

The schema is created and migrated by the program: ``schema_version`` holds
the version, and :data:`MIGRATIONS` are applied in order, each in its own
transaction. SQLite (the embedded default) runs in WAL mode with
``synchronous=NORMAL``: a committed row survives the process being killed,
which is the failure the ledger is built for.

Timestamps are stored as ISO 8601 text in UTC and come back timezone-aware.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from digest.errors import DeliveryError

SubscriberStatus = Literal["active", "unsubscribed", "bounced"]
DeliveryState = Literal["pending", "sending", "sent", "deferred", "failed", "skipped"]
STATES: tuple[DeliveryState, ...] = ("pending", "sending", "sent", "deferred", "failed", "skipped")


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; ISO 8601 text in between."""

    impl = sa.String(32)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC).isoformat(timespec="microseconds")

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> datetime | None:
        return datetime.fromisoformat(value) if value is not None else None


metadata = sa.MetaData()

schema_version = sa.Table("schema_version", metadata, sa.Column("version", sa.Integer, nullable=False))

subscribers = sa.Table(
    "subscribers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(320), nullable=False),
    # Unique case-insensitively: the key is the address folded to lower case.
    sa.Column("email_key", sa.String(320), nullable=False, unique=True),
    sa.Column("name", sa.String(200)),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("status_reason", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
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
)

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
)

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("acquired_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
)


schedule_runs = sa.Table(
    "schedule_runs",
    metadata,
    # One row per scheduled slot (the fire time, UTC): what happened to it.
    sa.Column("slot", UTCDateTime, primary_key=True),
    sa.Column("issue_id", sa.String(64)),
    sa.Column("state", sa.String(16), nullable=False),  # running, sent, partial, skipped, missed, failed
    sa.Column("reason", sa.Text),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("finished_at", UTCDateTime),
)


def _v1(conn: Connection) -> None:
    for table in (subscribers, issues, deliveries, leases):
        table.create(conn)


def _v2(conn: Connection) -> None:
    schedule_runs.create(conn)


# Append only: each entry takes the schema from version N-1 to N. Never edit a released one.
MIGRATIONS: list[Callable[[Connection], None]] = [_v1, _v2]


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscriber:
    id: int
    email: str
    name: str | None
    status: SubscriberStatus
    status_reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredIssue:
    """A frozen issue: exactly what was previewed, and what every send of it uses."""

    id: str
    window_start: datetime
    window_end: datetime
    subject: str
    preheader: str
    html: str
    text: str
    post_ids: tuple[str, ...]
    checks: tuple[dict[str, str], ...]
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    issue_id: str
    subscriber_id: int
    state: DeliveryState
    attempts: int
    last_reply: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Due:
    """A delivery to attempt now, with what the message needs of its subscriber."""

    subscriber_id: int
    email: str
    name: str | None
    attempts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueStatus:
    issue_id: str
    subject: str
    created_at: datetime
    counts: dict[str, int]
    problems: tuple[Delivery, ...]  # failed and deferred, with their last replies

    @property
    def recipients(self) -> int:
        return sum(self.counts.values())


def create_engine(url: str) -> Engine:
    """An engine with SQLite set up for a ledger: WAL, a busy timeout, foreign keys on."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30}, pool_pre_ping=False)

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # IMMEDIATE: take the write lock at BEGIN, so two writers queue instead of deadlocking.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


class Store:
    """All reads and writes of the database. Safe to share between threads."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> Store:
        """Open (creating or migrating as needed) the database at ``url``."""
        try:
            store = cls(create_engine(url))
            store.migrate()
        except sa.exc.SQLAlchemyError as exc:
            raise DeliveryError(f"cannot open the database {_safe_url(url)}: {exc}") from exc
        return store

    def close(self) -> None:
        self.engine.dispose()

    # -- schema ---------------------------------------------------------------

    def version(self) -> int:
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table("schema_version"):
                return 0
            return int(conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0)

    def migrate(self) -> int:
        """Apply every migration the database lacks; returns the version it is now at."""
        with self.engine.begin() as conn:
            if not sa.inspect(conn).has_table("schema_version"):
                schema_version.create(conn)
            current = int(conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0)
            if current > len(MIGRATIONS):
                raise DeliveryError(f"the database is at schema version {current}, newer than this program ({len(MIGRATIONS)})")
            for number, migration in enumerate(MIGRATIONS[current:], start=current + 1):
                migration(conn)
                conn.execute(sa.delete(schema_version))
                conn.execute(sa.insert(schema_version).values(version=number))
        return len(MIGRATIONS)

    # -- subscribers ----------------------------------------------------------

    def add_subscriber(self, email: str, name: str | None = None, *, reactivate: bool = False) -> tuple[Subscriber, bool]:
        """Add an address (already validated); returns it and whether it was new.

        An existing address keeps its status unless ``reactivate`` (an explicit
        re-subscribe) is given: an import never re-subscribes someone who left.
        """
        now = now_utc()
        key = email.casefold()
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(subscribers).where(subscribers.c.email_key == key)).mappings().first()
            if row is None:
                new_id = conn.execute(
                    sa.insert(subscribers).values(email=email, email_key=key, name=name, status="active", created_at=now, updated_at=now)
                ).inserted_primary_key
                assert new_id is not None
                return Subscriber(id=int(new_id[0]), email=email, name=name, status="active"), True
            if reactivate and row["status"] != "active":
                conn.execute(
                    sa.update(subscribers).where(subscribers.c.id == row["id"]).values(status="active", status_reason=None, updated_at=now)
                )
                return Subscriber(id=row["id"], email=row["email"], name=row["name"], status="active"), False
            return _subscriber(row), False

    def get_subscriber(self, email: str | None = None, *, subscriber_id: int | None = None) -> Subscriber | None:
        query = sa.select(subscribers)
        query = (
            query.where(subscribers.c.id == subscriber_id)
            if subscriber_id is not None
            else query.where(subscribers.c.email_key == (email or "").casefold())
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return _subscriber(row) if row is not None else None

    def set_status(self, subscriber_id: int, status: SubscriberStatus, reason: str) -> bool:
        """Change a subscriber's status; returns whether anything changed (idempotent)."""
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(subscribers)
                .where(subscribers.c.id == subscriber_id, subscribers.c.status != status)
                .values(status=status, status_reason=reason, updated_at=now_utc())
            )
        return result.rowcount > 0

    def iter_subscribers(self, status: SubscriberStatus | None = None, batch: int = 1000) -> Iterator[Subscriber]:
        """Every subscriber in id order, read in batches so a large list is never held whole."""
        last = 0
        while True:
            query = sa.select(subscribers).where(subscribers.c.id > last).order_by(subscribers.c.id).limit(batch)
            if status is not None:
                query = query.where(subscribers.c.status == status)
            with self.engine.connect() as conn:
                rows = conn.execute(query).mappings().all()
            if not rows:
                return
            for row in rows:
                yield _subscriber(row)
            last = rows[-1]["id"]

    def emails_of(self, subscriber_ids: Sequence[int]) -> dict[int, str]:
        """The addresses of a few subscribers (for reports), by id."""
        if not subscriber_ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(subscribers.c.id, subscribers.c.email).where(subscribers.c.id.in_(list(subscriber_ids)))).all()
        return {int(r[0]): str(r[1]) for r in rows}

    def count_subscribers(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(subscribers.c.status, sa.func.count()).group_by(subscribers.c.status)).all()
        return {str(status): int(count) for status, count in rows}

    # -- issues ---------------------------------------------------------------

    def save_issue(self, issue: StoredIssue, *, replace: bool = False) -> None:
        values = {
            "id": issue.id,
            "window_start": issue.window_start,
            "window_end": issue.window_end,
            "subject": issue.subject,
            "preheader": issue.preheader,
            "html": issue.html,
            "text": issue.text,
            "post_ids": json.dumps(list(issue.post_ids)),
            "checks": json.dumps(list(issue.checks)),
            "created_at": issue.created_at,
        }
        with self.engine.begin() as conn:
            if replace:
                conn.execute(sa.delete(deliveries).where(deliveries.c.issue_id == issue.id, deliveries.c.state == "pending"))
                conn.execute(sa.delete(issues).where(issues.c.id == issue.id))
            conn.execute(sa.insert(issues).values(**values))

    def load_issue(self, issue_id: str) -> StoredIssue | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(issues).where(issues.c.id == issue_id)).mappings().first()
        if row is None:
            return None
        return StoredIssue(
            id=row["id"],
            window_start=row["window_start"],
            window_end=row["window_end"],
            subject=row["subject"],
            preheader=row["preheader"],
            html=row["html"],
            text=row["text"],
            post_ids=tuple(json.loads(row["post_ids"])),
            checks=tuple(json.loads(row["checks"])),
            created_at=row["created_at"],
        )

    def list_issues(self, *, sent_only: bool = False) -> list[tuple[str, str, datetime, datetime]]:
        """(id, subject, window start, window end), newest window first."""
        query = sa.select(issues.c.id, issues.c.subject, issues.c.window_start, issues.c.window_end).order_by(issues.c.window_end.desc())
        if sent_only:
            query = query.where(sa.exists().where(deliveries.c.issue_id == issues.c.id, deliveries.c.state == "sent"))
        with self.engine.connect() as conn:
            return [(r[0], r[1], r[2], r[3]) for r in conn.execute(query).all()]

    def last_window_end(self, before: datetime) -> datetime | None:
        """The end of the latest stored issue's window at or before ``before`` (the since-last window mode)."""
        with self.engine.connect() as conn:
            ends = conn.execute(
                sa.select(issues.c.window_end).where(issues.c.window_end <= before).order_by(issues.c.window_end.desc()).limit(1)
            ).all()
        return ends[0][0] if ends else None

    def has_started(self, issue_id: str) -> bool:
        """Whether any delivery of the issue has been attempted (anything beyond pending)."""
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(deliveries.c.subscriber_id).where(deliveries.c.issue_id == issue_id, deliveries.c.state != "pending").limit(1)
            ).first()
        return found is not None

    # -- the ledger -----------------------------------------------------------

    def enqueue(self, issue_id: str) -> int:
        """A pending delivery for every active subscriber who has none for this issue yet."""
        now = now_utc()
        missing = (
            sa.select(
                sa.literal(issue_id),
                subscribers.c.id,
                sa.literal("pending"),
                sa.literal(0),
                sa.literal(now, UTCDateTime),
                sa.literal(now, UTCDateTime),
            )
            .where(subscribers.c.status == "active")
            .where(~sa.exists().where(deliveries.c.issue_id == issue_id, deliveries.c.subscriber_id == subscribers.c.id))
        )
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.insert(deliveries).from_select(["issue_id", "subscriber_id", "state", "attempts", "created_at", "updated_at"], missing)
            )
        return int(result.rowcount or 0)

    def recover_sending(self, issue_id: str) -> int:
        """The restart rule: a ``sending`` row left by a dead run goes back to ``pending``.

        The message may or may not have reached the server before the crash, so
        it is sent again: a crash repeats at most the message in flight on each
        connection, and never loses one. Call only while holding the issue's
        send lease, so that no live run's in-flight rows are touched.
        """
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(deliveries)
                .where(deliveries.c.issue_id == issue_id, deliveries.c.state == "sending")
                .values(state="pending", last_reply="resent after an interrupted run (was in flight)", updated_at=now_utc())
            )
        return int(result.rowcount or 0)

    def skip_inactive(self, issue_id: str) -> int:
        """Queued deliveries whose subscriber has since left are skipped, never sent."""
        inactive = sa.select(subscribers.c.id).where(subscribers.c.status != "active")
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(deliveries)
                .where(
                    deliveries.c.issue_id == issue_id,
                    deliveries.c.state.in_(("pending", "deferred")),
                    deliveries.c.subscriber_id.in_(inactive),
                )
                .values(state="skipped", last_reply="subscriber no longer active", updated_at=now_utc())
            )
        return int(result.rowcount or 0)

    def due(self, issue_id: str, at: datetime, after: int = 0, limit: int = 500) -> list[Due]:
        """The next deliveries to attempt: pending, or deferred and due, for active subscribers."""
        query = (
            sa.select(deliveries.c.subscriber_id, subscribers.c.email, subscribers.c.name, deliveries.c.attempts)
            .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
            .where(deliveries.c.issue_id == issue_id, deliveries.c.subscriber_id > after, subscribers.c.status == "active")
            .where(
                sa.or_(
                    deliveries.c.state == "pending",
                    sa.and_(deliveries.c.state == "deferred", deliveries.c.next_attempt_at <= at),
                )
            )
            .order_by(deliveries.c.subscriber_id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [Due(subscriber_id=r[0], email=r[1], name=r[2], attempts=r[3]) for r in conn.execute(query).all()]

    def next_retry_at(self, issue_id: str) -> datetime | None:
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(sa.func.min(deliveries.c.next_attempt_at)).where(
                    deliveries.c.issue_id == issue_id, deliveries.c.state == "deferred"
                )
            ).scalar()
        return value if isinstance(value, datetime) else None

    def ledger_writer(self) -> LedgerWriter:
        """A writer for one send worker: its own connection, statements built once."""
        return LedgerWriter(self.engine)

    def mark_sending(self, issue_id: str, subscriber_id: int) -> None:
        with self.ledger_writer() as writer:
            writer.mark_sending(issue_id, subscriber_id)

    def mark_sent(self, issue_id: str, subscriber_id: int, reply: str) -> None:
        with self.ledger_writer() as writer:
            writer.mark_sent(issue_id, subscriber_id, reply)

    def mark_deferred(self, issue_id: str, subscriber_id: int, reply: str, retry_at: datetime) -> None:
        with self.ledger_writer() as writer:
            writer.mark_deferred(issue_id, subscriber_id, reply, retry_at)

    def mark_failed(self, issue_id: str, subscriber_id: int, reply: str, *, bounce: bool = False) -> None:
        with self.ledger_writer() as writer:
            writer.mark_failed(issue_id, subscriber_id, reply, bounce=bounce)

    def deliveries_of(self, issue_id: str) -> list[Delivery]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(deliveries).where(deliveries.c.issue_id == issue_id).order_by(deliveries.c.subscriber_id)
            ).mappings()
            return [_delivery(row) for row in rows]

    def status(self, issue_ids: Sequence[str] | None = None) -> list[IssueStatus]:
        """Per issue, newest first: counts by state, and the failed and deferred with their replies."""
        result: list[IssueStatus] = []
        with self.engine.connect() as conn:
            listing = sa.select(issues.c.id, issues.c.subject, issues.c.created_at).order_by(issues.c.window_end.desc())
            if issue_ids is not None:
                listing = listing.where(issues.c.id.in_(list(issue_ids)))
            for issue_id, subject, created_at in conn.execute(listing).all():
                counts: dict[str, int] = dict.fromkeys(STATES, 0)
                for state, count in conn.execute(
                    sa.select(deliveries.c.state, sa.func.count()).where(deliveries.c.issue_id == issue_id).group_by(deliveries.c.state)
                ).all():
                    counts[state] = int(count)
                problems = conn.execute(
                    sa.select(deliveries)
                    .where(deliveries.c.issue_id == issue_id, deliveries.c.state.in_(("failed", "deferred")))
                    .order_by(deliveries.c.subscriber_id)
                    .limit(100)
                ).mappings()
                result.append(
                    IssueStatus(
                        issue_id=issue_id,
                        subject=subject,
                        created_at=created_at,
                        counts=counts,
                        problems=tuple(_delivery(row) for row in problems),
                    )
                )
        return result

    # -- scheduled runs ---------------------------------------------------------

    def record_run(
        self, slot: datetime, state: str, *, issue_id: str | None = None, reason: str | None = None, finished: bool = True
    ) -> None:
        """Create or update the record of a scheduled slot."""
        now = now_utc()
        values = {"issue_id": issue_id, "state": state, "reason": reason, "finished_at": now if finished else None}
        with self.engine.begin() as conn:
            updated = conn.execute(sa.update(schedule_runs).where(schedule_runs.c.slot == slot).values(**values)).rowcount
            if not updated:
                conn.execute(sa.insert(schedule_runs).values(slot=slot, started_at=now, **values))

    def get_run(self, slot: datetime) -> ScheduleRun | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(schedule_runs).where(schedule_runs.c.slot == slot)).mappings().first()
        return _run(row) if row is not None else None

    def recent_runs(self, limit: int = 10) -> list[ScheduleRun]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(schedule_runs).order_by(schedule_runs.c.slot.desc()).limit(limit)).mappings().all()
        return [_run(row) for row in rows]

    # -- leases ---------------------------------------------------------------

    def acquire_lease(self, name: str, owner: str, until: datetime, at: datetime | None = None, *, dead: str | None = None) -> str | None:
        """Take or renew the lease ``name``; returns None on success, else the holder's owner string.

        ``dead`` names a holder known to be gone (its process no longer
        exists): its lease is taken over at once instead of waiting for expiry.
        """
        at = at or now_utc()
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(leases).where(leases.c.name == name)).mappings().first()
            if row is None:
                conn.execute(sa.insert(leases).values(name=name, owner=owner, acquired_at=at, expires_at=until))
                return None
            if row["owner"] in (owner, dead) or row["expires_at"] <= at:
                conn.execute(
                    sa.update(leases)
                    .where(leases.c.name == name)
                    .values(owner=owner, expires_at=until, acquired_at=at if row["owner"] != owner else row["acquired_at"])
                )
                return None
            return str(row["owner"])

    def release_lease(self, name: str, owner: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(leases).where(leases.c.name == name, leases.c.owner == owner))

    def lease_holder(self, name: str) -> tuple[str, datetime] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(leases.c.owner, leases.c.expires_at).where(leases.c.name == name)).first()
        return (row[0], row[1]) if row is not None else None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleRun:
    slot: datetime
    issue_id: str | None
    state: str
    reason: str | None
    started_at: datetime
    finished_at: datetime | None


def _run(row: Any) -> ScheduleRun:
    return ScheduleRun(**{key: row[key] for key in ("slot", "issue_id", "state", "reason", "started_at", "finished_at")})


_ONE = (deliveries.c.issue_id == sa.bindparam("issue")) & (deliveries.c.subscriber_id == sa.bindparam("subscriber"))
_NOW = sa.bindparam("now", type_=UTCDateTime)
_SENDING = sa.update(deliveries).where(_ONE).values(state="sending", attempts=deliveries.c.attempts + 1, updated_at=_NOW)
_SENT = (
    sa.update(deliveries)
    .where(_ONE)
    .values(state="sent", last_reply=sa.bindparam("reply"), sent_at=_NOW, next_attempt_at=None, updated_at=_NOW)
)
_DEFERRED = (
    sa.update(deliveries)
    .where(_ONE)
    .values(
        state="deferred", last_reply=sa.bindparam("reply"), next_attempt_at=sa.bindparam("retry_at", type_=UTCDateTime), updated_at=_NOW
    )
)
_FAILED = sa.update(deliveries).where(_ONE).values(state="failed", last_reply=sa.bindparam("reply"), next_attempt_at=None, updated_at=_NOW)
_BOUNCED = (
    sa.update(subscribers)
    .where(subscribers.c.id == sa.bindparam("subscriber"), subscribers.c.status == "active")
    .values(status="bounced", status_reason=sa.bindparam("why"), updated_at=_NOW)
)


Write = tuple[Any, dict[str, Any]]  # a statement built at import, and its values


class LedgerWriter:
    """The per-message ledger writes of one connection: one commit per message.

    ``sending`` is committed before DATA. ``sent`` is recorded the moment the
    250 arrives but committed with the next write of this connection: the
    next message's ``sending``, a failure, or :meth:`flush` (which the worker
    calls before it waits for work, and :meth:`close` calls last). So at any
    instant at most one message of a connection is ``sending`` without its
    outcome in the ledger, as with a commit after every 250, at half the
    commits. The restart rule resends it; its Message-ID is the same.

    A writer keeps one connection and uses statements built once at import.
    On SQLite it runs them, compiled once, on the driver's connection: the
    ORM-free SQLAlchemy path still cost three times the database work, the
    largest part of the send path's overhead over raw smtplib. Any other
    database goes through SQLAlchemy.
    """

    def __init__(self, engine: Engine) -> None:
        self.conn = engine.connect()
        self.pending: dict[str, Any] | None = None  # the sent delivery not yet committed
        self.driver = _SqliteDriver(self.conn) if engine.dialect.name == "sqlite" else None

    def __enter__(self) -> LedgerWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.conn.close()

    def flush(self) -> None:
        """Commit the sent delivery waiting for the next write, if any."""
        if self.pending is not None:
            self._commit([])

    def _commit(self, writes: list[Write]) -> None:
        """The pending ``sent`` (if any) and ``writes``, in one transaction; each must change its delivery's row."""
        pending, self.pending = self.pending, None  # taken even if the commit fails: the row stays 'sending', resent on restart
        if pending is not None:
            writes = [(_SENT, pending), *writes]
        if self.driver is not None:
            counts = self.driver.run(writes)
        else:
            with self.conn.begin():
                counts = [self.conn.execute(statement, values).rowcount for statement, values in writes]
        for (statement, values), count in zip(writes, counts, strict=True):
            if statement is not _BOUNCED and count != 1:
                raise DeliveryError(f"no delivery of {values['issue']} to subscriber {values['subscriber']} in the ledger")

    def mark_sending(self, issue_id: str, subscriber_id: int) -> None:
        self._commit([(_SENDING, {"issue": issue_id, "subscriber": subscriber_id, "now": now_utc()})])

    def mark_sent(self, issue_id: str, subscriber_id: int, reply: str) -> None:
        """Record the 250; committed with this connection's next write (see the class)."""
        self.flush()  # never two waiting: a second mark_sent without a write between commits the first
        self.pending = {"issue": issue_id, "subscriber": subscriber_id, "reply": reply, "now": now_utc()}

    def mark_deferred(self, issue_id: str, subscriber_id: int, reply: str, retry_at: datetime) -> None:
        values = {"issue": issue_id, "subscriber": subscriber_id, "reply": reply, "retry_at": retry_at, "now": now_utc()}
        self._commit([(_DEFERRED, values)])

    def mark_failed(self, issue_id: str, subscriber_id: int, reply: str, *, bounce: bool = False) -> None:
        now = now_utc()
        writes: list[Write] = [(_FAILED, {"issue": issue_id, "subscriber": subscriber_id, "reply": reply, "now": now})]
        if bounce:
            writes.append((_BOUNCED, {"subscriber": subscriber_id, "why": f"{issue_id}: {reply}", "now": now}))
        self._commit(writes)


Bind = tuple[str, Any, Callable[[Any], Any] | None]  # a parameter: name, value when not given, type's converter


class _SqliteDriver:
    """Runs the ledger's statements on sqlite3 directly: each compiled once, its values bound by position."""

    def __init__(self, conn: Connection) -> None:
        self.dialect = conn.dialect
        # The engine turned sqlite3's own transaction handling off (create_engine): BEGIN and COMMIT are ours.
        self.db = conn.connection.dbapi_connection
        self.compiled: dict[int, tuple[str, tuple[Bind, ...]]] = {}

    def _compile(self, statement: Any) -> tuple[str, tuple[Bind, ...]]:
        found = self.compiled.get(id(statement))
        if found is None:
            compiled = statement.compile(dialect=self.dialect)
            binds = [(name, compiled.binds[name]) for name in compiled.positiontup or ()]
            params = tuple((name, bind.value, bind.type.bind_processor(self.dialect)) for name, bind in binds)
            found = self.compiled[id(statement)] = (compiled.string, params)
        return found

    def run(self, writes: list[Write]) -> list[int]:
        assert self.db is not None
        cursor = self.db.cursor()
        cursor.execute("BEGIN IMMEDIATE")  # as the engine's begin does: writers queue, never deadlock
        try:
            counts = []
            for statement, values in writes:
                sql, params = self._compile(statement)
                args = [values.get(name, default) for name, default, _ in params]
                cursor.execute(sql, [convert(arg) if convert else arg for arg, (_, _, convert) in zip(args, params, strict=True)])
                counts.append(cursor.rowcount)
            cursor.execute("COMMIT")
        except BaseException:
            if not self.db.in_transaction:
                raise
            cursor.execute("ROLLBACK")
            raise
        finally:
            cursor.close()
        return counts


def _subscriber(row: Any) -> Subscriber:
    return Subscriber(id=row["id"], email=row["email"], name=row["name"], status=row["status"], status_reason=row["status_reason"])


def _delivery(row: Any) -> Delivery:
    return Delivery(
        issue_id=row["issue_id"],
        subscriber_id=row["subscriber_id"],
        state=row["state"],
        attempts=row["attempts"],
        last_reply=row["last_reply"],
    )


def _safe_url(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "(unparsable database URL)"
