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
from digest.selection import window_between, window_for
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
    """``2026-11-20`` (a day) or ``2026-11-20T09:00[+01:00]`` (a moment; naive means local)."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        return datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 date or date-time (e.g. 2026-11-20 or 2026-11-20T09:00)", param_hint=option
        ) from None


def aware(moment: date | datetime, settings: Settings) -> datetime:
    if isinstance(moment, datetime):
        return moment if moment.tzinfo else moment.replace(tzinfo=settings.timezone)
    return datetime.combine(moment, datetime.min.time(), tzinfo=settings.timezone)


def resolve_window(settings: Settings, as_of: str | None, since: str | None, until: str | None, now: datetime | None = None) -> Window:
    """The window for a run: --since/--until if given, else the configured rule at --as-of (or now)."""
    start, end = parse_moment(since, "--since"), parse_moment(until, "--until")
    if (start is None) != (end is None):
        raise click.UsageError("--since and --until go together")
    if start is not None and end is not None:
        if as_of:
            raise click.UsageError("--as-of cannot be combined with --since/--until")
        try:
            return window_between(start, end, settings.timezone)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--since/--until") from None
    at = now or datetime.now(UTC)
    if as_of:
        moment = parse_moment(as_of, "--as-of")
        assert moment is not None
        at = aware(moment, settings)
    last = last_issue_end(settings.output_dir, at) if settings.window.mode == "since-last" else None
    return window_for(at, settings.window, settings.timezone, last)


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
