"""What every command shares: the context object, window options, exit codes and messages.

Cheap to import (click and the standard library): the pipeline, the store
and the web stack are imported by the commands that use them, when they run.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from digest.models.text import for_terminal

if TYPE_CHECKING:
    from digest.app.issues import Newsletter, Target, WindowRequest
    from digest.app.session import Config, Scope, SourceSpec, Store
    from digest.models import Problem

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2
EXIT_TEMPFAIL = 75  # sysexits.h: our side failed for now (a relay down, the database busy); the same command later goes on
F = TypeVar("F", bound=Callable[..., Any])


# The commands about the install rather than one newsletter: they run without --newsletter whatever the install
# holds (going over every newsletter where that means something: status, schedule, newsletters list).
INSTALL_COMMANDS = frozenset({"status", "schedule", "serve", "newsletters", "db", "doctor", "api-tokens", "audit", "webhooks", "bounces"})


class Context:
    """Loads settings and opens the store on first use, so ``--help`` needs neither."""

    def __init__(self, config: Path | None) -> None:
        self.config = config
        self.chosen: str | None = None  # --newsletter (before or after the command name) or DIGEST_NEWSLETTER
        self.chosen_by = "--newsletter"  # which of the two named it, for a refusal to name what was typed
        self.install_level = False  # the command is one of INSTALL_COMMANDS: no --newsletter needed
        self._whole: Config | None = None
        self._settings: Scope | None = None
        self._store: Store | None = None
        self._newsletter: Newsletter | None = None
        self.log_format = "human"  # --log-format: "json" also makes a send report as JSON log lines
        self.bare = False  # set by a command given all it reads (build/posts --source): no newsletter folder needed
        self.edition: str | None = None  # --edition: the edition whose issue the command is about; None: the default
        self.says_lost_choices = False  # set by a command that reports lost theme keys itself (status): no load warning too

    @property
    def whole(self) -> Config:
        """The install and every newsletter in it (a problem in any file: each said, exit 2)."""
        if self._whole is None:
            from digest.app.session import config_of
            from digest.models.errors import ConfigError

            try:
                self._whole = config_of(self.config, bare=self.bare)
            except ConfigError as exc:
                for problem in exc.problems:
                    click.echo(f"error: {problem}", err=True)
                sys.exit(EXIT_USAGE)
            for warning in self._whole.install.warnings:
                click.echo(f"warning: {warning}", err=True)
        return self._whole

    @property
    def settings(self) -> Scope:
        """The install and the newsletter this command is about: the one named, else the only one; a command about
        the install takes the first when none is named; any other, among several, is a usage error naming them."""
        if self._settings is None:
            from digest.models.errors import ConfigError

            whole = self.whole
            if self.chosen is None and len(whole.newsletters) > 1 and not self.install_level:
                fail(choose_one(whole.slugs, self.config))
            try:
                self._settings = whole.scope(self.chosen) if self.chosen or len(whole.newsletters) == 1 else whole.scopes()[0]
            except ConfigError as exc:
                fail(f"{self.chosen_by}: {exc}")
        return self._settings

    def scopes(self) -> tuple[Scope, ...]:
        """What a command about the install goes over: the newsletter named, else every one."""
        return (self.settings,) if self.chosen else self.whole.scopes()

    def choose_edition(self, name: str | None) -> None:
        """``--edition NAME``: the edition the command's issue is of; a name the newsletter has none of is a usage
        error listing its editions."""
        from digest.models.errors import ConfigError

        if name is None:
            return
        try:
            self.settings.newsletter.edition(name)
        except ConfigError as exc:
            raise click.UsageError(f"--edition: {'; '.join(exc.problems)}") from None
        self.edition = name

    def follow_issue_edition(self, wanted: Sequence[str]) -> None:
        """``--issue ID``: an id names its edition (ids are unique), so the command is about that edition's issue
        without --edition (every printed `--issue` hint works pasted as it is); an --edition given that is not the
        issue's is a usage error naming the issue's."""
        store = self.store_if_exists()
        editions = [store.issues.edition_of(issue) for issue in wanted] if store is not None else []
        found = {edition for edition in editions if edition is not None}
        if len(found) != 1:
            return  # unknown ids (the refusal lists the known), or ids of several editions (each command says)
        (edition,) = found
        if self.edition is not None and self.edition != edition:
            raise click.UsageError(f"--edition {self.edition}: issue {', '.join(wanted)} is of the {edition} edition: drop --edition")
        if self.edition is None and edition != self.settings.newsletter.editions[0].name:
            self.edition, self._newsletter = edition, None

    def placing(self) -> Scope:
        """The settings, for a command that places posts in themes (build, posts, send, preview, schedule,
        sample): only these say that placing by meaning cannot run here, and how to make it."""
        settings = self.settings
        if settings.newsletter.meaning.unavailable:
            click.echo(f"warning: {settings.newsletter.meaning.unavailable}", err=True)
        return settings

    @property
    def store(self) -> Store:
        if self._store is None:
            from digest.app.session import open_store

            self._store = open_store(self.settings, warn_lost=not self.says_lost_choices)
        return self._of_edition(self._store)

    def store_if_exists(self) -> Store | None:
        """The store, but only if its database is already there (an embedded SQLite file is not created just to look)."""
        if self._store is None:
            from digest.app.session import existing_store

            self._store = existing_store(self.settings)
        return self._of_edition(self._store) if self._store is not None else None

    def _of_edition(self, store: Store) -> Store:
        """The store for --edition's issues, schedule runs and readers (the first edition's when none is named)."""
        return store.of_edition(self.edition) if self.edition else store

    @property
    def newsletter(self) -> Newsletter:
        if self._newsletter is None:
            from digest.app.issues import Newsletter

            self._newsletter = Newsletter(self.settings, lambda: self.store, self.edition)
        return self._newsletter

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def choose_one(slugs: tuple[str, ...], config: Path | None) -> str:
    """The refusal of a command about one newsletter run without naming one, in an install of several: the slugs, and
    the command again, as typed (its arguments and options kept, so that pasted it does what was asked), naming one."""
    from digest.app.hints import command_hint

    words = _command_words()
    # One command per newsletter, none singled out: an example naming the first would send its list, pasted in haste.
    each = "".join(f"\n  {command_hint(config, *_typed_args(), newsletter=slug)}" for slug in slugs)
    return (
        f"this install has {len(slugs)} newsletters ({', '.join(slugs)}) and `{' '.join(words)}` is about one: name it with "
        f"--newsletter SLUG (before or after the command name) or DIGEST_NEWSLETTER=SLUG, as one of:{each}"
    )


def _typed_args() -> list[str]:
    """The command line as typed, without the options a hint writes itself (--config, --newsletter)."""
    typed, skip = [], False
    for arg in sys.argv[1:]:
        if skip:
            skip = False
        elif arg in ("--config", "--newsletter"):
            skip = True
        elif not arg.startswith(("--config=", "--newsletter=")):
            typed.append(arg)
    return typed


def _command_words() -> list[str]:
    """The command's names as typed (``subscribers add``), from the running click context."""
    words: list[str] = []
    ctx = click.get_current_context(silent=True)
    while ctx is not None and ctx.parent is not None:
        words.insert(0, ctx.info_name or "")
        ctx = ctx.parent
    return words


