"""The database server dies mid-send (issue 26): a PostgreSQL server of the test's own, stopped with
``pg_ctl stop -m immediate`` (every server process gone at once, as in a crash) while `digest send` writes its
ledger without waiting for the disk (synchronous_commit off on the per-message commits). Started again, the next
send finishes: nobody lost, and the duplicates within what the commits of the last moments can cost."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailserver import SmtpServer, free_port
from support.cli import cli, popen
from support.project import ISSUE, fill, make_config

SUBSCRIBERS = 1500
RATE = 300  # messages a second: the send lasts about five seconds, so the crash comes in the middle of it
CONNECTIONS = 2
# What a crash of the server may cost: the commits of the last 3 × wal_writer_delay (200 ms), PostgreSQL's own
# bound for synchronous_commit off, at the send's rate; and one message in flight per connection.
BOUND = int(RATE * 0.6) + CONNECTIONS


def _tools() -> tuple[str, str, str] | str:
    if os.geteuid() != 0:
        return "starting a PostgreSQL server of its own needs root (to run it as the postgres user)"
    found = [shutil.which(name) for name in ("initdb", "pg_ctl", "runuser")]
    if None in found:
        return "initdb, pg_ctl or runuser is not installed (Debian's postgresql package brings the first two)"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "there is no postgres user to run a server as"
    return found[0], found[1], found[2]  # type: ignore[return-value]


class OwnServer:
    """A PostgreSQL server in a folder of its own, on a free port, run as the postgres user."""

    def __init__(self) -> None:
        tools = _tools()
        if isinstance(tools, str):
            pytest.skip(tools)
        self.initdb, self.pg_ctl, self.runuser = tools
        user = pwd.getpwnam("postgres")
        self.base = Path(tempfile.mkdtemp(prefix="digest-pg-crash-"))
        os.chown(self.base, user.pw_uid, user.pw_gid)
        self.data = self.base / "data"
        self.port = free_port()
        self.as_postgres(self.initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def as_postgres(self, *command: str) -> None:
        subprocess.run([self.runuser, "-u", "postgres", "--", *command], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1"
        self.as_postgres(self.pg_ctl, "-D", str(self.data), "-l", str(self.base / "log"), "-o", options, "-w", "start")

    def crash(self) -> None:
        self.as_postgres(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop")

    def remove(self) -> None:
        subprocess.run([self.runuser, "-u", "postgres", "--", self.pg_ctl, "-D", str(self.data), "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def own_server() -> Iterator[OwnServer]:
    server = OwnServer()
    try:
        yield server
    finally:
        server.remove()


@pytest.mark.slow(18)
def test_the_database_dying_mid_send_loses_nobody(tmp_path: Path, smtp_server: SmtpServer, own_server: OwnServer) -> None:
    config = make_config(tmp_path, smtp_server.port, database=own_server.url, connections=CONNECTIONS, rate=RATE, max_wait=2)
    store = fill(config, SUBSCRIBERS)
    store.close()
    sender = popen(config, "send", "--issue", ISSUE, "--yes")
    deadline = time.monotonic() + 60
    while len(smtp_server.handler.received) < SUBSCRIBERS // 3 and time.monotonic() < deadline and sender.poll() is None:
        time.sleep(0.01)
    assert sender.poll() is None, "the send ended before the crash"
    own_server.crash()
    at_crash = len(smtp_server.handler.received)
    _, stderr = sender.communicate(timeout=120)
    assert sender.returncode != 0, "a send whose database died cannot claim it finished"
    assert at_crash < SUBSCRIBERS
    own_server.start()
    finished = cli(config, "send", "--issue", ISSUE, "--yes")
    assert finished.returncode == 0, finished.stderr
    counts = Counter(item.recipient for item in smtp_server.handler.received)
    assert len(counts) == SUBSCRIBERS, "nobody lost"
    duplicates = sum(n - 1 for n in counts.values())
    print(
        f"database crash after {at_crash} messages: {duplicates} duplicate(s), bound {BOUND}; the first send said: {stderr.strip()[-300:]}"
    )
    assert duplicates <= BOUND
    [issue] = json.loads(cli(config, "status", "--json").stdout)["issues"]
    assert (issue["sent"], issue["pending"], issue["sending"]) == (SUBSCRIBERS, 0, 0)


def test_the_ledgers_relaxed_commits_stay_on_its_own_connection(postgres_url: str) -> None:
    """synchronous_commit off is the ledger writer's connection's alone: closed with it, never handed back to the
    pool, so no lease, claim or fence is ever written without waiting for the disk."""
    from digest.store import Store

    # The suite's test schemas relax every connection (conftest); this test proves the product's own default, so its
    # connections keep the server's setting.
    store = Store.open(postgres_url.replace("-csynchronous_commit%3Doff%20", ""))
    try:

        def setting(conn: object) -> str:
            return str(conn.exec_driver_sql("SHOW synchronous_commit").scalar())  # type: ignore[attr-defined]

        writer = store.ledger.writer()
        assert setting(writer.conn) == "off"
        with store.engine.connect() as other:
            assert setting(other) == "on"
        writer.close()
        held = [store.engine.connect() for _ in range(3)]  # whatever the pool hands out now
        try:
            assert [setting(conn) for conn in held] == ["on"] * 3
        finally:
            for conn in held:
                conn.close()
    finally:
        store.close()
