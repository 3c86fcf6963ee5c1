"""Issue 31, item 1: a failure on our side (the relay down, garbled, refusing our TLS, login or sender) never fails,
bounces or charges a reader: the run pauses at once with the reason and the settings to check, the readers stay
pending, the exit code is 75, and a later run delivers them all. Each cause against a real server of its own."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from digest.app.scheduling import Scheduler
from digest.config import ScheduleOptions, Scope, load_settings
from digest.models import DeliveryState, Progress, RunEnd, SlotState
from digest.store import Store

from mailserver import Handler, SmtpServer, free_port
from support.cli import cli
from support.delivery import run_send, setup_store
from support.project import ISSUE, PROJECT, fill, make_config
from support.schedule import SLOT
from support.serving import serve_in_thread
from support.settings import overridden

Make = Callable[..., Scope]


class _Scripted(socketserver.StreamRequestHandler):
    """An SMTP server of our own, as broken as a test needs: ``server.script`` maps a command's verb (or "greeting")
    to the raw bytes answered; everything else gets a plain 250 (354 for DATA)."""

    def handle(self) -> None:
        with contextlib.suppress(OSError):  # the client hung up on a reply it would not take: what the tests want of it
            self._converse()

    def _converse(self) -> None:
        script: dict[str, bytes | Callable[[socketserver.StreamRequestHandler], None]] = self.server.script  # type: ignore[attr-defined]
        self._answer(script, "greeting", b"220 scripted\r\n")
        while line := self.rfile.readline(65536):
            verb = line.split(b":")[0].split(b" ")[0].strip().upper().decode("ascii", "replace")
            if verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            if verb == "DATA":
                if script.get("DATA", b"354")[:3] != b"354":  # DATA refused: no message follows
                    self._answer(script, "DATA", b"")
                    continue
                self._answer(script, "DATA", b"354 go on\r\n")
                while self.rfile.readline(65536) not in (b".\r\n", b""):
                    pass
                self._answer(script, "END", b"250 2.0.0 queued\r\n")
                continue
            self._answer(script, verb, b"250-scripted\r\n250 PIPELINING\r\n" if verb in ("EHLO", "HELO") else b"250 OK\r\n")

    def _answer(self, script: dict[str, bytes | Callable[[socketserver.StreamRequestHandler], None]], verb: str, default: bytes) -> None:
        action = script.get(verb, default)
        if callable(action):
            action(self)
        else:
            self.wfile.write(action)
            self.wfile.flush()


@pytest.fixture
def scripted() -> Iterator[Callable[..., int]]:
    servers: list[socketserver.ThreadingTCPServer] = []

    def start(**script: bytes | Callable[[socketserver.StreamRequestHandler], None]) -> int:
        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Scripted)
        server.daemon_threads = True
        server.script = script  # type: ignore[attr-defined]
        serve_in_thread(server)
        servers.append(server)
        return int(server.server_address[1])

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _states(store: Store, issue_id: str = "2026-11-20-abcdef") -> list[tuple[str, int]]:
    return [(d.state, d.attempts) for d in store.ledger.of(issue_id)]


# -- through the CLI: the exit code, the words, the resume ---------------------------------------------------------------


def test_a_closed_port_pauses_at_once_and_a_later_send_delivers_everyone(tmp_path: Path) -> None:
    port = free_port()  # nothing listens here
    config = make_config(tmp_path, port)
    store = fill(config, 3)
    result = cli(config, "send", "--issue", ISSUE, "--yes")  # cli's own timeout bounds it; the old code took ~8 minutes
    assert result.returncode == 75, result.stderr
    assert "Connection refused" in result.stderr and "check smtp.host, smtp.port and smtp.security" in result.stderr
    assert f"send --issue {ISSUE}" in result.stderr and "nobody was marked failed or bounced" in result.stderr
    assert "400%" not in result.stderr and "failed" not in result.stdout.split("This run")[1].split("\n")[0].replace("0 failed", "")
    assert [(d.state, d.attempts) for d in store.ledger.of(ISSUE)] == [("pending", 0)] * 3
    status = cli(config, "status", "--issue", ISSUE)
    assert "permanent failures" not in status.stdout + status.stderr
    # The relay comes back on that port: the pasted command delivers everyone, once.
    handler = Handler()
    server = _serve_on(handler, port)
    try:
        again = cli(config, "send", "--issue", ISSUE, "--yes")
        assert again.returncode == 0, again.stderr
        assert handler.counts() == {f"r{n:05d}@example.org": 1 for n in range(3)}
    finally:
        server.stop()


def _serve_on(handler: Handler, port: int) -> SmtpServer:
    """An aiosmtpd server on ``port`` (SmtpServer picks its own port: this one is the port the config names)."""
    from aiosmtpd.controller import Controller

    server = SmtpServer.__new__(SmtpServer)
    server.handler, server.port = handler, port
    server.controller = Controller(handler, hostname="127.0.0.1", port=port, ready_timeout=10)
    server.controller.start()
    return server


def test_a_slot_waits_for_the_relay_and_is_tried_again_within_grace(
    delivery_settings: Make, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    """`digest schedule` records a slot our side held up as waiting, tries it at each retry tick within its grace
    period (it goes out once the relay is back) and records it failed for our reason past that."""
    project = load_settings(PROJECT / "config" / "digest.toml", environ={})
    base = delivery_settings(free_port())  # the relay is down
    schedule = ScheduleOptions(cron="0 9 * * mon", misfire_grace=6 * 3600.0, min_posts=1)
    settings = overridden(
        base, root=project.install.root, sources=project.newsletter.sources, themes=project.newsletter.themes, schedule=schedule
    )
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    for n in range(3):
        store.subscribers.add(f"s{n}@example.org")
    waiting = Scheduler(settings, store).catch_up(SLOT)
    assert waiting is not None and waiting.state is SlotState.WAITING and "check smtp.host" in (waiting.reason or "")
    assert waiting.issue_id is not None and store.ledger.outstanding(waiting.issue_id).pending == 3
    assert store.ledger.status([waiting.issue_id])[0].counts[DeliveryState.FAILED] == 0
    # Still down at the next tick: still waiting. Then the relay is back (another port in the settings): sent.
    assert Scheduler(settings, store).retry_waiting(SLOT + timedelta(minutes=5)).state is SlotState.WAITING  # type: ignore[union-attr]
    back = overridden(settings, smtp=dataclasses.replace(settings.install.smtp, port=smtp_server.port))
    sent = Scheduler(back, store).retry_waiting(SLOT + timedelta(minutes=10))
    assert sent is not None and sent.state is SlotState.SENT and len(smtp_server.handler.received) == 3
    assert Scheduler(back, store).retry_waiting(SLOT + timedelta(minutes=15)) is None  # nothing waits any more


def test_a_slot_still_waiting_past_its_grace_is_failed_for_our_reason(delivery_settings: Make) -> None:
    project = load_settings(PROJECT / "config" / "digest.toml", environ={})
    base = delivery_settings(free_port())
    schedule = ScheduleOptions(cron="0 9 * * mon", misfire_grace=3600.0, min_posts=1)
    settings = overridden(
        base, root=project.install.root, sources=project.newsletter.sources, themes=project.newsletter.themes, schedule=schedule
    )
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    store.subscribers.add("s0@example.org")
    runner = Scheduler(settings, store)
    assert runner.catch_up(SLOT).state is SlotState.WAITING  # type: ignore[union-attr]
    late = runner.retry_waiting(SLOT + timedelta(hours=2))
    assert late is not None and late.state is SlotState.FAILED
    assert "Connection refused" in (late.reason or "") and "beyond the grace period" in (late.reason or "")
    assert runner.retry_waiting(SLOT + timedelta(hours=3)) is None
    assert store.ledger.outstanding(late.issue_id or "").pending == 1  # the reader was never failed


# -- each cause, against a real server -----------------------------------------------------------------------------------


def _close_at_once(handler: socketserver.StreamRequestHandler) -> None:
    handler.connection.shutdown(socket.SHUT_RDWR)  # at once: close() alone waits for the handler's files to go


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ({"greeting": _close_at_once}, "connection unexpectedly closed"),
        ({"greeting": b"421 4.3.2 not now\r\n"}, "421 4.3.2 not now"),
        ({"greeting": b"220 " + b"x" * 9000 + b"\r\n"}, "a reply line over 8192 bytes"),
        ({"EHLO": b"250-x\r\n" * 500 + b"250 x\r\n"}, "a reply of more than 128 lines"),
        ({"EHLO": b"hello there\r\n"}, "not SMTP"),
    ],
    ids=["closes-at-once", "421-greeting", "9KB-greeting", "endless-EHLO", "not-smtp"],
)
def test_a_relay_that_cannot_be_used_pauses_the_run_and_blames_nobody(
    scripted: Callable[..., int], delivery_settings: Make, script: dict[str, object], expected: str
) -> None:
    settings = delivery_settings(scripted(**script), connections=2, max_wait=0.0)
    store = setup_store(settings, 3)
    report = run_send(settings, store)
    assert report.end is RunEnd.OURS and report.reason is not None and expected in report.reason
    assert "check smtp.host" in report.reason
    assert report.failed == report.bounced == report.sent == 0
    assert _states(store) == [("pending", 0)] * 3


def test_tls_that_fails_pauses_the_run(scripted: Callable[..., int], delivery_settings: Make) -> None:
    """Implicit TLS to a server that speaks plain SMTP: the handshake fails; our setting, not the readers'."""
    settings = delivery_settings(scripted(), smtp={"security": "ssl", "timeout": 5})
    store = setup_store(settings, 2)
    report = run_send(settings, store)
    assert report.end is RunEnd.OURS and report.reason is not None and "smtp.security" in report.reason
    assert _states(store) == [("pending", 0)] * 2


