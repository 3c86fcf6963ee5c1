"""The ledger's per-message writes: one connection's commits, one a message, fenced by the send's lease.

:class:`digest.store.ledger.Ledger` reads and queues the rows; a send's senders each write through a
:class:`LedgerWriter` of their own (``Ledger.writer``), on a connection of its own, with the statements built
once at import and, on SQLite and psycopg, run on the driver's cursor directly (:class:`_Driver`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from digest.models import DeliveryState, EventType, SubscriberStatus
from digest.models.errors import StoreError
from digest.store.people import stop_person
from digest.store.schema import UTCDateTime, deliveries, issues, leases, now_utc, subscribers

Fence = tuple[str, int]  # a lease's name and the fencing number its holder got

_ONE = (deliveries.c.issue_id == sa.bindparam("issue")) & (deliveries.c.subscriber_id == sa.bindparam("subscriber"))
# A fenced write also needs the lease to still carry this run's fencing number: a run that was paused
# (SIGSTOP, a VM suspend) past its lease's expiry and woke after another run took over changes no row.
_FENCED = _ONE & sa.exists().where(leases.c.name == sa.bindparam("lease"), leases.c.fence == sa.bindparam("fence"))
# Two comparisons, not IN (…): an IN list is an "expanding" parameter that the sqlite3 fast path cannot bind.
_SENDABLE = (deliveries.c.state == DeliveryState.PENDING.value) | (deliveries.c.state == DeliveryState.DEFERRED.value)
_NOW = sa.bindparam("now", type_=UTCDateTime)
# "extra": an attempt that never reached mark_sending (the connection failed) still counts.
_EXTRA = deliveries.c.attempts + sa.bindparam("extra", 0, type_=sa.Integer)


@dataclass(frozen=True, slots=True)
class _Statements:
    """The writer's delivery updates, built once at import, with or without the fence."""

    sending: Any
    sent: Any
    deferred: Any
    released: Any
    failed: Any
    skipped: Any


def _statements(where: Any) -> _Statements:
    update = sa.update(deliveries)
    return _Statements(
        # pending/deferred → sending only: a row another run has handled meanwhile is never taken again.
        sending=update.where(where & _SENDABLE).values(
            state=DeliveryState.SENDING.value, attempts=deliveries.c.attempts + 1, updated_at=_NOW
        ),
        sent=update.where(where).values(
            state=DeliveryState.SENT.value, last_reply=sa.bindparam("reply"), sent_at=_NOW, next_attempt_at=None, updated_at=_NOW
        ),
        deferred=update.where(where).values(
            state=DeliveryState.DEFERRED.value,
            worker=None,  # any worker may retry it when it comes due
            attempts=_EXTRA,
            last_reply=sa.bindparam("reply"),
            next_attempt_at=sa.bindparam("retry_at", type_=UTCDateTime),
            updated_at=_NOW,
        ),
        # Back to pending with the attempt taken back ("extra" -1 after mark_sending): our side failed, not the reader.
        released=update.where(where).values(
            state=DeliveryState.PENDING.value,
            worker=None,
            attempts=_EXTRA,
            last_reply=sa.bindparam("reply"),
            next_attempt_at=None,
            updated_at=_NOW,
        ),
        failed=update.where(where).values(
            state=DeliveryState.FAILED.value, attempts=_EXTRA, last_reply=sa.bindparam("reply"), next_attempt_at=None, updated_at=_NOW
        ),
        # Not sent by the reader's own choice (their themes have no posts, a pause): final for this issue, never an error.
        skipped=update.where(where & _SENDABLE).values(
            state=DeliveryState.SKIPPED.value, last_reply=sa.bindparam("reply"), next_attempt_at=None, updated_at=_NOW
        ),
    )


_PLAIN = _statements(_ONE)
_FENCE = _statements(_FENCED)
# A send worker's writes (digest.send.workers) need the row to still carry its id: once a worker is taken for dead
# and its rows are claimed by another, its late writes change nothing.
_CLAIMED = _statements(_ONE & (deliveries.c.worker == sa.bindparam("claimant")))


