"""``digest doctor`` (issue 37, item 1): against an authoritative DNS server of the test's own on 127.0.0.1 and a
real HTTPS server for the public app, a good zone passes every check; a missing or other DKIM key, a DMARC p=reject
that nothing aligned can pass, an SPF that leaves the relay out or needs too many lookups each fail the matching check
with the record to publish; a name that does not resolve is a warning. ``digest send`` refuses on the checks that
need no network (``--force`` overrides, logged), ``digest status`` shows the latest run, the scheduler stores it."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from email.headerregistry import Address
from pathlib import Path
from typing import Any

import pytest
import trustme
from click.testing import CliRunner

from digest.app.doctor import diagnose, setup_gate
from digest.config import DeliveryOptions, Scope, SmtpOptions, load_settings
from digest.config.keys import DkimSigner, load_key
from digest.mail.dkim import new_key
from digest.models import CHECK_WORDS, VERDICT_WORDS, CheckName, SetupCheck, SetupReport, Verdict
from digest.store import Store

from conftest import LiveServer
from support.cli import INHERITED, in_process
from support.dnsserver import DnsServer, txt
from support.doctor import DOMAIN, RELAY, RELAY_IP, dkim_name, https_app
from support.project import make_config
from support.settings import overridden
from support.stores import store_of

NOW = datetime(2026, 12, 6, 22, 0, tzinfo=UTC)
DNS_CHECKS = {CheckName.SPF, CheckName.DKIM, CheckName.DMARC, CheckName.BOUNCE_MX, CheckName.MTA_STS, CheckName.TLS_RPT, CheckName.BIMI}


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def trusting(ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test CA trusted as the system's (OpenSSL reads SSL_CERT_FILE when a default context is made)."""
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))


@pytest.fixture
def sending(make_settings: Callable[..., Scope], signer: DkimSigner, zone: DnsServer) -> Callable[..., Scope]:
    """Scope that send news@example.org through relay.example.org, signed by both keys, asking our DNS server."""

    def make(**overrides: Any) -> Scope:
        fields: dict[str, Any] = {
            "sender": Address("News", "news", DOMAIN),
            "dkim": signer,
            "delivery": DeliveryOptions(backend="smtp"),
            "smtp": SmtpOptions(host=RELAY),
            "nameservers": (zone.nameserver,),
            "secret_key": "test-secret-key-for-the-suite-0123456789",
            "address": "1 Example Street",
            "base_url": "https://www.example.org",
        }
        return make_settings(**(fields | overrides))

    return make


def by_name(report: SetupReport) -> dict[CheckName, Any]:
    return {check.name: check for check in report.checks}


def test_a_good_zone_and_a_reachable_app_pass_every_check(sending: Callable[..., Scope], ca: trustme.CA, trusting: None) -> None:
    with https_app(ca) as app:
        report = diagnose(sending(base_url=app.base_url), NOW)
    assert [check.name for check in report.checks] == list(CHECK_WORDS)  # every check, in the table's order
    assert {c.name: c.verdict for c in report.checks if c.verdict is not Verdict.PASS} == {}, [
        c for c in report.checks if c.verdict is not Verdict.PASS
    ]
    found = by_name(report)
    assert f"lets the relay {RELAY} ({RELAY_IP}) send" in found[CheckName.SPF].detail
    assert "news._domainkey.example.org publishes the configured rsa-sha256 key" in found[CheckName.DKIM].detail
    assert "ed._domainkey.example.org publishes the configured ed25519-sha256 key" in found[CheckName.DKIM].detail
    assert "can pass through DKIM d=example.org and SPF" in found[CheckName.DMARC].detail
    assert "not published" in found[CheckName.BIMI].detail and '"v=STSv1; id=20261206"' in found[CheckName.MTA_STS].detail
    # One-click: the POST a mailbox provider sends, to the token that unsubscribes nobody.
    assert ("POST", "/u/test", b"List-Unsubscribe=One-Click") in app.requests and ("GET", "/healthz", b"") in app.requests