def operator() -> str:
    """Who runs this command, as an approval or a logged override names them: user@host."""
    import getpass

    return f"{getpass.getuser()}@{socket.gethostname()}"


def say(line: str, *, err: bool = False) -> None:
    """One line for a person, whatever text from outside it holds (an address, a diagnostic, a Message-ID from a
    stranger's mail): every control character shown as its escape, never obeyed by the terminal."""
    click.echo(for_terminal(line), err=err)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    # Errors quote what was given (an address, a server's answer): shown, never obeyed. Newlines stay: a
    # ConfigError's problems are one per line.
    click.echo(for_terminal(f"error: {message}", keep="\n"), err=True)
    sys.exit(code)


def terminal_json(value: Any, *, indent: int | None = None) -> str:
    """``value`` as JSON that is safe on a terminal: as written (non-ASCII kept), unless it holds a character a
    terminal acts on (JSON escapes C0 controls, but not C1 or bidi ones): then all of it in ASCII escapes."""
    text = json.dumps(value, ensure_ascii=False, indent=indent, default=str)
    return text if for_terminal(text, keep="\n") == text else json.dumps(value, indent=indent, default=str)


def confirmed(question: str, *, yes: bool, unattended: str) -> bool:
    """--yes, or a person at a terminal who answered yes to ``question`` (False: they said no). Without a
    terminal and without --yes, a refusal (exit 2) that says ``unattended``: the complete command with --yes."""
    if yes:
        return True
    if not sys.stdin.isatty():
        fail(f"not on a terminal: {unattended}", EXIT_USAGE)
    return click.confirm(question, default=False)


def listen(address: tuple[str, int], option: str) -> socket.socket:
    """A listening socket on ``address``, bound before a server starts: a taken or forbidden address is one
    line and exit 2 naming ``option``, never a banner followed by the server's traceback."""
    try:
        return socket.create_server(address, family=socket.AF_INET6 if ":" in address[0] else socket.AF_INET)
    except OSError as exc:
        fail(f"{option}: cannot listen there: {os.strerror(exc.errno) if exc.errno else exc}")


