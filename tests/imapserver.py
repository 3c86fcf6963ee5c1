"""A real IMAP server for the tests: Dovecot from Debian's packages, on a free 127.0.0.1 port, TLS only.

Started with a throwaway configuration, mail directory and certificate
(trustme) per test, in a folder of its own that Dovecot's unprivileged
processes can enter; stopped and removed after. Skipped, saying why, where
Dovecot is not installed (``make test`` installs it with apt-get as root) or
the tests do not run as root (Dovecot's master process must start as root).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

USER, PASSWORD = "bounces@openstreets.example", "imap-test-password"
MAIL_UID = 65534  # nobody: Dovecot will not deliver to root's uid


@dataclass(frozen=True)
class ImapServer:
    host: str
    port: int
    ca_file: Path
    folder: Path
    user: str = USER
    password: str = PASSWORD

    def reading(self, settings: Any) -> Any:
        """``settings`` with its [bounces] IMAP mailbox set to this server (as IMAP_HOST and the rest would)."""
        import dataclasses

        from support.settings import overridden

        imap = {"imap_host": self.host, "imap_port": self.port, "imap_username": self.user, "imap_password": self.password}
        return overridden(settings, bounces=dataclasses.replace(settings.install.bounces, **imap, imap_ca_file=self.ca_file))

    def client(self) -> object:
        import imaplib
        import ssl

        client = imaplib.IMAP4_SSL(self.host, self.port, ssl_context=ssl.create_default_context(cafile=str(self.ca_file)))
        client.login(self.user, self.password)
        return client


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def dovecot(user: str = USER, password: str = PASSWORD, home: Path | None = None) -> Iterator[ImapServer]:
    """Dovecot serving one user's Maildir (``home``/Maildir: by default a folder of its own, empty; the mail test
    gives the folder Postfix delivers into)."""
    binary = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
    if binary is None:
        pytest.skip("Dovecot is not installed (Debian package dovecot-imapd; make test installs it with apt-get when run as root)")
    if os.geteuid() != 0:
        pytest.skip("Dovecot's master process must start as root; these tests are not running as root")
    import trustme

    # Not under pytest's tmp_path: that is root's alone (0700), and Dovecot reads it as its own users.
    tmp = Path(tempfile.mkdtemp(prefix="digest-dovecot-"))
    tmp.chmod(0o755)
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    for name in ("run", "state", "mail"):
        (tmp / name).mkdir(parents=True)
    cert.private_key_pem.write_to_path(str(tmp / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(tmp / "cert.pem"))
    ca.cert_pem.write_to_path(str(tmp / "ca.pem"))
    os.chown(tmp / "mail", MAIL_UID, MAIL_UID)
    (tmp / "passwd").write_text(f"{user}:{{PLAIN}}{password}:{MAIL_UID}:{MAIL_UID}::{home or tmp / 'mail'}\n")
    port = _free_port()
    config = tmp / "dovecot.conf"
    config.write_text(
        f"""protocols = imap
listen = 127.0.0.1
base_dir = {tmp / "run"}
state_dir = {tmp / "state"}
log_path = {tmp / "dovecot.log"}
ssl = required
ssl_cert = <{tmp / "cert.pem"}
ssl_key = <{tmp / "key.pem"}
disable_plaintext_auth = yes
auth_mechanisms = plain
passdb {{
  driver = passwd-file
  args = {tmp / "passwd"}
}}
userdb {{
  driver = passwd-file
  args = {tmp / "passwd"}
}}
mail_location = maildir:~/Maildir
first_valid_uid = 1
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
  }}
}}
namespace inbox {{
  inbox = yes
}}
"""
    )
    process = subprocess.Popen([binary, "-F", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if process.poll() is not None:
                log = (tmp / "dovecot.log").read_text() if (tmp / "dovecot.log").exists() else ""
                pytest.fail(f"Dovecot exited at start: {process.stderr.read().decode() if process.stderr else ''} {log}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("Dovecot did not listen within 15 s")
        yield ImapServer("127.0.0.1", port, tmp / "ca.pem", home or tmp / "mail", user, password)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(tmp, ignore_errors=True)
