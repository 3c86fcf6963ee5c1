"""DKIM: every copy signed on the fast path verifies with dkimpy (the public keys served by a stub DNS function).

Messages are read back from a real SMTP server on 127.0.0.1; both an RSA and
an Ed25519 signature (RFC 8463) are checked, on the sample issue and on an
issue made to be awkward: non-ASCII and long names, a long folded subject,
lines with runs of spaces and tabs, lines that end in spaces.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.config import ConfigError, Scope, load_settings
from digest.mail.backends import get_backend
from digest.mail.dkim import DkimSigner, load_key, new_key, sign_message
from digest.mail.notice import send_notice
from digest.models import StoredIssue, placeholders
from digest.send.delivery import compile_issue, send_issue
from digest.store import Store

from factories import make_stored_issue
from mailserver import SmtpServer
from support.cli import in_process
from support.dkim import verified
from support.settings import overridden

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    rsa, ed = tmp_path / "news.pem", tmp_path / "news-ed.pem"
    rsa.write_bytes(new_key("rsa"))
    ed.write_bytes(new_key("ed25519"))
    return rsa, ed


@pytest.fixture
def signed_settings(delivery_settings: Callable[..., Scope], smtp_server: SmtpServer, keys: tuple[Path, Path]) -> Scope:
    settings = delivery_settings(smtp_server.port)
    domain = settings.newsletter.sender.domain
    signer = DkimSigner((load_key(keys[0], domain=domain, selector="news"), load_key(keys[1], domain=domain, selector="newsed")))
    return overridden(settings, dkim=signer)


def awkward_issue() -> StoredIssue:
    """An issue whose bodies have what relaxed canonicalisation changes, and a subject that must be folded."""
    base = make_stored_issue("2026-11-20-dkim01", subject="Über-long subject: " + "Straßenbahn und Fähre " * 6)
    body = (
        "Runs   of  spaces\tand\t\ttabs in a line\n"
        "A line that ends in spaces   \n"
        "A line that ends in a tab\t\n" + "a long line " * 20 + "\n\n\n"
        f"Sent to {placeholders.RECIPIENT_EMAIL}. Unsubscribe: {placeholders.UNSUBSCRIBE_URL}\n"
        f"Preferences: {placeholders.PREFERENCES_URL}\n\n\n"
    )
    html = f"<!doctype html><html><body><p>Caf\u00e9  \t news &amp; more   </p><pre>  x  </pre>{body}</body></html>\n"
    return dataclasses.replace(base, text=body, html=html)


@pytest.mark.slow(4)
@pytest.mark.parametrize("which", ["sample", "awkward"])
def test_every_delivered_copy_verifies_with_dkimpy(which: str, signed_settings: Scope, smtp_server: SmtpServer, tmp_path: Path) -> None:
    from support.issues import sample_issue

    settings = signed_settings
    issue = sample_issue(settings) if which == "sample" else awkward_issue()
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    names = [
        None,
        "Zoë Ångström-Łukasiewicz",
        "A Reader With A Name So Long It Has To Be Folded Across Several Header Lines Surely",
        'Q "uoted", Name',
    ]
    for n, name in enumerate(names):
        store.subscribers.add(f"reader{n}@example.org", name)
    store.subscribers.add("idn@пример.рф")  # sent to its ASCII form
    store.issues.save(issue)
    report = send_issue(store, compile_issue(issue, settings), get_backend(settings.install), settings.install.delivery)
    assert report.sent == len(names) + 1
    assert settings.newsletter.dkim is not None
    for message in smtp_server.handler.received:
        assert message.data.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;"), message.data[:80]
        assert verified(message.data, settings.newsletter.dkim) == [True, True], message.recipient
        headers = message.data.split(b"\r\n\r\n", 1)[0].decode()
        unfolded = re.sub(r"\r\n[ \t]+", "", headers)
        assert "list-unsubscribe:list-unsubscribe:list-unsubscribe-post:list-unsubscribe-post" in unfolded
        assert "h=from:from:to:to:subject:subject" in unfolded and "reply-to:cc:sender;" in unfolded  # oversigned
        head = message.data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        signature_lines = head[: head.index(next(line for line in head if line.startswith(b"From: ")))]
        assert all(len(line) <= 78 for line in signature_lines) and all(len(line) <= 998 for line in head)
    # A signature that cannot fail proves nothing: a changed Subject, a changed body, fail.
    data = smtp_server.handler.received[0].data
    assert verified(data.replace(b"Subject: ", b"Subject: Re: ", 1), settings.newsletter.dkim) == [False, False]
    body_at = data.index(b"\r\n\r\n") + 4
    tampered = data[:body_at] + data[body_at:].replace(b"MIME format", b"MIME f0rmat", 1)
    assert verified(tampered, settings.newsletter.dkim) == [False, False]
    # Issue 22, item 19: a second Subject, List-Unsubscribe or Reply-To added above the originals verified, since
    # h= named each once (covering only the last instance). Oversigned, each addition now fails. Issue 31: so
    # does a Sender added on the way (it was neither signed nor listed, so the signature still verified).
    from_at = data.index(b"\r\nFrom: ") + 2
    for added in (
        b"Subject: You won a prize\r\n",
        b"List-Unsubscribe: <https://evil.example/u>\r\n",
        b"Reply-To: thief@evil.example\r\n",
        b"Sender: thief@evil.example\r\n",
    ):
        assert verified(data[:from_at] + added + data[from_at:], settings.newsletter.dkim) == [False, False], added


def test_notices_are_signed_too(signed_settings: Scope, smtp_server: SmtpServer) -> None:
    send_notice(signed_settings, "ada@example.org", "Welcome to Ünïcode News", "Hello   there \nand welcome.\n", label="welcome")
    [message] = smtp_server.handler.received
    assert signed_settings.newsletter.dkim is not None and verified(message.data, signed_settings.newsletter.dkim) == [True, True]


def test_sign_message_and_the_fast_path_agree(keys: tuple[Path, Path], make_settings: Callable[..., Scope]) -> None:
    settings = make_settings(secret_key="k", base_url="https://news.example.org")
    signer = DkimSigner((load_key(keys[0], domain=settings.newsletter.sender.domain, selector="news"),))
    compiled = compile_issue(awkward_issue(), overridden(settings, dkim=signer), date=datetime(2026, 11, 20, tzinfo=UTC))
    fast = compiled.render(3, "reader@example.org", "Reader")
    header, rest = fast.split(b"\r\nFrom: ", 1)
    unsigned = b"From: " + rest
    slow = sign_message(signer, unsigned)
    assert verified(fast, signer) == verified(slow, signer) == [True]
    bh = [line for line in header.split(b"\r\n") if b"bh=" in line]
    assert bh and bh[0] in slow  # the same body hash both ways


def write_config(tmp_path: Path, dkim_table: str) -> Path:
    config = tmp_path / "config" / "digest.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        f'root = ".."\n[newsletter]\nname = "Test"\nsender = "News <news@example.org>"\n\n[dkim]\n{dkim_table}\n', encoding="utf-8"
    )
    return config


def test_a_key_that_cannot_sign_is_a_config_error_at_load(tmp_path: Path) -> None:
    weak = tmp_path / "weak.pem"
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    weak.write_bytes(small.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (tmp_path / "junk.pem").write_text("not a key")
    cases = {
        'selector = "s"\nkey_file = "missing.pem"': "cannot read",
        'selector = "s"\nkey_file = "weak.pem"': "1024 bits",
        'selector = "s"\nkey_file = "junk.pem"': "not an unencrypted PEM private key",
        'key_file = "weak.pem"': "dkim.selector: is needed",
        'selector = "bad selector"\nkey_file = "weak.pem"': "must be a DNS label",
    }
    for table, expected in cases.items():
        with pytest.raises(ConfigError) as caught:
            load_settings(write_config(tmp_path, table), environ={})
        assert any(expected in problem and "dkim." in problem for problem in caught.value.problems), (table, caught.value.problems)
    good = tmp_path / "good.pem"
    good.write_bytes(new_key("rsa"))
    with pytest.raises(ConfigError, match='must include "from"'):
        load_settings(write_config(tmp_path, 'selector = "s"\nkey_file = "good.pem"\nheaders = ["subject"]'), environ={})
    settings = load_settings(write_config(tmp_path, 'domain = "other.example"\nselector = "s"\nkey_file = "good.pem"'), environ={})
    assert settings.newsletter.dkim is not None and any("DMARC" in warning for warning in settings.install.warnings)
    assert "PRIVATE" not in repr(settings) and "private" not in repr(settings.newsletter.dkim.keys[0]).lower().replace("private=", "")


def test_dmarc_alignment_is_relaxed_by_the_public_suffix_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 31: d=mail.example.org for a sender @example.org got "DMARC will not count it", though relaxed
    alignment (RFC 7489 3.1) accepts any two names of one organisational domain. The Public Suffix List says
    where that is, from the copy the package bundles: nothing is fetched (sockets refused while it loads)."""
    from digest.config import alignment

    (tmp_path / "good.pem").write_bytes(new_key("rsa"))
    signing = 'selector = "s"\nkey_file = "good.pem"\n'

    def dmarc_warnings(sender: str, domain: str) -> list[str]:
        config = write_config(tmp_path, f'domain = "{domain}"\n{signing}')
        config.write_text(config.read_text().replace("news@example.org", sender))
        return [w for w in load_settings(config, environ={}).install.warnings if "DMARC" in w]

    assert dmarc_warnings("news@example.org", "mail.example.org") == []  # a subdomain of the From domain
    assert dmarc_warnings("news@news.example.org", "example.org") == []  # its parent
    assert dmarc_warnings("news@news.example.org", "mail.example.org") == []  # a sibling: the same organisation
    [warning] = dmarc_warnings("news@example.co.uk", "other.co.uk")  # co.uk is a suffix, not an organisation
    assert "dkim.domain other.co.uk" in warning and "(example.co.uk, of example.co.uk)" in warning
    assert dmarc_warnings("news@a.github.io", "b.github.io")  # github.io is on the list's private part: two sites

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the Public Suffix List must not be fetched")

    alignment._suffixes.cache_clear()
    monkeypatch.setattr("socket.socket", no_network)
    monkeypatch.setattr("socket.create_connection", no_network)
    assert alignment.organisational_domain("News.Example.CO.UK.") == "example.co.uk"
    assert alignment.organisational_domain("localhost") == "localhost"  # a name the list cannot place is its own


