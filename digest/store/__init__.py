"""The database (SQLAlchemy Core): one module per table family, joined here in :class:`Store`.

::

    schema.py       tables and their column types
    engine.py       the engine: SQLite in WAL mode for the ledger (writes lock at BEGIN, reads never wait), or PostgreSQL
    migrations/     how a database gets to schema.py: Alembic revisions, applied at open
    subscribers.py  people and their subscriptions: one person (an address) on one or more newsletters   store.subscribers
    people.py       a subscription read with its person; the stops about an address (hard bounce, complaint)
    confirmations.py  a sign-up's double opt-in: awaiting, the mail claimed, Confirm, the lapsed   (part of store.subscribers)
    issues.py       frozen issues                 store.issues
    ledger.py       deliveries: queued, due, counted   store.ledger
    writer.py       the ledger's per-message writes    store.ledger.writer(), a connection each
    runs.py         scheduled slots               store.runs
    checks.py       the doctor's latest findings  store.checks
    leases.py       one holder per named job      store.leases
    approvals.py    drafts and the editor's yes   store.approvals
    events.py       bounces, complaints read      store.events
    outbox.py       events out, written in the transaction of their change (by subscribers, issues, approvals, ledger)
    webhooks.py     webhook endpoints, and each event's delivery to them: claimed, done, retried   store.webhooks
    workers.py      send workers and their claims store.workers (PostgreSQL)
    placements.py   each post's automatic and final theme   store.placements
    links.py        counted links and their totals           store.links ([tracking] clicks)
    figures.py      what `digest report` reads, grouped       store.figures
    fetches.py      sources' fetches and the entries they showed  store.fetches
    api.py          the HTTP API's tokens (hashes) and audit log  store.api
    pacing.py       each relay's pace, the warm-up's days      store.pacing

A store is opened for one newsletter (``Store.open(url, newsletter=slug)``: the command's, by its slug): what is
listed or found per newsletter is that newsletter's (subscriptions, issues, schedule runs, approvals pending, past
placements, figures), while what is keyed by an issue id (deliveries, links, approvals, workers, placements) follows
the id, unique across newsletters, and the install's own things stay install-wide (suppressions, relay paces, warm-up
days, source fetches, API tokens, the doctor's checks, leases). A person (``people``: the address, the name) has a
subscription per newsletter (``subscribers``: status, themes, dates); a hard bounce or a complaint reaches all of
them, an unsubscribe one.

Every failure to open or migrate the database is a :class:`StoreError`.
"""

from __future__ import annotations

import functools
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from digest.config import Scope
from digest.config.extras import install_command
from digest.models.errors import StoreError
from digest.store.api import ApiStore
from digest.store.approvals import Approval, Approvals
from digest.store.checks import SetupChecks
from digest.store.engine import create_engine, reads_of
from digest.store.events import MailEvent, MailEvents, Named
from digest.store.fetches import KnownEntry, SourceFetches
from digest.store.figures import Figures, ListChange, SentIssue
from digest.store.issues import DEFAULT_EDITION, EditionScope, Issues
from digest.store.leases import Leases
from digest.store.ledger import Due, Ledger
from digest.store.links import Links
from digest.store.migrations import ThemeNames
from digest.store.pacing import Pacing
from digest.store.placements import PastLabel, PastPlacement, Placements
from digest.store.runs import Runs
from digest.store.schema import now_utc
from digest.store.subscribers import Subscribers
from digest.store.webhooks import Webhooks
from digest.store.workers import Claimed, Remaining, Workers
from digest.store.writer import LedgerWriter

__all__ = [
    "ApiStore",
    "Approval",
    "Claimed",
    "Due",
    "Figures",
    "KnownEntry",
    "LedgerWriter",
    "Links",
    "ListChange",
    "MailEvent",
    "Named",
    "PastLabel",
    "PastPlacement",
    "Placements",
    "Remaining",
    "SentIssue",
    "Store",
    "StoreError",
    "ThemeNames",
    "database_exists",
    "default_newsletter",
    "now_utc",
]


