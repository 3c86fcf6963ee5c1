"""The SMTP backend: TLS with certificate checks by default, AUTH only over TLS.

One transport is one connection. MAIL, RCPT and DATA are driven here (not
``sendmail``) so that the ledger can be told the moment before the message is
handed over, and a refused recipient is seen at RCPT: the per-recipient
equivalent of checking ``sendmail``'s dict of refused recipients. A server that
offers PIPELINING (Postfix, Exim, every large provider) gets the three commands
in one write; one that does not, one at a time.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
import time
from collections.abc import Callable
from typing import NoReturn

from digest.config import SmtpOptions
from digest.mail.message import Envelope
from digest.models import Reply, ReplyKind
from digest.models.errors import AddressError, DeliveryError, PermanentError, RelayError, TransientError


def tls_context(options: SmtpOptions) -> ssl.SSLContext:
    """A verifying context: system CAs (plus ``smtp.ca_file``), hostname checked, TLS 1.2 or newer."""
    context = ssl.create_default_context(cafile=str(options.ca_file) if options.ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _reply(code: int, message: bytes | str) -> Reply:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return Reply(code, " ".join(text.split()))


# Replies that say our commands were not followed (unrecognised, not implemented, out of sequence): the relay and
# digest disagree about the dialogue, whatever reader it is at; 501 (a bad argument) can be the reader's address.
_NOT_FOLLOWED = frozenset({500, 502, 503, 504})


def _raise_for(reply: Reply, *, message_sent: bool = False, at_sender: bool = False, after_rcpt: bool = False) -> NoReturn:
    """The error a refusal is. ``message_sent``: no reply to the message is known (garbled), so the relay may have it;
    ``after_rcpt``: a reply to DATA or to the message, the reader's RCPT having been accepted."""
    if reply.code < 400:  # a success where a refusal was due, or a 1xx: the replies are out of step with the commands
        raise TransientError(Reply(421, f"garbled reply from the server: {reply} out of step"), garbled=True, message_sent=message_sent)
    if reply.code in _NOT_FOLLOWED:
        raise TransientError(Reply(421, f"garbled reply from the server: our commands not followed: {reply}"), garbled=True)
    if reply.kind is ReplyKind.THROTTLE:  # a receiver's rate limit, whichever command it answers (MAIL FROM too): slower, later
        raise TransientError(reply, connection_lost=True)
    if at_sender or reply.refuses_sender:  # digest's envelope sender refused, even at RCPT: never the reader's failure
        raise TransientError(reply, connection_lost=reply.code == 421, at_sender=True)
    if reply.code < 500:  # a throttle closes this connection: the next try goes through a fresh one (a per-session limit)
        raise TransientError(reply, connection_lost=reply.code == 421 or reply.is_throttle)
    raise PermanentError(reply, after_data=after_rcpt)


_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)


def _body(client: smtplib.SMTP, data: bytes, *, dot_safe: bool) -> tuple[int, bytes]:
    """The message after DATA's 354, for CRLF bytes, without ``SMTP.data``'s cost when no line starts with a dot.

    smtplib dot-stuffs (RFC 5321 4.5.2) every message with a multiline regex
    that tries every byte: 0.3 ms for a 49 KB digest, the largest cost of
    sending it. A compiled message has no line starting with "." (``dot_safe``):
    nothing to do. Other data is searched first, and stuffed only if needed.
    """
    if not dot_safe and (data.startswith(b".") or b"\n." in data):
        data = _LEADING_DOT.sub(b"..", data)
    client.send(data + (b".\r\n" if data.endswith(b"\r\n") else b"\r\n.\r\n"))
    return client.getreply()


# A plain addr-spec (dot-atom local part, a domain name): what every stored address is (digest.models.addresses).
_PLAIN_PATH = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+")


def _command(verb: str, address: str) -> str:
    """One command line, checked as ``SMTP.putcmd`` checks its own: no line break may reach the wire. A plain
    address is bracketed as ``smtplib.quoteaddr`` would bracket it, without its parse (a tenth of a worker's time);
    anything else goes through it."""
    if "\r" in address or "\n" in address:
        raise AddressError(f"a line break in the address of {verb}")
    path = f"<{address}>" if _PLAIN_PATH.fullmatch(address) else smtplib.quoteaddr(address)
    return f"{verb}:{path}\r\n"


