"""The schema's history as Alembic revisions (``versions/v01_…`` onwards), applied by :func:`upgrade`.

Every open of the store brings the database to :data:`HEAD` (``Store.open``);
``digest db upgrade`` does it on its own and ``digest db current`` tells
where a database is. Alembic is imported only when something is to be done:
a database at HEAD costs one query.

A database made before Alembic kept its version in ``schema_version`` (1 …
11, the same steps as v01 … v11): it is stamped at that revision, the old
table dropped, and upgraded from there. The upgrade takes a lock first
(BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL), so processes
starting together upgrade once, one after the other.

A new revision: ``alembic -c digest/store/migrations/alembic.ini revision
--rev-id v<next> -m "…"`` (or copy the last one), then set :data:`HEAD`; a test checks that the
revisions end at HEAD and that a database they make matches
:mod:`digest.store.schema`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from digest.models.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

HEAD = "v25"
LEGACY_VERSIONS = 11  # schema_version numbers the hand-written migrations reached; N is revision vNN
_LOCK = 7_412_031  # pg_advisory_xact_lock's key for "digest is upgrading this database"


@dataclass(frozen=True, slots=True)
class ThemeNames:
    """What the config says of its themes, for the revision that turned readers' stored theme names into keys (v17):
    the key of each name, and for a key the config derived from a name rather than gave, where to write it so that
    renaming the theme keeps its readers. Without one (no config at hand), each stored name becomes its own slug."""

    keys: Mapping[str, str] = field(default_factory=dict)  # casefolded name → key
    advice: Mapping[str, str] = field(default_factory=dict)  # derived key → where it goes in the config


def revision_of(version: int) -> str:
    return f"v{version:02d}"


def current(conn: Connection) -> str | None:
    """The revision the database is at: Alembic's, else the legacy number's, else None (empty)."""
    inspector = sa.inspect(conn)
    if inspector.has_table("alembic_version"):
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    if inspector.has_table("schema_version"):
        version = int(conn.execute(sa.text("SELECT max(version) FROM schema_version")).scalar() or 0)
        return revision_of(version) if version else None
    return None


def upgrade(
    conn: Connection,
    target: str = "head",
    themes: ThemeNames | None = None,
    newsletter: str | None = None,
    edition: str | None = None,
) -> tuple[str | None, str]:
    """Bring the database on ``conn`` (in a transaction) to ``target``; returns (from, to) revisions. ``themes``: the
    config's themes, for a revision that reads them (v17); ``newsletter``: the slug of the newsletter whose config
    opens the database, whose rows the ones made before several newsletters become (v24; None: the default's); ``edition``: the name of its first edition, whose the
    issues and schedule runs made before editions become (v25; None: ``weekly``)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
    before = current(conn)
    if before == HEAD and target in ("head", HEAD):
        return before, HEAD
    config = _config(conn)
    config.attributes["themes"] = themes or ThemeNames()
    config.attributes["newsletter"] = newsletter
    config.attributes["edition"] = edition
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(config)
    known = {revision.revision for revision in script.walk_revisions()}
    if before is not None and before not in known:
        raise StoreError(
            f"the database is at schema revision {before}, which this program does not know (it knows up to {HEAD}): "
            "a newer digest made it; run that version"
        )
    if sa.inspect(conn).has_table("schema_version"):
        version = int(conn.execute(sa.text("SELECT max(version) FROM schema_version")).scalar() or 0)
        if version > LEGACY_VERSIONS:
            raise StoreError(f"the database is at schema version {version}, newer than this program knows")
        if version:
            MigrationContext.configure(conn).stamp(script, revision_of(version))
        conn.execute(sa.text("DROP TABLE schema_version"))
    command.upgrade(config, target)
    return before, current(conn) or HEAD


def _config(conn: Connection) -> Config:
    from alembic.config import Config

    logging.getLogger("alembic").setLevel(logging.WARNING)  # its "Running upgrade …" lines are ours to print
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    config.attributes["connection"] = conn
    return config
