"""The one error tree of digest: every exception it raises on purpose is here, with the values its errors carry.

::

    DigestError
    ├── ConfigError      (also ValueError)    a config file or environment value is wrong (every problem, at once)
    ├── DkimKeyError     (also ValueError)    a DKIM key file that cannot be used: missing, not PEM, too weak
    ├── WindowError      (also ValueError)    a window, date or slot asked for that digest cannot use (a backwards one too)
    ├── NaiveDatetimeError (also ValueError)  a datetime without its time zone where digest keeps aware ones: a bug
    ├── AddressError     (also ValueError)    an email address that will not work (why, from email-validator)
    ├── ListFileError    (also ValueError)    a subscriber list that cannot be read as a whole: nothing imported (line)
    ├── SourceError      (also ValueError)    a source or one of its items cannot be read (where, message)
    │   └── SourceUnavailableError            a whole source yielded nothing (missing, unreachable, no match)
    ├── RenderError      (also RuntimeError)  a template or the MJML/inline step failed (where, message)
    │   └── MjmlError                         the MJML compile refused the markup (a post's own HTML can be why)
    ├── DeliveryError    (also OSError)       a message could not be handed over, or a send cannot go on
    │   ├── TransientError                    a 4xx reply or a lost connection: this recipient later (reply)
    │   ├── RelayError                        our relay cannot be used as configured (TLS trust, login): pause, blame nobody
    │   ├── PermanentError                    a 5xx reply: this recipient failed for good (reply)
    │   ├── LeaseHeldError                    another live process holds the lease
    │   │   ├── WorkersAtWorkError            send workers are at an issue a one-process send asked for (issue, workers)
    │   │   └── SoloSendRunningError          a worker cannot join a send without workers (issue)
    │   ├── LeaseLostError                    this process can no longer be sure of its lease: stop sending
    │   └── WorkersNeedPostgresError          several senders on one issue on SQLite
    ├── StoreError       (also RuntimeError)  the database cannot be opened, migrated or trusted
    ├── RefusedError     (also RuntimeError)  a send or build that would hurt the list (its Refusal: kind, issues)
    ├── ReviewError      (also LookupError)   a review decision names a report or an address it cannot apply to
    ├── UnknownSubscriberError (LookupError)  an operator named an address that is not on the list
    ├── LabelError       (also LookupError)   a taught label to forget that is not there, or more than one (matches)
    ├── BodyError        (also ValueError)    a request's JSON body no request can be read from: the API's 400
    └── DeskError        (also ValueError)    a desk action the issue file cannot take (unknown post, theme, too long)

Each also subclasses the built-in it resembles, so callers that only know the
standard library still catch it. Messages are built from typed fields, so the
CLI can print them as they are and tests can check the fields. No builtin
exception is raised anywhere in digest (tests/test_error_tree.py holds it), but
for the AttributeError a module's ``__getattr__`` owes Python. A few private
exceptions stay inside the modules that raise and catch them, each in the
vocabulary of the library it sits under: a body over the form cap in
:mod:`digest.web.guard`, a refused redirect in :mod:`digest.sources.http`, a
garbled or late reply in :mod:`digest.mail.backends.smtp` (smtplib's and the
socket's own kinds, so its handlers treat them as they treat those).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

# -- what the errors carry ------------------------------------------------------------------------------------
# The tree is the bottom of the layers (a value can refuse to be made with one of its errors: a backwards Window), so
# the values its errors carry are defined here, with them: a relay's Reply (TransientError, PermanentError), a
# Refusal (RefusedError), a ReviewProblem (ReviewError). digest.models re-exports them: import them from there.

_ENHANCED = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")


@dataclass(frozen=True, slots=True)
class Reply:
    """A relay's answer to one command: its code and text, and what they say of the address, our sender, the relay."""

    code: int
    text: str

    def __str__(self) -> str:
        return f"{self.code} {self.text}".strip()

    @property
    def enhanced(self) -> str | None:
        """The RFC 3463 enhanced status code (``5.1.1``) when the text starts with one."""
        match = _ENHANCED.match(self.text)
        return ".".join(match.groups()) if match else None

    @property
    def is_bounce(self) -> bool:
        """A permanent failure of the *address* (5.1.x, or a bare 550/551/553), as opposed to of the sender."""
        enhanced = self.enhanced
        if enhanced is not None:
            return enhanced.startswith("5.1.")
        return self.code in (550, 551, 553)

    @property
    def refuses_sender(self) -> bool:
        """Digest's envelope sender refused, whichever command it answers ("550 5.1.8 … Sender address rejected", a
        bare "550 Sender verify failed": Postfix checks the sender at RCPT): our setup, every copy would meet it."""
        return (self.enhanced or "")[1:] in (".1.7", ".1.8") or _SENDER_REFUSED.search(self.text) is not None

    @property
    def is_throttle(self) -> bool:
        """ "Slower, later" from the relay itself (452 too many recipients or no storage, 4.3.x its own trouble, 4.4.x
        routing, 4.5.x protocol limits, 4.7.x policy and rate): never a sign the reader is gone."""
        return self.code == 452 or (self.enhanced or "").startswith(("4.3.", "4.4.", "4.5.", "4.7."))

    @property
    def kind(self) -> ReplyKind:
        """What a refusal asks of the sender, decided here once (the words: :data:`REPLY_KIND_WORDS`).

        THROTTLE: a receiver's rate limit (421/450/451/452 with 4.7.x: Gmail's 4.7.28 and 4.7.0, Microsoft's
        4.7.500–4.7.650, Yahoo's [TSxx]; or words such as "too many connections", "rate limit"): slower, later
        (:mod:`digest.send.pacing`).
        OURS: our setup or our relay (our sender or relaying refused, a reply out of step, the relay's own 4.3.x,
        4.4.x, 4.5.x or 421 trouble). SOFT: another 4xx, this reader's mailbox for now. HARD: a 5xx, for good.
        """
        if self.code < 400 or self.code in (500, 502, 503, 504) or self.refuses_sender or self.refuses_relaying:
            return ReplyKind.OURS
        if self.code < 500:
            if self.code in (421, 450, 451, 452) and ((self.enhanced or "").startswith("4.7.") or _RATE_LIMITED.search(self.text)):
                return ReplyKind.THROTTLE
            return ReplyKind.OURS if self.code == 421 or self.is_throttle else ReplyKind.SOFT
        return ReplyKind.HARD

    @property
    def refuses_relaying(self) -> bool:
        """The relay will not relay for us ("554 5.7.1 Relay access denied", a bare "550 relay not permitted"):
        our setup, whatever address it is said of; every copy would meet it."""
        return _RELAYING.search(self.text) is not None

    @property
    def is_sender_problem(self) -> bool:
        """5.7.x: policy, authentication or reputation: the sender's problem, not the reader's address."""
        return (self.enhanced or "").startswith("5.7.")