@pytest.mark.parametrize("where", ["MAIL", "END"])
def test_a_long_reply_is_ours_never_a_permanent_refusal(scripted: Callable[..., int], delivery_settings: Make, where: str) -> None:
    """smtplib reads a 9 KB line as "500 Line too long", which used to fail the reader for good (at MAIL FROM) or
    record a message the server had accepted as refused (after DATA). Now: a garbled reply, the run pauses, the
    reader is pending again with no try counted (after DATA the server may have it: the restart rule's repeat)."""
    settings = delivery_settings(scripted(**{where: b"250 " + b"y" * 9000 + b"\r\n"}), connections=1)
    store = setup_store(settings, 2)
    report = run_send(settings, store)
    assert report.end is RunEnd.OURS and "garbled reply" in str(report.reason) and "over 8192 bytes" in str(report.reason)
    assert report.failed == report.bounced == 0
    # Before the message nothing reached the relay: pending, no try counted. After it the relay may have the copy:
    # that try counts, so a relay that keeps copies and garbles its replies gets at most delivery.max_attempts.
    assert _states(store) == ([("pending", 0)] * 2 if where == "MAIL" else [("deferred", 1), ("pending", 0)])


def test_endless_continuation_lines_are_cut_off(delivery_settings: Make) -> None:
    """A server that answers EHLO with "250-" lines forever: the client stops reading at the bound and closes the
    connection; the server sees it gone long before it has written what it meant to."""
    written = 0
    gone = threading.Event()

    class Endless(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            nonlocal written
            self.wfile.write(b"220 endless\r\n")
            self.rfile.readline()
            try:
                for _ in range(2_000_000):  # 20 MB at most, then it stops by itself
                    self.wfile.write(b"250-more\r\n")
                    written += 1
            except OSError:
                gone.set()

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Endless)
    server.daemon_threads = True
    serve_in_thread(server)
    try:
        settings = delivery_settings(server.server_address[1], connections=1)
        store = setup_store(settings, 1)
        report = run_send(settings, store)
        assert report.end is RunEnd.OURS and "more than 128 lines" in str(report.reason)
        assert gone.wait(30) and written < 2_000_000
        assert _states(store) == [("pending", 0)]
    finally:
        server.shutdown()
        server.server_close()


