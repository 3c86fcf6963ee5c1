"""The digest command as a user runs it: in this process (``cli``, ``in_process``) or as a real subprocess
(``cli_process``, ``popen``, ``digest``).

A subprocess pays Python's start and digest's imports again (1–2.5 s on the suite's machine); most tests only
need what the command says and its exit status, which ``in_process`` gives through the same entry point
(``digest.cli.run``: click's parsing, the exit codes, the one-line errors) in a few milliseconds once the imports
are warm. A test keeps a real process where one is killed or signalled, where it is about a separate process
(workers, a crash, a terminal) or where starting the program itself is the subject (``python -m digest``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import traceback
import types
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import click.formatting
from click.testing import CliRunner

from conftest import FIXTURES, REPO

PROJECT_CONFIG = FIXTURES / "project" / "config" / "digest.toml"
SECRET = "test-secret-key-for-the-suite-0123456789"
# What a test's command must not inherit from the shell the suite runs in (a real list's settings).
INHERITED = ("DIGEST_", "SMTP_", "DATABASE_URL")


def cli(config: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """``digest --config CONFIG ARGS`` run in this process, with the suite's signing key and none of the shell's
    DIGEST_/SMTP_ settings: its exit status, standard output and error as a subprocess would give them."""
    return in_process(["--config", str(config), *args], env={"DIGEST_SECRET_KEY": SECRET}, drop=INHERITED, input=input)


def cli_process(config: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """:func:`cli` as a real ``python -m digest`` subprocess: for a test about the process itself."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(INHERITED)}
    env["DIGEST_SECRET_KEY"] = SECRET
    return subprocess.run(
        [sys.executable, "-m", "digest", "--config", str(config), *args], env=env, capture_output=True, text=True, input=input, timeout=300
    )


def popen(config: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(INHERITED)}
    env["DIGEST_SECRET_KEY"] = SECRET
    return subprocess.Popen(
        [sys.executable, "-m", "digest", "--config", str(config), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def digest(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``digest ARGS`` in ``cwd`` (the repository: its config/digest.toml), in this process, with none of the
    shell's DIGEST_ settings but ``env``'s."""
    return in_process(args, env=env, cwd=cwd)


def digest_process(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """:func:`digest` as a real ``python -m digest`` subprocess: for a test about the program as it starts."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "digest", *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120)


def in_process(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    drop: tuple[str, ...] = ("DIGEST_",),
    input: str | bytes | None = None,
    cwd: Path | None = None,
    text: bool = True,
) -> subprocess.CompletedProcess[Any]:
    """``python -m digest ARGS`` through ``digest.cli.run`` in this process, as the subprocess would run it.

    The environment is this process's without the variables starting with ``drop``, plus ``env``; standard input
    is ``input`` (empty when None), the working directory ``cwd``. What the process would leave behind is put back:
    the environment, the directory, the root logger the command configures, the program name click shows
    (``python -m digest``). An exception run() lets through is a traceback on standard error and exit 1, as Python
    itself reports it. ``text``: the outputs as str (else the bytes written)."""
    from digest.cli import run

    overrides: dict[str, str | None] = {key: None for key in os.environ if key.startswith(drop)}
    overrides.update(env or {})
    code = 0
    with _as_program(args, cwd), CliRunner().isolation(input=input, env=overrides) as (out, err, _both):
        # Help text as wide as a subprocess writing to a pipe wraps it (80 columns less click's margin of 2), not
        # the 80 the runner forces; put back when the isolation ends.
        click.formatting.FORCED_WIDTH = 78
        try:
            run()
        except SystemExit as exit:
            code = _exit_status(exit)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
    if not text:
        return subprocess.CompletedProcess(["digest", *args], code, out.getvalue(), err.getvalue())
    return subprocess.CompletedProcess(["digest", *args], code, out.getvalue().decode(), err.getvalue().decode("utf-8", "replace"))


def _exit_status(exit: SystemExit) -> int:
    if exit.code is None:
        return 0
    if isinstance(exit.code, int):
        return exit.code
    print(exit.code, file=sys.stderr)  # sys.exit("message"): Python prints it and exits 1
    return 1


@contextlib.contextmanager
def _as_program(args: Sequence[str], cwd: Path | None) -> Iterator[None]:
    """sys.argv and __main__ as ``python -m digest`` sets them (click names the program from them), in ``cwd``;
    the root logger, which the command configures, as it was."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    saved_argv, saved_main, saved_cwd = sys.argv, sys.modules["__main__"], os.getcwd()
    main = types.ModuleType("__main__")
    main.__package__ = "digest"
    sys.argv = [str(REPO / "digest" / "__main__.py"), *args]
    sys.modules["__main__"] = main
    try:
        if cwd is not None:
            os.chdir(cwd)
        yield
    finally:
        os.chdir(saved_cwd)
        sys.argv, sys.modules["__main__"] = saved_argv, saved_main
        root.handlers[:] = handlers
        root.setLevel(level)
