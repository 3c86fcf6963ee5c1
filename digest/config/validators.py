"""The checks of single values: each returns None when the value is good, else what is wrong with it, in the
words the config error shows after the file and the key."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from digest.config.schema import is_url


def check_network(value: str) -> str | None:
    import ipaddress

    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return f'must be an IP address or network (10.0.0.2, 172.18.0.0/16), got "{value}"'
    return None


def kind_name(kind: type) -> str:
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "true or false",
        list: "a list",
        dict: "a table",
    }.get(kind, kind.__name__)


def show(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def positive(value: int | float) -> str | None:
    return None if value > 0 else f"must be positive, got {value}"


def unit_interval(value: float) -> str | None:
    return None if 0.0 <= value <= 1.0 else f"must be between 0 and 1, got {value}"


def nonempty(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


def rate(value: float) -> str | None:
    """Messages per second: 0 for no limit."""
    return None if value >= 0 else f"must be 0 (no limit) or more, got {value}"


def expiry(value: float) -> str | None:
    """How long a lease or a worker's heartbeat holds: long enough to renew, short enough to take over."""
    return None if 2 <= value <= 3600 else f"must be 2 to 3600 seconds, got {value}"


def database_kind(url: str) -> str | None:
    """None for a store digest runs on (SQLite, PostgreSQL: any driver); else why not, naming only the scheme
    (the URL may carry a password)."""
    scheme = url.partition("://")[0].partition("+")[0].lower() if "://" in url else ""
    if scheme in ("sqlite", "postgresql", "postgres"):
        return None
    got = f'a "{scheme}" URL' if scheme else "no URL (scheme://…)"
    return f"must be sqlite:///path or postgresql://user@host/db (digest keeps its ledger in SQLite or PostgreSQL), got {got}"


def choice(options: tuple[str, ...]) -> Callable[[str], str | None]:
    return lambda value: None if value in options else f'must be one of {", ".join(options)}, got "{value}"'


def check_title_format(value: str) -> str | None:
    try:
        value.format(name="x", date="x", start="x", end="x")
    except (KeyError, IndexError, ValueError) as exc:
        return f"may use only {{name}}, {{date}}, {{start}} and {{end}}: {exc}"
    return None


def check_language(value: str) -> str | None:
    return (
        None if re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", value) else f'must be a language tag like "en" or "pt-BR", got "{value}"'
    )


def check_mailbox(value: str) -> str | None:
    """An ASCII address (it goes into a header as a mailto: URI), or empty."""
    if not value:
        return None
    from digest.models.addresses import normalise_address

    try:
        normalise_address(value)
    except ValueError as exc:
        return f"not an address: {exc}"
    return None if value.isascii() else "must be an ASCII address"


def check_base_url(value: str) -> str | None:
    return None if is_url(value) else f'must start with http:// or https://, got "{value}"'


UTC_NAMES = frozenset({"UTC", "ETC/UTC", "GMT", "ETC/GMT", "UCT", "ETC/UCT", "ZULU", "ETC/ZULU", "UNIVERSAL", "ETC/UNIVERSAL"})


def fixed_offset(zone: ZoneInfo) -> bool:
    """The same offset in January and July for years around now: a zone with no daylight saving rules."""
    offsets = {datetime(year, month, 1, 12, tzinfo=zone).utcoffset() for year in (2025, 2026) for month in (1, 7)}
    return len(offsets) == 1 and not is_place(zone.key)


def is_place(key: str) -> bool:
    """Region/City names (Asia/Tokyo) are real places that merely have no DST: not a mistake."""
    return "/" in key and not key.upper().startswith("ETC/")


def list_id_problem(value: str) -> str | None:
    """What is wrong with a configured List-Id (RFC 2919: a dot-atom), or None."""
    return None if re.fullmatch(r"[A-Za-z0-9.-]*", value) else f'must be a dot-atom like "news.example.org", got "{value}"'