@pytest.mark.parametrize("which", ["news", "ed"])
def test_a_dkim_record_removed_or_another_key_published_fails_with_the_record_to_publish(
    sending: Callable[..., Scope], signer: DkimSigner, zone: DnsServer, tmp_path: Path, which: str
) -> None:
    key = next(k for k in signer.keys if k.selector == which)
    del zone.records[(dkim_name(key), "TXT")]
    dkim = by_name(diagnose(sending(), NOW))[CheckName.DKIM]
    assert dkim.verdict is Verdict.FAIL and f"{dkim_name(key)}: no TXT record found" in dkim.detail
    assert f"publish {dkim_name(key)}. IN TXT ( " in dkim.fix and key.public_record()[:200] in dkim.fix

    other = tmp_path / "other.pem"
    other.write_bytes(new_key("rsa" if which == "news" else "ed25519"))
    zone.records[(dkim_name(key), "TXT")] = [txt(load_key(other, domain=DOMAIN, selector=which).public_record())]
    dkim = by_name(diagnose(sending(), NOW))[CheckName.DKIM]
    assert dkim.verdict is Verdict.FAIL and "p= is another key than the configured one" in dkim.detail
    assert key.public_record()[:200] in dkim.fix


def test_dmarc_reject_with_no_aligned_path_fails_with_the_record_to_publish(sending: Callable[..., Scope], zone: DnsServer) -> None:
    """From news@letters.example.org, signed d=example.org, bounces@example.org: relaxed alignment passes; a strict
    record at the organisational domain (found there, as receivers find it) leaves no path."""
    from digest.config import BounceOptions

    settings = sending(
        sender=Address("News", "news", f"letters.{DOMAIN}"),
        bounces=BounceOptions(address=f"bounces@{DOMAIN}", unsubscribe_address=f"unsubscribe@{DOMAIN}", piped=True),
    )
    found = by_name(diagnose(settings, NOW))
    assert found[CheckName.DMARC].verdict is Verdict.PASS, found[CheckName.DMARC]
    zone.records[(f"_dmarc.{DOMAIN}", "TXT")] = [txt("v=DMARC1; p=reject; adkim=s; aspf=s")]
    found = by_name(diagnose(settings, NOW))
    dmarc = found[CheckName.DMARC]
    assert dmarc.verdict is Verdict.FAIL and "cannot pass" in dmarc.detail and "receivers reject the mail" in dmarc.detail
    assert f'publish _dmarc.{DOMAIN}. IN TXT "v=DMARC1; p=reject; adkim=r; aspf=r"' in dmarc.fix
    assert found[CheckName.DKIM].verdict is found[CheckName.SPF].verdict is Verdict.PASS  # the failure is DMARC's alone

    del zone.records[(f"_dmarc.{DOMAIN}", "TXT")]
    dmarc = by_name(diagnose(settings, NOW))[CheckName.DMARC]
    assert dmarc.verdict is Verdict.FAIL and "no DMARC record" in dmarc.detail
    assert f'publish _dmarc.{DOMAIN}. IN TXT "v=DMARC1; p=none"' in dmarc.fix


def test_an_spf_record_that_leaves_the_relay_out_or_needs_too_many_lookups_fails(sending: Callable[..., Scope], zone: DnsServer) -> None:
    zone.records[(DOMAIN, "TXT")] = [txt("v=spf1 ip4:198.51.100.7 -all")]
    spf = by_name(diagnose(sending(), NOW))[CheckName.SPF]
    assert spf.verdict is Verdict.FAIL and f"does not let the relay {RELAY} ({RELAY_IP}) send" in spf.detail
    assert spf.fix == f'publish {DOMAIN}. IN TXT "v=spf1 ip4:198.51.100.7 ip4:{RELAY_IP} -all"'

    chain = [f"n{n}.{DOMAIN}" for n in range(11)]
    zone.records[(DOMAIN, "TXT")] = [txt(f"v=spf1 include:{chain[0]} ip4:{RELAY_IP} -all")]
    for name, then in zip(chain, [*chain[1:], None], strict=True):
        zone.records[(name, "TXT")] = [txt(f"v=spf1 include:{then} -all" if then else "v=spf1 -all")]
    spf = by_name(diagnose(sending(), NOW))[CheckName.SPF]
    assert spf.verdict is Verdict.FAIL and "needs 11 DNS lookups" in spf.detail and "more than the 10" in spf.detail

    del zone.records[(DOMAIN, "TXT")]
    spf = by_name(diagnose(sending(), NOW))[CheckName.SPF]
    assert spf.verdict is Verdict.FAIL and "publishes no SPF record" in spf.detail
    assert spf.fix.startswith(f'publish {DOMAIN}. IN TXT "v=spf1 ip4:{RELAY_IP} ~all"')