class ReplyKind(StrEnum):
    """What a relay's refusal asks of the sender (:attr:`Reply.kind`, the one place that decides it)."""

    THROTTLE = "throttle"  # the receiver's rate limit: that relay slows down, the copy waits, nobody is blamed
    SOFT = "soft"  # this reader's mailbox, for now: retried, each try counted
    HARD = "hard"  # refused for good
    OURS = "ours"  # our setup or our relay's own trouble: never counted against the reader


REPLY_KIND_WORDS: Mapping[ReplyKind, str] = MappingProxyType(
    {
        ReplyKind.THROTTLE: "the receiver asked us to slow down",
        ReplyKind.SOFT: "the reader's mailbox, for now",
        ReplyKind.HARD: "refused for good",
        ReplyKind.OURS: "our side, not the reader's",
    }
)

# A rate limit said in words where the enhanced code is missing or another (Microsoft, Yahoo, Postfix policy servers;
# Exim's "Too many concurrent SMTP connections from this IP address").
_RATE_LIMITED = re.compile(
    r"too many (\w+ ){0,2}(connections|messages|mails|sessions)|rate.?limit|throttl|unusual rate|\[TS\d\d\]",
    re.IGNORECASE,
)

_SENDER_REFUSED = re.compile(r"\bsender\b[^.;]{0,40}\b(rejected|refused|denied)\b|\bsender verif(y|ication) failed\b", re.IGNORECASE)
_RELAYING = re.compile(
    r"\brelay(ing)?\b[^.;]*\b(denied|not permitted|not allowed|prohibited|refused)\b|\b(not permitted|unable|not allowed) to relay\b",
    re.IGNORECASE,
)


