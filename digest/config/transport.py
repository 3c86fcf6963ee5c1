"""How mail goes out and comes back: [delivery], [smtp] with its [[smtp.relays]], and [bounces]."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path

from digest.config.schema import (
    DEFAULT_PORTS,
    BounceOptions,
    DeliveryOptions,
    Relay,
    SmtpOptions,
    ThrottleOptions,
    WarmupOptions,
)
from digest.config.table import TableReader, env_override
from digest.config.validators import (
    check_mailbox,
    choice,
    expiry,
    list_id_problem,
    nonempty,
    positive,
    rate,
)


def read_delivery(top: TableReader, env: Mapping[str, str], root: Path) -> tuple[DeliveryOptions, str]:
    """[delivery]: the transport's defaults, and the newsletter's List-Id (list_id, kept in this table's name)."""
    reader = top.sub("delivery")
    backends = ("smtp", "outbox", "console", "memory")
    configured = reader.get("backend", str, "", choice(backends))
    backend = env_override(reader, env, "DIGEST_BACKEND", choice(backends)) or configured
    if not backend:
        # The embedded default: real SMTP only when a host is configured, else the local outbox.
        smtp_table = top.table.get("smtp", {})
        has_host = bool(env.get("SMTP_HOST")) or (isinstance(smtp_table, dict) and bool(smtp_table.get("host") or smtp_table.get("relays")))
        backend = "smtp" if has_host else "outbox"
    options = DeliveryOptions(
        backend=backend,  # type: ignore[arg-type]
        outbox_dir=root / reader.get("outbox_dir", str, "outbox", nonempty),
        connections=reader.get("connections", int, 4, positive),
        max_per_connection=reader.get("max_per_connection", int, 200, positive),
        rate=reader.get("rate", float, 0.0, rate),
        max_attempts=reader.get("max_attempts", int, 5, positive),
        retry_base=reader.get("retry_base", float, 60.0, positive),
        max_wait=reader.get("max_wait", float, 900.0, lambda v: None if v >= 0 else f"must be 0 or more, got {v}"),
        lease_seconds=reader.get("lease_seconds", float, 60.0, expiry),
        breaker=reader.get("breaker", int, 20, positive),
        workers_may_join=reader.get("workers_may_join", bool, False),
        claim_timeout=reader.get("claim_timeout", float, 30.0, expiry),
        unsubscribe_mailto=reader.get("unsubscribe_mailto", str, "", check_mailbox),
        throttle=_throttle(reader.sub("throttle")),
        warmup=_warmup(reader.sub("warmup")),
    )
    list_id = reader.get("list_id", str, "", list_id_problem)
    reader.finish()
    return options, list_id


def _share(value: float) -> str | None:
    return None if 0 < value <= 1 else f"must be more than 0 and at most 1, got {value}"


def _throttle(reader: TableReader) -> ThrottleOptions:
    """[delivery.throttle]: how a receiver's rate limit slows the send down and how it climbs back."""
    options = ThrottleOptions(
        decrease=reader.get("decrease", float, 0.5, lambda v: None if 0 < v < 1 else f"must be more than 0 and less than 1, got {v}"),
        recover=reader.get("recover", float, 0.02, _share),
        floor=reader.get("floor", float, 0.05, _share),
        max_delay=reader.get("max_delay", float, 3600.0, positive),
        give_up=reader.get("give_up", float, 6 * 3600.0, lambda v: None if v >= 0 else f"must be 0 (never) or more seconds, got {v}"),
    )
    reader.finish()
    return options


def _warmup(reader: TableReader) -> WarmupOptions:
    """[delivery.warmup]: the daily caps of a new sending domain's ramp (off unless enabled)."""
    start = reader.get("start", date, date.min, lambda v: f"must be a date (2026-12-01), got {v}" if isinstance(v, datetime) else None)
    options = WarmupOptions(
        enabled=reader.get("enabled", bool, False),
        start=None if start == date.min else start,
        first=reader.get("first", int, 50, positive),
        growth=reader.get("growth", float, 1.5, lambda v: None if v >= 1 else f"must be 1 or more, got {v}"),
        days=reader.get("days", int, 21, positive),
    )
    reader.finish()
    return options


def read_smtp(top: TableReader, env: Mapping[str, str], root: Path) -> tuple[SmtpOptions, tuple[Relay, ...], float]:
    reader = top.sub("smtp")
    # The file's values are always read (and checked); the environment may then override them.
    host = reader.get("host", str, "")
    host = env_override(reader, env, "SMTP_HOST", nonempty) or host
    port = reader.get("port", int, 0, lambda v: None if 0 < v < 65536 else f"must be a port number, got {v}")
    raw_port = env_override(
        reader, env, "SMTP_PORT", lambda v: None if v.isdigit() and 0 < int(v) < 65536 else f'must be a port number, got "{v}"'
    )
    if raw_port is not None:
        port = int(raw_port)
    securities = ("starttls", "ssl", "none")
    security = reader.get("security", str, "starttls", choice(securities))
    security = env_override(reader, env, "SMTP_SECURITY", choice(securities)) or security
    ca_file = reader.get("ca_file", str, "")
    options = SmtpOptions(
        host=host,
        port=port or DEFAULT_PORTS[security],
        security=security,  # type: ignore[arg-type]
        timeout=reader.get("timeout", float, 30.0, positive),
        username=env.get("SMTP_USERNAME") or None,
        password=env.get("SMTP_PASSWORD") or None,
        allow_plain_auth=reader.get("allow_plain_auth", bool, False),
        ca_file=(root / ca_file) if ca_file else None,
        local_hostname=reader.get("local_hostname", str, "") or None,
        pipelining=reader.get("pipelining", bool, True),
    )
    for secret in ("username", "password"):
        if secret in reader.table:
            reader.fail(secret, f"secrets are read only from the environment (SMTP_{secret.upper()}) or .env, never from the config file")
            reader.seen.add(secret)
    cooldown = reader.get("cooldown", float, 60.0, positive)
    relays = _relays(reader, options, env)
    reader.finish()
    return options, relays, cooldown


def _relays(smtp: TableReader, shared: SmtpOptions, env: Mapping[str, str]) -> tuple[Relay, ...]:
    """[[smtp.relays]]: each a host, port, security, weight and rate; the rest of [smtp] shared.

    Credentials: SMTP_USERNAME_<NAME> and SMTP_PASSWORD_<NAME> for the relay
    named so (upper case, "-" as "_"), else SMTP_USERNAME and SMTP_PASSWORD.
    """
    smtp.seen.add("relays")
    raw = smtp.table.get("relays", [])
    if not isinstance(raw, list) or not all(isinstance(entry, dict) for entry in raw):
        smtp.fail("relays", "must be an array of tables ([[smtp.relays]])")
        return ()
    relays: list[Relay] = []
    for index, entry in enumerate(raw):
        reader = smtp.entry(entry, f"{smtp.key('relays')}[{index}].")
        host = reader.get("host", str, "", nonempty)
        name = reader.get(
            "name",
            str,
            host or f"relay{index + 1}",
            lambda v: None if re.fullmatch(r"[A-Za-z0-9_.-]+", v) else f'must be letters, digits, ".", "-" or "_", got "{v}"',
        )
        security = reader.get("security", str, shared.security, choice(("starttls", "ssl", "none")))
        port = reader.get("port", int, 0, lambda v: None if 0 < v < 65536 else f"must be a port number, got {v}")
        suffix = re.sub(r"[^A-Z0-9]", "_", name.upper())
        options = dataclasses.replace(
            shared,
            host=host,
            port=port or DEFAULT_PORTS[security],
            security=security,  # type: ignore[arg-type]
            username=env.get(f"SMTP_USERNAME_{suffix}") or shared.username,
            password=env.get(f"SMTP_PASSWORD_{suffix}") or shared.password,
        )
        relays.append(
            Relay(
                name=name,
                options=options,
                weight=reader.get("weight", int, 1, positive),
                rate=reader.get("rate", float, 0.0, rate),
            )
        )
        reader.finish()
    if len({relay.name for relay in relays}) < len(relays):
        smtp.fail("relays", "each relay needs a name of its own (name = …)")
    return tuple(relays)


def read_bounces(top: TableReader, env: Mapping[str, str], root: Path) -> BounceOptions:
    reader = top.sub("bounces")

    def plain_mailbox(value: str) -> str | None:
        problem = check_mailbox(value)
        if problem is None and value and "+" in value.partition("@")[0]:
            problem = 'must not contain "+": digest adds "+<token>" to it'
        return problem

    address = reader.get("address", str, "", plain_mailbox)
    unsubscribe = reader.get("unsubscribe_address", str, "", plain_mailbox)
    if unsubscribe and not address:
        reader.fail("unsubscribe_address", "needs bounces.address: both are read by `digest bounces`")
    options = BounceOptions(
        address=address,
        unsubscribe_address=unsubscribe or (f"unsubscribe@{address.partition('@')[2]}" if address else ""),
        soft_limit=reader.get("soft_limit", int, 3, positive),
        soft_days=reader.get("soft_days", float, 30.0, positive),
        poll_minutes=reader.get("poll_minutes", float, 15.0, lambda v: None if v >= 1 else f"must be at least 1, got {v}"),
        imap_host=env.get("IMAP_HOST", ""),
        imap_port=int(port) if (port := env.get("IMAP_PORT", "")).isdigit() and 0 < int(port) < 65536 else 993,
        imap_username=env.get("IMAP_USERNAME") or None,
        imap_password=env.get("IMAP_PASSWORD") or None,
        imap_folder=reader.get("imap_folder", str, "INBOX", nonempty),
        imap_ca_file=(root / ca) if (ca := reader.get("imap_ca_file", str, "")) else None,
        piped=reader.get("piped", bool, False),
    )
    if env.get("IMAP_PORT") and options.imap_port == 993 and env.get("IMAP_PORT") != "993":
        reader.problems.append(f'environment: IMAP_PORT: must be a port number, got "{env.get("IMAP_PORT")}"')
    if options.imap_host and not (options.imap_username and options.imap_password):
        reader.problems.append("environment: IMAP_HOST is set but IMAP_USERNAME or IMAP_PASSWORD is not: the mailbox cannot be read")
    reader.finish()
    return options
