"""Issue 31 (low): ``digest serve`` had no deadline for a request to arrive and no cap on connections, so 19,990
idle connections from one address took every file descriptor and nobody else was answered.

Each test starts the real ``digest serve`` (or ``digest preview``) as an operator does, on 127.0.0.1, and
talks to it over real sockets; every wait is bounded by a socket timeout or a deadline, so against the old
server (which kept every connection) they fail instead of hanging.
"""

from __future__ import annotations

import os
import re
import resource
import select
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from digest.config import load_settings
from digest.models.errors import ConfigError
from digest.web.server import connection_limits

from conftest import write
from mailserver import free_port
from support.cli import INHERITED, SECRET, in_process

WAIT = 20.0  # seconds any one wait may take: far above the 2 s deadline the tests set, never a hang
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def newsletter(tmp_path: Path, **serve: object) -> tuple[Path, dict[str, str]]:
    """A newsletter made by ``digest init``, with these ``[serve]`` keys set in its config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(INHERITED)} | {"DIGEST_SECRET_KEY": SECRET}
    folder = tmp_path / "news"
    made = in_process(["init", str(folder), "--name", "Harbour Notes"], env={"DIGEST_SECRET_KEY": SECRET}, drop=INHERITED)
    assert made.returncode == 0, made.stderr
    config = folder / "config" / "digest.toml"
    text = config.read_text(encoding="utf-8")
    for key, value in serve.items():
        text, found = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
        assert found == 1, key
    config.write_text(text, encoding="utf-8")
    return folder, env


@dataclass
class Running:
    port: int
    log: Path

    @property
    def output(self) -> str:
        return self.log.read_text(encoding="utf-8")


def _with_open_files(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

    return apply


@contextmanager
def serving(folder: Path, env: dict[str, str], command: str = "serve", open_files: int | None = None) -> Iterator[Running]:
    """The real server, started in ``folder``, its output in a file (a pipe nobody reads while the test runs would
    stop the server once it filled)."""
    running = Running(free_port(), folder / f"{command}.log")
    process = subprocess.Popen(
        [sys.executable, "-m", "digest", command, "--port", str(running.port)],
        cwd=folder,
        env=env,
        stdout=running.log.open("w", encoding="utf-8"),
        stderr=subprocess.STDOUT,
        preexec_fn=_with_open_files(open_files) if open_files else None,  # no threads started yet
    )
    try:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and process.poll() is None:
            try:
                # Answered and closed by the server before the test begins, so it holds no connection the test counts.
                if status(running.port, source="127.0.0.3") is not None:
                    break
            except OSError:
                time.sleep(0.1)
        assert process.poll() is None, running.output
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:  # the old server waited for every idle connection to close
            process.kill()
            process.wait()


def connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=WAIT, source_address=(source, 0))


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset counts as a close)."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def read_response(sock: socket.socket) -> bytes:
    """One response on a kept-alive connection: its head, and as many bytes of body as it says."""
    data = b""
    while b"\r\n\r\n" not in data and (chunk := sock.recv(65536)):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length: (\d+)", head)
    assert length is not None, data
    while len(body) < int(length.group(1)) and (chunk := sock.recv(65536)):
        body += chunk
    return head + b"\r\n\r\n" + body


def status(port: int, source: str = "127.0.0.1") -> int | None:
    """The status of GET /healthz from ``source``; None when the server closed the connection unanswered."""
    try:
        with connect(port, source) as sock:
            sock.sendall(HEALTHZ)
            answer = read_all(sock)
    except (BrokenPipeError, ConnectionResetError):
        return None
    return int(answer.split()[1]) if answer else None


def closed(sockets: list[socket.socket], expected: int) -> list[socket.socket]:
    """The sockets the server closed, waiting (at most WAIT seconds) until ``expected`` of them have been."""
    shut: list[socket.socket] = []
    deadline = time.monotonic() + WAIT
    while len(shut) < expected and time.monotonic() < deadline:
        readable, _, _ = select.select([s for s in sockets if s not in shut], [], [], 0.2)
        shut += [sock for sock in readable if read_all(sock) == b""]
    return shut


def eventually(check: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_a_request_that_does_not_arrive_in_time_is_closed(tmp_path: Path) -> None:
    """Reproduction: a connection that sent nothing, or dripped its headers, was held for as long as the client
    liked (uvicorn's keep-alive timer starts only after a first answer, and any byte stops it)."""
    folder, env = newsletter(tmp_path, header_timeout=2)
    with serving(folder, env) as running:
        silent = connect(running.port)
        head = connect(running.port)
        head.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never the blank line that ends it
        body = connect(running.port)
        body.sendall(
            b"POST /subscribe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 100\r\n\r\nemail=a"  # 7 bytes of 100
        )
        # A kept-alive connection, answered once, then dripping its next request a header at a time.
        kept = connect(running.port)
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert read_response(kept).startswith(b"HTTP/1.1 200")
        dripped = b""
        deadline = time.monotonic() + WAIT
        try:
            kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            while not select.select([kept], [], [], 0.25)[0]:  # until the server answers or closes
                assert time.monotonic() < deadline, "still open after dripping for 20 s"
                kept.sendall(b"X-Drip: 1\r\n")
            dripped = read_all(kept)
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed while a line was on its way: closed all the same
        assert read_all(silent) == b""  # nothing had come: closed without a word
        assert read_all(head).startswith(b"HTTP/1.1 408 Request Timeout")  # a head begun: told why
        assert read_all(body) == b""  # the app was reading the body: the connection ends, the app is told
        assert dripped == b"" or dripped.startswith(b"HTTP/1.1 408"), dripped
        assert status(running.port) == 200  # and the server goes on answering
    # A client gone mid-body is no server error: no traceback in the log.
    assert "Traceback" not in running.output and "ClientDisconnect" not in running.output, running.output
    assert "a request must arrive within 2 s (serve.header_timeout)" in running.output


def test_one_address_cannot_take_every_connection(tmp_path: Path) -> None:
    """Reproduction: 19,990 idle connections from one address exhausted the descriptors. Now an address gets
    ``serve.max_connections_per_client`` at once; past it, its connections are closed as they open, and a second
    address is still answered."""
    folder, env = newsletter(tmp_path, header_timeout=60, max_connections_per_client=8)
    with serving(folder, env) as running:
        idle = [connect(running.port) for _ in range(8 + 20)]
        shut = closed(idle, 20)
        assert len(shut) == 20
        assert status(running.port, source="127.0.0.2") == 200
        assert status(running.port, source="127.0.0.1") is None  # the full address: closed unanswered
        held = [sock for sock in idle if sock not in shut]
        held[0].sendall(HEALTHZ)  # the connections it holds are served as ever
        assert read_all(held[0]).startswith(b"HTTP/1.1 200")
        for sock in held:
            sock.close()
        assert eventually(lambda: status(running.port) == 200)  # its share is back once it lets go
        for sock in shut:
            sock.close()
    # Said once when the address reached its cap, not once per refused connection.
    # Said, but not once per refused connection (at most once a minute per cap; a slow run may cross a minute).
    assert 1 <= running.output.count("Refusing new connections: 127.0.0.1 has 8 connections open") <= 2, running.output
    assert "8 from one address (serve.max_connections_per_client)" in running.output


def test_a_trusted_proxy_is_not_capped_and_others_are(tmp_path: Path) -> None:
    """Behind a proxy every connection comes from the proxy: the per-client cap would cap everyone together."""
    folder, env = newsletter(tmp_path, header_timeout=60, max_connections_per_client=4, trusted_proxies='["127.0.0.1"]')
    with serving(folder, env) as running:
        through_proxy = [connect(running.port) for _ in range(4 + 10)]
        through_proxy[-1].sendall(HEALTHZ)
        assert read_all(through_proxy[-1]).startswith(b"HTTP/1.1 200")
        direct = [connect(running.port, "127.0.0.2") for _ in range(4 + 3)]
        assert len(closed(direct, 3)) == 3
        for sock in through_proxy + direct:
            sock.close()


def test_all_clients_together_stay_below_the_descriptor_limit(tmp_path: Path) -> None:
    """With ``ulimit -n 150`` the server takes at most 40 connections (100 descriptors are kept for the database,
    mail and logs, 10 for a burst of accepts). Before, 160 connections from 20 addresses ran it out of
    descriptors: it stopped accepting anyone."""
    folder, env = newsletter(tmp_path, header_timeout=60, max_connections_per_client=8)
    with serving(folder, env, open_files=150) as running:
        clients = []
        for n in range(160):
            clients.append(connect(running.port, f"127.0.0.{10 + n // 8}"))
            time.sleep(0.005)  # its backlog is 10: faster, the kernel drops SYNs and each connect waits a second
        shut = closed(clients, 120)
        assert len(shut) == 120, running.output
        assert status(running.port, source="127.0.0.2") is None  # full, for everyone
        held = [sock for sock in clients if sock not in shut]
        held[0].close()
        assert eventually(lambda: status(running.port, source="127.0.0.2") == 200)  # one out, one in
        for sock in clients:
            sock.close()
    assert "Connections: at most 40 at once (ulimit -n)" in running.output, running.output
    # 121 refusals, one line: a flood of connections is not a flood of log lines.
    assert 1 <= running.output.count("Refusing new connections: 40 connections are open") <= 3, running.output
    assert "Too many open files" not in running.output


@pytest.mark.parametrize("command", ["serve", "preview"])
def test_too_low_a_descriptor_limit_is_refused_with_the_fix(tmp_path: Path, command: str) -> None:
    folder, env = newsletter(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "digest", command, "--port", str(free_port())],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_with_open_files(110),
    )
    assert done.returncode == 2, done.stderr
    assert "may open only 110 files (ulimit -n)" in done.stderr and "`ulimit -n 1024`" in done.stderr, done.stderr
    assert "serve.max_connections_per_client = 32" in done.stderr and "Traceback" not in done.stderr