# -- progress counts recipients, and a waiting run says so ---------------------------------------------------------------


def test_progress_counts_recipients_never_attempts(smtp_server: SmtpServer, delivery_settings: Make) -> None:
    settings = delivery_settings(smtp_server.port, connections=1, retry_base=0.05, max_wait=10.0)
    store = setup_store(settings, 3)
    smtp_server.handler.rcpt["reader001@example.org"].extend(["451 4.3.0 busy", "451 4.3.0 busy"])
    smtp_server.handler.data["reader002@example.org"].extend(["DROP", "DROP"])
    seen: list[tuple[int, int, int, bool]] = []

    def record(progress: Progress) -> None:
        seen.append((progress.done, progress.total, progress.deferred, progress.waiting_until is not None))

    report = run_send(settings, store, on_progress=record)
    assert report.complete and report.deferred == 4 and smtp_server.handler.counts() == {f"reader{n:03d}@example.org": 1 for n in range(3)}
    assert all(done <= total == 3 for done, total, _, _ in seen)
    assert seen[-1][:3] == (3, 3, 0)
    assert any(waiting and deferred > 0 for _, _, deferred, waiting in seen)  # it said what it waited for


# -- a reader failed for our reason before this issue can be sent again --------------------------------------------------


@pytest.mark.slow(5)
def test_retry_failed_sends_to_those_failed_for_reasons_not_theirs(tmp_path: Path, smtp_server: SmtpServer) -> None:
    config = make_config(tmp_path, smtp_server.port, max_attempts=1, retry_base=0.01)
    store = fill(config, 3)
    smtp_server.handler.rcpt["r00000@example.org"].append("550 5.1.1 no such user")  # their address: never again
    smtp_server.handler.rcpt["r00001@example.org"].append("450 4.2.1 mailbox busy")  # gave up (max_attempts 1): no refusal
    first = cli(config, "send", "--issue", ISSUE, "--yes")
    assert first.returncode == 0, first.stderr
    assert smtp_server.handler.counts() == {"r00002@example.org": 1}
    # Only the refused address is a permanent failure of the list: the one that gave up on 4xx is not (1 of 3).
    [issue] = json.loads(cli(config, "status", "--issue", ISSUE, "--json").stdout)["issues"]
    assert issue["returned"]["failure_rate"] == round(1 / 3, 6)
    again = cli(config, "send", "--issue", ISSUE, "--yes")
    assert "Nothing to send" in again.stdout and f"send --issue {ISSUE} --retry-failed" in again.stdout
    dry = cli(config, "send", "--issue", ISSUE, "--retry-failed", "--dry-run")
    assert "Recipients 1 to send" in dry.stdout
    retried = cli(config, "send", "--issue", ISSUE, "--retry-failed", "--yes")
    assert retried.returncode == 0, retried.stderr
    assert smtp_server.handler.counts() == {"r00001@example.org": 1, "r00002@example.org": 1}
    states = {d.subscriber_id: d.state for d in store.ledger.of(ISSUE)}
    assert sorted(states.values()) == ["failed", "sent", "sent"]


