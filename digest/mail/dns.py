"""DNS as receivers read it, for ``digest doctor``: TXT, MX and address records through dnspython, asking the
nameservers the config names (``[doctor] nameservers``, ``DIGEST_NAMESERVERS``) or the system's.

Three answers are told apart, because they mean different things to an operator: the records; "no such record"
(the name does not exist, or has no record of that type: something to publish); and "could not be told" (a
timeout, a server failure, every server refusing: a warning, never a refusal, since the mail may well land).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from digest.config import split_nameserver

TIMEOUT = 3.0  # seconds for one server to answer
LIFETIME = 6.0  # seconds for one question, every server and retry included


@dataclass(frozen=True, slots=True)
class Answer:
    """What DNS said of one name and type: its records as text (a TXT record's strings joined, an MX as
    "preference host", an address), or none; ``error`` when it could not be told."""

    name: str
    records: tuple[str, ...] = ()
    error: str | None = None

    @property
    def missing(self) -> bool:
        """DNS answered, and there is no such record."""
        return self.error is None and not self.records


class Lookup:
    """A resolver asking the given nameservers ("host" or "host:port"; none: the system's), its answers cached
    for the life of the object (an SPF record's includes are asked once)."""

    def __init__(self, nameservers: Sequence[str] = ()) -> None:
        import dns.nameserver
        import dns.resolver

        self.unconfigured: str | None = None  # why no resolver is asked (none named, none answering): every answer says so
        # A timeout before any server has answered anything: the servers are unreachable, and each of the doctor's
        # dozen questions would wait LIFETIME again (a minute in all); the rest are answered with the same warning.
        self.answered = False
        servers: list[str | dns.nameserver.Nameserver] = []
        for server in nameservers:
            host, port = split_nameserver(server)
            servers.append(dns.nameserver.Do53Nameserver(host, port or 53))
        try:
            self.resolver = dns.resolver.Resolver(configure=not servers)
        except dns.resolver.NoResolverConfiguration:
            self.resolver = dns.resolver.Resolver(configure=False)
            self.unconfigured = "the system names no nameserver (/etc/resolv.conf): set [doctor] nameservers"
        if servers:
            self.resolver.nameservers = servers
        self.resolver.timeout = TIMEOUT
        self.resolver.lifetime = LIFETIME
        self.resolver.cache = dns.resolver.Cache()

    def txt(self, name: str) -> Answer:
        """The TXT records at ``name``, each one's strings joined (a 2048-bit DKIM key is several)."""
        return self._ask(name, "TXT")

    def mx(self, name: str) -> Answer:
        """The MX records at ``name``, "preference host" each, the most preferred first."""
        found = self._ask(name, "MX")
        return Answer(found.name, tuple(sorted(found.records, key=lambda r: int(r.split()[0]))), found.error)

    def addresses(self, name: str) -> Answer:
        """The IPv4 and IPv6 addresses of ``name``; an error only when neither could be told."""
        four, six = self._ask(name, "A"), self._ask(name, "AAAA")
        error = four.error if four.error and (six.error or not six.records) else None
        return Answer(name, four.records + six.records, error if not (four.records or six.records) else None)

    def _ask(self, name: str, kind: str) -> Answer:
        import dns.exception
        import dns.resolver

        if self.unconfigured:
            return Answer(name, error=self.unconfigured)
        try:
            answer = self.resolver.resolve(name, kind, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            self.answered = True
            return Answer(name)
        except dns.resolver.NoNameservers:
            return Answer(name, error="no nameserver would answer (each refused or failed)")
        except dns.exception.Timeout:
            if not self.answered:
                self.unconfigured = f"no nameserver answered within {self.resolver.lifetime:g} s, so not asked again"
            return Answer(name, error=f"no answer within {self.resolver.lifetime:g} s")
        except dns.exception.DNSException as exc:
            return Answer(name, error=str(exc) or type(exc).__name__)
        self.answered = True
        return Answer(name, tuple(_text(rdata, kind) for rdata in answer))


def _text(rdata: object, kind: str) -> str:
    if kind == "TXT":
        return b"".join(getattr(rdata, "strings", ())).decode("utf-8", "replace")
    if kind == "MX":
        return f"{getattr(rdata, 'preference', 0)} {str(getattr(rdata, 'exchange', '')).rstrip('.')}"
    return str(getattr(rdata, "address", rdata))