_ACCEPTED = ((250,), (250, 251), (354,))  # the replies that let a pipelined MAIL, RCPT and DATA go on


def _replies(client: smtplib.SMTP, count: int) -> tuple[list[tuple[int, bytes]], bool]:
    """Up to ``count`` replies to pipelined commands, and whether the server closed the connection before all came."""
    replies: list[tuple[int, bytes]] = []
    try:
        while len(replies) < count:
            replies.append(client.getreply())
    except GarbledReplyError:
        raise  # not a server that went away: one that cannot be understood
    except smtplib.SMTPServerDisconnected:
        return replies, True
    return replies, False


# smtplib reads a reply line of up to 8 KB and raises "500 Line too long" past it, which would read as a permanent
# refusal of the reader; and it gathers continuation lines ("250-…") without end, so a broken or hostile server can
# grow the sender's memory at will. Replies here are read with both bounds, and breaking either is a garbled reply:
# the connection is closed as lost (our relay's side), never a verdict on a reader.
MAX_REPLY_LINE = 8192
REPLY_LATE = "the server's reply did not end in time (smtp.timeout)"
MAX_REPLY_LINES = 128  # an EHLO answer has about 15; RFC 5321 sets no limit, so one is chosen well above real servers


class GarbledReplyError(smtplib.SMTPServerDisconnected):
    """The server's reply broke a bound or the grammar: the connection is closed and treated as lost."""


class ReplyLateError(TimeoutError):
    """The server's reply did not end within ``smtp.timeout`` (:data:`REPLY_LATE`): the socket's own kind of timeout,
    so every handler of a timed-out read treats it as one."""


def _reply_problem(line: bytes, lines_before: int) -> str | None:
    """Why ``line`` cannot be part of a reply (None: it can)."""
    if len(line) > MAX_REPLY_LINE:
        return f"a reply line over {MAX_REPLY_LINE} bytes"
    if lines_before >= MAX_REPLY_LINES:
        return f"a reply of more than {MAX_REPLY_LINES} lines"
    if not (line[:3].isdigit() and line[:1] in b"2345" and line[3:4] in (b"-", b" ", b"\r", b"\n", b"")):
        return f"a reply line that is not SMTP: {line[:40]!r}"
    return None


def _bounded_reply(client: smtplib.SMTP) -> tuple[int, bytes]:
    """One SMTP reply (its code and its lines joined by LF, as ``SMTP.getreply`` returns it), read within the bounds,
    and within the connection's timeout as a whole: a server that drips a byte a second never times out a single
    read, so the whole reply has that long (smtplib's own timeout is per read)."""
    if client.file is None:
        if client.sock is None:
            raise smtplib.SMTPServerDisconnected("please run connect() first")
        client.file = client.sock.makefile("rb")
    timeout = client.timeout if isinstance(client.timeout, int | float) else None
    deadline = None if timeout is None else time.monotonic() + timeout
    lines: list[bytes] = []
    try:
        while True:
            line = _read_line(client, deadline)
            problem = _reply_problem(line, len(lines))
            if problem is not None:
                client.close()
                raise GarbledReplyError(f"garbled reply from the server: {problem}")
            lines.append(line[4:].strip(b" \t\r\n"))
            if line[3:4] != b"-":
                return int(line[:3]), b"\n".join(lines)
    finally:
        if client.sock is not None:
            client.sock.settimeout(timeout)


def _read_line(client: smtplib.SMTP, deadline: float | None) -> bytes:
    """One line (up to one byte past MAX_REPLY_LINE), each read given only what is left of ``deadline``."""
    assert client.file is not None and client.sock is not None
    line = bytearray()
    while len(line) <= MAX_REPLY_LINE:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                client.close()
                raise ReplyLateError(REPLY_LATE)
            client.sock.settimeout(left)
        try:
            waiting = client.file.peek(1)  # what is buffered, or one read of the socket: never past a reply's end
        except TimeoutError as exc:  # the last of the deadline ran out in this read: the same words as between reads
            client.close()
            raise ReplyLateError(REPLY_LATE) from exc
        except OSError as exc:
            client.close()
            raise smtplib.SMTPServerDisconnected(f"connection unexpectedly closed: {exc}") from exc
        if not waiting:
            client.close()
            raise smtplib.SMTPServerDisconnected("connection unexpectedly closed")
        end = waiting.find(b"\n")
        take = min(len(waiting) if end < 0 else end + 1, MAX_REPLY_LINE + 1 - len(line))
        line += client.file.read(take)
        if end >= 0 and line.endswith(b"\n"):
            break
    return bytes(line)


