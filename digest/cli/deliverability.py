"""The deliverability checks (:mod:`digest.app.deliverability`) in the CLI's words, for a send's description
(the dry run's included) and ``digest status``: whether DMARC can pass and through what, and what to change
when it cannot or when nothing reads the mailbox every copy names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from digest.cli.common import Context, hint

if TYPE_CHECKING:
    from digest.app.deliverability import Deliverability, DmarcOutlook, UnreadMailbox
    from digest.app.session import Scope


@dataclass(frozen=True, slots=True)
class Said:
    """One line: a warning, or what is fine."""

    warning: bool
    text: str


def checks(obj: Context, scope: Scope | None = None) -> Deliverability:
    """The checks of ``scope``'s newsletter (its sender, its keys), else the command's."""
    from digest.app.deliverability import deliverability

    return deliverability(scope or obj.settings)


def said(obj: Context, found: Deliverability, scope: Scope | None = None) -> list[Said]:
    lines = [Said(not found.dmarc.can_pass, dmarc_verdict(scope or obj.settings, found.dmarc))]
    if found.unread is not None:
        lines.append(Said(True, unread_words(obj, found.unread, scope)))
    return lines


def dmarc_verdict(scope: Scope, dmarc: DmarcOutlook) -> str:
    from digest.app.dkim import keygen_hint

    home = f"{dmarc.from_domain}'s organisational domain {dmarc.organisational}"
    envelope = f"the envelope sender's domain {dmarc.envelope_domain}"
    keygen = keygen_hint(scope, dmarc.from_domain)  # the doctor's words for it: one selector whoever asks
    signed = f"DKIM d={', '.join(dmarc.dkim_domains)}"
    if dmarc.dkim_aligned and dmarc.spf_aligned:
        return f"DMARC can pass: DKIM d={dmarc.dkim_aligned[0]} and {envelope} are both in {home}"
    if dmarc.dkim_aligned:
        return f"DMARC can pass through DKIM: d={dmarc.dkim_aligned[0]} is in {home} (SPF will not count: {envelope} is not)"
    unsigned = f"{signed} is not in it" if dmarc.dkim_domains else "nothing is signed"
    if dmarc.spf_aligned:
        return (
            f"DMARC can pass through SPF only: {envelope} is in {home}, and {unsigned}; a forwarded copy fails SPF, "
            f"so sign too: `{keygen}`, then the [dkim] lines it prints"
        )
    # Without [bounces] the envelope sender is the From address itself: only a bounce address can be elsewhere.
    why = (
        f"{signed} is not in {home}, and neither is {envelope} (bounces.address)"
        if dmarc.dkim_domains
        else f"nothing is signed (no [dkim]), and {envelope} (bounces.address) is not in {home}"
    )
    return (
        f"DMARC cannot pass: {why}, so receivers that enforce DMARC reject or junk the mail. "
        f"Sign with a key of {dmarc.from_domain} (`{keygen}`, then the [dkim] "
        f"lines it prints), or set bounces.address to an address in {dmarc.organisational}"
    )


def unread_words(obj: Context, unread: UnreadMailbox, scope: Scope | None = None) -> str:
    bounces = unread.bounces
    what = "every copy's List-Unsubscribe mailto and return path" if bounces else "every copy's List-Unsubscribe mailto"
    lost = "stays subscribed, and bounces are never counted" if bounces else "stays subscribed"
    drop = "" if bounces else ", or remove delivery.unsubscribe_mailto"
    return (
        f"nothing reads {' and '.join(unread.addresses)} ({unread.setting}: {what}): a reader who unsubscribes by mail {lost}. "
        f"Read it over IMAP (set IMAP_HOST, IMAP_USERNAME, IMAP_PASSWORD; `{hint(obj, 'bounces', 'fetch', scope=scope)}`), or have "
        f"your mail server pipe it into `{hint(obj, 'bounces', 'process', scope=scope)}` and set piped = true under [bounces]{drop}"
    )


def as_json(obj: Context, found: Deliverability, scope: Scope | None = None) -> dict[str, object]:
    dmarc = found.dmarc
    return {
        "dmarc": {
            "can_pass": dmarc.can_pass,
            "from_domain": dmarc.from_domain,
            "organisational_domain": dmarc.organisational,
            "dkim_domains": list(dmarc.dkim_domains),
            "dkim_aligned": list(dmarc.dkim_aligned),
            "envelope_domain": dmarc.envelope_domain,
            "spf_aligned": dmarc.spf_aligned,
        },
        "unread_mailbox": None if found.unread is None else {"setting": found.unread.setting, "addresses": list(found.unread.addresses)},
        "warnings": [line.text for line in said(obj, found, scope) if line.warning],
    }
