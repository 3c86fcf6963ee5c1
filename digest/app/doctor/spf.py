"""The envelope domain's SPF record (RFC 7208) as a receiver reads it: does it let the relay's addresses send, and
does it stay within the 10 DNS-querying terms a receiver evaluates before it gives up (a permanent error, which
DMARC counts as a fail).

A small evaluator of ``check_host()``: mechanisms in order, the first that matches gives its qualifier; include
and redirect followed. Macros (``%{i}``) need the real sender and client, which no check here has: a term with one
is "cannot tell", never a match.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from digest.mail.dns import Lookup

LIMIT = 10  # RFC 7208 §4.6.4: include, a, mx, ptr, exists and redirect each cost a query
QUERYING = ("include", "a", "mx", "ptr", "exists")
QUALIFIERS = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def spf_records(lookup: Lookup, domain: str) -> tuple[tuple[str, ...], str | None]:
    """The ``v=spf1`` TXT records at ``domain`` (more than one is a permanent error), and the lookup error, if any."""
    found = lookup.txt(domain)
    return tuple(r for r in found.records if r.lower() == "v=spf1" or r.lower().startswith("v=spf1 ")), found.error


@dataclass
class Spf:
    """The evaluator: one per check, counting the querying terms it met."""

    lookup: Lookup
    queries: int = 0
    seen: set[str] = field(default_factory=set)
    unknown: bool = False  # a macro, or a lookup that could not be told: a non-match may be wrong

    def count(self, domain: str, depth: int = 0) -> int:
        """How many querying terms a receiver meets walking ``domain``'s record and every include and redirect."""
        if depth > LIMIT or domain in self.seen:
            return 0
        self.seen.add(domain)
        records, _ = spf_records(self.lookup, domain)
        total = 0
        for term in records[0].split()[1:] if len(records) == 1 else ():
            name, value = _split(term.lstrip("+-~?"))
            if name in QUERYING or name == "redirect":
                total += 1
                if name in ("include", "redirect") and value and "%" not in value:
                    total += self.count(value, depth + 1)
        return total

    def check(self, ip: Address, domain: str, depth: int = 0) -> str:
        """pass, fail, softfail, neutral, none or permerror for mail from ``ip`` with ``domain`` as its sender's."""
        if depth > LIMIT:
            return "permerror"
        records, error = spf_records(self.lookup, domain)
        if error:
            self.unknown = True
            return "temperror"
        if len(records) != 1:
            return "none" if not records else "permerror"
        redirect = None
        for term in records[0].split()[1:]:
            qualifier = QUALIFIERS.get(term[0], "pass")
            name, value = _split(term.lstrip("+-~?"))
            if name == "redirect":
                redirect = value
                continue
            matched = self._matches(ip, name, value, domain, depth)
            if matched == "permerror":
                return "permerror"
            if matched == "yes":
                return qualifier
        if redirect:
            result = self.check(ip, redirect, depth + 1)
            return "permerror" if result == "none" else result
        return "neutral"

    def _matches(self, ip: Address, name: str, value: str, domain: str, depth: int) -> str:
        """yes, no or permerror: whether one mechanism matches ``ip``."""
        if "%" in value:
            self.unknown = True
            return "no"
        if name == "all":
            return "yes"
        if name in ("ip4", "ip6"):
            try:
                return "yes" if ip in ipaddress.ip_network(value, strict=False) else "no"
            except (ValueError, TypeError):
                return "permerror"
        if name == "include":
            inner = self.check(ip, value, depth + 1)
            return "yes" if inner == "pass" else "permerror" if inner in ("none", "permerror") else "no"
        if name in ("a", "mx"):
            target, cidr4, cidr6 = _cidrs(value if value and not value.startswith("/") else domain + value)
            hosts = [r.split()[-1] for r in self.lookup.mx(target).records] if name == "mx" else [target]
            return "yes" if any(self._within(ip, host, cidr4, cidr6) for host in hosts) else "no"
        if name == "exists":
            return "yes" if self.lookup.addresses(value).records else "no"
        return "no"  # ptr (deprecated; receivers may skip it) and anything unknown

    def _within(self, ip: Address, host: str, cidr4: int, cidr6: int) -> bool:
        found = self.lookup.addresses(host)
        self.unknown |= found.error is not None
        for text in found.records:
            address = ipaddress.ip_address(text)
            prefix = cidr4 if address.version == 4 else cidr6
            if address.version == ip.version and ip in ipaddress.ip_network(f"{address}/{prefix}", strict=False):
                return True
        return False


def delegates(record: str) -> bool:
    """Whether a record names addresses through other names (include, redirect, a, mx, exists), which may cover
    addresses a relay sends from that its own name does not resolve to."""
    return any(_split(term.lstrip("+-~?"))[0] in (*QUERYING, "redirect") for term in record.split()[1:])


def _split(term: str) -> tuple[str, str]:
    """("include", "example.org") of "include:example.org"; ("redirect", "x") of "redirect=x"; ("a", "") of "a"."""
    for glue in (":", "="):
        name, sep, value = term.partition(glue)
        if sep and "/" not in name:
            return name.lower(), value
    name, _, cidr = term.partition("/")
    return name.lower(), f"/{cidr}" if cidr else ""


def _cidrs(value: str) -> tuple[str, int, int]:
    """(domain, IPv4 prefix, IPv6 prefix) of an a/mx mechanism's "domain/24//64"."""
    domain, _, rest = value.partition("/")
    four, _, six = rest.partition("//")
    return domain, int(four) if four.isdigit() else 32, int(six) if six.isdigit() else 128
