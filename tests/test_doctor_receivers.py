"""``digest doctor`` read as a receiver reads: records a receiver would not honour are never a pass (an SPF ``+all``,
a DKIM key limited by ``h=`` or ``s=``, in testing ``t=y`` or beside another key, a DMARC record without a valid
``p=``), against an authoritative DNS server of the test's own on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.headerregistry import Address
from pathlib import Path
from typing import Any

import pytest

from digest.app.doctor import diagnose
from digest.config import DeliveryOptions, Scope, SmtpOptions
from digest.config.keys import DkimSigner
from digest.models import CheckName, SetupCheck, Verdict

from support.dnsserver import DnsServer, txt
from support.doctor import DOMAIN, RELAY, RELAY_IP, dkim_name, https_app

NOW = datetime(2026, 12, 6, 22, 0, tzinfo=UTC)


@pytest.fixture
def check(make_settings: Callable[..., Scope], signer: DkimSigner, zone: DnsServer) -> Callable[[CheckName], SetupCheck]:
    """One check of the doctor's run, with settings that send news@example.org through the relay, signed."""

    def run(name: CheckName) -> SetupCheck:
        fields: dict[str, Any] = {
            "sender": Address("News", "news", DOMAIN),
            "dkim": signer,
            "delivery": DeliveryOptions(backend="smtp"),
            "smtp": SmtpOptions(host=RELAY),
            "nameservers": (zone.nameserver,),
            "secret_key": "test-secret-key-for-the-suite-0123456789",
            "base_url": "https://www.example.org",
        }
        return next(c for c in diagnose(make_settings(**fields), NOW).checks if c.name is name)

    return run


def rsa_record(signer: DkimSigner) -> tuple[tuple[str, str], str]:
    key = next(k for k in signer.keys if k.selector == "news")
    return (dkim_name(key), "TXT"), key.public_record()


@pytest.mark.parametrize("record", ["v=spf1 +all", f"v=spf1 ip4:{RELAY_IP} all"])
def test_an_spf_record_that_lets_anyone_send_is_a_warning_and_the_fix_drops_it(
    check: Callable[[CheckName], SetupCheck], zone: DnsServer, record: str
) -> None:
    zone.records[(DOMAIN, "TXT")] = [txt(record)]
    spf = check(CheckName.SPF)
    assert spf.verdict is Verdict.WARN and "+all lets any server send" in spf.detail
    assert spf.fix.endswith(' ~all"') and "+all" not in spf.fix and " all" not in spf.fix, spf.fix


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda r: r.replace("k=rsa;", "k=rsa; h=sha1;"), "h=sha1: the key accepts no sha256 signature"),
        (lambda r: r + "; s=tlsrpt", "s=tlsrpt: the key is not for email"),
    ],
)
def test_a_dkim_key_a_receiver_would_not_use_for_our_signatures_fails(
    check: Callable[[CheckName], SetupCheck], zone: DnsServer, signer: DkimSigner, change: Callable[[str], str], said: str
) -> None:
    name, record = rsa_record(signer)
    zone.records[name] = [txt(change(record))]
    dkim = check(CheckName.DKIM)
    assert dkim.verdict is Verdict.FAIL and said in dkim.detail, dkim.detail
    zone.records[name] = [txt(record.replace("k=rsa;", "k=rsa; h=sha1:sha256; s=email;"))]  # lists that include ours
    assert check(CheckName.DKIM).verdict is Verdict.PASS


def test_a_dkim_key_in_testing_mode_or_beside_another_key_record_is_a_warning(
    check: Callable[[CheckName], SetupCheck], zone: DnsServer, signer: DkimSigner
) -> None:
    name, record = rsa_record(signer)
    zone.records[name] = [txt(record + "; t=y")]
    dkim = check(CheckName.DKIM)
    assert dkim.verdict is Verdict.WARN and "testing mode (t=y)" in dkim.detail and f"publish only {name[0]}." in dkim.fix
    zone.records[name] = [txt(record), txt("v=DKIM1; k=rsa; p=")]
    dkim = check(CheckName.DKIM)
    assert dkim.verdict is Verdict.WARN and "beside 1 other key record(s)" in dkim.detail


@pytest.mark.parametrize("record", ["v=DMARC1; p=rejekt", "v=DMARC1; rua=mailto:dmarc@example.org"])
def test_a_dmarc_record_without_a_valid_policy_fails(check: Callable[[CheckName], SetupCheck], zone: DnsServer, record: str) -> None:
    zone.records[(f"_dmarc.{DOMAIN}", "TXT")] = [txt(record)]
    dmarc = check(CheckName.DMARC)
    assert dmarc.verdict is Verdict.FAIL and "is not none, quarantine or reject" in dmarc.detail
    assert 'publish _dmarc.example.org. IN TXT "v=DMARC1; p=none"' in dmarc.fix


def test_a_subdomain_with_a_txt_record_that_is_not_dmarc_falls_back_to_the_organisational_domain(
    make_settings: Callable[..., Scope], signer: DkimSigner, zone: DnsServer, tmp_path: Path
) -> None:
    zone.records[("_dmarc.news.example.org", "TXT")] = [txt("google-site-verification=abc")]
    zone.records[(f"_dmarc.{DOMAIN}", "TXT")] = [txt("v=DMARC1; p=none; sp=reject")]
    settings = make_settings(
        sender=Address("News", "news", "news.example.org"),
        dkim=signer,
        nameservers=(zone.nameserver,),
        secret_key="test-secret-key-for-the-suite-0123456789",
    )
    dmarc = next(c for c in diagnose(settings, NOW).checks if c.name is CheckName.DMARC)
    assert dmarc.detail.startswith('_dmarc.example.org: "v=DMARC1; p=none; sp=reject" (p=reject'), dmarc.detail