# -- what an attack on the above found (issue 31's review): each once failed ------------------------------------------------


def test_a_relay_that_drips_its_reply_is_cut_off_within_the_timeout(scripted: Callable[..., int], delivery_settings: Make) -> None:
    """A greeting dripped a byte a second never timed out a single read: the run hung past SIGTERM. Now the whole
    reply has smtp.timeout."""

    def drip(handler: socketserver.StreamRequestHandler) -> None:
        handler.wfile.write(b"220-")
        for _ in range(60):  # a minute at most, then it stops by itself
            handler.wfile.write(b"x")
            handler.wfile.flush()
            time.sleep(0.2)

    settings = delivery_settings(scripted(greeting=drip), connections=1, smtp={"timeout": 1.0})
    store = setup_store(settings, 1)
    report = run_send(settings, store)
    assert report.end is RunEnd.OURS and "reply did not end in time" in str(report.reason)  # each byte came in time: the whole did not
    assert _states(store) == [("pending", 0)]


def test_a_relay_that_keeps_copies_and_garbles_its_replies_gets_at_most_max_attempts(
    scripted: Callable[..., int], delivery_settings: Make
) -> None:
    """The relay took each message and then garbled its 250: each run mailed the reader again, with no try counted
    (up to 72 copies over a slot's grace). Once the message is written a try counts, and they stop at max_attempts."""
    copies = 0

    def garbled_after_taking_it(handler: socketserver.StreamRequestHandler) -> None:
        nonlocal copies
        copies += 1
        handler.wfile.write(b"250 " + b"z" * 9000 + b"\r\n")

    settings = delivery_settings(scripted(END=garbled_after_taking_it), connections=1, max_attempts=2, retry_base=0.01, max_wait=0.0)
    store = setup_store(settings, 1)
    ends = []
    for _ in range(4):
        time.sleep(0.05)  # the retry comes due
        ends.append(run_send(settings, store).end)
    assert copies == 2 and ends[:2] == [RunEnd.OURS, RunEnd.OURS]
    [delivery] = store.ledger.of("2026-11-20-abcdef")
    assert delivery.state == "failed" and (delivery.last_reply or "").startswith("gave up after 2 attempts")
    assert all(s.status == "active" for s in store.subscribers.iter())  # failed for our reason: never bounced


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ({"END": b"999 weird\r\n"}, "not SMTP"),
        ({"RCPT": b"199 huh\r\n"}, "not SMTP"),
        ({"END": b"250 2.0.0 queued\r\n250 2.0.0 and again\r\n"}, "out of step"),
    ],
    ids=["999-after-data", "199-at-rcpt", "an-unasked-250"],
)
def test_replies_that_are_not_smtp_or_out_of_step_are_ours(
    scripted: Callable[..., int], delivery_settings: Make, script: dict[str, bytes], expected: str
) -> None:
    """999, 000 and 199 failed readers for good (failure rate 75 %); an unasked 250 failed the next reader with "250 ok"."""
    settings = delivery_settings(scripted(**script), connections=1, max_wait=0.0)
    store = setup_store(settings, 3)
    report = run_send(settings, store)
    assert report.end is RunEnd.OURS and expected in str(report.reason)
    assert report.failed == report.bounced == 0 and report.counts[DeliveryState.FAILED] == 0


