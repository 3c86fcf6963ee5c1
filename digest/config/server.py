"""The installation's own sections: [store] (the database URL), [subscribe], [serve], [doctor] (the nameservers) and
[retention]."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from digest.config.schema import Retention
from digest.config.table import TableReader
from digest.config.validators import (
    check_network,
    database_kind,
    positive,
)


def read_store(top: TableReader, env: Mapping[str, str]) -> str:
    store = top.sub("store")
    # The file's value is always read (and checked), then the environment may override it.
    database_url = store.get("url", str, "sqlite:///digest.sqlite", database_kind)
    if env.get("DATABASE_URL"):
        database_url = env["DATABASE_URL"]
        if (problem := database_kind(database_url)) is not None:
            store.problems.append(f"environment: DATABASE_URL: {problem}")
    store.finish()
    return database_url


def absolute_sqlite(url: str, root: Path) -> str:
    """A relative SQLite path is relative to the project root, not to wherever the command runs."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str(root / url[len(prefix) :])
    return url


def read_subscribe_and_serve(top: TableReader, env: Mapping[str, str]) -> dict[str, Any]:
    signup = top.sub("subscribe")
    confirm_hours = signup.get(
        "confirm_hours", float, 48.0, lambda v: None if 0 < v <= 24 * 30 else f"must be more than 0 and at most 720, got {v}"
    )
    signup.finish()
    serving = top.sub("serve")
    trusted_proxies = serving.strings("trusted_proxies")
    for index, network in enumerate(trusted_proxies):
        if (problem := check_network(network)) is not None:
            serving.fail(f"trusted_proxies[{index}]", problem)
    if env.get("DIGEST_TRUSTED_PROXIES"):  # for containers: comma-separated, replaces the file's list
        trusted_proxies = tuple(part.strip() for part in env["DIGEST_TRUSTED_PROXIES"].split(",") if part.strip())
        for network in trusted_proxies:
            if (problem := check_network(network)) is not None:
                serving.problems.append(f"environment: DIGEST_TRUSTED_PROXIES: {problem}")
    header_timeout = serving.get(
        "header_timeout", float, 10.0, lambda v: None if 0 < v <= 300 else f"must be more than 0 and at most 300 (seconds), got {v}"
    )
    per_client = serving.get("max_connections_per_client", int, 32, positive)  # how many the process can take: checked at start
    serving.finish()
    return {
        "confirm_hours": confirm_hours,
        "trusted_proxies": trusted_proxies,
        "header_timeout": header_timeout,
        "max_connections_per_client": per_client,
    }


def read_doctor(top: TableReader, env: Mapping[str, str]) -> tuple[str, ...]:
    """[doctor] nameservers (or DIGEST_NAMESERVERS, comma- or space-separated, replacing it): the DNS servers
    ``digest doctor`` asks, each "host" or "host:port" ("[::1]:53" for IPv6 with a port); empty: the system's."""
    doctor = top.sub("doctor")
    servers = doctor.strings("nameservers")
    for index, server in enumerate(servers):
        if (problem := nameserver_problem(server)) is not None:
            doctor.fail(f"nameservers[{index}]", problem)
    if env.get("DIGEST_NAMESERVERS"):
        servers = tuple(env["DIGEST_NAMESERVERS"].replace(",", " ").split())
        for server in servers:
            if (problem := nameserver_problem(server)) is not None:
                doctor.problems.append(f"environment: DIGEST_NAMESERVERS: {problem}")
    doctor.finish()
    return servers


def read_retention(top: TableReader) -> Retention:
    """[retention] webhook_events_days and audit_days: how long delivered webhook events and the API's audit log
    are kept (whole days; 0: for ever)."""
    section = top.sub("retention")

    def days(value: int) -> str | None:
        return None if 0 <= value <= 36_500 else f"must be a number of days from 0 (for ever) to 36500, got {value}"

    default = Retention()
    kept = Retention(
        webhook_events_days=section.get("webhook_events_days", int, default.webhook_events_days, days),
        audit_days=section.get("audit_days", int, default.audit_days, days),
    )
    section.finish()
    return kept


def nameserver_problem(server: str) -> str | None:
    """What is wrong with a nameserver given as "host", "host:port" or "[v6]:port", or None."""
    import ipaddress

    from digest.config.hosts import split_nameserver

    host, port = split_nameserver(server)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return f'must be an IP address, optionally with ":port" (such as "127.0.0.1:5353" or "[::1]:53"), got "{server}"'
    return None if port is not None and 0 < port < 65536 else f'has no valid port: "{server}"'
