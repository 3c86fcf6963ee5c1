"""``digest serve``: the public unsubscribe and archive app."""

from __future__ import annotations

from typing import Any

import click

from digest.cli.common import Context, listen
from digest.models.routes import ARCHIVE


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
@click.option(
    "--metrics-address",
    metavar="HOST:PORT",
    help="Serve /metrics (and /healthz) on this address instead, e.g. an internal interface; the public app then has no /metrics.",
)
@click.pass_obj
def serve(obj: Context, host: str, port: int, allow_hosts: tuple[str, ...], metrics_address: str | None) -> None:
    """Serve one-click unsubscribe (/u/<token>), sign-up and preferences, the archive of sent issues (/archive/),
    and /healthz and /metrics (Prometheus). Every newsletter of the install is served, each under its base path
    ([newsletter] path: the first at /, an added one at /SLUG/u/<token>, /SLUG/archive/, …)."""
    import uvicorn  # imported here, not with the CLI: every other command starts faster without it

    from digest.web.public import create_public_app
    from digest.web.server import QuietWhenGone, connection_limits, protocol_class

    metrics_at = _address(metrics_address) if metrics_address else None
    # A missing secret key, or too few descriptors for the caps, is a ConfigError: worded by digest.cli.run.
    # Every newsletter of the install, each under its base path (the first at "/"), whatever --newsletter says.
    every = obj.whole.scopes()
    app = create_public_app(obj.settings, obj.store, host=host, allow_hosts=allow_hosts, with_metrics=metrics_at is None, newsletters=every)
    # One set of caps for both servers: they share the process's descriptors.
    limits = connection_limits(
        obj.settings.install.header_timeout, obj.settings.install.max_connections_per_client, obj.settings.install.trusted_proxies
    )
    protocol = protocol_class(limits)
    # Bound before anything starts: a taken port is one line and exit 2, never a banner and then a traceback.
    public_socket = listen((host, port), f"--host {host} --port {port}")
    if metrics_at is not None:
        _serve_metrics(obj, metrics_at, metrics_address or "", allow_hosts, protocol)
    elif not obj.settings.install.metrics_token:
        click.echo(
            "No /metrics: set DIGEST_METRICS_TOKEN (scrapers send it as a bearer token) or serve it on an internal "
            "address with --metrics-address HOST:PORT",
            err=True,
        )
    for scope in every:
        click.echo(
            f"Serving {scope.newsletter.name} on {ARCHIVE.link(f'http://{host}:{port}{scope.newsletter.prefix}')} "
            f"(public links use {scope.base_url})",
            err=True,
        )
    click.echo(
        f"Connections: at most {limits.total} at once (ulimit -n), {limits.per_client} from one address "
        f"(serve.max_connections_per_client); a request must arrive within {limits.header_timeout:g} s (serve.header_timeout)",
        err=True,
    )
    # Forwarded headers are read by the app itself, and only from serve.trusted_proxies (digest.web.guard).
    config = uvicorn.Config(
        QuietWhenGone(app),
        log_level="info",
        log_config=_access_log_config(),
        proxy_headers=False,
        server_header=False,
        http=protocol,
        backlog=limits.backlog,
    )
    uvicorn.Server(config).run(sockets=[public_socket])


def _access_log_config() -> dict[str, Any]:
    """uvicorn's logging, its access log keeping its lines without the personal tokens in their paths."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    logging = copy.deepcopy(LOGGING_CONFIG)
    logging["filters"] = {"redact_tokens": {"()": "digest.web.guard.RedactTokens"}}
    logging["handlers"]["access"]["filters"] = ["redact_tokens"]
    return logging


def _serve_metrics(obj: Context, metrics_at: tuple[str, int], address: str, allow_hosts: tuple[str, ...], protocol: Any) -> None:
    """/metrics and /healthz on an address of their own (--metrics-address), in a thread that ends with the process."""
    import threading

    import uvicorn

    from digest.web.metrics import create_metrics_app

    # Bound here, before anything starts: a taken address is a refusal, not a server quietly without metrics.
    metrics_socket = listen(metrics_at, f"--metrics-address {address}")
    metrics_app = create_metrics_app(
        obj.store,
        obj.settings.install.metrics_token,
        host=metrics_at[0],
        allow_hosts=allow_hosts,
        claim_timeout=obj.settings.install.delivery.claim_timeout,
        key_of=obj.settings.newsletter.key_of,
    )
    # Its own small backlog: a burst of accepts there fits in the descriptors the caps keep in reserve.
    server = uvicorn.Server(uvicorn.Config(metrics_app, log_level="warning", http=protocol, backlog=16))
    # A thread of its own: the public server keeps the signals and the process; this one ends with it.
    threading.Thread(target=server.run, kwargs={"sockets": [metrics_socket]}, name="metrics", daemon=True).start()
    click.echo(f"Metrics on http://{address}/metrics", err=True)


def _address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:9100`` for IPv6) as a pair; a usage error naming the option otherwise."""
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"{text!r}: give HOST:PORT, e.g. 127.0.0.1:9100", param_hint="--metrics-address")
    return host, int(port)