@pytest.mark.parametrize("refusal", [b"550 relay not permitted\r\n", b"554 5.7.1 <r@example.org>: Relay access denied\r\n"])
def test_a_relay_that_will_not_relay_for_us_pauses_and_bounces_nobody(
    scripted: Callable[..., int], delivery_settings: Make, refusal: bytes
) -> None:
    """A bare "550 relay not permitted" to every RCPT bounced 23 readers before the breaker paused."""
    settings = delivery_settings(scripted(RCPT=refusal), connections=2, max_wait=0.0)
    store = setup_store(settings, 30)
    report = run_send(settings, store)
    assert report.end is RunEnd.OURS and "relaying refused" in str(report.reason) and "SMTP_USERNAME" in str(report.reason)
    assert report.failed == report.bounced == 0
    assert {state for state, _ in _states(store)} == {"pending"} and all(s.status == "active" for s in store.subscribers.iter())


def test_a_bare_refusal_of_the_message_does_not_bounce_the_address(scripted: Callable[..., int], delivery_settings: Make) -> None:
    """After DATA the reader's RCPT had been accepted: a bare "550 content rejected" is not their address gone."""
    settings = delivery_settings(scripted(END=b"550 Message content rejected, UBE\r\n"), connections=1, max_wait=0.0)
    store = setup_store(settings, 1)
    report = run_send(settings, store)
    assert report.failed == 1 and report.bounced == 0
    assert all(s.status == "active" for s in store.subscribers.iter())


