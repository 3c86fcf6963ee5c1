"""The checks of what DNS publishes, as receivers read it: SPF, the DKIM keys, DMARC and whether it can pass, the
bounce domain's MX, and the records that only inform (MTA-STS, TLS-RPT, BIMI). A record that is not there is
something to publish (the fix names it); a name that could not be looked up is a warning."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from digest.app.dkim import compare, keygen_hint, record_tags, txt_strings
from digest.app.doctor.spf import LIMIT, Address, Spf, delegates, spf_records
from digest.config import Scope
from digest.config.alignment import envelope_domain, organisational_domain
from digest.mail.dns import Lookup
from digest.models import CheckName, SetupCheck, Verdict

WORST = (Verdict.PASS, Verdict.WARN, Verdict.FAIL)
POLICIES = ("none", "quarantine", "reject")  # DMARC's p= and sp= (RFC 7489 6.3)
# Where a relay's mail cannot leave from as it is: this machine, the LAN (RFC 1918, ULA), link-local. Its mail leaves
# from a router's public address, which no check here can see.
INSIDE = tuple(ipaddress.ip_network(net) for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"))


def inside(ip: Address) -> bool:
    return ip.is_loopback or ip.is_link_local or any(ip.version == net.version and ip in net for net in INSIDE)


def worst(verdicts: list[Verdict]) -> Verdict:
    return max(verdicts, key=WORST.index, default=Verdict.PASS)


def relay_hosts(settings: Scope) -> tuple[str, ...]:
    """The hosts mail goes out through, when it goes over SMTP at all."""
    if settings.install.delivery.backend != "smtp":
        return ()
    return tuple(relay.options.host for relay in settings.install.relays) or (
        (settings.install.smtp.host,) if settings.install.smtp.host else ()
    )


def spf_check(settings: Scope, lookup: Lookup) -> SetupCheck:
    """The envelope sender's domain (the From domain's, unless bounces.address is elsewhere): SPF is checked there."""
    domain = envelope_domain(settings).lower()
    records, error = spf_records(lookup, domain)
    hosts = relay_hosts(settings)
    if error:
        return SetupCheck(name=CheckName.SPF, verdict=Verdict.WARN, detail=f"could not look up SPF at {domain}: {error}")
    if not records:
        return SetupCheck(
            name=CheckName.SPF,
            verdict=Verdict.FAIL,
            detail=f"{domain} publishes no SPF record: receivers cannot tell that your relay may send its mail",
            fix=f'publish {domain}. IN TXT "{_with_relay("v=spf1 ~all", hosts, lookup)}" (or the include: your mail provider gives)',
        )
    if len(records) > 1:
        return SetupCheck(
            name=CheckName.SPF,
            verdict=Verdict.FAIL,
            detail=f"{domain} publishes {len(records)} SPF records: receivers treat that as a permanent error (RFC 7208 3.2)",
            fix="merge them into one v=spf1 record",
        )
    spf = Spf(lookup)
    queries = spf.count(domain)
    if queries > LIMIT:
        return SetupCheck(
            name=CheckName.SPF,
            verdict=Verdict.FAIL,
            detail=f"{domain}'s SPF record needs {queries} DNS lookups (include, a, mx, exists, redirect), more than the {LIMIT} "
            "receivers allow: they give up with a permanent error, which DMARC counts as a fail",
            fix="replace includes with the ip4:/ip6: ranges they name, or drop those no longer used",
        )
    said = f'{domain}: "{records[0]}" ({queries} of {LIMIT} lookups)'
    if not hosts:
        return SetupCheck(name=CheckName.SPF, verdict=Verdict.PASS, detail=f"{said}; no SMTP relay configured to check it against")
    verdicts, notes = [], []
    for host in hosts:
        verdict, note = _relay_verdict(spf, lookup, domain, host, records[0])
        verdicts.append(verdict)
        notes.append(note)
    if any(term.lower() in ("all", "+all") for term in records[0].split()[1:]):
        # It passes for every address on the internet: a spoofer's mail passes SPF too, and receivers distrust it.
        verdicts.append(Verdict.WARN)
        notes.append("but +all lets any server send as it: end the record with ~all or -all instead")
    verdict = worst(verdicts)
    fix = "" if verdict is Verdict.PASS else f'publish {domain}. IN TXT "{_with_relay(records[0], hosts, lookup)}"'
    return SetupCheck(name=CheckName.SPF, verdict=verdict, detail=f"{said}; " + "; ".join(notes), fix=fix)


def _relay_verdict(spf: Spf, lookup: Lookup, domain: str, host: str, record: str) -> tuple[Verdict, str]:
    addresses = _addresses(lookup, host)
    if not addresses:
        return Verdict.WARN, f"the relay {host} has no address in DNS, so it cannot be checked"
    if any(inside(ip) for ip in addresses):
        # A relay on this machine or the LAN: receivers see the address of the router its mail leaves by, which no
        # check here can see, so an SPF pass for its own address would say nothing.
        shown = ", ".join(str(ip) for ip in addresses)
        return (
            Verdict.WARN,
            f"the relay {host} ({shown}) is on a private address: check that the record names the public one mail leaves from",
        )
    results = {str(ip): spf.check(ip, domain) for ip in addresses}
    if all(result == "pass" for result in results.values()):
        return Verdict.PASS, f"it lets the relay {host} ({', '.join(results)}) send"
    missed = ", ".join(ip for ip, result in results.items() if result != "pass")
    if delegates(record) or spf.unknown:
        # A provider's submission host is seldom the address its mail leaves from: their include may cover that.
        return Verdict.WARN, (
            f"the relay {host} ({missed}) is not named, though an include may cover the addresses it sends from: check with your provider"
        )
    return Verdict.FAIL, f"it does not let the relay {host} ({missed}) send: receivers see an SPF {results[missed.split(', ')[0]]}"


def _addresses(lookup: Lookup, host: str) -> list[Address]:
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        return [ipaddress.ip_address(text) for text in lookup.addresses(host).records]


def _with_relay(record: str, hosts: tuple[str, ...], lookup: Lookup) -> str:
    """``record`` with the relays' public addresses (or their names, as a: terms) before its all term."""
    terms = []
    for host in hosts:
        found = [ip for ip in _addresses(lookup, host) if not inside(ip)]
        terms += [f"ip{ip.version}:{ip}" for ip in found] or [f"a:{host}"]
    words = record.split()
    ends = [word for word in words[1:] if word.lstrip("+-~?").lower() == "all"]
    kept = [word for word in words[1:] if word not in ends and word not in terms]
    tail = [word if word.lower() not in ("all", "+all") else "~all" for word in ends] or ["~all"]  # never +all
    return " ".join(["v=spf1", *kept, *terms, *tail])


