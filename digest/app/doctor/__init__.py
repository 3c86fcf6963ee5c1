"""``digest doctor``: whether mail sent with this setup will land and can be left, each check with its fix.

::

    local.py    what the settings alone say: DMARC alignment, the DKIM keys, the base URL, the secret key, the mailto
    spf.py      an SPF record evaluated as a receiver does (includes, redirects, the 10-lookup limit)
    records.py  what DNS publishes: SPF, DKIM, DMARC, the bounce domain's MX, MTA-STS, TLS-RPT, BIMI
    web.py      our own servers asked: /healthz, the one-click POST, the bounce mailbox's login

Every send to real readers (``digest send``, the scheduler's, the API's) is gated by the checks that need no network
(:func:`setup_gate`, in each send's plan: digest.app.issues.plan);
``digest doctor`` runs them all, and ``digest schedule`` once a day, storing the latest for ``digest status``.
"""

from __future__ import annotations

from datetime import datetime

from digest.app.doctor.local import local_checks, setup_gate
from digest.app.doctor.records import Paths, dkim_check, dmarc_check, information_checks, mx_check, spf_check
from digest.app.doctor.web import health_check, imap_check, one_click_check
from digest.config import Scope
from digest.mail.dns import Lookup
from digest.models import CHECK_WORDS, SetupReport
from digest.store import Store

__all__ = ["diagnose", "latest", "setup_gate"]


def diagnose(settings: Scope, now: datetime, store: Store | None = None) -> SetupReport:
    """Every check, in the order of CHECK_WORDS; stored as the latest when a store is given. DNS is asked of the
    configured nameservers ([doctor] nameservers, DIGEST_NAMESERVERS), or the system's."""
    lookup = Lookup(settings.install.nameservers)
    spf = spf_check(settings, lookup)
    dkim, published, unknown = dkim_check(settings, lookup)
    found = [
        *local_checks(settings),
        spf,
        dkim,
        dmarc_check(settings, lookup, Paths(published, unknown, spf.verdict)),
        mx_check(settings, lookup),
        imap_check(settings),
        *information_checks(settings, lookup),
        health_check(settings, lookup),
        one_click_check(settings, lookup),
    ]
    order = list(CHECK_WORDS)
    report = SetupReport(checked_at=now, checks=tuple(sorted(found, key=lambda check: order.index(check.name))))
    if store is not None:
        store.checks.record(report)
    return report


def latest(store: Store) -> SetupReport | None:
    """What the doctor found last (by hand or in ``digest schedule``'s daily run); None when it never ran here."""
    return store.checks.latest()
