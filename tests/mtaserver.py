"""A real mail path for the tests: Postfix and OpenDKIM from Debian's packages, each on a free 127.0.0.1 port.

Postfix runs from a configuration folder of its own (``postfix -c DIR``) for the local domain
``example.test``: virtual mailboxes delivered as Maildirs under ``mail/`` (owned by the same uid as
:mod:`imapserver`'s Dovecot, which serves them over IMAPS), a recipient it does not know accepted at RCPT
and bounced at delivery (so Postfix writes its own DSN to the envelope sender, as for a remote failure),
``recipient_delimiter = +`` (the VERP ``bounces+<token>@`` and ``unsubscribe+<token>@`` addresses land in
their base mailboxes), and OpenDKIM as its milter in verify mode: it checks each message's signature
against the test's key (``TestPublicKeys``: no DNS) and adds ``Authentication-Results``. Skipped, saying
why, where the packages are missing (``make test`` installs them with apt-get as root) or the tests do not
run as root.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from imapserver import MAIL_UID

DOMAIN = "example.test"
HOSTNAME = f"mx.{DOMAIN}"


@dataclass(frozen=True)
class MailPath:
    port: int  # Postfix's smtpd: where digest sends
    mail: Path  # the Maildirs' base: mail/<mailbox>/Maildir
    log: Path  # Postfix's log

    def maildir(self, mailbox: str) -> Path:
        return self.mail / mailbox / "Maildir"

    def delivered(self, mailbox: str) -> list[Path]:
        folder = self.maildir(mailbox) / "new"
        return sorted(folder.iterdir()) if folder.is_dir() else []

    def wait_for(self, mailbox: str, count: int, seconds: float = 30.0) -> list[Path]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = self.delivered(mailbox)
            if len(found) >= count:
                return found
            time.sleep(0.1)
        log = self.log.read_text(encoding="utf-8", errors="replace")[-3000:] if self.log.exists() else ""
        pytest.fail(
            f"{mailbox}: {len(self.delivered(mailbox))} of {count} message(s) delivered within {seconds:.0f} s; Postfix's log:\n{log}"
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int, seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(
        f"{what} did not listen on {port} within {seconds:.0f} s: {log.read_text(errors='replace')[-2000:] if log.exists() else ''}"
    )


def _needs() -> None:
    if os.geteuid() != 0:
        pytest.skip("Postfix and OpenDKIM must start as root; these tests are not running as root")
    for binary, package in (("postfix", "postfix"), ("opendkim", "opendkim")):
        if shutil.which(binary) is None and not Path(f"/usr/sbin/{binary}").exists():
            pytest.skip(f"{binary} is not installed (Debian package {package}; make test installs it with apt-get when run as root)")
    for user in ("postfix", "opendkim"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            pytest.skip(f"the {user} user is missing: the {user} package is not installed properly")


@contextmanager
def mail_path(mailboxes: dict[str, str], dkim_keys: dict[str, str]) -> Iterator[MailPath]:
    """Postfix (and OpenDKIM) for ``example.test``: ``mailboxes`` maps an address to its mailbox folder (two
    addresses may share one); ``dkim_keys`` maps ``selector._domainkey.domain`` to its TXT record."""
    _needs()
    base = Path(tempfile.mkdtemp(prefix="digest-postfix-"))
    base.chmod(0o755)
    etc, mail, queue, data = base / "etc", base / "mail", base / "queue", base / "data"
    for folder in (etc, mail, queue, data):
        folder.mkdir()
    os.chown(mail, MAIL_UID, MAIL_UID)
    postfix_user = pwd.getpwnam("postfix")
    os.chown(data, postfix_user.pw_uid, postfix_user.pw_gid)
    smtp_port, milter_port = _free_port(), _free_port()
    log = base / "maillog"

    keys = base / "dkim-keys"
    keys.write_text("".join(f"{name} {record}\n" for name, record in dkim_keys.items()), encoding="utf-8")
    keys.chmod(0o644)
    opendkim_conf = base / "opendkim.conf"
    opendkim_conf.write_text(
        f"Mode v\nSocket inet:{milter_port}@127.0.0.1\nTestPublicKeys {keys}\nAuthservID {HOSTNAME}\n"
        f"AlwaysAddARHeader yes\nBackground no\nSyslog no\nUserID opendkim\nPidFile {base / 'opendkim.pid'}\n",
        encoding="utf-8",
    )
    opendkim_log = base / "opendkim.log"
    with opendkim_log.open("wb") as sink:
        milter = subprocess.Popen(
            [shutil.which("opendkim") or "/usr/sbin/opendkim", "-f", "-x", str(opendkim_conf)], stdout=sink, stderr=sink
        )

    (etc / "mailboxes").write_text("".join(f"{address} {folder}/Maildir/\n" for address, folder in mailboxes.items()), encoding="utf-8")
    master = Path("/etc/postfix/master.cf").read_text(encoding="utf-8")
    lines = [line for line in master.splitlines() if not line.startswith("smtp      inet")]
    lines.insert(0, f"127.0.0.1:{smtp_port} inet n - n - - smtpd")
    (etc / "master.cf").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (etc / "main.cf").write_text(
        f"""compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = {HOSTNAME}
mydomain = {DOMAIN}
myorigin = {DOMAIN}
mydestination =
alias_maps =
alias_database =
local_recipient_maps =
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_base = {mail}
virtual_mailbox_maps = texthash:{etc / "mailboxes"}
virtual_uid_maps = static:{MAIL_UID}
virtual_gid_maps = static:{MAIL_UID}
virtual_minimum_uid = 1
recipient_delimiter = +
# Accept a recipient it does not know and bounce it at delivery: Postfix then writes its own DSN to the
# envelope sender, as it does when a remote server refuses a message it had accepted.
smtpd_reject_unlisted_recipient = no
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_milters = inet:127.0.0.1:{milter_port}
milter_default_action = tempfail
maillog_file = {log}
maillog_file_prefixes = {base}
smtputf8_enable = no
""",
        encoding="utf-8",
    )
    postfix = shutil.which("postfix") or "/usr/sbin/postfix"
    try:
        _listening(milter_port, 15, "OpenDKIM", opendkim_log)
        started = subprocess.run([postfix, "-c", str(etc), "start"], capture_output=True, text=True, timeout=60)
        if started.returncode != 0:
            pytest.fail(
                f"postfix -c {etc} start: {started.stdout} {started.stderr} {log.read_text(errors='replace') if log.exists() else ''}"
            )
        _listening(smtp_port, 20, "Postfix", log)
        yield MailPath(smtp_port, mail, log)
    finally:
        subprocess.run([postfix, "-c", str(etc), "stop"], capture_output=True, timeout=60)
        milter.terminate()
        try:
            milter.wait(timeout=10)
        except subprocess.TimeoutExpired:
            milter.kill()
        shutil.rmtree(base, ignore_errors=True)