def test_a_name_that_does_not_resolve_is_a_warning_never_a_failure(sending: Callable[..., Scope], zone: DnsServer) -> None:
    """elsewhere.test is no zone of our server's: it refuses, as a server does for a name it does not hold."""
    settings = sending(
        sender=Address("News", "news", "elsewhere.test"),
        dkim=None,
        smtp=SmtpOptions(host="relay.elsewhere.test"),
        base_url="https://www.elsewhere.test",
    )
    found = by_name(diagnose(settings, NOW))
    for name in DNS_CHECKS | {CheckName.HEALTHZ, CheckName.ONE_CLICK}:
        assert found[name].verdict is Verdict.WARN, found[name]
    assert "could not look up SPF at elsewhere.test: no nameserver would answer" in found[CheckName.SPF].detail
    assert "the name does not resolve" in found[CheckName.HEALTHZ].detail
    assert ("_dmarc.elsewhere.test", "TXT") in zone.questions  # asked of our server, not the system's


def test_the_one_click_probe_of_digests_own_app_unsubscribes_nobody(sending: Callable[..., Scope], tmp_path: Path) -> None:
    from digest.web.public import create_public_app

    store = Store.open(f"sqlite:///{tmp_path / 'digest.sqlite'}")
    store.subscribers.add("reader@example.net")
    server = LiveServer(create_public_app(sending(), store))
    try:
        found = by_name(diagnose(sending(base_url=server.base), NOW, store))
    finally:
        server.stop()
    assert found[CheckName.ONE_CLICK].verdict is found[CheckName.HEALTHZ].verdict is Verdict.PASS
    assert found[CheckName.BASE_URL].verdict is Verdict.FAIL  # http to 127.0.0.1, and this setup sends to real readers
    reader = store.subscribers.get(email="reader@example.net")
    assert reader is not None and reader.status.value == "active"
    latest = store.checks.latest()  # stored for `digest status`
    assert latest is not None and [c.name for c in latest.checks] == list(CHECK_WORDS) and latest.checked_at == NOW
    store.close()


def test_the_words_name_every_check_and_verdict() -> None:
    assert set(CHECK_WORDS) == set(CheckName) and set(VERDICT_WORDS) == set(Verdict)
    assert len(set(CHECK_WORDS.values())) == len(CheckName)


