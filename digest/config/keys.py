"""DKIM keys as configured: loaded and checked when the config is (a missing or weak key stops the program at
start, not mid-send), and the signer's settings. The signing itself is :mod:`digest.mail.dkim`'s."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from digest.models.errors import DkimKeyError

# RFC 6376 §5.4.1's recommended headers that our messages carry, and the two Gmail needs signed for one-click;
# then those ours never carry (Reply-To, Cc, Sender), listed so that one added on the way breaks the signature
# (oversigned: see digest.mail.dkim.HeaderPlan). A Sender added by a relay or a forwarder would otherwise be
# shown by some clients as "on behalf of" whoever added it, under our valid signature.
DEFAULT_HEADERS = (
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "mime-version",
    "content-type",
    "feedback-id",
    "reply-to",
    "cc",
    "sender",
)
# A selector is one or more DNS labels (s=news2026, s=2026.news): config and `digest dkim keygen` check with this.
SELECTOR = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")


@dataclass(frozen=True, slots=True)
class DkimKey:
    """One signing key and where its public half is published (``<selector>._domainkey.<domain>``)."""

    domain: str
    selector: str
    algorithm: str  # "rsa-sha256" or "ed25519-sha256"
    private: Any = field(repr=False)  # a cryptography private key: never printed, never logged

    def sign(self, canonical_headers: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        if self.algorithm == "rsa-sha256":
            return bytes(self.private.sign(canonical_headers, padding.PKCS1v15(), hashes.SHA256()))
        # RFC 8463: Ed25519 (PureEdDSA) over the SHA-256 hash of the canonicalised headers.
        return bytes(self.private.sign(hashlib.sha256(canonical_headers).digest()))

    def public_record(self) -> str:
        """The DNS TXT record's value for this key: ``v=DKIM1; k=rsa; p=…``."""
        from cryptography.hazmat.primitives import serialization

        public = self.private.public_key()
        if self.algorithm == "rsa-sha256":
            der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
            return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return f"v=DKIM1; k=ed25519; p={base64.b64encode(raw).decode()}"


def load_key(path: Path, *, domain: str, selector: str) -> DkimKey:
    """The private key in ``path`` (PEM): RSA of 2048 bits or more, or Ed25519. Raises DkimKeyError."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DkimKeyError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise DkimKeyError(f"{path} is not an unencrypted PEM private key ({exc})") from None
    if isinstance(private, rsa.RSAPrivateKey):
        if private.key_size < 2048:
            raise DkimKeyError(f"{path} is an RSA key of {private.key_size} bits: DKIM needs 2048 or more (RFC 8301)")
        return DkimKey(domain, selector, "rsa-sha256", private)
    if isinstance(private, ed25519.Ed25519PrivateKey):
        return DkimKey(domain, selector, "ed25519-sha256", private)
    raise DkimKeyError(f"{path} holds a {type(private).__name__}: DKIM keys are RSA or Ed25519")


def new_key(kind: str = "rsa", bits: int = 2048) -> bytes:
    """A fresh private key as unencrypted PKCS#8 PEM."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    private: Any = rsa.generate_private_key(public_exponent=65537, key_size=bits) if kind == "rsa" else ed25519.Ed25519PrivateKey.generate()
    return bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


@dataclass(frozen=True, slots=True)
class DkimSigner:
    """The configured keys (one RSA and optionally one Ed25519) and the headers they sign
    (:func:`digest.mail.dkim.signature_headers` signs with them)."""

    keys: tuple[DkimKey, ...]
    headers: tuple[str, ...] = DEFAULT_HEADERS
