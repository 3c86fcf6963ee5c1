"""MAIL, RCPT and DATA in one write when the server offers PIPELINING (RFC 2920), and what must still hold.

The ledger's 'sending' is committed by ``before_data``; pipelined, it runs
while the server reads the three commands, and it must have returned before
a byte of the message is written. These tests watch that from the server's
side: a real aiosmtpd server, and for a server that misbehaves, a socket
server of our own that records every byte it was sent.
"""

from __future__ import annotations

import dataclasses
import smtplib
import socket
import socketserver
from pathlib import Path

import pytest

from digest.config import SmtpOptions, load_settings
from digest.mail.backends.smtp import SmtpTransport, _command
from digest.mail.message import Envelope
from digest.models.errors import ConfigError, PermanentError, TransientError

from mailserver import Handler, SmtpServer
from support.serving import serve_in_thread

DATA = b"Subject: hello\r\n\r\nOne line.\r\n"


def envelope(recipient: str) -> Envelope:
    return Envelope(sender="digest@example.org", recipient=recipient, issue_id="2026-11-20-abcdef", label=recipient, dot_safe=True)


def transport(port: int) -> SmtpTransport:
    return SmtpTransport(SmtpOptions(host="127.0.0.1", port=port, security="none", timeout=5.0))


def test_the_ledger_is_told_before_the_message_whichever_way(smtp_either_way: SmtpServer) -> None:
    """Pipelined, before_data runs before the replies are read, so a refused recipient was announced too;
    one by one, only an accepted one is. Either way nothing arrives for the refused address, and the same
    connection goes on to deliver the next."""
    pipelined = smtp_either_way.handler.pipelining
    smtp_either_way.handler.rcpt["gone@example.org"].append("550 5.1.1 no such user")
    link = transport(smtp_either_way.port)
    assert link.client is not None and bool(link.client.has_extn("pipelining")) is pipelined
    calls: list[str] = []
    with pytest.raises(PermanentError, match=r"5\.1\.1"):
        link.send(envelope("gone@example.org"), DATA, lambda: calls.append("gone"))
    reply = link.send(envelope("reader@example.org"), DATA, lambda: calls.append("reader"))
    link.close()
    assert reply.code == 250
    assert calls == (["gone", "reader"] if pipelined else ["reader"])
    assert [item.recipient for item in smtp_either_way.handler.received] == ["reader@example.org"]
    assert smtp_either_way.handler.received[0].data.endswith(b"One line.\r\n")


def test_a_ledger_write_that_fails_sends_no_message(smtp_either_way: SmtpServer) -> None:
    """before_data raising (the lease lost, the database gone) ends the conversation before the message: the
    server has nothing, and the transport opens a new connection for the next send."""
    link = transport(smtp_either_way.port)

    def refuse() -> None:
        raise RuntimeError("the ledger could not be written")

    with pytest.raises(RuntimeError, match="ledger"):
        link.send(envelope("first@example.org"), DATA, refuse)
    assert link.send(envelope("second@example.org"), DATA, lambda: None).code == 250
    link.close()
    assert [item.recipient for item in smtp_either_way.handler.received] == ["second@example.org"]


def test_a_server_refusing_mail_from_says_why(smtp_either_way: SmtpServer) -> None:
    smtp_either_way.handler.mail_all.append("451 4.3.0 try later")
    link = transport(smtp_either_way.port)
    with pytest.raises(TransientError, match=r"4\.3\.0"):
        link.send(envelope("reader@example.org"), DATA, lambda: None)
    assert link.send(envelope("reader@example.org"), DATA, lambda: None).code == 250
    link.close()
    assert len(smtp_either_way.handler.received) == 1


