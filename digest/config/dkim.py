"""[dkim]: the signing keys, loaded at start so a missing or unreadable one stops the program before a send."""

from __future__ import annotations

from email.headerregistry import Address
from pathlib import Path

from digest.config.keys import SELECTOR, DkimKey, DkimSigner
from digest.config.table import TableReader


def read_dkim(top: TableReader, root: Path, sender: Address, warnings: list[str]) -> DkimSigner | None:
    """[dkim]: the keys are loaded here, so a missing or unreadable one stops the program at start, not mid-send."""
    from digest.config.alignment import aligned, organisational_domain
    from digest.config.keys import DEFAULT_HEADERS

    reader = top.sub("dkim")
    domain = reader.get("domain", str, sender.domain, lambda v: None if SELECTOR.fullmatch(v) else f'must be a domain name, got "{v}"')
    keys = [key for prefix in ("", "ed25519_") if (key := _dkim_key(reader, root, domain, prefix)) is not None]
    headers = tuple(name.lower() for name in reader.strings("headers")) or DEFAULT_HEADERS
    if "from" not in headers:
        reader.fail("headers", 'must include "from": a signature that does not cover From counts for nothing (RFC 6376 5.4)')
    reader.finish()
    if keys and not aligned(domain, sender.domain):
        warnings.append(
            f"dkim.domain {domain} is not in the sender's organisational domain ({organisational_domain(sender.domain)}, "
            f"of {sender.domain}): the signature will not align with the From address, and DMARC will not count it"
        )
    return DkimSigner(tuple(keys), headers) if keys else None


def _dkim_key(reader: TableReader, root: Path, domain: str, prefix: str) -> DkimKey | None:
    """The key of ``[dkim] {prefix}selector`` and ``{prefix}key_file`` (the second, ``ed25519_``, must be Ed25519);
    None when it is not configured or, with the problem recorded, cannot be used."""
    from digest.config.keys import load_key
    from digest.models.errors import DkimKeyError

    selector = reader.get(
        f"{prefix}selector", str, "", lambda v: None if not v or SELECTOR.fullmatch(v) else f'must be a DNS label, got "{v}"'
    )
    key_file = reader.get(f"{prefix}key_file", str, "")
    if not selector and not key_file and (prefix or not reader.table):
        return None  # no [dkim], or no second key: one signature
    if not selector or not key_file:
        reader.fail(f"{prefix}selector" if not selector else f"{prefix}key_file", "is needed to sign (set both selector and key_file)")
        return None
    try:
        key = load_key(root / key_file, domain=domain, selector=selector)
    except DkimKeyError as exc:
        reader.fail(f"{prefix}key_file", str(exc))
        return None
    if prefix and key.algorithm != "ed25519-sha256":
        reader.fail(f"{prefix}key_file", "must hold an Ed25519 key (the second, RFC 8463 signature)")
        return None
    return key