class RefusalKind(StrEnum):
    """Why an operation that would hurt the list is refused. The domain says why (:class:`Refusal`); the CLI
    adds, in one place, the command or option that fixes it (``digest.cli.refusals``)."""

    OVERLAP = "overlap"  # another issue with deliveries covers part of this window: resume it, or allow the overlap
    SOURCE_FAILED = "source-failed"  # a source yielded nothing: fix it, or force the send
    ERROR_CHECKS = "error-checks"  # error-level checks of the render: fix them, or force the send
    EMPTY_ISSUE = "empty-issue"  # the issue has no posts: nothing to send (the scheduler skips and records such a slot)
    NO_KEY = "no-key"  # DIGEST_SECRET_KEY is not set
    PRIVATE_LINKS = "private-links"  # base_url is http or this machine, and the send leaves it
    NO_POSTAL_ADDRESS = "no-postal-address"  # newsletter.address is empty, and the send leaves this machine
    SENT_ALREADY = "sent-already"  # the issue has deliveries: what was sent stays what is stored
    NO_SUCH_ISSUE = "no-such-issue"  # no stored issue has that id
    FORGOTTEN = "forgotten"  # the address asked to be forgotten: only they can sign up again
    NOT_APPROVED = "not-approved"  # schedule.approval = "required" and the issue has no valid approval: approve it first
    LEFT = "left"  # they unsubscribed, complained or bounced: an operator re-subscribes them only at their request
    WEBHOOK_URL = "webhook-url"  # not https, or it resolves to loopback or a private range (DIGEST_WEBHOOKS_ALLOW_PRIVATE=1 allows it)
    SETUP_FAILED = "setup-failed"  # a check of the setup needing no network failed (DMARC cannot align, a key, the base URL)
    NO_SUCH_WEBHOOK = "no-such-webhook"  # no webhook endpoint has that id
    NOTHING_TO_REPLAY = "nothing-to-replay"  # no stored event has that id, or none of the endpoint's types was made in the range


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refusal as data: its kind, the reason in words (config keys named, never a command-line option), and
    the issues it is about."""

    kind: RefusalKind
    why: str
    issue_id: str | None = None
    other_issue: str | None = None  # OVERLAP: the issue in the way
    address: str | None = None  # LEFT: the address refused

    def __str__(self) -> str:
        return self.why


class ReviewProblem(StrEnum):
    """Why a decision on an unattributed report cannot be carried out (:class:`digest.models.errors.ReviewError`)."""

    NOT_WAITING = "not-waiting"  # no such report, or it was decided already
    WHICH_ADDRESS = "which-address"  # it names several addresses: the decision must say which
    NOT_NAMED = "not-named"  # the address given is not one the report names
    NOT_LISTED = "not-listed"  # the address it names is not on the list: only a dismissal is left


# -- the tree ------------------------------------------------------------------------------------------------


class DigestError(Exception):
    """Root of every error digest raises on purpose."""


class ConfigError(DigestError, ValueError):
    """One or more problems in the configuration, all reported at once."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


class WindowError(DigestError, ValueError):
    """A window asked for (``--as-of``, ``--since``/``--until``, a preview query) that digest cannot use: not a
    date, outside the supported years, or options that do not go together. The message says which."""


class NaiveDatetimeError(DigestError, ValueError):
    """A datetime without its time zone reached code that keeps aware ones (a window's bounds, the ``now`` a window
    is taken at, a time written to the store): UTC inside, always (design habit 1). A caller's bug, never a reader's
    input; the message says where."""