def test_nameservers_that_never_answer_cost_one_timeout_not_one_per_question(
    make_settings: Callable[..., Scope], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dozen questions each waiting the full lifetime made `digest doctor` take over a minute: after a first
    timeout with nothing ever answered, the rest are warned of at once. The silent server counts the names asked."""
    import socket

    import dns.message

    import digest.mail.dns

    monkeypatch.setattr(digest.mail.dns, "TIMEOUT", 0.2)
    monkeypatch.setattr(digest.mail.dns, "LIFETIME", 0.5)
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    silent.setblocking(False)
    settings = make_settings(
        sender=Address("News", "news", DOMAIN),
        nameservers=(f"127.0.0.1:{silent.getsockname()[1]}",),
        secret_key="test-secret-key-for-the-suite-0123456789",
        base_url="https://www.example.org",
    )
    report = diagnose(settings, NOW)
    asked = set()
    while True:
        try:
            asked.add(dns.message.from_wire(silent.recv(4096)).question[0].name.to_text())
        except BlockingIOError:
            break
    silent.close()
    assert asked == {"example.org."}, asked  # the first question only (its retries included)
    unanswered = [c for c in report.checks if "not asked again" in c.detail]
    assert {c.name for c in unanswered} >= {CheckName.DMARC, CheckName.BOUNCE_MX, CheckName.BIMI, CheckName.HEALTHZ}
    assert all(c.verdict is Verdict.WARN for c in unanswered) and not report.failed


def test_a_site_answering_every_path_at_the_base_url_is_not_taken_for_digests_app(
    make_settings: Callable[..., Scope], zone: DnsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A single-page app's catch-all answers /healthz and the one-click POST with 200 and its page: readers'
    unsubscribes would do nothing there. /healthz must answer as `digest serve` does."""
    import trustme

    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    fields: dict[str, Any] = {"nameservers": (zone.nameserver,), "secret_key": "test-secret-key-for-the-suite-0123456789"}
    found = {}
    for catch_all in (True, False):
        with https_app(ca, catch_all=catch_all) as app:
            report = diagnose(make_settings(base_url=app.base_url, **fields), NOW)
        found[catch_all] = next(c for c in report.checks if c.name is CheckName.HEALTHZ)
    assert found[True].verdict is Verdict.FAIL and "not as `digest serve` does" in found[True].detail, found[True]
    assert "point newsletter.base_url" in found[True].fix
    assert found[False].verdict is Verdict.PASS, found[False]  # digest's own answer, {"status": "ok"}


def test_a_dkim_key_published_through_a_cname_is_read_at_its_target(
    check: Callable[[CheckName], SetupCheck], zone: DnsServer, signer: DkimSigner
) -> None:
    """Mail providers have the selector CNAME'd to a record they keep: the doctor reads the key where the alias leads."""
    name, record = rsa_record(signer)
    del zone.records[name]
    zone.records[(name[0], "CNAME")] = ["news.keys.example.org."]
    zone.records[("news.keys.example.org", "TXT")] = [txt(record)]
    dkim = check(CheckName.DKIM)
    assert dkim.verdict is Verdict.PASS and f"{name[0]} publishes the configured rsa-sha256 key" in dkim.detail, dkim.detail
    zone.records[("news.keys.example.org", "TXT")] = [txt("v=DKIM1; k=rsa; p=")]  # the provider revoked it
    assert check(CheckName.DKIM).verdict is Verdict.FAIL


def test_a_subdomain_takes_the_organisational_domains_sp_or_its_p_when_sp_is_not_a_policy(
    make_settings: Callable[..., Scope], signer: DkimSigner, zone: DnsServer
) -> None:
    settings = make_settings(
        sender=Address("News", "news", "news.example.org"),
        dkim=signer,
        nameservers=(zone.nameserver,),
        secret_key="test-secret-key-for-the-suite-0123456789",
    )
    zone.records[(f"_dmarc.{DOMAIN}", "TXT")] = [txt("v=DMARC1; p=quarantine; sp=bogus")]
    dmarc = next(c for c in diagnose(settings, NOW).checks if c.name is CheckName.DMARC)
    assert dmarc.verdict is Verdict.PASS and "(p=quarantine," in dmarc.detail, dmarc.detail


def test_a_first_doctor_run_on_a_fresh_install_is_shown_by_status(tmp_path: Path, zone: DnsServer) -> None:
    """Right after `digest init` there is no database yet: the doctor's run was not kept, and `digest status` said
    "never run here" just after it ran."""
    from click.testing import CliRunner

    from digest.cli import main

    from support.project import make_config

    config = make_config(tmp_path, None)
    config.write_text(config.read_text(encoding="utf-8") + f'\n[doctor]\nnameservers = ["{zone.nameserver}"]\n', encoding="utf-8")
    env = {"DIGEST_SECRET_KEY": "test-secret-key-for-the-suite-0123456789"}
    CliRunner().invoke(main, ["--config", str(config), "doctor"], env=env)
    status = CliRunner().invoke(main, ["--config", str(config), "status"], env=env)
    assert status.exit_code == 0, status.output
    assert "Doctor      never run here" not in status.output and "Doctor      20" in status.output, status.output
