"""Where the settings' hosts are: a nameserver's address and port, whether a host is this machine, whether a send
leaves it, and whether the links in its copies can be followed from where they arrive."""

from __future__ import annotations

from digest.config.schema import Installation


def split_nameserver(server: str) -> tuple[str, int | None]:
    """(address, port) of a nameserver as configured: "192.0.2.1" (port 53), "127.0.0.1:5353", "[::1]:53" or "::1";
    the port None when it is not a number."""
    text = server.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    else:
        host, port = text, "53"
    return host, int(port) if port.isdigit() else None


def is_loopback(host: str) -> bool:
    """``localhost``, ``*.localhost`` or a loopback address: this machine."""
    import ipaddress

    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def leaves_machine(install: Installation) -> bool:
    """True when a send goes out over SMTP to a host that is not this machine: to real readers."""
    hosts = [relay.options.host for relay in install.relays] or [install.smtp.host]
    return install.delivery.backend == "smtp" and not all(is_loopback(host) for host in hosts)


def link_problem(install: Installation) -> str | None:
    """Why the links in an email to real readers would not work, or None.

    Mail that leaves this machine carries one-click unsubscribe (RFC 8058),
    which Gmail and Yahoo require to be https, and links a reader must be
    able to open: not http, not this machine's loopback address.
    """
    if not leaves_machine(install):
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(install.base_url)
    if parts.scheme == "https" and not is_loopback(parts.hostname or ""):
        return None
    return (
        f"newsletter.base_url is {install.base_url}, but this send goes over SMTP to {smtp_hosts(install)}: every unsubscribe "
        'and "view in browser" link would point there. One-click unsubscribe (RFC 8058) and the Gmail and Yahoo bulk-sender '
        "rules need a public https address. Set newsletter.base_url to the https address where `digest serve` answers "
        f"(in {install.config_path or 'the config'}); the outbox backend and a local catcher on 127.0.0.1 work with http"
    )


def smtp_hosts(install: Installation) -> str:
    """Where an SMTP send goes, for messages: the host, or the relays' hosts."""
    return ", ".join(relay.options.host for relay in install.relays) or install.smtp.host