class Store:
    """All reads and writes of the database, by table family. Safe to share between threads."""

    def __init__(
        self, engine: Engine, newsletter: str | None = None, *, first_edition: str | None = None, edition: str | None = None
    ) -> None:
        self.engine = engine
        self.newsletter = newsletter or default_newsletter()  # the slug of the newsletter it lists and finds for
        # The newsletter's first edition (a subscription naming none gets it) and the edition whose issues and schedule
        # runs it lists, finds and writes (None: the first).
        self.first_edition = first_edition or DEFAULT_EDITION
        self.edition = edition or self.first_edition
        which = EditionScope(self.edition, self.first_edition)
        self.reads = reads_of(engine)
        self.subscribers = Subscribers(engine, self.newsletter)
        self.api = ApiStore(engine)
        self.issues = Issues(engine, self.newsletter, which)
        self.ledger = Ledger(engine, self.newsletter, which)
        self.runs = Runs(engine, self.newsletter, self.edition)
        self.checks = SetupChecks(engine)
        self.leases = Leases(engine)
        self.approvals = Approvals(engine)
        self.events = MailEvents(engine)
        self.workers = Workers(engine)
        self.placements = Placements(engine, self.newsletter)
        self.links = Links(engine, self.newsletter)
        self.figures = Figures(engine, self.newsletter, self.edition)
        self.fetches = SourceFetches(engine)
        self.webhooks = Webhooks(engine)
        self.pacing = Pacing(engine)

    @classmethod
    def open(
        cls,
        url: str,
        *,
        upgrade: bool = True,
        themes: ThemeNames | None = None,
        newsletter: str | None = None,
        first_edition: str | None = None,
    ) -> Store:
        """Open the database at ``url`` for the newsletter whose slug is ``newsletter`` (None: the default's),
        creating or upgrading it to this program's schema (unless not ``upgrade``: ``digest db``; ``themes``: the
        config's, for the revision that keys readers' choices by them; rows made before several newsletters become
        ``newsletter``'s, and issues and runs made before editions its ``first_edition``'s); raises StoreError."""
        try:
            store = cls(create_engine(url), newsletter, first_edition=first_edition)
            if upgrade:
                store.migrate(themes=themes)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"cannot open the database {safe_url(url)}: {database_problem(exc)}") from exc
        except ImportError as exc:  # the URL names a driver this installation lacks
            raise StoreError(
                f"cannot open the database {safe_url(url)}: its driver ({exc.name}) is not installed; "
                f"for PostgreSQL: {install_command('postgres')}"
            ) from exc
        return store

    def close(self) -> None:
        self.engine.dispose()

    def scoped(self, newsletter: str, first_edition: str | None = None) -> Store:
        """The same database (engine and pool shared) for another newsletter, whose first edition is ``first_edition``
        (its issues and readers of no edition named are that one's: pass it whenever the config is at hand; None: the
        default's name): ``close`` either closes both."""
        first = first_edition or DEFAULT_EDITION
        if newsletter == self.newsletter and first == self.first_edition and self.edition == first:
            return self
        return type(self)(self.engine, newsletter, first_edition=first)

    def of_scope(self, scope: Scope) -> Store:
        """The same database for ``scope``'s newsletter: its slug and its first edition, as the config says them."""
        return self.scoped(scope.newsletter.slug, scope.newsletter.editions[0].name)

    def of_edition(self, name: str) -> Store:
        """The same database for another edition of this newsletter: its issues, schedule runs and readers."""
        if name == self.edition:
            return self
        return type(self)(self.engine, self.newsletter, first_edition=self.first_edition, edition=name)

    def held(self) -> dict[str, tuple[int, int]]:
        """Every newsletter the database holds rows of, by slug: (its subscriptions, its issues). A slug here that no
        config names is a newsletter whose file went (or whose slug changed): its readers get nothing until it is back."""
        from digest.store.schema import issues, subscribers

        held: dict[str, tuple[int, int]] = {}
        with self.reads.connect() as conn:
            for slug, count in conn.execute(sa.select(subscribers.c.newsletter, sa.func.count()).group_by(subscribers.c.newsletter)):
                held[str(slug)] = (int(count), 0)
            for slug, count in conn.execute(sa.select(issues.c.newsletter, sa.func.count()).group_by(issues.c.newsletter)):
                held[str(slug)] = (held.get(str(slug), (0, 0))[0], int(count))
        return held

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def version(self) -> str | None:
        """The schema revision the database is at (None: empty)."""
        from digest.store import migrations

        with self.reads.connect() as conn:
            return migrations.current(conn)

    def migrate(self, target: str = "head", themes: ThemeNames | None = None) -> tuple[str | None, str]:
        """Apply every revision the database lacks (:mod:`digest.store.migrations`); returns (from, to)."""
        from digest.store import migrations

        with self.engine.begin() as conn:
            return migrations.upgrade(conn, target, themes, self.newsletter, self.first_edition)


@functools.cache
def default_newsletter() -> str:
    """The slug of the embedded default newsletter: a store opened without one (no config at hand) is its."""
    from digest.config.schema import Publication

    return Publication().slug


def database_exists(url: str) -> bool:
    """False only for an embedded SQLite file that is not there yet (a server database is assumed to exist)."""
    return not url.startswith("sqlite:///") or Path(url.removeprefix("sqlite:///")).exists()


def safe_url(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "(unparsable database URL)"


def database_problem(exc: BaseException) -> str:
    """What went wrong in the database, on one line: the driver's own message (``database disk image is
    malformed``, ``database or disk is full``), without SQLAlchemy's statement dump and help link."""
    cause = getattr(exc, "orig", None) or exc
    text = " ".join(str(cause).split()) or type(cause).__name__
    return f"{text} ({type(cause).__name__})"
