"""``digest dkim keygen`` and ``digest dkim check``: a signing key, and whether DNS publishes its public half."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from digest.cli.common import EXIT_PROBLEMS, Context, display_path, fail, hint


@click.group()
def dkim() -> None:
    """DKIM signing keys: make one, and check the DNS record that publishes it."""


@dkim.command()
@click.option("--selector", required=True, help="The key's name in DNS: <selector>._domainkey.<domain>.")
@click.option(
    "--domain",
    required=True,
    help="The signing domain: the sender's domain, or another in its organisational domain (DMARC's relaxed alignment).",
)
@click.option(
    "--type", "kind", type=click.Choice(["rsa", "ed25519"]), default="rsa", show_default=True, help="ed25519: a second key (RFC 8463)."
)
@click.option("--bits", type=click.IntRange(2048, 4096), default=2048, show_default=True, help="RSA key size.")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Where to write the key [default: config/dkim/<selector>.pem]."
)
@click.pass_obj
def keygen(obj: Context, selector: str, domain: str, kind: str, bits: int, out: Path | None) -> None:
    """Write a new private key (readable by you only) and print the DNS TXT record to publish."""
    from digest.app.dkim import is_selector, write_new_key
    from digest.models.errors import DkimKeyError

    if not is_selector(selector):
        fail(f'--selector must be a DNS label such as "news2026", got "{selector}"')
    if not re.fullmatch(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+", domain):
        fail(f'--domain must be a domain name such as "example.org", got "{domain}"')
    root = obj.settings.install.root
    path = (out if out is not None else root / "config" / "dkim" / f"{selector}.pem").resolve()
    shown = path.relative_to(root) if path.is_relative_to(root) else path  # key_file is relative to the project root
    if path.exists():
        fail(f"{path} exists: a new key there would break the signatures DNS vouches for. Give another --out or --selector")
    try:
        key = write_new_key(path, kind, bits, domain=domain, selector=selector)
    except DkimKeyError as exc:  # pragma: no cover (we just wrote it)
        fail(str(exc))
    record = key.public_record()
    source = obj.settings.newsletter.source
    config = display_path(source, folder=False) if source is not None else "the config"
    click.echo(f"Wrote      {shown} ({'RSA ' + str(bits) if kind == 'rsa' else 'Ed25519'}; readable by you only; never commit it)")
    click.echo(f"Publish    a TXT record at {selector}._domainkey.{domain}:")
    click.echo(f"  {selector}._domainkey.{domain}. IN TXT ( {txt_strings(record)} )")
    if kind == "ed25519":
        # A second signature (RFC 8463): receivers that know only RSA still need the RSA key, so it goes beside it.
        click.echo(f"Then in {config}'s [dkim] table, beside the RSA key's selector and key_file:")
        click.echo(f'  ed25519_selector = "{selector}"\n  ed25519_key_file = "{shown}"')
    else:
        click.echo(f"Then in {config}:")
        click.echo(f'  [dkim]\n  domain = "{domain}"\n  selector = "{selector}"\n  key_file = "{shown}"')
    click.echo(f"and check the record once DNS has it: {hint(obj, 'dkim', 'check', '--dns')}")


def txt_strings(record: str) -> str:
    """A TXT value as quoted strings of at most 255 characters each, as DNS needs for a 2048-bit key."""
    from digest.app.dkim import txt_strings as split

    return split(record)


@dkim.command()
@click.option("--record", help='The TXT record as published, pasted: "v=DKIM1; k=rsa; p=…" (quotes and splits allowed).')
@click.option("--record-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The TXT record, from a file.")
@click.option("--dns", "lookup", is_flag=True, help="Look the record up in DNS (dnspython) instead.")
@click.pass_obj
def check(obj: Context, record: str | None, record_file: Path | None, lookup: bool) -> None:
    """Compare each configured key with the TXT record that should publish it; exit 1 on a mismatch."""
    from digest.app.dkim import compare

    signer = obj.settings.newsletter.dkim
    if signer is None:
        fail(
            f"no [dkim] in {obj.settings.install.config_path or 'the config'}: nothing to check. Make a key: digest dkim keygen --selector S --domain D"
        )
    if sum(bool(x) for x in (record, record_file, lookup)) != 1:
        fail("give exactly one of --record, --record-file or --dns")
    given = None if lookup else record if record is not None else record_file.read_text(encoding="utf-8")  # type: ignore[union-attr]
    if given is not None and len(signer.keys) > 1:
        click.echo(f"note: {len(signer.keys)} keys are configured; the one record given is compared with each")
    bad = 0
    for key in signer.keys:
        name = f"{key.selector}._domainkey.{key.domain}"
        published = _lookup(name) if given is None else given
        problem = compare(key.public_record(), published or "")
        if problem is None:
            click.echo(f"ok         {name}: the published key is the configured {key.algorithm} key")
        else:
            bad += 1
            click.echo(f"MISMATCH   {name}: {problem}", err=True)
            click.echo(f"  publish:  {name}. IN TXT ( {txt_strings(key.public_record())} )", err=True)
    if bad:
        sys.exit(EXIT_PROBLEMS)


def _lookup(name: str) -> str | None:
    import dns.exception
    import dns.resolver

    try:
        answer = dns.resolver.resolve(name, "TXT", lifetime=10)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return None
    except dns.exception.DNSException as exc:
        fail(f"could not look up {name}: {exc}", EXIT_PROBLEMS)
    return " ".join(b"".join(rdata.strings).decode("ascii", "replace") for rdata in answer)
