"""A real SMTP server on 127.0.0.1 for the tests (aiosmtpd), told what to answer per recipient.

Rules are queues of actions per recipient, consumed one per attempt; when a
recipient's queue is empty the message is accepted. Actions:

- ``"550 5.1.1 No such user"`` (any reply line): answered at RCPT (``rcpt``) or end of DATA (``data``);
- ``"DROP"``: close the connection at the end of DATA, without a reply;
- ``"STALL"``: sleep past any client timeout at the end of DATA.

``data_all`` is a queue of DATA actions for any recipient, used before the
per-recipient rules; ``mail_all`` a queue of replies to MAIL FROM (a relay
answering "421 closing" to everything, say); ``mail_refusing`` answers
every MAIL FROM with it while set.
"""

from __future__ import annotations

import asyncio
import email
import socket
import ssl
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, LoginPassword, Session, syntax

# A message's bound: aiosmtpd's default data_size_limit (32 MiB).
DATA_LIMIT = 32 * 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    sender: str
    recipient: str
    data: bytes

    def parse(self) -> EmailMessage:
        message = email.message_from_bytes(self.data, policy=default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class Handler:
    received: list[Received] = field(default_factory=list)
    rcpt: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    data: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    data_all: list[str] = field(default_factory=list)
    mail_all: list[str] = field(default_factory=list)
    mail_refusing: str = ""
    stall_seconds: float = 5.0
    auth_logins: list[str] = field(default_factory=list)
    pipelining: bool = True  # offer PIPELINING (RFC 2920), as Postfix, Exim and the large providers do
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(  # noqa: N802 (aiosmtpd hook name)
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.pipelining:  # aiosmtpd reads pipelined commands in order; it only does not say so
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_MAIL(  # noqa: N802 (aiosmtpd hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        with self.lock:
            action = self.mail_all.pop(0) if self.mail_all else self.mail_refusing
        if action:
            return action
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802 (aiosmtpd hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        with self.lock:
            queue = self.rcpt.get(address)
            action = queue.pop(0) if queue else None
        if action:
            return action
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        recipient = envelope.rcpt_tos[0]
        with self.lock:
            queue = self.data.get(recipient)
            action = self.data_all.pop(0) if self.data_all else (queue.pop(0) if queue else None)
        if action == "DROP":
            assert server.transport is not None
            server.transport.close()
            return "421 closed"  # never seen by the client
        if action == "STALL":
            await asyncio.sleep(self.stall_seconds)
            return "451 4.4.2 too late"
        if action:
            return action
        content = envelope.original_content if envelope.original_content is not None else envelope.content
        assert isinstance(content, bytes)
        with self.lock:
            self.received.append(Received(str(envelope.mail_from), recipient, content))
        return "250 2.0.0 Accepted"

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(item.recipient for item in self.received)


class Authenticator:
    def __init__(self, handler: Handler, username: str, password: str) -> None:
        self.handler, self.username, self.password = handler, username, password

    def __call__(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.username
            and auth_data.password.decode() == self.password
        )
        if ok:
            self.handler.auth_logins.append(self.username)
        # handled=False: let aiosmtpd answer "535 5.7.8" itself on a failure.
        return AuthResult(success=ok, handled=False)


class _LeanSMTP(SMTP):
    """aiosmtpd's server with a leaner DATA loop. aiosmtpd reads a message a line at a time and checks each line in
    Python, about a millisecond of CPU for each of digest's 640-line copies, and the crash tests receive thousands.
    Here a message is read in a few chunks, each up to the next line end after a dot (most lines end otherwise), until
    the line holding one dot; then, as aiosmtpd does, a line over RFC 5321's 1,000 octets (CRLF included) is answered
    500 and the message dropped, and the leading dot of a dot-stuffed line removed; then the handler's DATA hook, as
    aiosmtpd calls it. The same refusals before DATA (commands keep aiosmtpd's command_size_limit)."""

    # aiosmtpd's reader bound is one line (1,001 octets); here it bounds a chunk, so a whole message.
    line_length_limit = DATA_LIMIT

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802 (aiosmtpd's name for the command)
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        chunks: list[bytes] = []
        read = self._reader.readuntil
        # Every chunk ends a line, so the next starts one: the end is a chunk that is the dot line or ends with it.
        while not ((chunk := await read(b".\r\n")) == b".\r\n" or chunk.endswith(b"\r\n.\r\n")):
            chunks.append(chunk)
        chunks.append(chunk[:-3])
        content = b"".join(chunks)
        if max(map(len, content.split(b"\r\n"))) > 998:
            self._set_post_data_state()
            await self.push("500 Line too long (see RFC5321 4.5.3.1.6)")
            return
        content = content.replace(b"\r\n.", b"\r\n")
        self.envelope.content = self.envelope.original_content = content[1:] if content[:1] == b"." else content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _LeanSMTP(self.handler, **self.SMTP_kwargs)


class SmtpServer:
    """A running server; ``stop()`` ends it."""

    def __init__(
        self, handler: Handler | None = None, *, tls: ssl.SSLContext | None = None, credentials: tuple[str, str] | None = None
    ) -> None:
        self.handler = handler or Handler()
        self.port = free_port()
        kwargs: dict[str, Any] = {}
        if tls is not None:
            kwargs.update(tls_context=tls, require_starttls=True)
        if credentials is not None:
            kwargs.update(authenticator=Authenticator(self.handler, *credentials), auth_required=True, auth_require_tls=tls is not None)
        self.controller = _Controller(self.handler, hostname="127.0.0.1", port=self.port, ready_timeout=10, **kwargs)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
