"""One copy's way out: what its reader gets (a view of the issue, in words once), the ledger's states, and the
rows and counts the ledger reports. (A relay's Reply is defined with the errors that carry it, in :mod:`digest.models.errors`.)"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType


class DeliveryState(StrEnum):
    """Where one (issue, subscriber) delivery stands in the ledger."""

    PENDING = "pending"
    SENDING = "sending"  # committed before DATA: its outcome is not known yet
    SENT = "sent"
    DEFERRED = "deferred"  # a 4xx or a lost connection: retried with backoff
    FAILED = "failed"  # for good, with the reply recorded
    SKIPPED = "skipped"  # not sent, by the reader's doing: left after being queued, no posts in their themes, paused


# The states a send still has to finish (its copy may still go out): what `digest status --pending` lists, and the
# rows of the ledger's index of deliveries to send.
OUTSTANDING_STATES = (DeliveryState.PENDING, DeliveryState.SENDING, DeliveryState.DEFERRED)


# How the ledger words a failed delivery whose cause was not the reader's address, so that it may be sent again
# (`digest send --retry-failed`): GAVE_UP starts one that met 4xx replies until delivery.max_attempts (and, before
# issue 31, one whose relay was down throughout); SENDER_SIDE is in one refused by policy (5.7.x: our reputation, our
# authentication). A reader whose own address was refused (5.1.x, marked bounced) is never among them.
GAVE_UP = "gave up after"
SENDER_SIDE = "refused by policy: a sender-side problem"


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    issue_id: str
    subscriber_id: int
    state: DeliveryState
    attempts: int
    last_reply: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueStatus:
    issue_id: str
    subject: str
    created_at: datetime
    counts: dict[DeliveryState, int]  # every state, zero when none
    problems: tuple[Delivery, ...]  # failed and deferred, with their last replies
    not_theirs: int = 0  # of the failed, those whose cause was not the reader's address (never in the failure rate)

    @property
    def recipients(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True, kw_only=True)
class Outstanding:
    """Who a send of an issue would mail now: exactly what enqueue and the restart rule will hand the workers."""

    new: int  # active subscribers with no delivery of the issue yet
    pending: int  # queued, or in flight when a run died (sent again)
    deferred: int  # waiting for a retry
    done: dict[DeliveryState, int]  # sent, failed and skipped: never mailed again
    retriable: int = 0  # of the failed, those whose cause was not their address (models.GAVE_UP, SENDER_SIDE)

    @property
    def to_send(self) -> int:
        return self.new + self.pending + self.deferred


class ViewKind(StrEnum):
    """What a send does for one recipient, by the reader's own choices."""

    EVERY_THEME = "every-theme"  # the whole issue
    SOME_THEMES = "some-themes"  # the sections of the themes they chose
    NO_POSTS = "no-posts"  # skipped: nothing in the themes they chose
    PAUSED = "paused"  # skipped: paused past today

    @property
    def words(self) -> ViewWords:
        return VIEW_WORDS[self]


@dataclass(frozen=True, slots=True)
class ViewWords:
    """A view kind in words: of one reader (``--recipients``), of a count of readers (the dry run), and as the
    ledger records a reader it skipped."""

    reader: str  # with {themes} (the themes they get) and {until} (the day their pause ends)
    counted: str  # after "of which N"; "" for the whole issue, not counted apart
    recorded: str  # the ledger's reason, with {until}; "" for a reader who gets a message

    def of_reader(self, themes: Iterable[str] = (), until: date | None = None) -> str:
        return self.reader.format(themes=", ".join(themes), until=until)

    def recorded_for(self, until: date | None) -> str:
        return self.recorded.format(until=until)


# Each kind's words, once: the CLI and the ledger each kept their own (three places). A test holds every member here.
VIEW_WORDS: Mapping[ViewKind, ViewWords] = MappingProxyType(
    {
        ViewKind.EVERY_THEME: ViewWords("gets every theme", "", ""),
        ViewKind.SOME_THEMES: ViewWords("gets {themes}", "get only the themes they chose", ""),
        ViewKind.NO_POSTS: ViewWords(
            "skipped: no posts in the themes they chose", "will be skipped: no posts in the themes they chose", "no posts in your themes"
        ),
        ViewKind.PAUSED: ViewWords(
            "skipped: paused until {until}", "will be skipped: they paused their subscription", "paused until {until}"
        ),
    }
)


@dataclass(frozen=True, slots=True)
class RecipientView:
    kind: ViewKind
    sections: frozenset[int] = frozenset()  # the section numbers they get (SOME_THEMES)
    # The post numbers cut from their copy (SOME_THEMES): published before what their last issue covered (issue 35).
    dropped: frozenset[int] = frozenset()