class AddressError(DigestError, ValueError):
    """An email address that cannot be stored or sent to: the message says why (email-validator's reason)."""


class ListFileError(DigestError, ValueError):
    """A subscriber list that cannot be read as a whole (not UTF-8, a delimiter an import does not read, a row the
    CSV reader cannot parse): nothing of it is imported. ``line`` is where; the message says what and what to do."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}")


class SourceError(DigestError, ValueError):
    """A source, or one item in it, could not be read.

    ``where`` is a path (with ``:line`` when known) or a URL.
    """

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}")


class SourceUnavailableError(SourceError):
    """A whole source yielded nothing: missing, unreachable, an HTTP error, or no file matched.

    Unlike a bad item among good ones, this fails the run (exit 1) even
    without --strict; the other sources are still read. ``status``: the HTTP status a server answered, when it did
    (a source's health records it).
    """

    def __init__(self, where: str, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(where, message)


class RenderError(DigestError, RuntimeError):
    """A template, the MJML compile or the inline step failed."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}")


class MjmlError(RenderError):
    """The MJML compiler refused the markup: one post's HTML can be the cause, so the render tries each alone."""


class DeliveryError(DigestError, OSError):
    """A message could not be handed to its backend."""


class TransientError(DeliveryError):
    """A 4xx reply or a lost connection: try this recipient again later.

    ``message_sent``: it came once the message itself was being written, so the server may have it; sending it
    through another relay now could make a second copy (the ledger's retry decides instead).
    ``at_sender``: the server refused MAIL FROM, digest's own envelope sender. Even a 5xx there (5.1.8, a bare 550)
    says nothing about the reader's address.
    ``at_connect``: no usable connection could be opened (refused, timed out, a 421 greeting, a failed TLS
    handshake): nothing about any reader.
    ``garbled``: the server's reply broke the protocol or our bounds (a line over 8 KB, endless lines): the
    connection is dropped, and the relay is not to be trusted with the next copy either.

    :attr:`ours` says whether the cause is on digest's side (:class:`RelayError` has the rest of that list).
    """

    def __init__(
        self,
        reply: Reply,
        *,
        connection_lost: bool = False,
        message_sent: bool = False,
        at_sender: bool = False,
        at_connect: bool = False,
        garbled: bool = False,
    ) -> None:
        self.reply = reply
        self.connection_lost = connection_lost or at_connect or garbled
        self.message_sent = message_sent
        self.at_sender = at_sender
        self.at_connect = at_connect
        self.garbled = garbled
        super().__init__(str(reply))

    @property
    def ours(self) -> bool:
        """Our side failed, not the reader's address: the relay went away (a lost connection, a 421, a garbled
        reply) or refused our envelope sender. Such a try is never counted against the reader."""
        return self.connection_lost or self.at_sender

    @property
    def stops_the_run(self) -> bool:
        """Every copy would meet it (no connection, our sender refused, a garbled reply): the run pauses at once,
        whatever the list's size."""
        return self.at_connect or self.at_sender or self.garbled

    @property
    def why(self) -> str:
        """What the ledger records for the retry."""
        if self.at_sender:
            return f"{self.reply} (MAIL FROM refused: a sender-side problem; retried, the address was not bounced)"
        if self.reply.kind is ReplyKind.THROTTLE and not self.message_sent:
            return f"{self.reply} ({REPLY_KIND_WORDS[ReplyKind.THROTTLE]}: retried later, not counted against the reader)"
        if self.ours and self.message_sent:
            return f"{self.reply} (our relay's side, after the message was written: retried, counted so copies stay bounded)"
        if self.ours:
            return f"{self.reply} (our relay's side; retried, not counted against the reader)"
        return str(self.reply)


class RelayError(DeliveryError):
    """Our relay cannot be used as configured: its TLS certificate is not trusted, it refuses our login, or it does
    not offer what the settings need (STARTTLS, AUTH). No retry of a reader's copy can fix it, and no reader is to
    blame: the send pauses with every reader still pending, naming ``check``, the settings to look at."""

    def __init__(self, why: str, *, check: str = "smtp.host, smtp.port, smtp.security") -> None:
        self.check = check
        super().__init__(why)