def dkim_check(settings: Scope, lookup: Lookup) -> tuple[SetupCheck, set[str], set[str]]:
    """Each key's record at <selector>._domainkey.<domain> against the configured private key; with the signing
    domains whose key is published (DMARC can count them) and those that could not be looked up."""
    if settings.newsletter.dkim is None:
        fix = f"`{keygen_hint(settings, settings.newsletter.sender.domain)}`, then publish the record it prints"
        return SetupCheck(name=CheckName.DKIM, verdict=Verdict.WARN, detail="no [dkim] key: nothing to look up", fix=fix), set(), set()
    verdicts, notes, fixes, good, unknown = [], [], [], set(), set()
    for key in settings.newsletter.dkim.keys:
        name = f"{key.selector}._domainkey.{key.domain}"
        found = lookup.txt(name)
        expected = key.public_record()
        if found.error:
            verdicts.append(Verdict.WARN)
            notes.append(f"{name}: could not look up: {found.error}")
            unknown.add(key.domain.lower())
            continue
        keyed = [record for record in found.records if "p=" in record]
        problems = [compare(expected, record) for record in keyed] or [compare(expected, "")]
        if None in problems:
            caveat = _dkim_caveat(keyed, keyed[problems.index(None)])
            verdicts.append(Verdict.WARN if caveat else Verdict.PASS)
            notes.append(f"{name} publishes the configured {key.algorithm} key{caveat}")
            fixes.extend([f"publish only {name}. IN TXT ( {txt_strings(expected)} )"] if caveat else [])
            good.add(key.domain.lower())
            continue
        verdicts.append(Verdict.FAIL)
        notes.append(f"{name}: {problems[0]}")
        fixes.append(f"publish {name}. IN TXT ( {txt_strings(expected)} )")
    check = SetupCheck(name=CheckName.DKIM, verdict=worst(verdicts), detail="; ".join(notes), fix="; ".join(fixes))
    return check, good, unknown


