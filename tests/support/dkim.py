"""DKIM signatures checked by dkimpy, an implementation independent of ours, with the public keys served by a stub DNS."""

from __future__ import annotations

from collections.abc import Callable

import dkim

from digest.mail.dkim import DkimSigner


def dns_for(signer: DkimSigner) -> Callable[..., bytes | None]:
    records = {f"{k.selector}._domainkey.{k.domain}.".encode(): k.public_record().encode() for k in signer.keys}
    return lambda name, timeout=5: records.get(name)


def verified(data: bytes, signer: DkimSigner) -> list[bool]:
    """dkimpy's verdict on each DKIM-Signature of ``data``, in order."""
    checker = dkim.DKIM(data)
    verdicts = []
    for n in range(len(signer.keys)):
        try:
            verdicts.append(bool(checker.verify(idx=n, dnsfunc=dns_for(signer))))
        except dkim.ValidationError:  # a body hash that does not match is raised, not returned
            verdicts.append(False)
    return verdicts