class PermanentError(DeliveryError):
    """A 5xx reply: this recipient failed for good. ``after_data``: the reply to the message itself, their RCPT
    having been accepted (a bare 550 there refuses the content, not the address)."""

    def __init__(self, reply: Reply, *, after_data: bool = False) -> None:  # after_data: to DATA or to the message
        self.reply = reply
        self.after_data = after_data
        super().__init__(str(reply))


class LeaseHeldError(DeliveryError):
    """Another live process holds the lease."""


class WorkersAtWorkError(LeaseHeldError):
    """A one-process send of an issue that send workers are sending: it would resend their rows in flight."""

    def __init__(self, issue_id: str, workers: Sequence[str]) -> None:
        self.issue_id = issue_id
        self.workers = tuple(workers)
        super().__init__(f"{len(self.workers)} send worker(s) are sending {issue_id} ({', '.join(self.workers[:3])})")


class SoloSendRunningError(LeaseHeldError):
    """A worker cannot join: a send without workers holds the issue, and workers join only a send of workers."""

    def __init__(self, issue_id: str, holder: str) -> None:
        self.issue_id = issue_id
        super().__init__(
            f"{holder}: a send without workers is running, and workers join only a send started as workers "
            "(or with delivery.workers_may_join = true)"
        )


class LeaseLostError(DeliveryError):
    """This process can no longer be sure it holds its lease: it must stop before it sends anything more."""


class WorkersNeedPostgresError(DeliveryError):
    """``--worker`` on SQLite: one writer at a time, so there is nothing for a second sender to gain."""

    def __init__(self) -> None:
        super().__init__(
            "several senders on one issue need PostgreSQL (store.url or DATABASE_URL = postgresql://…); "
            "on SQLite, one process sends on delivery.connections connections"
        )


class DkimKeyError(DigestError, ValueError):
    """A key file that cannot be used: missing, unreadable, not a PEM private key, or too weak."""


class StoreError(DigestError, RuntimeError):
    """The database cannot be opened or migrated, or a row the ledger needs is missing."""


class RefusedError(DigestError, RuntimeError):
    """An operation refused on purpose (an overlapping send, a rebuild of a sent issue, error-level checks).

    Carries the :class:`~digest.models.Refusal` (its kind, the issues it is about); its message is the reason.
    The CLI adds the command that does what was probably meant.
    """

    def __init__(self, refusal: Refusal) -> None:
        self.refusal = refusal
        super().__init__(refusal.why)


class UnknownSubscriberError(DigestError, LookupError):
    """An operator named an address that is not on the list (``subscribers remove``, ``show``, ``forget``)."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__(f"{address} is not on the list")


class BodyError(DigestError, ValueError):
    """A request's JSON body no request can be read from (nested deeper than the parser recurses, a lone surrogate):
    the API's 400, the message saying which."""


class DeskError(DigestError, ValueError):
    """An action the desk cannot do (an unknown action, a post that is not in this issue): the message says why."""


class ReviewError(DigestError, LookupError):
    """A decision on an unattributed bounce or complaint that cannot be carried out: the report is not waiting
    for review, or the address is not one it names, or names nobody on the list (``problem``, a
    :class:`~digest.models.ReviewProblem`; ``event_id``, the report)."""

    def __init__(self, problem: ReviewProblem, event_id: int, message: str) -> None:
        self.problem = problem
        self.event_id = event_id
        super().__init__(message)


class LabelError(DigestError, LookupError):
    """``digest themes forget-label`` (or the desk's Forget) names no label still taught, or more than one
    (``matches``: their (issue id, post id, text), for the CLI to name each with the command that forgets it);
    ``forgotten``: the one named is there, forgotten already (the desk answers 409 for it, 404 for none)."""

    def __init__(self, why: str, matches: tuple[tuple[str, str, str], ...] = (), *, forgotten: bool = False) -> None:
        self.matches = matches
        self.forgotten = forgotten
        super().__init__(why)