def _dkim_caveat(records: list[str], matching: str) -> str:
    """What makes a published key less than sure: another key record beside it (a receiver may take either: RFC
    6376 3.6.2.2 leaves it undefined), or t=y (testing: receivers may treat the signature as absent, 3.6.1)."""
    if len(records) > 1:
        return f", but beside {len(records) - 1} other key record(s): a receiver may read either"
    if "y" in record_tags(matching).get("t", "").lower().split(":"):
        return ", but in testing mode (t=y): receivers may treat its signatures as absent"
    return ""


@dataclass(frozen=True, slots=True)
class Paths:
    """What the other checks found, for DMARC: signing domains whose key DNS publishes (or could not be told of),
    and SPF's verdict for the relay."""

    dkim_good: set[str]
    dkim_unknown: set[str]
    spf: Verdict


def _aligned(domain: str, from_domain: str, mode: str) -> bool:
    if mode == "s":
        return domain.lower() == from_domain.lower()
    return domain.lower() == from_domain.lower() or organisational_domain(domain) == organisational_domain(from_domain)


def dmarc_check(settings: Scope, lookup: Lookup, paths: Paths) -> SetupCheck:
    """The From domain's DMARC record (or its organisational domain's), and whether mail can pass it by an
    aligned DKIM signature DNS vouches for or an aligned SPF pass."""
    from_domain = settings.newsletter.sender.domain.lower()
    org = organisational_domain(from_domain)
    name, found = f"_dmarc.{from_domain}", lookup.txt(f"_dmarc.{from_domain}")
    # RFC 7489 6.6.3: a TXT record there that is not DMARC's is no record: the organisational domain's is asked.
    if not found.error and not _dmarc_records(found.records) and org != from_domain:
        name, found = f"_dmarc.{org}", lookup.txt(f"_dmarc.{org}")
    if found.error:
        return SetupCheck(name=CheckName.DMARC, verdict=Verdict.WARN, detail=f"could not look up {name}: {found.error}")
    records = _dmarc_records(found.records)
    publish = f'publish _dmarc.{org}. IN TXT "v=DMARC1; p=none" (then p=quarantine once its reports show your mail passing)'
    if len(records) != 1:
        return SetupCheck(
            name=CheckName.DMARC,
            verdict=Verdict.FAIL,
            detail=f"{name}: {'no DMARC record' if not records else f'{len(records)} DMARC records (receivers ignore them all)'}: "
            "Gmail and Yahoo refuse bulk mail from a domain without one",
            fix=publish,
        )
    tags = {key: value.lower() for key, value in record_tags(records[0]).items()}
    policy = tags.get("p", "")
    if name != f"_dmarc.{from_domain}" and tags.get("sp") in POLICIES:  # a subdomain's policy (an invalid sp=: p=)
        policy = tags["sp"]
    if tags.get("p") not in POLICIES:
        # RFC 7489 6.6.3: a record without a valid p= is read as p=none at best (with rua=), else discarded.
        return SetupCheck(
            name=CheckName.DMARC,
            verdict=Verdict.FAIL,
            detail=f'{name}: "{records[0]}": p={tags.get("p", "")!r} is not none, quarantine or reject: receivers ignore '
            "the record (or read it as p=none): Gmail and Yahoo refuse bulk mail from a domain without one",
            fix=publish,
        )
    adkim, aspf = tags.get("adkim", "r"), tags.get("aspf", "r")
    envelope = envelope_domain(settings).lower()
    signing = (
        list(dict.fromkeys(key.domain.lower() for key in settings.newsletter.dkim.keys)) if settings.newsletter.dkim is not None else []
    )
    by_dkim = [d for d in signing if _aligned(d, from_domain, adkim)]
    spf_aligned = _aligned(envelope, from_domain, aspf)
    said = f'{name}: "{records[0]}" (p={policy or "?"}, DKIM {"strict" if adkim == "s" else "relaxed"}, SPF {"strict" if aspf == "s" else "relaxed"})'
    passing = [f"DKIM d={d}" for d in by_dkim if d in paths.dkim_good] + (["SPF"] if spf_aligned and paths.spf is Verdict.PASS else [])
    if passing:
        return SetupCheck(name=CheckName.DMARC, verdict=Verdict.PASS, detail=f"{said}; can pass through {' and '.join(passing)}")
    maybe = [f"DKIM d={d}" for d in by_dkim if d in paths.dkim_unknown] + (["SPF"] if spf_aligned and paths.spf is Verdict.WARN else [])
    if maybe:
        return SetupCheck(
            name=CheckName.DMARC, verdict=Verdict.WARN, detail=f"{said}; may pass through {' or '.join(maybe)}, not confirmed"
        )
    why = [
        *(f"DKIM d={d} is {'not published' if d not in paths.dkim_good else 'not aligned'}" for d in signing),
        "nothing is signed" if not signing else "",
        f"SPF for {envelope} {'does not pass for the relay' if spf_aligned else 'is not aligned'}",
    ]
    relaxed = f'"v=DMARC1; p={policy or "none"}; adkim=r; aspf=r"'
    return SetupCheck(
        name=CheckName.DMARC,
        verdict=Verdict.FAIL,
        detail=f"{said}; cannot pass: " + ", ".join(w for w in why if w) + f": receivers {_policy_words(policy)}",
        fix=f"sign with a key of {from_domain} and publish it (`{keygen_hint(settings, from_domain)}`), or publish "
        f"{name}. IN TXT {relaxed} if a key of {org} signs, or send with bounces.address in {from_domain}",
    )


