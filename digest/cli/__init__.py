"""The ``digest`` command. Thin: parse options, call the use cases of :mod:`digest.app`, print their answers.

Exit codes: 0 all went well; 1 the run found problems (bad input under
--strict, an error-level check, or recipients not yet delivered); 2 a usage
or configuration error; 75 our side failed for now (a relay that cannot be
used; the database, for ``bounces process``): the same command later goes on.

Beside one module per command group: ``common.py`` (the context, hints, the
terminal rule), ``refusals.py`` (each Refusal worded once, with its fix),
``deliverability.py`` (the DMARC and mailbox verdicts), ``doctor.py`` (the
setup's checks, worded), ``logs.py``, and
``digest send``'s ``plan.py`` (what a send will do, worded) and ``progress.py``
(the progress line, Ctrl-C).

Importing this package loads click and the command modules only: each
command imports the pipeline, the store or the web stack when it runs, so
``digest --help`` and ``digest --version`` start at once (a test checks
that SQLAlchemy, Jinja, MJML and premailer stay out of ``sys.modules``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from digest import __version__
from digest.cli.api import api_tokens, audit
from digest.cli.approve import approve
from digest.cli.bounces import bounces
from digest.cli.build import build, posts
from digest.cli.common import EXIT_PROBLEMS, EXIT_USAGE, INSTALL_COMMANDS, Context, fail
from digest.cli.db import db
from digest.cli.dkim import dkim
from digest.cli.doctor import doctor
from digest.cli.init import init
from digest.cli.logs import FORMATS
from digest.cli.newsletters import newsletters
from digest.cli.preview import preview
from digest.cli.publish import publish
from digest.cli.report import report
from digest.cli.sample import sample
from digest.cli.schedule import schedule
from digest.cli.send import send
from digest.cli.serve import serve
from digest.cli.sources import sources
from digest.cli.status import status
from digest.cli.subscribers import subscribers
from digest.cli.themes import themes
from digest.cli.webhooks import webhooks
from digest.models.errors import ConfigError, DigestError, NaiveDatetimeError, WindowError

__all__ = ["main", "run"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="DIGEST_CONFIG",
    help="Config file (default: config/digest.toml; env DIGEST_CONFIG).",
)
@click.option(
    "--newsletter",
    metavar="SLUG",
    envvar="DIGEST_NEWSLETTER",
    help="The newsletter a command is about, when the install has several (env DIGEST_NEWSLETTER). Given here, "
    "before the command name, or after it (`digest send --newsletter SLUG`).",
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.option(
    "--log-format",
    type=click.Choice(FORMATS),
    default="human",
    envvar="DIGEST_LOG_FORMAT",
    show_default=True,
    help="Log lines for people, or one JSON object per line (env DIGEST_LOG_FORMAT).",
)
@click.version_option(__version__, prog_name="digest")
@click.pass_context
def main(ctx: click.Context, config: Path | None, newsletter: str | None, verbose: int, log_format: str) -> None:
    """digest: gather posts, build the Weekly Digest, and send it.

    \b
    Exit codes:
      0  all went well
      1  the run found problems (bad input under --strict, an error-level
         check, or recipients left undelivered)
      2  usage or configuration error
      75 our side failed for now (a relay that cannot be used; the
         database, for bounces process): the same command later goes on

    \b
    Several newsletters (config/newsletters/SLUG.toml): a command about one
    needs --newsletter SLUG, before or after the command name, or
    DIGEST_NEWSLETTER; status, schedule, serve, preview, newsletters, db,
    doctor, bounces, api-tokens, audit and webhooks are about the install.
    """
    from digest.cli.logs import configure

    configure((logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)], log_format)
    obj = Context(config)
    obj.chosen = newsletter or None
    if ctx.get_parameter_source("newsletter") is click.core.ParameterSource.ENVIRONMENT:
        obj.chosen_by = "DIGEST_NEWSLETTER"
    obj.install_level = ctx.invoked_subcommand in INSTALL_COMMANDS
    obj.log_format = log_format
    ctx.obj = obj
    ctx.call_on_close(obj.close)


for command in (
    init,
    build,
    posts,
    sources,
    send,
    status,
    approve,
    subscribers,
    publish,
    serve,
    schedule,
    preview,
    sample,
    dkim,
    doctor,
    bounces,
    themes,
    report,
    db,
    api_tokens,
    audit,
    webhooks,
    newsletters,
):
    main.add_command(command)


def _chosen_here(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    """--newsletter after the command name: it names the newsletter as it does before it (and wins over it)."""
    obj = ctx.find_object(Context)
    if value and obj is not None:
        named_before = ctx.find_root().params.get("newsletter")
        typed_before = ctx.find_root().get_parameter_source("newsletter") is click.core.ParameterSource.COMMANDLINE
        if typed_before and named_before != value:  # two on one command line: which was meant is not ours to guess
            raise click.UsageError(f"--newsletter given twice ({named_before} and {value}): give it once")
        obj.chosen, obj.chosen_by = value, "--newsletter"


def _newsletter_everywhere(command: click.Command) -> None:
    """Every command (and each of a group's) takes --newsletter after its name too, so either order works."""
    command.params.append(
        click.Option(
            ["--newsletter"],
            metavar="SLUG",
            expose_value=False,
            callback=_chosen_here,
            help="The newsletter this is about, when the install has several (also before the command name; env DIGEST_NEWSLETTER).",
        )
    )
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _newsletter_everywhere(sub)


for command in main.commands.values():
    _newsletter_everywhere(command)


def run() -> None:
    """Console entry point: a DigestError, or a failure of the database or the disk, becomes one clean
    line and exit 1 (a wrong configuration or window asked for: exit 2). Anything else is a bug and keeps its
    traceback, a naive datetime too."""
    try:
        main()
    except (ConfigError, WindowError) as exc:  # the configuration, a secret or the window asked for is wrong: usage
        fail(str(exc), EXIT_USAGE)
    except NaiveDatetimeError:  # a caller's bug, not the user's: its traceback is what to report
        raise
    except DigestError as exc:
        fail(str(exc), EXIT_PROBLEMS)
    except Exception as exc:
        message = machine_failure(exc)
        if message is None:
            raise
        fail(message, EXIT_PROBLEMS)


def machine_failure(exc: Exception) -> str | None:
    """The one-line message for a failure of the machine (database, disk), or None: digest.app.session words it."""
    from digest.app.session import machine_failure as worded

    return worded(exc)
