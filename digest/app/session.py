"""What every entry point opens first: the settings of one configuration, and its store.

The CLI, the web apps and the scheduler reach the config reader and the
database only through here, so how a config is found and checked, how a
database is opened (and upgraded), and how a failure of either is worded for
a person live in one place.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo
from pathlib import Path

from digest.config import Config as Config

# Config, Scope, Publication, SourceSpec and Store are re-exported ("as"): an entry point names them (a parameter's type, an
# annotation's) from here, so the contract that it imports nothing below app/ holds for type-only imports too.
from digest.config import Publication as Publication
from digest.config import Scope as Scope
from digest.config import SourceSpec as SourceSpec
from digest.config import find_config, load_config, parse_source_spec
from digest.issue.selection import at_moment, parse_when
from digest.models.errors import ConfigError
from digest.store import Store as Store
from digest.store import ThemeNames, database_exists, database_problem, safe_url
from digest.store.migrations import HEAD

# What a command that needs a newsletter says when it finds none: it reads nothing else and writes nothing.
NO_NEWSLETTER = "no config/digest.toml here or above: run `digest init` or cd to your newsletter"


def settings_of(
    config: Path | None, environ: Mapping[str, str] | None = None, *, bare: bool = False, newsletter: str | None = None
) -> Scope:
    """The settings of ``config`` (found from here or above when None) for the newsletter called ``newsletter``
    (None: the only one); raises ConfigError listing every problem (or the newsletters, when none or a wrong one is
    named among several). See :func:`config_of`."""
    return config_of(config, environ, bare=bare).scope(newsletter)


def config_of(config: Path | None, environ: Mapping[str, str] | None = None, *, bare: bool = False) -> Config:
    """The install of ``config`` (found from here or above when None) and all its newsletters; raises ConfigError
    listing every problem.

    Without a config found, only a ``bare`` run (one that reads just what it is given, as ``build --source``)
    takes the embedded defaults; anything else raises ConfigError(NO_NEWSLETTER) before reading anything, so
    no database or output is made in a folder that is not a newsletter's."""
    if config is None and not bare and not (os.environ if environ is None else environ).get("DIGEST_CONFIG") and find_config() is None:
        raise ConfigError([NO_NEWSLETTER])
    return load_config(config, environ=environ)


def open_store(settings: Scope, *, upgrade: bool = True, warn_lost: bool = True) -> Store:
    """The store of ``settings``, for its newsletter (what it lists and finds is that newsletter's; rows made before an
    install held several newsletters become its), its schema brought up to date unless ``upgrade`` is False; readers' theme choices
    that no theme has any more are logged as a warning (digest.app.lost_choices.warn_lost_choices) unless ``warn_lost`` is
    False: for a caller that says them itself (``digest status``), so they are said once."""
    store = Store.open(
        settings.install.database_url,
        upgrade=upgrade,
        themes=theme_names(settings.newsletter),
        newsletter=settings.newsletter.slug,
        first_edition=settings.newsletter.editions[0].name,
    )
    if upgrade and warn_lost:
        from digest.app.lost_choices import warn_lost_choices

        warn_lost_choices(settings, store)
    return store


def theme_names(newsletter: Publication) -> ThemeNames:
    """The config's themes as the upgrade that keys readers' choices reads them: each name's key, and where to write
    the keys the config derives from names (so the operator can make them stay when a name changes)."""
    keys = {name.casefold(): key for key, name in newsletter.theme_keys.items()}
    advice = {theme.key: f'key = "{theme.key}" in the [[themes]] named "{theme.name}"' for theme in newsletter.themes if theme.derived_key}
    if not newsletter.fallback_key:
        advice[newsletter.fallback_theme_key] = f'fallback_key = "{newsletter.fallback_theme_key}" in [grouping]'
    return ThemeNames(keys=keys, advice=advice)


def existing_store(settings: Scope) -> Store | None:
    """The store, but only if its database is there already: an embedded SQLite file is not created just to look."""
    return open_store(settings) if database_exists(settings.install.database_url) else None


def source_specs(texts: Iterable[str], here: Path) -> tuple[SourceSpec, ...]:
    """Sources given on a command line; a relative path means one from ``here`` (the folder the command
    runs in), while the config's own paths stay relative to its root. Raises ConfigError."""
    specs = tuple(parse_source_spec(text) for text in texts)
    return tuple(
        spec if spec.is_url or Path(spec.location).expanduser().is_absolute() else replace(spec, location=str(here / spec.location))
        for spec in specs
    )


def moment(text: str, zone: tzinfo) -> datetime:
    """``2026-11-20`` (local midnight) or ``2026-11-20T09:00[+01:00]`` (naive: local time); raises WindowError."""
    when: date | datetime = parse_when(text)
    return at_moment(when, zone)


@dataclass(frozen=True, slots=True)
class SchemaState:
    """Where the database is, the revision it is at (None: empty), and the one this program needs."""

    where: str  # the URL without its password
    revision: str | None
    head: str = HEAD

    @property
    def current(self) -> bool:
        return self.revision == self.head


def schema_state(settings: Scope) -> SchemaState:
    store = open_store(settings, upgrade=False)
    try:
        return SchemaState(safe_url(settings.install.database_url), store.version())
    finally:
        store.close()


def upgrade_schema(settings: Scope) -> tuple[SchemaState, SchemaState]:
    """Apply every revision the database lacks (one transaction); the state before and after. Raises StoreError."""
    store = open_store(settings, upgrade=False)
    try:
        before, after = store.migrate(themes=theme_names(settings.newsletter))
    finally:
        store.close()
    where = safe_url(settings.install.database_url)
    return SchemaState(where, before), SchemaState(where, after)


def machine_failure(exc: Exception) -> str | None:
    """The one-line message for a failure of the machine rather than the program: a damaged or full
    database, a full or unwritable disk. None for anything else."""
    sa_errors = sys.modules.get("sqlalchemy.exc")  # loaded only if the command used the store
    if isinstance(exc, sqlite3.Error) or (sa_errors is not None and isinstance(exc, sa_errors.SQLAlchemyError)):
        return (
            f"the database failed: {database_problem(exc)}; the ledger keeps what was committed "
            "(`digest status` shows it once the database is usable)"
        )
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return f"{exc.strerror or exc}{where}: nothing after this point was done"
    return None


__all__ = [
    "NO_NEWSLETTER",
    "SchemaState",
    "config_of",
    "existing_store",
    "machine_failure",
    "moment",
    "open_store",
    "schema_state",
    "settings_of",
    "source_specs",
    "upgrade_schema",
]
