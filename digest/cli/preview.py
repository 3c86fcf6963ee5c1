"""``digest preview``: the editor's live preview of the coming issue."""

from __future__ import annotations

import click

from digest.cli.common import Context, StepBar, edition_option, listen


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in a browser.")
@edition_option
@click.pass_obj
def preview(obj: Context, host: str, port: int, open_browser: bool, edition: str | None) -> None:
    """Serve a live preview of the coming issue (rebuilt when content, templates or config change); every newsletter
    of the install, --newsletter SLUG shown first."""
    # The web stack is imported here, not with the CLI: every other command starts faster without it.
    import webbrowser

    import uvicorn

    from digest.web.preview import create_preview_app
    from digest.web.server import QuietWhenGone, connection_limits, protocol_class

    # It serves every newsletter of the install, so none need be named: --newsletter picks the one shown first.
    obj.install_level = True
    settings = obj.placing()  # fail now, with the usual message, on a broken config
    obj.choose_edition(edition)  # an unknown one: a usage error listing the editions, before anything listens
    # The same deadline and caps as `digest serve` (no proxy is ever in front of the preview); too few descriptors
    # for them is a ConfigError, worded by digest.cli.run.
    limits = connection_limits(settings.install.header_timeout, settings.install.max_connections_per_client)
    bound = listen((host, port), f"--host {host} --port {port}")  # a taken port: one line, exit 2
    url = f"http://{host}:{port}/"
    click.echo(f"Preview on {url}  (Ctrl-C to stop)", err=True)
    if open_browser:
        webbrowser.open(url)
    app = create_preview_app(
        obj.config, host=host, on_step=StepBar(), newsletter=settings.newsletter.slug if settings.shared else None, edition=obj.edition
    )
    config = uvicorn.Config(
        QuietWhenGone(app), log_level="warning", timeout_graceful_shutdown=1, http=protocol_class(limits), backlog=limits.backlog
    )
    uvicorn.Server(config).run(sockets=[bound])
