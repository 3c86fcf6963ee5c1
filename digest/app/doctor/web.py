"""The checks that ask our own servers: the public app's ``/healthz`` at the base URL, RFC 8058's one-click POST
there (to the test copy's token, which unsubscribes nobody), and the bounce mailbox's IMAP login."""

from __future__ import annotations

import json

from digest.config import Scope
from digest.mail.dns import Lookup
from digest.mail.mailbox import log_in
from digest.mail.reach import Reached, reach
from digest.models import CheckName, SetupCheck, Verdict
from digest.models.routes import HEALTH, UNSUBSCRIBE, UNSUBSCRIBE_TEST

ONE_CLICK_BODY = b"List-Unsubscribe=One-Click"  # RFC 8058 3.2: what a mailbox provider POSTs


def _unreached(name: CheckName, got: Reached, what: str) -> SetupCheck:
    if got.unresolved:
        return SetupCheck(name=name, verdict=Verdict.WARN, detail=f"{got.url}: the name does not resolve ({got.error})")
    said = f"answered {got.status}" if got.status is not None else f"did not answer: {got.error}"
    return SetupCheck(
        name=name,
        verdict=Verdict.FAIL,
        detail=f"{got.url} {said}",
        fix=f"run `digest serve` where newsletter.base_url points (behind your TLS proxy), so that {what}",
    )


def health_check(settings: Scope, lookup: Lookup) -> SetupCheck:
    got = reach(HEALTH.link(settings.install.base_url), lookup.addresses)
    if got.ok and not _ours(got.body):
        # A site that answers 200 to every path (a single-page app's catch-all, a parked domain) is not digest:
        # readers' links and the one-click unsubscribe would reach a page that does nothing.
        return SetupCheck(
            name=CheckName.HEALTHZ,
            verdict=Verdict.FAIL,
            detail=f'{got.url} answered {got.status}, but not as `digest serve` does ({{"status": "ok"}}): another site answers there',
            fix="point newsletter.base_url (or your proxy's route for it) at `digest serve`",
        )
    if got.ok:
        return SetupCheck(name=CheckName.HEALTHZ, verdict=Verdict.PASS, detail=f"{got.url} answered {got.status}")
    return _unreached(CheckName.HEALTHZ, got, "readers' links and the one-click unsubscribe work")


def _ours(body: bytes) -> bool:
    """Whether a /healthz answer is digest's: JSON whose status is "ok"."""
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    return isinstance(answer, dict) and answer.get("status") == "ok"


def one_click_check(settings: Scope, lookup: Lookup) -> SetupCheck:
    """The POST a mailbox provider sends for its unsubscribe button, with no cookie, to the token test copies carry."""
    got = reach(
        UNSUBSCRIBE_TEST.link(settings.base_url),  # under the newsletter's path: a proxy may route each path apart
        lookup.addresses,
        method="POST",
        body=ONE_CLICK_BODY,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    if got.ok:
        return SetupCheck(
            name=CheckName.ONE_CLICK,
            verdict=Verdict.PASS,
            detail=f"POST {got.url} answered {got.status} (a test token: nobody unsubscribed)",
        )
    return _unreached(CheckName.ONE_CLICK, got, f"a POST to {UNSUBSCRIBE.prefix}<token> reaches it (mailbox providers' unsubscribe button)")


def imap_check(settings: Scope) -> SetupCheck:
    bounces = settings.install.bounces
    if not bounces.imap_host:
        return SetupCheck(
            name=CheckName.IMAP_LOGIN, verdict=Verdict.PASS, detail="no IMAP mailbox configured (IMAP_HOST): nothing to log in to"
        )
    problem = log_in(bounces)
    if problem is None:
        where = f"{bounces.imap_username}@{bounces.imap_host}:{bounces.imap_port} {bounces.imap_folder}"
        return SetupCheck(name=CheckName.IMAP_LOGIN, verdict=Verdict.PASS, detail=f"`digest bounces fetch` can log in ({where})")
    return SetupCheck(
        name=CheckName.IMAP_LOGIN,
        verdict=Verdict.FAIL,
        detail=f"`digest bounces fetch` cannot read the mailbox: {problem}",
        fix="check IMAP_HOST, IMAP_PORT, IMAP_USERNAME and IMAP_PASSWORD (and [bounces] imap_folder)",
    )