def test_the_preview_has_the_same_deadline(tmp_path: Path) -> None:
    folder, env = newsletter(tmp_path, header_timeout=2)
    with serving(folder, env, "preview") as running:
        silent = connect(running.port)
        assert read_all(silent) == b""


def test_the_settings_are_checked_with_file_and_key(tmp_path: Path) -> None:
    config = write(tmp_path / "digest.toml", "[serve]\nheader_timeout = 0\nmax_connections_per_client = 0\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={})
    assert list(caught.value.problems) == [
        f"{config}: serve.header_timeout: must be more than 0 and at most 300 (seconds), got 0.0",
        f"{config}: serve.max_connections_per_client: must be positive, got 0",
    ]
    settings = load_settings(write(tmp_path / "ok.toml", "[serve]\nheader_timeout = 5\n"), environ={})
    assert (settings.install.header_timeout, settings.install.max_connections_per_client) == (5.0, 32)


def test_whose_share_a_connection_uses() -> None:
    limits = connection_limits(10, 32, ["10.0.0.0/8", "fd00::1"], open_files=1124)
    assert (limits.total, limits.backlog) == (1024 - 128, 128)  # a burst of accepts is within the limit too
    assert limits.key("203.0.113.9") == "203.0.113.9"
    assert limits.key("::ffff:203.0.113.9") == "203.0.113.9"  # a dual-stack socket's IPv4 client
    assert limits.key("2001:db8:1:2:aaaa::1") == limits.key("2001:db8:1:2:bbbb::2") == "2001:db8:1:2::/64"
    assert limits.key("10.1.2.3") is None and limits.key("fd00::1") is None  # trusted proxies: no cap
    assert connection_limits(10, 32, open_files=10**9).total == 10_000  # past that, memory is the limit
    assert connection_limits(10, 32, open_files=256).total == 156 - 31  # macOS's default ulimit still serves
    with pytest.raises(ValueError, match=r"`ulimit -n (\d+)`") as caught:
        connection_limits(10, 5000, open_files=1024)
    hinted = int(re.findall(r"`ulimit -n (\d+)`", str(caught.value))[0])
    assert connection_limits(10, 5000, open_files=hinted).total >= 5000  # the hint's number is enough
