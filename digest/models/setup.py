"""The operator's doctor (``digest doctor``): one check of the setup, what it found and the fix; each check's name
and each verdict's word, once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType


class Verdict(StrEnum):
    """A check's outcome. A check that only informs (MTA-STS, BIMI) passes, its detail saying what it saw."""

    PASS = "pass"  # noqa: S105 (a verdict, not a password)
    WARN = "warn"  # worth fixing, or could not be told (a name that does not resolve): never a refusal
    FAIL = "fail"  # mail will not land, or readers cannot leave: `digest doctor` exits 1, `digest send` refuses


class CheckName(StrEnum):
    """Every check the doctor runs, by the name its JSON carries (stored by it too)."""

    DMARC_ALIGNMENT = "dmarc-alignment"
    DKIM_KEYS = "dkim-keys"
    BASE_URL = "base-url"
    SECRET_KEY = "secret-key"  # noqa: S105 (the check's name, not a key)
    MAILTO_READ = "mailto-read"
    SPF = "spf"
    DKIM = "dkim"
    DMARC = "dmarc"
    BOUNCE_MX = "bounce-mx"
    IMAP_LOGIN = "imap-login"
    MTA_STS = "mta-sts"
    TLS_RPT = "tls-rpt"
    BIMI = "bimi"
    HEALTHZ = "healthz"
    ONE_CLICK = "one-click"


# Each check in words, once, in the order the doctor runs and shows them; a test holds every member here.
CHECK_WORDS: Mapping[CheckName, str] = MappingProxyType(
    {
        CheckName.DMARC_ALIGNMENT: "DMARC alignment (config)",
        CheckName.DKIM_KEYS: "DKIM keys readable",
        CheckName.BASE_URL: "base URL is https",
        CheckName.SECRET_KEY: "secret key strength",
        CheckName.MAILTO_READ: "mailto: unsubscribe read",
        CheckName.SPF: "SPF",
        CheckName.DKIM: "DKIM key published",
        CheckName.DMARC: "DMARC record",
        CheckName.BOUNCE_MX: "bounce domain MX",
        CheckName.IMAP_LOGIN: "bounce mailbox login",
        CheckName.MTA_STS: "MTA-STS",
        CheckName.TLS_RPT: "TLS-RPT",
        CheckName.BIMI: "BIMI",
        CheckName.HEALTHZ: "/healthz answers",
        CheckName.ONE_CLICK: "one-click unsubscribe",
    }
)
VERDICT_WORDS: Mapping[Verdict, str] = MappingProxyType({Verdict.PASS: "ok", Verdict.WARN: "warning", Verdict.FAIL: "FAIL"})


@dataclass(frozen=True, slots=True, kw_only=True)
class SetupCheck:
    """One check's outcome: ``detail`` in plain words, ``fix`` what to do (the record to publish), "" when none."""

    name: CheckName
    verdict: Verdict
    detail: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.verdict is Verdict.FAIL


@dataclass(frozen=True, slots=True, kw_only=True)
class SetupReport:
    """The latest checks the doctor ran, and when (``digest status`` shows what ``digest schedule`` stored daily)."""

    checked_at: datetime
    checks: tuple[SetupCheck, ...]

    @property
    def failed(self) -> bool:
        return any(check.failed for check in self.checks)

    def count(self, verdict: Verdict) -> int:
        return sum(check.verdict is verdict for check in self.checks)
