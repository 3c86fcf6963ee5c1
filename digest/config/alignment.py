"""DMARC alignment (RFC 7489 §3.1), the one place its rule lives: the config's check of ``dkim.domain`` at load,
and what ``digest send --dry-run`` and ``digest status`` say (:mod:`digest.app.deliverability`), all ask here.

DMARC passes when DKIM or SPF passes *and* the domain it passed for is aligned with the From domain. Relaxed
alignment (the default, ``adkim=r``/``aspf=r``) asks only that the two share an organisational domain: the
name one level below a public suffix (``example.org`` for ``mail.example.org``, ``example.co.uk`` for
``news.example.co.uk``). Where a public suffix ends is not a rule of labels but a list, the Public Suffix
List: ``publicsuffixlist`` ships it inside the package and never fetches it (these machines, and many servers,
have no network to fetch it over). Strict alignment (``adkim=s``) would ask for the same name: a domain that
publishes it knows, and it is not what the tools check for.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from publicsuffixlist import PublicSuffixList

    from digest.config.schema import Scope


@functools.cache
def _suffixes() -> PublicSuffixList:
    """The bundled list, parsed once per process (about 30 ms) and only by the commands that ask."""
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def organisational_domain(domain: str) -> str:
    """The organisational domain of ``domain`` (lower case): its public suffix and one label more.

    A name the list cannot place one level below a suffix (``localhost``, a bare ``co.uk``) is its own.
    """
    name = domain.strip().rstrip(".").lower()
    return _suffixes().privatesuffix(name) or name


def aligned(domain: str, from_domain: str) -> bool:
    """Relaxed alignment: ``domain`` (a DKIM ``d=``, an envelope sender's) and the From domain share an
    organisational domain, so DMARC counts what passed for it."""
    # The same name needs no list (and the config's default d= is the sender's own domain: no 30 ms parse at load).
    same = domain.strip().rstrip(".").lower() == from_domain.strip().rstrip(".").lower()
    return same or organisational_domain(domain) == organisational_domain(from_domain)


def envelope_domain(settings: Scope) -> str:
    """The domain of the envelope sender (MAIL FROM) digest gives its copies: the bounce address's with
    ``[bounces]`` (VERP), else the From address's (as :class:`digest.mail.message.CompiledMessage` sets it).
    A relay that rewrites the return path to its own puts its domain there instead, which no config here shows."""
    return settings.install.bounces.address.rpartition("@")[2] or settings.newsletter.sender.domain


@dataclass(frozen=True, slots=True, kw_only=True)
class DmarcOutlook:
    """Whether mail sent with these settings can pass DMARC, and through which of DKIM and SPF.

    "Can": the alignment is right. Whether it does also needs the DNS records (the DKIM key, an SPF record
    naming the relay), which ``digest dkim check --dns`` and the relay's own tools check.
    """

    from_domain: str
    organisational: str  # the From domain's organisational domain
    dkim_domains: tuple[str, ...]  # the d= of each signing key; empty: not signed
    envelope_domain: str

    @property
    def dkim_aligned(self) -> tuple[str, ...]:
        """The signing domains DMARC counts."""
        return tuple(domain for domain in self.dkim_domains if aligned(domain, self.from_domain))

    @property
    def spf_aligned(self) -> bool:
        return aligned(self.envelope_domain, self.from_domain)

    @property
    def can_pass(self) -> bool:
        return bool(self.dkim_aligned) or self.spf_aligned


def dmarc_outlook(settings: Scope) -> DmarcOutlook:
    """What DMARC can make of the messages these settings send."""
    keys = settings.newsletter.dkim.keys if settings.newsletter.dkim is not None else ()
    return DmarcOutlook(
        from_domain=settings.newsletter.sender.domain.lower(),
        organisational=organisational_domain(settings.newsletter.sender.domain),
        dkim_domains=tuple(dict.fromkeys(key.domain.lower() for key in keys)),
        envelope_domain=envelope_domain(settings).lower(),
    )