def test_a_relay_that_takes_fewer_connections_gets_the_send_through_those(delivery_settings: Make) -> None:
    """A relay that greets a third connection with 421 paused every run after two messages, naming smtp.host."""
    lock, open_now, greeted = threading.Lock(), [0], []

    class Limited(_Scripted):
        def handle(self) -> None:
            with lock:
                open_now[0] += 1
                busy = open_now[0] > 2
            try:
                if busy:
                    self.wfile.write(b"421 4.7.0 too many concurrent connections\r\n")
                    return
                greeted.append(1)
                super().handle()
            finally:
                with lock:
                    open_now[0] -= 1

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Limited)
    server.daemon_threads = True
    server.script = {}  # type: ignore[attr-defined]
    serve_in_thread(server)
    try:
        settings = delivery_settings(server.server_address[1], connections=4, max_wait=0.0)
        store = setup_store(settings, 20)
        report = run_send(settings, store)
        assert report.complete and report.sent == 20 and report.end is RunEnd.COMPLETE, report.reason
    finally:
        server.shutdown()
        server.server_close()


def test_a_relay_that_drops_every_connection_is_ours_when_the_breaker_trips(scripted: Callable[..., int], delivery_settings: Make) -> None:
    """Dropped after MAIL FROM each time: the breaker paused the run as a plain pause (exit 1, slot partial)."""
    settings = delivery_settings(scripted(MAIL=_close_at_once), connections=1, breaker=5, max_wait=0.0)
    store = setup_store(settings, 8)
    report = run_send(settings, store)
    assert report.end is RunEnd.OURS and "5 consecutive failures" in str(report.reason) and "check smtp.host" in str(report.reason)
    assert report.failed == report.bounced == 0 and all(attempts == 0 for _, attempts in _states(store))


def test_status_and_report_leave_a_sender_side_refusal_out_of_the_failure_rate(smtp_server: SmtpServer, delivery_settings: Make) -> None:
    """A journey found `digest report` counting a 5.7.1 policy refusal as a permanent failure (16.67 %) where
    `digest status` did not (0 %): one measure for both."""
    from digest.app.report import report
    from digest.app.status import status

    settings = delivery_settings(smtp_server.port, max_wait=0.0)
    store = setup_store(settings, 6)
    smtp_server.handler.rcpt["reader000@example.org"].append("550 5.7.1 Message rejected by policy")
    assert run_send(settings, store).failed == 1
    seen = report(store, date.today(), key_of=settings.newsletter.key_of)
    assert seen is not None and seen.issues[0].failure_rate == 0.0
    [issue] = status(settings, store, datetime.now(UTC)).issues
    assert issue.returned.failure_rate == 0.0


# -- what a second attack found: each once failed ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "refusal",
    [b"550 5.1.8 <digest@example.org>: Sender address rejected: Domain not found\r\n", b"550 Sender verify failed\r\n"],
    ids=["5.1.8", "bare"],
)
def test_our_sender_refused_at_rcpt_bounces_nobody(scripted: Callable[..., int], delivery_settings: Make, refusal: bytes) -> None:
    """Postfix checks the sender when it answers RCPT: "550 5.1.8 … Sender address rejected" marked every reader bounced."""
    settings = delivery_settings(scripted(RCPT=refusal), connections=1, max_wait=0.0)
    store = setup_store(settings, 5)
    report = run_send(settings, store)
    assert report.end is RunEnd.OURS and "MAIL FROM refused" in str(report.reason) and "newsletter.sender" in str(report.reason)
    assert report.failed == report.bounced == 0 and all(s.status == "active" for s in store.subscribers.iter())
    assert _states(store) == [("pending", 0)] * 5