class _Smtp(smtplib.SMTP):
    getreply = _bounded_reply


class _SmtpSsl(smtplib.SMTP_SSL):
    getreply = _bounded_reply


class SmtpTransport:
    def __init__(self, options: SmtpOptions) -> None:
        self.options = options
        self.client: smtplib.SMTP | None = self._connect()
        self.writing = False

    def _connect(self) -> smtplib.SMTP:
        o = self.options
        try:
            if o.security == "ssl":
                client: smtplib.SMTP = _SmtpSsl(o.host, o.port, local_hostname=o.local_hostname, timeout=o.timeout, context=tls_context(o))
            else:
                client = _Smtp(o.host, o.port, local_hostname=o.local_hostname, timeout=o.timeout)
            client.ehlo()
            if o.security == "starttls":
                if not client.has_extn("starttls"):
                    client.close()
                    raise RelayError(f"{o.host}:{o.port} does not offer STARTTLS (smtp.security = starttls)", check="smtp.security")
                client.starttls(context=tls_context(o))
                client.ehlo()
            if o.username:
                if o.security == "none" and not o.allow_plain_auth:
                    client.close()
                    raise RelayError(
                        "refusing to send the SMTP password over an unencrypted connection (set smtp.allow_plain_auth only for a local catcher)",
                        check="smtp.security, smtp.allow_plain_auth",
                    )
                client.login(o.username, o.password or "")
        except DeliveryError:
            raise  # ours, and an OSError: not to be caught as a connection problem below
        except smtplib.SMTPAuthenticationError as exc:
            raise RelayError(
                f"SMTP login to {o.host}:{o.port} failed: {_reply(exc.smtp_code, exc.smtp_error)}", check="SMTP_USERNAME and SMTP_PASSWORD"
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            # No retry makes a server offer AUTH: a configuration problem, saying what to change.
            raise RelayError(
                f"{o.host}:{o.port} does not offer SMTP AUTH (smtp.username is set): check smtp.security "
                "(many servers offer AUTH only after STARTTLS) or leave smtp.username empty",
                check="smtp.security, smtp.username",
            ) from exc
        except smtplib.SMTPResponseException as exc:
            raise TransientError(_reply(exc.smtp_code, exc.smtp_error), at_connect=True) from exc
        except ssl.SSLCertVerificationError as exc:
            raise RelayError(
                f"TLS certificate of {o.host}:{o.port} not trusted: {exc.verify_message}", check="smtp.host, smtp.ca_file"
            ) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientError(Reply(421, f"cannot connect to {o.host}:{o.port}: {exc}"), at_connect=True) from exc
        return client

    def send(self, envelope: Envelope, data: bytes, before_data: Callable[[], None]) -> Reply:
        client = self.client if self.client is not None else self._reconnect()
        self.writing = False  # set once the message itself is being written (_body)
        try:
            if self.options.pipelining and client.has_extn("pipelining"):
                code, message = self._pipelined(client, envelope, data, before_data)
            else:
                code, message = self._one_by_one(client, envelope, data, before_data)
            reply = _reply(code, message)
            if code != 250:  # a reply to the message: the relay answered, so it does not have it unless it said 250
                _raise_for(reply, after_rcpt=True)
            return reply
        except DeliveryError:
            # Our own Transient/PermanentError: DeliveryError is an OSError, so it must pass the clauses below untouched.
            raise
        except smtplib.SMTPDataError as exc:  # the server refused DATA itself (not 354), the reader's RCPT accepted
            self._reset()
            _raise_for(_reply(exc.smtp_code, exc.smtp_error), after_rcpt=True)
        except GarbledReplyError as exc:
            raise TransientError(Reply(421, str(exc)), garbled=True, message_sent=self.writing) from exc
        except smtplib.SMTPServerDisconnected as exc:
            raise TransientError(Reply(421, f"connection lost: {exc}"), connection_lost=True, message_sent=self.writing) from exc
        except smtplib.SMTPResponseException as exc:
            _raise_for(_reply(exc.smtp_code, exc.smtp_error))
        except TimeoutError as exc:
            raise TransientError(
                Reply(421, f"timed out after {self.options.timeout:g} s"), connection_lost=True, message_sent=self.writing
            ) from exc
        except OSError as exc:
            raise TransientError(Reply(421, f"connection error: {exc}"), connection_lost=True, message_sent=self.writing) from exc

    def _one_by_one(self, client: smtplib.SMTP, envelope: Envelope, data: bytes, before_data: Callable[[], None]) -> tuple[int, bytes]:
        """MAIL, RCPT and DATA, each waiting for its reply: for a server that does not offer PIPELINING."""
        code, message = client.mail(envelope.sender)
        if code != 250:
            self._reset()
            _raise_for(_reply(code, message), at_sender=True)
        code, message = client.rcpt(envelope.recipient)
        if code not in (250, 251):
            self._reset()
            _raise_for(_reply(code, message))
        try:
            before_data()
        except BaseException:
            self._reset()  # before DATA: the transaction is dropped, the connection stays usable
            raise
        code, message = client.docmd("DATA")
        if code != 354:
            raise smtplib.SMTPDataError(code, message)
        self.writing = True
        return _body(client, data, dot_safe=envelope.dot_safe)

    def _pipelined(self, client: smtplib.SMTP, envelope: Envelope, data: bytes, before_data: Callable[[], None]) -> tuple[int, bytes]:
        """MAIL, RCPT and DATA in one write (RFC 2920), their three replies read together: one round trip where the
        classic dialogue takes three, which is most of a message's time on a local relay and more on a far one.

        ``before_data`` runs while the server reads those three commands, so the ledger's 'sending' commit and the
        server's replies travel at the same time; and it has returned before the first byte of the message is written,
        so 'sending' is still committed before anything could be delivered. A refused recipient then finds its row
        'sending' (the attempt counted), and its failure is written over it. Should ``before_data`` fail, or a server
        accept DATA after refusing the recipient, the connection is closed in the DATA phase: a message that never
        ended is discarded by the server, and the next send opens a new connection.
        """
        client.send(_command("MAIL FROM", envelope.sender) + _command("RCPT TO", envelope.recipient) + "DATA\r\n")
        try:
            before_data()
        except BaseException:
            self._abort()
            raise
        replies, dropped = _replies(client, 3)
        refused = next((n for n, (reply, ok) in enumerate(zip(replies, _ACCEPTED, strict=False)) if reply[0] not in ok), None)
        if refused is not None:
            accepted_data = len(replies) == 3 and replies[2][0] == 354
            if dropped or accepted_data:
                self._abort()
            else:
                self._reset()
            reply, at_sender = _reply(*replies[refused]), refused == 0  # MAIL FROM refused: the sender's problem
            try:
                _raise_for(reply, at_sender=at_sender, after_rcpt=refused == 2)
            except TransientError as exc:
                exc.connection_lost = exc.connection_lost or dropped
                raise
        if dropped:
            raise smtplib.SMTPServerDisconnected("the server closed the connection before answering DATA")
        self.writing = True
        return _body(client, data, dot_safe=envelope.dot_safe)

    def _reconnect(self) -> smtplib.SMTP:
        self.client = self._connect()
        return self.client

    def _abort(self) -> None:
        """End the connection without QUIT: in the DATA phase, the only way to send no message."""
        if self.client is not None:
            self.client.close()
            self.client = None

    def _reset(self) -> None:
        if self.client is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):  # the connection may already be gone
                self.client.rset()

    def close(self) -> None:
        if self.client is None:
            return
        try:
            self.client.quit()
        except (OSError, smtplib.SMTPException):
            self.client.close()


class SmtpBackend:
    name = "smtp"

    def __init__(self, options: SmtpOptions, connections: int) -> None:
        self.options = options
        self.parallel = connections

    def open(self) -> SmtpTransport:
        return SmtpTransport(self.options)

    def describe(self) -> str:
        o = self.options
        auth = f", as {o.username}" if o.username else ""
        return f"SMTP {o.host}:{o.port} ({o.security}{auth}), {self.parallel} connection(s)"
