"""The checks that need no network, read off the settings: whether DMARC can align, the DKIM keys, the base URL,
the secret key, and whether anything reads the ``mailto:`` every copy names. The first three gate every send to real
readers (:func:`setup_gate`: each send's plan asks it, whoever sends)."""

from __future__ import annotations

from urllib.parse import urlsplit

from digest.app.deliverability import unread_mailbox
from digest.app.dkim import keygen_hint
from digest.app.hints import scope_hint
from digest.config import Scope, is_loopback, leaves_machine, link_problem
from digest.config.alignment import dmarc_outlook
from digest.config.secret_key import NEW_KEY_COMMAND, secret_key_verdict
from digest.models import CheckName, SetupCheck, Verdict


def alignment_check(settings: Scope) -> SetupCheck:
    """Whether the config lets DMARC pass at all: a DKIM d= or the envelope sender's domain in the From domain's
    organisational domain (relaxed alignment; the DNS record's own adkim/aspf are the DMARC check's)."""
    outlook = dmarc_outlook(settings)
    home = f"{outlook.from_domain}'s organisational domain {outlook.organisational}"
    paths = [f"DKIM d={domain}" for domain in outlook.dkim_aligned]
    if outlook.spf_aligned:
        paths.append(f"SPF for the envelope sender's domain {outlook.envelope_domain}")
    if paths:
        return SetupCheck(
            name=CheckName.DMARC_ALIGNMENT, verdict=Verdict.PASS, detail=f"DMARC can align through {' and '.join(paths)} ({home})"
        )
    signed = f"DKIM d={', '.join(outlook.dkim_domains)} is not in {home}" if outlook.dkim_domains else "nothing is signed (no [dkim])"
    return SetupCheck(
        name=CheckName.DMARC_ALIGNMENT,
        verdict=Verdict.FAIL,
        detail=f"DMARC cannot pass: {signed}, and the envelope sender's domain {outlook.envelope_domain} (bounces.address) is not in it either",
        fix=f"sign with a key of {outlook.from_domain} (`{keygen_hint(settings, outlook.from_domain)}`, then the [dkim] lines it "
        f"prints), or set bounces.address to an address in {outlook.organisational}",
    )


def keys_check(settings: Scope) -> SetupCheck:
    """The signing keys: loaded (and so readable, of a good size) when the config was, or none configured."""
    if settings.newsletter.dkim is None:
        return SetupCheck(
            name=CheckName.DKIM_KEYS,
            verdict=Verdict.WARN,
            detail="nothing is signed (no [dkim]): Gmail and Yahoo want bulk mail signed, and a forwarded copy then fails DMARC",
            fix=f"`{keygen_hint(settings, settings.newsletter.sender.domain)}`, then the [dkim] lines it prints",
        )
    keys = ", ".join(f"{key.selector}._domainkey.{key.domain} ({key.algorithm})" for key in settings.newsletter.dkim.keys)
    return SetupCheck(name=CheckName.DKIM_KEYS, verdict=Verdict.PASS, detail=f"read and usable: {keys}")


def base_url_check(settings: Scope) -> SetupCheck:
    """https, and not this machine, where readers' links must point; http is fine for mail that stays here."""
    problem = link_problem(settings.install)
    if problem is not None:
        return SetupCheck(
            name=CheckName.BASE_URL,
            verdict=Verdict.FAIL,
            detail=problem.partition(". Set ")[0],
            fix="set newsletter.base_url to the https address where `digest serve` answers",
        )
    parts = urlsplit(settings.install.base_url)
    if parts.scheme == "https" and not is_loopback(parts.hostname or ""):
        return SetupCheck(name=CheckName.BASE_URL, verdict=Verdict.PASS, detail=f"{settings.install.base_url} is https")
    return SetupCheck(
        name=CheckName.BASE_URL,
        verdict=Verdict.WARN,
        detail=f"{settings.install.base_url} is not a public https address: fine while mail stays on this machine, refused for real readers",
        fix="set newsletter.base_url to the https address where `digest serve` answers before sending to readers",
    )


def secret_check(settings: Scope) -> SetupCheck:
    """DIGEST_SECRET_KEY: set, and strong (a short one is refused at load already)."""
    if not settings.install.secret_key:
        return SetupCheck(
            name=CheckName.SECRET_KEY,
            verdict=Verdict.FAIL,
            detail="DIGEST_SECRET_KEY is not set: no unsubscribe link can be signed, so nothing can be sent",
            fix=f"make one with `{NEW_KEY_COMMAND}` and set it in the environment or .env",
        )
    _, weak = secret_key_verdict(settings.install.secret_key)
    if weak:
        detail, _, fix = weak.partition("; make one")
        return SetupCheck(name=CheckName.SECRET_KEY, verdict=Verdict.WARN, detail=detail, fix="make one" + fix)
    return SetupCheck(name=CheckName.SECRET_KEY, verdict=Verdict.PASS, detail=f"{len(settings.install.secret_key)} characters, varied")


def mailto_check(settings: Scope) -> SetupCheck:
    """Whether something reads the mailbox every copy's List-Unsubscribe mailto (and return path) names."""
    unread = unread_mailbox(settings.install)
    if unread is None:
        how = (
            "read over IMAP"
            if settings.install.bounces.imap_host
            else "piped into `digest bounces process`"
            if settings.install.bounces.piped
            else ""
        )
        detail = f"the mailbox the copies name is {how}" if how else "no copy names a mailto: unsubscribe (one-click and the link do)"
        return SetupCheck(name=CheckName.MAILTO_READ, verdict=Verdict.PASS, detail=detail)
    return SetupCheck(
        name=CheckName.MAILTO_READ,
        verdict=Verdict.WARN,
        detail=f"nothing reads {' and '.join(unread.addresses)} ({unread.setting}): a reader who unsubscribes by mail stays subscribed",
        fix=f"read it over IMAP (IMAP_HOST, IMAP_USERNAME, IMAP_PASSWORD; `{scope_hint(settings, 'bounces', 'fetch')}`), "
        "or pipe it into `digest bounces process` and set piped = true under [bounces]",
    )


def local_checks(settings: Scope) -> list[SetupCheck]:
    return [alignment_check(settings), keys_check(settings), base_url_check(settings), secret_check(settings), mailto_check(settings)]


def setup_gate(settings: Scope) -> tuple[SetupCheck, ...]:
    """The failed checks that need no network and would make a send to real readers go wrong (DMARC cannot align,
    a key, the base URL); none when the mail stays on this machine (the outbox, a local catcher)."""
    if not leaves_machine(settings.install):
        return ()
    return tuple(check for check in (alignment_check(settings), keys_check(settings), base_url_check(settings)) if check.failed)