def _dmarc_records(records: tuple[str, ...]) -> list[str]:
    return [r for r in records if r.replace(" ", "").lower().startswith("v=dmarc1")]


def _policy_words(policy: str) -> str:
    return {"reject": "reject the mail", "quarantine": "put it in spam"}.get(
        policy, "count it as failing DMARC (Gmail's bulk rules refuse it)"
    )


def mx_check(settings: Scope, lookup: Lookup) -> SetupCheck:
    """The envelope sender's domain, where bounces (and, without [bounces], replies) are delivered."""
    domain = envelope_domain(settings).lower()
    found = lookup.mx(domain)
    if found.error:
        return SetupCheck(name=CheckName.BOUNCE_MX, verdict=Verdict.WARN, detail=f"could not look up MX of {domain}: {found.error}")
    hosts = [record.split()[-1] for record in found.records]
    if hosts == ["."] or hosts == [""]:
        return SetupCheck(
            name=CheckName.BOUNCE_MX,
            verdict=Verdict.FAIL,
            detail=f"{domain} publishes a null MX (RFC 7505): it takes no mail, so no bounce comes back",
            fix=f"publish {domain}. IN MX 10 <your mail server>. (or set bounces.address to a domain that takes mail)",
        )
    if hosts:
        return SetupCheck(name=CheckName.BOUNCE_MX, verdict=Verdict.PASS, detail=f"bounces to {domain} go to {', '.join(hosts)}")
    implicit = lookup.addresses(domain)
    if implicit.records:
        return SetupCheck(
            name=CheckName.BOUNCE_MX,
            verdict=Verdict.WARN,
            detail=f"{domain} has no MX; senders fall back to its address ({implicit.records[0]}), which may not take mail",
            fix=f"publish {domain}. IN MX 10 <your mail server>.",
        )
    return SetupCheck(
        name=CheckName.BOUNCE_MX,
        verdict=Verdict.FAIL,
        detail=f"{domain} has no MX and no address: bounces cannot come back, and some receivers refuse mail from it",
        fix=f"publish {domain}. IN MX 10 <your mail server>.",
    )


INFORMATION = (
    (CheckName.MTA_STS, "_mta-sts", "v=stsv1", "receivers must use TLS to reach your mail server (RFC 8461)"),
    (CheckName.TLS_RPT, "_smtp._tls", "v=tlsrptv1", "receivers report TLS failures reaching your mail server (RFC 8460)"),
    (CheckName.BIMI, "default._bimi", "v=bimi1", "some mailboxes show your logo (needs DMARC p=quarantine or reject)"),
)


def information_checks(settings: Scope, lookup: Lookup) -> list[SetupCheck]:
    """MTA-STS, TLS-RPT and BIMI of the From domain: a pass either way, saying what is published."""
    domain = settings.newsletter.sender.domain.lower()
    checks = []
    for check, label, version, meaning in INFORMATION:
        name = f"{label}.{domain}"
        found = lookup.txt(name)
        if found.error:
            checks.append(SetupCheck(name=check, verdict=Verdict.WARN, detail=f"could not look up {name}: {found.error}"))
            continue
        record = next((r for r in found.records if r.replace(" ", "").lower().startswith(version)), None)
        detail = f'{name}: "{record}": {meaning}' if record else f"{name}: not published (optional: {meaning})"
        checks.append(SetupCheck(name=check, verdict=Verdict.PASS, detail=detail))
    return checks
