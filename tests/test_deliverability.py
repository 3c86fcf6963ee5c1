"""Deliverability at send time (issue 31, item 6): ``digest send --dry-run`` and ``digest status``, as real
subprocesses on the fixture project, say whether DMARC can pass and through what, and warn when it cannot, or
when every copy names a mailbox that nothing reads."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from digest.mail.dkim import new_key

from support.cli import cli, in_process
from support.project import WINDOW, make_config

FROM = "golden.example"  # the fixture project's sender: news@golden.example


def configured(tmp_path: Path, extra: str, **delivery: object) -> Path:
    config = make_config(tmp_path, None, **delivery)
    config.write_text(config.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return config


def signing(tmp_path: Path, domain: str) -> str:
    key = tmp_path / "dkim.pem"
    key.write_bytes(new_key("rsa"))
    return f'\n[dkim]\ndomain = "{domain}"\nselector = "news"\nkey_file = "{key}"\n'


def dry_run_and_status(config: Path) -> tuple[str, str, dict[str, object]]:
    dry = cli(config, "send", "--dry-run", *WINDOW)
    assert dry.returncode == 0, dry.stderr
    status = cli(config, "status")
    assert status.returncode == 0, status.stderr
    as_json = cli(config, "status", "--json")
    assert as_json.returncode == 0, as_json.stderr
    return dry.stdout + dry.stderr, status.stdout + status.stderr, json.loads(as_json.stdout)["deliverability"]


def test_a_setup_that_cannot_pass_dmarc_is_warned_of_with_the_fix(tmp_path: Path) -> None:
    """Bounce domain and From domain unrelated, nothing signed: no warning anywhere before."""
    config = configured(tmp_path, '\n[bounces]\naddress = "bounces@mailer-bounces.net"\npiped = true\n')
    dry, status, found = dry_run_and_status(config)
    for said in (dry, status):
        assert "DMARC cannot pass: nothing is signed (no [dkim]), and the envelope sender's domain mailer-bounces.net" in said
        assert f"is not in {FROM}'s organisational domain {FROM}" in said
        # The fix is a whole command, with this config named, and the alternative.
        assert f"digest --config {config} dkim keygen --selector news{date.today():%Y%m} --domain {FROM}" in said
        assert f"or set bounces.address to an address in {FROM}" in said
    assert "Warning    DMARC cannot pass" in dry and "warning: DMARC cannot pass" in status
    assert found["dmarc"] == {
        "can_pass": False,
        "from_domain": FROM,
        "organisational_domain": FROM,
        "dkim_domains": [],
        "dkim_aligned": [],
        "envelope_domain": "mailer-bounces.net",
        "spf_aligned": False,
    }
    assert found["unread_mailbox"] is None  # piped = true: something reads it


def test_a_dkim_subdomain_aligns_and_no_false_warning_is_given(tmp_path: Path) -> None:
    """d=mail.golden.example for a sender @golden.example got "DMARC will not count it"; relaxed alignment counts it."""
    config = configured(tmp_path, signing(tmp_path, f"mail.{FROM}") + '\n[bounces]\naddress = "bounces@mailer-bounces.net"\npiped = true\n')
    dry, status, found = dry_run_and_status(config)
    for said in (dry, status):
        assert "DMARC will not count it" not in said and "cannot pass" not in said
        assert f"DMARC can pass through DKIM: d=mail.{FROM} is in {FROM}'s organisational domain {FROM}" in said
        assert "SPF will not count: the envelope sender's domain mailer-bounces.net is not" in said
    assert "Mail       DMARC can pass through DKIM" in dry and "mail: DMARC can pass through DKIM" in status
    assert found["dmarc"]["can_pass"] is True and found["dmarc"]["dkim_aligned"] == [f"mail.{FROM}"]  # type: ignore[index]
    assert found["warnings"] == []


def test_spf_alone_can_pass_and_the_dry_run_says_so(tmp_path: Path) -> None:
    """The default envelope sender is the From address: SPF can align, with nothing signed; say it, and say to sign."""
    dry, status, found = dry_run_and_status(make_config(tmp_path, None))
    assert f"Mail       DMARC can pass through SPF only: the envelope sender's domain {FROM} is in {FROM}'s organisational domain" in dry
    assert "nothing is signed; a forwarded copy fails SPF, so sign too" in status
    assert found["dmarc"]["spf_aligned"] is True and found["warnings"] == []  # type: ignore[index]


def test_a_mailto_that_nothing_reads_is_warned_of_until_it_is_read(tmp_path: Path) -> None:
    """Each copy carried a mailto: unsubscribe (and, with [bounces], a return path) that nothing read: a reader
    who unsubscribed by mail stayed on the list, and nothing said so."""
    bounces = f'\n[bounces]\naddress = "bounces@{FROM}"\n'
    dry, status, found = dry_run_and_status(configured(tmp_path / "a", bounces))
    for said in (dry, status):
        assert f"nothing reads unsubscribe+<token>@{FROM} and bounces+<token>@{FROM} (bounces.address" in said
        assert "a reader who unsubscribes by mail stays subscribed, and bounces are never counted" in said
        assert "set piped = true under [bounces]" in said and "bounces process`" in said and "bounces fetch`" in said
    assert "Warning    nothing reads" in dry and "warning: nothing reads" in status
    assert found["unread_mailbox"] == {
        "setting": "bounces.address",
        "addresses": [f"unsubscribe+<token>@{FROM}", f"bounces+<token>@{FROM}"],
    }

    # A plain mailto (no [bounces]): the same, and dropping it is a fix too.
    dry, _, found = dry_run_and_status(configured(tmp_path / "b", "", unsubscribe_mailto=f"leave@{FROM}"))
    assert f"Warning    nothing reads leave@{FROM} (delivery.unsubscribe_mailto" in dry and "or remove delivery.unsubscribe_mailto" in dry

    # Declared as piped, or read over IMAP: no warning.
    dry, status, found = dry_run_and_status(configured(tmp_path / "c", bounces + "piped = true\n"))
    assert "nothing reads" not in dry + status and found["unread_mailbox"] is None
    imap = {"IMAP_HOST": "imap.golden.example", "IMAP_USERNAME": "u", "IMAP_PASSWORD": "p"}
    fetched = in_process(
        ["--config", str(configured(tmp_path / "d", bounces)), "send", "--dry-run", *WINDOW],
        env={"DIGEST_SECRET_KEY": "test-secret-key-for-the-suite-0123456789"} | imap,
        drop=("DIGEST_", "SMTP_", "DATABASE_URL", "IMAP_"),
    )
    assert fetched.returncode == 0, fetched.stderr
    assert "nothing reads" not in fetched.stdout + fetched.stderr