# With each "sent", in its transaction: what the issue covered becomes what the reader has been sent up to (the end of
# its window, kept if a later one was sent already), so their next copy of any edition leaves out what came before
# (issue 35: no post twice when a reader switches editions). It changes the subscription's row, always one.
_WINDOW_END = sa.select(issues.c.window_end).where(issues.c.id == sa.bindparam("issue")).scalar_subquery()
_EDITION = sa.select(issues.c.edition).where(issues.c.id == sa.bindparam("issue")).scalar_subquery()
_LATER = subscribers.c.covered_until.is_(None) | (subscribers.c.covered_until < _WINDOW_END)
_COVERED = (
    sa.update(subscribers)
    .where(subscribers.c.id == sa.bindparam("subscriber"))
    .values(
        covered_until=sa.case((_LATER, _WINDOW_END), else_=subscribers.c.covered_until),
        # Which edition it was: the cut is for a reader who switched (their next issue of the same edition starts where
        # this one ended anyway, unless an operator sends an overlapping one on purpose: --allow-overlap).
        covered_edition=sa.case((_LATER, _EDITION), else_=subscribers.c.covered_edition),
    )
)

Write = tuple[Any, dict[str, Any]]  # a statement built at import, and its values

# The ledger's per-message commits on PostgreSQL do not wait for the WAL to reach the disk (synchronous_commit off,
# on the ledger writer's own connection alone). The ledger's rule is "nothing lost, duplicates bounded", and a mark that
# does not survive costs at most a resend, never a loss:
# - a process crash (digest killed) costs nothing more: the server has every commit it acknowledged;
# - a database crash (the server killed) or a host crash loses the commits of the last moments (the WAL writer
#   flushes every wal_writer_delay, 200 ms by default; at most three times that, PostgreSQL's documentation says).
#   A lost "sending" leaves its row pending and a lost "sent" leaves it sending: the next run resends both (with the
#   same Message-ID). A copy is only ever handed to SMTP after its "sending" was acknowledged, so no row can say
#   sent, or be forgotten, for a copy that was not sent: the loss is duplicates, about 0.6 s of the send's rate.
# Leases, claims and fences stay synchronous (they are written elsewhere, on other connections): two senders must
# never both believe they hold a send. The setting is the writer's connection's own (set once, a statement less per
# message), and that connection is closed with the writer, never handed back to the pool, so it reaches nothing else.
RELAXED_COMMIT = "SET synchronous_commit TO OFF"


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
    On SQLite and PostgreSQL it runs them, compiled once, on the driver's
    connection (:class:`_Driver`): on SQLite the ORM-free SQLAlchemy path
    still cost three times the database work, the largest part of the send
    path's overhead over raw smtplib. Any other database goes through SQLAlchemy.
    """

    def __init__(self, engine: Engine, fence: Fence | None = None, *, worker: str | None = None) -> None:
        self.conn = engine.connect()
        self.pending: dict[str, Any] | None = None  # the sent delivery not yet committed
        # The drivers whose own calls _Driver knows (psycopg's prepare=True is psycopg 3's); any other goes through SQLAlchemy.
        self.relaxed = engine.dialect.name == "postgresql"  # RELAXED_COMMIT: see there why it is safe
        if self.relaxed:
            with self.conn.begin():
                self.conn.exec_driver_sql(RELAXED_COMMIT)
        self.driver = _Driver(self.conn) if (engine.dialect.name, engine.dialect.driver) in _DIRECT else None
        self.fence = fence
        self.worker = worker
        self.sql = _CLAIMED if worker is not None else _FENCE if fence is not None else _PLAIN
        self.fence_values: dict[str, Any] = (
            {"claimant": worker} if worker is not None else {"lease": fence[0], "fence": fence[1]} if fence is not None else {}
        )

    def __enter__(self) -> LedgerWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            if self.relaxed:
                self.conn.invalidate()  # closed, not pooled: its relaxed commits stay the ledger's alone
            self.conn.close()

    def flush(self) -> None:
        """Commit the sent delivery waiting for the next write, if any."""
        if self.pending is not None:
            self._commit([])

    def _commit(self, writes: list[Write]) -> None:
        """The pending ``sent`` (if any) and ``writes``, in one transaction; each must change its delivery's row."""
        pending, self.pending = self.pending, None  # taken even if the commit fails: the row stays 'sending', resent on restart
        if pending is not None:
            writes = [(self.sql.sent, pending), (_COVERED, pending), *writes]
        if self.driver is not None:
            counts = self.driver.run(writes)
        else:
            with self.conn.begin():
                counts = [self.conn.execute(statement, values).rowcount for statement, values in writes]
        for (_statement, values), count in zip(writes, counts, strict=True):
            if count != 1:
                raise self._unchanged(values)

    def _unchanged(self, values: dict[str, Any]) -> StoreError:
        """The error for a write that changed no row: the run must stop at once, sending nothing more."""
        where = f"the delivery of {values['issue']} to subscriber {values['subscriber']}"
        if self.worker is not None:
            return StoreError(
                f"{where} was not updated: it is no longer claimed by this worker ({self.worker}), which was taken for "
                "dead and its rows given to another; stopping so nothing is sent twice"
            )
        if self.fence is not None:
            return StoreError(
                f"{where} was not updated: this run no longer holds the send lease (fencing number {self.fence[1]} is stale) "
                "or another run has handled the row; stopping so nothing is sent twice"
            )
        return StoreError(f"{where} is not in the ledger in a state that allows this change")

    def _one(self, issue_id: str, subscriber_id: int, **values: Any) -> dict[str, Any]:
        return {"issue": issue_id, "subscriber": subscriber_id, "now": now_utc(), **self.fence_values, **values}

    def mark_sending(self, issue_id: str, subscriber_id: int) -> None:
        self._commit([(self.sql.sending, self._one(issue_id, subscriber_id))])

    def mark_sent(self, issue_id: str, subscriber_id: int, reply: str) -> None:
        """Record the 250; committed with this connection's next write (see the class)."""
        self.flush()  # never two waiting: a second mark_sent without a write between commits the first
        self.pending = self._one(issue_id, subscriber_id, reply=reply)

    def mark_deferred(self, issue_id: str, subscriber_id: int, reply: str, retry_at: datetime, *, extra: int = 0) -> None:
        self._commit([(self.sql.deferred, self._one(issue_id, subscriber_id, reply=reply, retry_at=retry_at, extra=extra))])

    def mark_released(self, issue_id: str, subscriber_id: int, reply: str, *, extra: int = 0) -> None:
        """Put the row back to pending, as before the try (``extra`` -1 takes back the attempt mark_sending counted)."""
        self._commit([(self.sql.released, self._one(issue_id, subscriber_id, reply=reply, extra=extra))])

    def mark_skipped(self, issue_id: str, subscriber_id: int, reason: str) -> None:
        self._commit([(self.sql.skipped, self._one(issue_id, subscriber_id, reply=reason))])

    def mark_failed(self, issue_id: str, subscriber_id: int, reply: str, *, bounce: bool = False, extra: int = 0) -> None:
        values = self._one(issue_id, subscriber_id, reply=reply, extra=extra)
        if not bounce:
            self._commit([(self.sql.failed, values)])
            return
        # A bounce (rare) also ends the reader's subscription, and every other of the address (it is the address that
        # bounced), each with its subscriber.bounced event: all in one transaction of its own, through SQLAlchemy (the
        # outbox's write is no statement of the per-message path).
        self.flush()
        with self.conn.engine.begin() as conn:
            if conn.execute(self.sql.failed, values).rowcount != 1:
                raise self._unchanged(values)
            why = f"{issue_id}: {reply}"
            stop_person(conn, subscriber_id, SubscriberStatus.BOUNCED, why, EventType.SUBSCRIBER_BOUNCED, named_any_status=False)