@pytest.mark.parametrize(
    ("script", "ends"),
    [
        ({"DATA": b"550 Authentication required\r\n"}, None),  # the DATA command refused, their RCPT accepted: not a bounce
        ({"DATA": b"503 5.5.1 Error: need RCPT command\r\n"}, RunEnd.OURS),  # our commands not followed: ours
    ],
    ids=["550-to-DATA", "503-to-DATA"],
)
def test_a_refusal_of_data_is_never_a_bounce(
    scripted: Callable[..., int], delivery_settings: Make, script: dict[str, bytes], ends: RunEnd | None
) -> None:
    settings = delivery_settings(scripted(**script), connections=1, max_wait=0.0)
    store = setup_store(settings, 3)
    report = run_send(settings, store)
    assert report.bounced == 0 and all(s.status == "active" for s in store.subscribers.iter())
    if ends is not None:
        assert report.end is ends and report.failed == 0


def test_a_relay_throttling_per_connection_gets_the_send_through_fresh_ones(delivery_settings: Make) -> None:
    """ "452 4.5.3 Too many recipients" after the 2nd RCPT of a connection: every retry reused the throttled
    connection and 4 of 6 readers gave up in one run. A throttle closes the connection, counts no try."""

    class PerSession(_Scripted):
        def handle(self) -> None:
            self.server.script = {"RCPT": self.rcpt}  # type: ignore[attr-defined]
            self.taken = 0
            super().handle()

        def rcpt(self, handler: socketserver.StreamRequestHandler) -> None:
            self.taken += 1
            handler.wfile.write(b"250 OK\r\n" if self.taken <= 2 else b"452 4.5.3 Too many recipients\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), PerSession)
    server.daemon_threads = True
    serve_in_thread(server)
    try:
        settings = delivery_settings(server.server_address[1], connections=1, max_attempts=2, retry_base=0.01, max_wait=5.0)
        store = setup_store(settings, 6)
        report = run_send(settings, store)
        assert report.complete and report.sent == 6 and report.failed == 0, report.reason
        assert all(attempts == 1 for _, attempts in _states(store))  # the throttled tries were not the readers'
    finally:
        server.shutdown()
        server.server_close()


def test_a_relay_that_keeps_losing_replies_to_messages_ends_as_ours(scripted: Callable[..., int], delivery_settings: Make) -> None:
    """Kept each message and closed without a reply: the breaker stopped the run as a plain pause (exit 1)."""
    settings = delivery_settings(scripted(END=_close_at_once), connections=1, breaker=3, max_attempts=10, max_wait=0.0)
    store = setup_store(settings, 5)
    report = run_send(settings, store)
    assert report.end is RunEnd.OURS and "3 consecutive failures" in str(report.reason)
    assert report.failed == report.bounced == 0


def test_one_relay_refusing_to_relay_is_left_for_the_others(
    scripted: Callable[..., int], delivery_settings: Make, smtp_server: SmtpServer
) -> None:
    """With [[smtp.relays]], one relay that will not relay for us paused the whole send."""
    from digest.mail.backends.relays import RelayPool
    from digest.send.delivery import compile_issue, send_issue

    from support.delivery import relay

    settings = delivery_settings(smtp_server.port, connections=2, max_wait=0.0)
    bad = scripted(RCPT=b"554 5.7.1 <r@example.org>: Relay access denied\r\n")
    store = setup_store(settings, 12)
    issue = store.issues.load("2026-11-20-abcdef")
    assert issue is not None
    pool = RelayPool((relay("bad", bad, weight=10), relay("good", smtp_server.port)), 2, 60.0, seed=1)
    report = send_issue(store, compile_issue(issue, settings), pool, settings.install.delivery)
    assert report.complete and report.sent == 12 and len(smtp_server.handler.counts()) == 12