def run_digest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return in_process(args, cwd=cwd, drop=("DIGEST_", "SMTP_"))


def test_keygen_writes_a_private_key_and_check_compares_the_record(tmp_path: Path) -> None:
    config = write_config(tmp_path, "")
    config.write_text(config.read_text().replace("\n[dkim]\n", ""))
    made = run_digest(tmp_path, "--config", str(config), "dkim", "keygen", "--selector", "news2026", "--domain", "example.org")
    assert made.returncode == 0, made.stderr
    key = tmp_path / "config" / "dkim" / "news2026.pem"
    assert key.stat().st_mode & 0o777 == 0o600 and b"PRIVATE KEY" in key.read_bytes()
    assert "PRIVATE" not in made.stdout  # the key is never printed
    assert "Then in config/digest.toml:\n" in made.stdout, made.stdout  # the config file as a file: no folder's slash
    record = made.stdout.split("IN TXT ( ", 1)[1].split(" )", 1)[0]
    again = run_digest(tmp_path, "--config", str(config), "dkim", "keygen", "--selector", "news2026", "--domain", "example.org")
    assert again.returncode == 2 and "exists" in again.stderr and key.read_bytes().startswith(b"-----BEGIN")
    # The config the keygen printed, pasted in: check accepts the record it printed, refuses another key.
    table = made.stdout.split("[dkim]\n", 1)[1].split("and check", 1)[0]
    config.write_text(config.read_text() + "\n[dkim]\n" + "\n".join(line.strip() for line in table.splitlines()) + "\n")
    (tmp_path / "record.txt").write_text(record)
    ok = run_digest(tmp_path, "--config", str(config), "dkim", "check", "--record-file", str(tmp_path / "record.txt"))
    assert ok.returncode == 0 and "ok " in ok.stdout, ok.stdout + ok.stderr
    other = load_key(_other_key(tmp_path), domain="example.org", selector="x").public_record()
    bad = run_digest(tmp_path, "--config", str(config), "dkim", "check", "--record", other)
    assert bad.returncode == 1 and "another key" in bad.stderr and "IN TXT" in bad.stderr
    revoked = run_digest(tmp_path, "--config", str(config), "dkim", "check", "--record", "v=DKIM1; k=rsa; p=")
    assert revoked.returncode == 1 and "revoked" in revoked.stderr