Bind = tuple[str, Any, Callable[[Any], Any] | None]  # a parameter: name, value when not given, type's converter


_DIRECT = {("sqlite", "pysqlite"), ("postgresql", "psycopg")}


class _Driver:
    """Runs the ledger's statements on the driver's own connection: each compiled once, its values bound by position.

    SQLite (sqlite3): the engine turned the module's own transaction handling
    off (engine.create_engine), so BEGIN IMMEDIATE is ours, as the engine's
    begin does it: writers queue, never deadlock; one commit per message.
    PostgreSQL (psycopg 3): a message's writes (the last ``sent`` and this
    ``sending``, say) become one statement, an UPDATE per write in a WITH
    clause, run on a connection in autocommit: one statement is one
    transaction, all or nothing, so a message costs one round trip and no
    BEGIN or COMMIT of its own. Each such statement is prepared on the server
    once per connection (``prepare=True``) and then only executed.
    """

    def __init__(self, conn: Connection) -> None:
        dialect = conn.dialect
        self.postgres = dialect.name == "postgresql"
        # Positional parameters (%s) for psycopg, so that values bind by position as for sqlite3 (?).
        make: Any = type(dialect)
        self.dialect = make(paramstyle="format") if self.postgres else dialect
        db = conn.connection.dbapi_connection
        assert db is not None
        self.db: Any = db
        if self.postgres:
            db.autocommit = True  # the writer's own connection, never pooled (LedgerWriter.close)
        self.compiled: dict[int, tuple[str, tuple[Bind, ...]]] = {}
        self.together: dict[tuple[str, ...], str] = {}  # PostgreSQL: the one statement of each mix of writes

    def _compile(self, statement: Any) -> tuple[str, tuple[Bind, ...]]:
        found = self.compiled.get(id(statement))
        if found is None:
            compiled = statement.compile(dialect=self.dialect)
            binds = [(name, compiled.binds[name]) for name in compiled.positiontup or ()]
            params = tuple((name, bind.value, bind.type.bind_processor(self.dialect)) for name, bind in binds)
            found = self.compiled[id(statement)] = (compiled.string, params)
        return found

    def run(self, writes: list[Write]) -> list[int]:
        """Run ``writes`` in one transaction; each one's row count."""
        statements = []
        for statement, values in writes:
            sql, params = self._compile(statement)
            args = [values.get(name, default) for name, default, _ in params]
            statements.append((sql, [convert(arg) if convert else arg for arg, (_, _, convert) in zip(args, params, strict=True)]))
        cursor = self.db.cursor()
        if self.postgres:  # autocommit: one statement, nothing left to roll back when it fails
            try:
                return self._as_one(cursor, statements)
            finally:
                cursor.close()
        try:
            cursor.execute("BEGIN IMMEDIATE")
            counts = []
            for sql, bound in statements:
                cursor.execute(sql, bound)
                counts.append(cursor.rowcount)
            self.db.commit()
            return counts
        except BaseException:
            self.db.rollback()
            raise
        finally:
            cursor.close()

    def _as_one(self, cursor: Any, statements: list[tuple[str, list[Any]]]) -> list[int]:
        if len(statements) == 1:
            sql, bound = statements[0]
            cursor.execute(sql, bound, prepare=True)
            return [cursor.rowcount]
        key = tuple(sql for sql, _ in statements)
        together = self.together.get(key)
        if together is None:  # positional parameters: the statements' values, in their order, bind the WITH's in the same
            parts = ", ".join(f"w{n} AS ({one} RETURNING 1)" for n, one in enumerate(key))
            counts = ", ".join(f"(SELECT count(*) FROM w{n})" for n in range(len(key)))  # noqa: S608 (our own statements)
            together = self.together[key] = f"WITH {parts} SELECT {counts}"
        cursor.execute(together, [value for _, bound in statements for value in bound], prepare=True)
        return [int(count) for count in cursor.fetchone()]