def test_the_nameservers_come_from_the_config_or_the_environment(tmp_path: Path) -> None:
    from digest.models.errors import ConfigError

    config = tmp_path / "digest.toml"
    config.write_text('[doctor]\nnameservers = ["127.0.0.1:5353", "[::1]:53", "192.0.2.53"]\n', encoding="utf-8")
    assert load_settings(config, environ={}).install.nameservers == ("127.0.0.1:5353", "[::1]:53", "192.0.2.53")
    assert load_settings(config, environ={"DIGEST_NAMESERVERS": "127.0.0.1:99,127.0.0.2"}).install.nameservers == (
        "127.0.0.1:99",
        "127.0.0.2",
    )
    config.write_text('[doctor]\nnameservers = ["ns1.example.org"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"doctor.nameservers\[0\]: must be an IP address"):
        load_settings(config, environ={})


def test_send_refuses_when_dmarc_cannot_align_and_force_overrides_it_logged(tmp_path: Path) -> None:
    """Through the command line in-process: a send to real readers (SMTP to another host) whose From domain nothing
    aligns with is refused before anything is built, with the fix; --force goes on past it, logged."""
    from digest.cli import main

    config = make_config(tmp_path, None, backend="smtp")
    extra = '\n[smtp]\nhost = "relay.example.org"\n\n[bounces]\naddress = "bounces@mailer-bounces.net"\npiped = true\n'
    config.write_text(config.read_text(encoding="utf-8") + extra, encoding="utf-8")
    assert [check.name for check in setup_gate(load_settings(config, environ={}))] == [CheckName.DMARC_ALIGNMENT]
    env = {"DIGEST_SECRET_KEY": "test-secret-key-for-the-suite-0123456789"}
    week = ["--since", "2025-02-24", "--until", "2025-03-03"]
    runner = CliRunner()
    refused = runner.invoke(main, ["--config", str(config), "send", "--dry-run", *week], env=env)
    assert refused.exit_code == 1, refused.output
    assert "FAIL     DMARC alignment (config): DMARC cannot pass" in refused.output
    assert "fix: sign with a key of golden.example" in refused.output and "--force sends anyway (logged)" in refused.output
    assert "Dry run" not in refused.output  # refused before anything was built
    # --worker on SQLite is refused by the next rule, before anything is built: it speaks only past the gate.
    forced = runner.invoke(main, ["--config", str(config), "send", "--dry-run", "--force", "--worker", *week], env=env)
    assert "check(s) of the setup failed" not in forced.output and "--worker: " in forced.output, forced.output
    assert "send forced by" in forced.output and "past a failed check: dmarc-alignment: DMARC cannot pass" in forced.output


def test_the_command_line_exits_1_on_a_fail_and_status_shows_the_latest_run(tmp_path: Path, signer: DkimSigner, zone: DnsServer) -> None:
    """The real command: JSON as the interface says, exit 1 because the DKIM record is gone; then `digest status`
    (in-process) shows that run with its fix."""
    from digest.cli import main

    news = signer.keys[0]
    del zone.records[(dkim_name(news), "TXT")]
    key = tmp_path / "news.pem"
    key.write_bytes(news.private.private_bytes(*_pem()))
    config = make_config(tmp_path, None)
    config.write_text(
        config.read_text(encoding="utf-8")
        + f'\n[doctor]\nnameservers = ["{zone.nameserver}"]\n\n[dkim]\ndomain = "{DOMAIN}"\nselector = "news"\nkey_file = "{key}"\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "SMTP_", "DATABASE_URL"))}
    env["DIGEST_SECRET_KEY"] = "test-secret-key-for-the-suite-0123456789"
    store_of(config).close()  # a store to keep the result in
    done = in_process(
        ["--config", str(config), "doctor", "--format", "json"], env={"DIGEST_SECRET_KEY": env["DIGEST_SECRET_KEY"]}, drop=INHERITED
    )
    assert done.returncode == 1, done.stderr
    checks = json.loads(done.stdout)["checks"]
    assert [set(check) for check in checks] == [{"name", "status", "detail", "fix"}] * len(CheckName)
    dkim = next(check for check in checks if check["name"] == "dkim")
    assert dkim["status"] == "fail" and "publish news._domainkey.example.org. IN TXT" in dkim["fix"]
    status = CliRunner().invoke(main, ["--config", str(config), "status"], env={"DIGEST_SECRET_KEY": env["DIGEST_SECRET_KEY"]})
    assert status.exit_code == 0, status.output
    assert "Doctor      " in status.output and "FAIL     DKIM key published: news._domainkey.example.org: no TXT record" in status.output
    shown = CliRunner().invoke(main, ["--config", str(config), "status", "--json"], env={"DIGEST_SECRET_KEY": env["DIGEST_SECRET_KEY"]})
    doctor = json.loads(shown.stdout)["doctor"]
    assert doctor["checks"] == checks and doctor["checked_at"]


def _pem() -> tuple[Any, ...]:
    from cryptography.hazmat.primitives import serialization

    return serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()


def test_the_scheduler_runs_the_checks_and_stores_them(sending: Callable[..., Scope], tmp_path: Path) -> None:
    from digest.app.scheduling import Scheduler

    settings = sending(database_url=f"sqlite:///{tmp_path / 'digest.sqlite'}")
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    Scheduler(settings, store).check_setup(NOW)
    latest = store.checks.latest()
    assert latest is not None and latest.checked_at == NOW and by_name(latest)[CheckName.DKIM].verdict is Verdict.PASS
    store.close()


def test_the_daily_checks_keep_their_rhythm_across_restarts(sending: Callable[..., Scope], tmp_path: Path) -> None:
    """Due a day after the last stored run, so a scheduler restarted every day still runs them; never sooner than
    ten minutes after a start, so a restart loop asks nothing of DNS."""
    from datetime import timedelta

    from digest.app.scheduling import SETUP_CHECK_DELAY, Scheduler

    settings = sending(database_url=f"sqlite:///{tmp_path / 'digest.sqlite'}")
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    runner = Scheduler(settings, store)
    checks = (SetupCheck(name=CheckName.DKIM, verdict=Verdict.PASS, detail="signed"),)
    assert runner.next_setup_check(NOW) == NOW + SETUP_CHECK_DELAY  # never run: soon after the start
    store.checks.record(SetupReport(checked_at=NOW - timedelta(hours=20), checks=checks))
    assert runner.next_setup_check(NOW) == NOW + timedelta(hours=4)  # a day after the last run, not a day after start
    store.checks.record(SetupReport(checked_at=NOW - timedelta(days=3), checks=checks))
    assert runner.next_setup_check(NOW) == NOW + SETUP_CHECK_DELAY  # overdue: soon, not at once
    store.close()


def test_the_bounce_mailbox_login_is_checked_when_one_is_configured(sending: Callable[..., Scope]) -> None:
    """Without IMAP_HOST there is nothing to check; a port nothing listens on is a fail (a real Dovecot, below, where
    it can run: the right password logs in, a wrong one is a fail naming the login)."""
    import socket

    from digest.config import BounceOptions

    assert by_name(diagnose(sending(), NOW))[CheckName.IMAP_LOGIN].verdict is Verdict.PASS  # nothing configured
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    nowhere = sending(bounces=BounceOptions(imap_host="127.0.0.1", imap_port=port, imap_username="u", imap_password="p"))
    refused = by_name(diagnose(nowhere, NOW))[CheckName.IMAP_LOGIN]
    assert refused.verdict is Verdict.FAIL and f"cannot reach the IMAP server 127.0.0.1:{port}" in refused.detail


def test_a_real_mailbox_logs_in_and_a_wrong_password_fails(sending: Callable[..., Scope]) -> None:
    from imapserver import dovecot

    with dovecot() as server:
        settings = server.reading(sending())
        assert by_name(diagnose(settings, NOW))[CheckName.IMAP_LOGIN].verdict is Verdict.PASS
        wrong = overridden(settings, bounces=dataclasses.replace(settings.install.bounces, imap_password="not-it"))
        login = by_name(diagnose(wrong, NOW))[CheckName.IMAP_LOGIN]
        assert login.verdict is Verdict.FAIL and "refused the login" in login.detail and "IMAP_PASSWORD" in login.fix


def test_spf_follows_redirects_and_a_terms_and_a_relay_on_a_private_address_is_a_warning(
    sending: Callable[..., Scope], zone: DnsServer
) -> None:
    zone.records[(DOMAIN, "TXT")] = [txt(f"v=spf1 redirect=_spf.{DOMAIN}")]
    zone.records[(f"_spf.{DOMAIN}", "TXT")] = [txt(f"v=spf1 a:{RELAY}/24 -all")]
    spf = by_name(diagnose(sending(), NOW))[CheckName.SPF]
    assert spf.verdict is Verdict.PASS and "(2 of 10 lookups)" in spf.detail, spf
    zone.records[(RELAY, "A")] = ["192.168.1.25"]  # a relay on the LAN: its mail leaves from the router's address
    spf = by_name(diagnose(sending(), NOW))[CheckName.SPF]
    assert spf.verdict is Verdict.WARN and "is on a private address: check that the record names the public one" in spf.detail, spf
    assert f"a:{RELAY}" in spf.fix  # its public address is not known here: the name, for the operator to check


def test_a_relay_an_include_may_cover_is_a_warning_not_a_failure(sending: Callable[..., Scope], zone: DnsServer) -> None:
    """A provider's submission host is seldom the address its mail leaves from: its include may cover that one."""
    zone.records[(DOMAIN, "TXT")] = [txt(f"v=spf1 include:_spf.{DOMAIN} -all")]
    zone.records[(f"_spf.{DOMAIN}", "TXT")] = [txt("v=spf1 ip4:198.51.100.0/24 -all")]
    spf = by_name(diagnose(sending(), NOW))[CheckName.SPF]
    assert spf.verdict is Verdict.WARN and "an include may cover the addresses it sends from" in spf.detail, spf
    assert spf.fix == f'publish {DOMAIN}. IN TXT "v=spf1 include:_spf.{DOMAIN} ip4:{RELAY_IP} -all"'


def test_every_newsletter_of_an_install_is_checked_each_under_its_own_path(tmp_path: Path, zone: DnsServer) -> None:
    """Each newsletter has its own sender, DKIM key and public path (issue 34): the doctor checks each, in a section
    of its own (JSON: the first's at the top level as before, and `newsletters`), its one-click probe under its path."""
    config = make_config(tmp_path, None)
    config.write_text(config.read_text(encoding="utf-8") + f'\n[doctor]\nnameservers = ["{zone.nameserver}"]\n', encoding="utf-8")
    secret = {"DIGEST_SECRET_KEY": "test-secret-key-for-the-suite-0123456789"}
    added = in_process(["--config", str(config), "newsletters", "add", "culture", "--name", "Culture"], env=secret, drop=INHERITED)
    assert added.returncode == 0, added.stderr
    done = in_process(["--config", str(config), "doctor", "--format", "json"], env=secret, drop=INHERITED)
    assert done.returncode == 0, done.stderr  # warnings only: nothing answers at the base URL, no DNS record
    found = json.loads(done.stdout)
    assert [each["slug"] for each in found["newsletters"]] == [found["newsletters"][0]["slug"], "culture"]
    assert found["checks"] == found["newsletters"][0]["checks"]

    def probed(checks: list[dict[str, str]]) -> str:
        return next(check["detail"] for check in checks if check["name"] == CheckName.ONE_CLICK.value)

    assert "/culture/u/test" in probed(found["newsletters"][1]["checks"]) and "/culture/" not in probed(found["checks"])
    words = in_process(["--config", str(config), "doctor"], env=secret, drop=INHERITED)
    assert words.stdout.count("== ") == 2 and "== Culture (culture, /culture) ==" in words.stdout
    only = in_process(["--config", str(config), "--newsletter", "culture", "doctor", "--format", "json"], env=secret, drop=INHERITED)
    assert "newsletters" not in json.loads(only.stdout) and "/culture/u/test" in probed(json.loads(only.stdout)["checks"])


def test_status_never_shows_one_newsletter_s_doctor_run_as_another_s(tmp_path: Path, zone: DnsServer) -> None:
    """A re-walk: after `--newsletter culture doctor`, the first newsletter's status showed culture's run (its DKIM key
    passing) as its own. The run kept is the install's first newsletter's; another's section says so."""
    config = make_config(tmp_path, None)
    config.write_text(config.read_text(encoding="utf-8") + f'\n[doctor]\nnameservers = ["{zone.nameserver}"]\n', encoding="utf-8")
    secret = {"DIGEST_SECRET_KEY": "test-secret-key-for-the-suite-0123456789"}
    assert (
        in_process(["--config", str(config), "newsletters", "add", "culture", "--name", "Culture"], env=secret, drop=INHERITED).returncode
        == 0
    )
    in_process(["--config", str(config), "--newsletter", "culture", "doctor"], env=secret, drop=INHERITED)
    first = json.loads(in_process(["--config", str(config), "status", "--format", "json"], env=secret, drop=INHERITED).stdout)
    assert first["doctor"] is None and [each["doctor"] for each in first["newsletters"]] == [None, None]  # culture's run kept nowhere
    in_process(["--config", str(config), "doctor"], env=secret, drop=INHERITED)
    both = json.loads(in_process(["--config", str(config), "status", "--format", "json"], env=secret, drop=INHERITED).stdout)
    assert both["doctor"] is not None and both["newsletters"][0]["doctor"] == both["doctor"] and both["newsletters"][1]["doctor"] is None
    words = in_process(["--config", str(config), "status"], env=secret, drop=INHERITED).stdout
    culture = words[words.index("== Culture") :]
    assert "Doctor      the run kept is" in culture and "--newsletter culture doctor`" in culture, culture