def _other_key(tmp_path: Path) -> Path:
    path = tmp_path / "other.pem"
    path.write_bytes(new_key("rsa"))
    return path


def test_check_with_two_keys_says_once_that_the_record_is_compared_with_each(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    rsa, ed = keys
    config = write_config(tmp_path, f'selector = "news"\nkey_file = "{rsa}"\ned25519_selector = "news-ed"\ned25519_key_file = "{ed}"')
    record = load_key(rsa, domain="example.org", selector="news").public_record()
    result = run_digest(tmp_path, "--config", str(config), "dkim", "check", "--record", record)
    assert result.returncode == 1  # the Ed25519 key is not that record
    assert result.stdout.count("keys are configured") == 1 and "ok         news._domainkey.example.org" in result.stdout
    assert "MISMATCH   news-ed._domainkey.example.org" in result.stderr


def test_keygen_takes_the_selectors_the_config_takes(tmp_path: Path) -> None:
    config = write_config(tmp_path, "")
    config.write_text(config.read_text().replace("\n[dkim]\n", ""))
    for bad in ("a..b", "-news", "news_2026"):
        refused = run_digest(tmp_path, "--config", str(config), "dkim", "keygen", "--selector", bad, "--domain", "example.org")
        assert refused.returncode == 2 and "must be a DNS label" in refused.stderr, bad
    made = run_digest(tmp_path, "--config", str(config), "dkim", "keygen", "--selector", "2026.news", "--domain", "example.org")
    assert made.returncode == 0, made.stderr