def report_problems(problems: tuple[Problem, ...]) -> None:
    """Every problem on stderr: a whole source that failed is an error, a bad item a warning."""
    for problem in problems:
        click.echo(f"{'error' if problem.source_failed else 'warning'}: {problem}", err=True)


def window_request(as_of: str | None, since: str | None, until: str | None, *, upcoming: bool = False) -> WindowRequest:
    from digest.app.issues import WindowRequest

    return WindowRequest(as_of=as_of, since=since, until=until, upcoming=upcoming)


def resolve_target(obj: Context, request: WindowRequest, now: datetime) -> Target:
    """The issue the window options mean, or a usage error naming the options (one line, exit 2)."""
    from digest.models.errors import WindowError

    try:
        return obj.newsletter.target(request, now)
    except WindowError as exc:
        fail(f"--as-of/--since/--until: {exc}")


def window_target(obj: Context, as_of: str | None, since: str | None, until: str | None, now: datetime) -> Target:
    """The issue the window options of a command mean (see resolve_target)."""
    return resolve_target(obj, window_request(as_of, since, until), now)


def source_specs(specs: tuple[str, ...]) -> tuple[SourceSpec, ...] | None:
    from digest.app.session import source_specs as parsed
    from digest.models.errors import ConfigError

    if not specs:
        return None
    try:
        return parsed(specs, Path.cwd())
    except ConfigError as exc:
        raise click.BadParameter("; ".join(exc.problems), param_hint="--source") from None


def not_narrowed(obj: Context, what: str) -> None:
    """A thing of the install (an API token, a webhook endpoint) asked for with a newsletter named: refused (exit 2),
    since read as "of this newsletter" it would be trusted with one list and reach every other."""
    if obj.chosen:
        fail(f"{what} reaches every newsletter of the install; {_named(obj)} would not narrow it: make it without", EXIT_USAGE)


def said_unnarrowed(obj: Context, what: str) -> None:
    """The install's things (webhook endpoints, their events) listed or replayed with a newsletter named: said on
    standard error, so that nobody reads every newsletter's as the one's they named."""
    if obj.chosen and obj.settings:  # a name the install has none of is refused first, as by any other command
        say(f"{what} are the install's, every newsletter's: {_named(obj)} does not narrow them", err=True)


def _named(obj: Context) -> str:
    return f"{obj.chosen_by} {obj.chosen}" if obj.chosen_by == "--newsletter" else f"{obj.chosen_by}={obj.chosen}"


def hint(obj: Context, *args: str, scope: Scope | None = None) -> str:
    """A command line that does what the message says (the config named when it is not the default, the newsletter
    when the install has several): about ``scope``'s newsletter, else the command's."""
    from digest.app.hints import scope_hint

    return scope_hint(scope or obj.settings, *args)


def quote(args: list[str]) -> str:
    return " ".join(shlex.quote(a) for a in args)


def with_options(options: list[Callable[[F], F]]) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


edition_option = click.option(
    "--edition",
    "edition",
    metavar="NAME",
    default=None,
    help="The edition (daily, weekly, monthly…) whose issue this is; default: the first.",
)

window_options: list[Callable[[Any], Any]] = [
    click.option(
        "--as-of",
        metavar="WHEN",
        help="Act as if it were WHEN (ISO 8601; no offset means the newsletter's time zone): "
        "the issue of the latest schedule slot at or before WHEN.",
    ),
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


with_window_options = with_options(window_options)


def display_path(path: Path, *, folder: bool = True) -> str:
    """``path`` from the working folder when under it, a folder's with its last slash."""
    try:
        shown = str(path.relative_to(Path.cwd()))
    except ValueError:
        shown = str(path)
    return f"{shown}/" if folder else shown


class StepBar:
    """A long operation's progress on the terminal, one click progress bar per step (what, done, total); silent
    when standard error is not a terminal (scripts and logs get the result, not a bar redrawn). Thread-safe: the
    preview builds in threads."""

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()
        self.shown = sys.stderr.isatty()
        self.bar: Any = None
        self.what: str | None = None
        self.done = 0

    def __call__(self, what: str, done: int, total: int) -> None:
        if not self.shown:
            return
        with self.lock:
            self._step(what, done, total)

    def _step(self, what: str, done: int, total: int) -> None:
        if what != self.what:
            self.close()
            self.bar = click.progressbar(length=total, label=what, file=sys.stderr, show_pos=True, show_percent=True)
            self.bar.__enter__()
            self.what, self.done = what, 0
        self.bar.update(done - self.done)
        self.done = done
        if done >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
        self.bar, self.what = None, None