class _Careless(socketserver.StreamRequestHandler):
    """Offers PIPELINING, refuses the recipient, and still answers DATA with 354 (RFC 5321 says 503 or 554)."""

    def handle(self) -> None:
        seen: list[bytes] = self.server.seen  # type: ignore[attr-defined]
        self.wfile.write(b"220 careless ESMTP\r\n")
        while line := self.rfile.readline():
            seen.append(line)
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.wfile.write(b"250-careless\r\n250 PIPELINING\r\n")
            elif verb == b"RCPT":
                self.wfile.write(b"550 5.1.1 no such user\r\n")
            elif verb == b"DATA":
                self.wfile.write(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


def test_a_server_that_accepts_data_after_refusing_the_recipient_gets_no_message() -> None:
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Careless) as careless:
        careless.seen = []  # type: ignore[attr-defined]
        careless.daemon_threads = True
        serve_in_thread(careless)
        link = transport(careless.server_address[1])
        with pytest.raises(PermanentError, match=r"5\.1\.1"):
            link.send(envelope("gone@example.org"), DATA, lambda: None)
        assert link.client is None  # closed in the DATA phase, never ended with "."
        careless.shutdown()
    seen = b"".join(careless.seen)  # type: ignore[attr-defined]
    assert b"DATA\r\n" in seen and b"Subject: hello" not in seen and b"\r\n.\r\n" not in seen


def test_no_line_break_reaches_the_wire_in_an_address() -> None:
    server = SmtpServer(Handler(pipelining=True))
    try:
        link = transport(server.port)
        with pytest.raises(ValueError, match="line break"):
            link.send(envelope("reader@example.org\r\nRCPT TO:<other@example.org>"), DATA, lambda: None)
        link.close()
        assert server.handler.received == []
    finally:
        server.stop()


def test_a_connection_dropped_after_the_commands_is_a_lost_connection() -> None:
    """The server goes away before answering: a transient failure, the connection to be reopened."""

    class Vanishing(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            self.wfile.write(b"220 vanishing ESMTP\r\n")
            self.rfile.readline()
            self.wfile.write(b"250-vanishing\r\n250 PIPELINING\r\n")
            self.rfile.readline()  # MAIL FROM: then gone
            self.request.shutdown(socket.SHUT_RDWR)

    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Vanishing) as vanishing:
        vanishing.daemon_threads = True
        serve_in_thread(vanishing)
        link = transport(vanishing.server_address[1])
        with pytest.raises(TransientError) as caught:
            link.send(envelope("reader@example.org"), DATA, lambda: None)
        assert caught.value.connection_lost
        vanishing.shutdown()


@pytest.mark.parametrize(
    "address",
    ["r1@example.org", "bounce+2026-11-20.3.abc@example.org", "a.b-c+d@sub.example.org", "", "x@[127.0.0.1]", 'odd"quote@example.org'],
)
def test_a_command_brackets_an_address_as_smtplib_does(address: str) -> None:
    """The shortcut for plain addresses writes what smtplib.quoteaddr would; anything else goes through it."""
    assert _command("RCPT TO", address) == f"RCPT TO:{smtplib.quoteaddr(address)}\r\n"


def test_pipelining_can_be_turned_off_for_a_server_that_mishandles_it(tmp_path: Path) -> None:
    """[smtp] pipelining = false: commands one at a time even where PIPELINING is offered; a wrong value is one
    error naming the key."""
    config = tmp_path / "digest.toml"
    config.write_text('[smtp]\nhost = "127.0.0.1"\nsecurity = "none"\npipelining = false\n', encoding="utf-8")
    options = load_settings(config, environ={}).install.smtp
    assert options.pipelining is False
    server = SmtpServer(Handler(pipelining=True))
    try:
        server.handler.rcpt["gone@example.org"].append("550 5.1.1 no such user")
        link = SmtpTransport(dataclasses.replace(options, port=server.port, timeout=5.0))
        calls: list[str] = []
        with pytest.raises(PermanentError):
            link.send(envelope("gone@example.org"), DATA, lambda: calls.append("gone"))
        link.close()
        assert calls == []  # one by one: the ledger is told only of an accepted recipient
    finally:
        server.stop()
    config.write_text('[smtp]\npipelining = "sometimes"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"smtp\.pipelining"):
        load_settings(config, environ={})
