"""What every command shares: the context object, window options, exit codes and messages."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from digest.config import Settings, SourceSpec, load_settings, parse_source_spec
from digest.errors import ConfigError
from digest.models import Window
from digest.output import last_issue_end
from digest.selection import at_moment, parse_when, requested_window
from digest.store import Store

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
F = TypeVar("F", bound=Callable[..., Any])


class Context:
    """Loads settings and opens the store on first use, so ``--help`` needs neither."""

    def __init__(self, config: Path | None) -> None:
        self.config = config
        self._settings: Settings | None = None
        self._store: Store | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(self.config)
            except ConfigError as exc:
                for problem in exc.problems:
                    click.echo(f"error: {problem}", err=True)
                sys.exit(EXIT_USAGE)
        return self._settings

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store.open(self.settings.database_url)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def parse_moment(value: str | None, option: str) -> date | datetime | None:
    """An option's ISO 8601 day or moment, or a usage error naming the option."""
    if value is None:
        return None
    try:
        return parse_when(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=option) from None


def aware(moment: date | datetime, settings: Settings) -> datetime:
    return at_moment(moment, settings.timezone)


def resolve_window(settings: Settings, as_of: str | None, since: str | None, until: str | None, now: datetime | None = None) -> Window:
    """The window for a run: --since/--until if given, else the configured rule at --as-of (or now)."""
    try:
        return requested_window(
            settings.window,
            settings.timezone,
            now or datetime.now(UTC),
            as_of=as_of,
            since=since,
            until=until,
            last_end=lambda at: last_issue_end(settings.output_dir, at),
        )
    except ValueError as exc:
        raise click.UsageError(f"--as-of/--since/--until: {exc}") from None


def source_specs(specs: tuple[str, ...]) -> tuple[SourceSpec, ...] | None:
    if not specs:
        return None
    try:
        return tuple(parse_source_spec(spec) for spec in specs)
    except ConfigError as exc:
        raise click.BadParameter("; ".join(exc.problems), param_hint="--source") from None


def with_options(options: list[Callable[[F], F]]) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


window_options: list[Callable[[Any], Any]] = [
    click.option("--as-of", metavar="WHEN", help="Run as if at WHEN (ISO 8601; no offset means the newsletter's time zone)."),
    click.option("--since", metavar="DATE", help="Start of an explicit window (inclusive; a date means local midnight)."),
    click.option("--until", metavar="DATE", help="End of an explicit window (exclusive; a date means local midnight)."),
    click.option(
        "--source",
        "sources",
        multiple=True,
        metavar="SPEC",
        help="Use this source instead of the configured ones (repeatable): a path, glob or URL, kind detected, "
        "or forced with markdown:, feed:, archive:.",
    ),
    click.option("--strict", is_flag=True, help="Treat any bad input (file, entry, feed) as a failure: exit 1 and write nothing."),
]


def display_path(path: Path) -> str:
    try:
        return f"{path.relative_to(Path.cwd())}/"
    except ValueError:
        return f"{path}/"
