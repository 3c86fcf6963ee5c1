"""``digest serve``: the public unsubscribe and archive app."""

from __future__ import annotations

import click

from digest.cli.common import Context, fail


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (0.0.0.0 only behind a proxy, e.g. in docker).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="NAME",
    help="Another host name to answer (repeatable); the host of base_url and loopback names always are.",
)
@click.pass_obj
def serve(obj: Context, host: str, port: int, allow_hosts: tuple[str, ...]) -> None:
    """Serve one-click unsubscribe (/u/<token>) and the archive of sent issues (/archive/)."""
    import copy

    import uvicorn  # imported here, not with the CLI: every other command starts faster without it
    from uvicorn.config import LOGGING_CONFIG

    from digest.web.public import create_app

    try:
        app = create_app(obj.settings, obj.store, host=host, allow_hosts=allow_hosts)
    except ValueError as exc:
        fail(str(exc))
    # The access log keeps its lines, without the personal tokens in their paths.
    logging = copy.deepcopy(LOGGING_CONFIG)
    logging["filters"] = {"redact_tokens": {"()": "digest.web.guard.RedactTokens"}}
    logging["handlers"]["access"]["filters"] = ["redact_tokens"]
    click.echo(f"Serving {obj.settings.name} on http://{host}:{port}/archive/ (public links use {obj.settings.base_url})", err=True)
    uvicorn.run(app, host=host, port=port, log_level="info", log_config=logging, proxy_headers=True, server_header=False)
