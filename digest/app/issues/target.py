"""Which issue a request means: a schedule slot's (the latest at or before a moment, or the coming one), an
explicit window, or a stored issue by id; an unknown id is refused listing the ids a person most likely meant."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from digest.app.issues.core import NewsletterCore
from digest.issue.selection import at_moment, parse_when, window_between
from digest.issue.slots import edition_window, latest_slot, next_slot
from digest.models import Refusal, RefusalKind, Window
from digest.models.errors import WindowError
from digest.store import Store


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowRequest:
    """What a person asked for: an explicit window, a moment to act as of, or neither (now)."""

    since: str | None = None
    until: str | None = None
    as_of: str | None = None
    upcoming: bool = False  # the coming slot's issue (the preview) rather than the latest one's


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """The issue a request resolves to: its window, its id, and the slot it belongs to (None for an explicit window)."""

    window: Window
    issue_id: str
    slot: datetime | None


class Targeting(NewsletterCore):
    """The use case that names the issue: every other one starts from the :class:`Target` it returns."""

    def target(self, request: WindowRequest, now: datetime) -> Target:
        """The issue a request means; raises WindowError saying what is wrong with it."""
        settings = self.settings
        zone = settings.newsletter.timezone
        if request.as_of and (request.since or request.until):
            raise WindowError("as-of names a schedule slot, and since and until a window of your own: give one or the other")
        if bool(request.since) != bool(request.until):
            raise WindowError("a window of your own needs both its since and its until")
        if request.since and request.until:
            window = window_between(parse_when(request.since), parse_when(request.until), zone)
            return Target(window=window, issue_id=self.issue_id_of(window), slot=None)
        at = at_moment(parse_when(request.as_of), zone) if request.as_of else now
        slot = next_slot(self.trigger, at) if request.upcoming else latest_slot(self.trigger, at)
        if slot is None:
            raise WindowError(f"the schedule {self.edition.slot.text!r} has no fire time near {at.isoformat()}")
        return self.slot_target(slot)

    def slot_target(self, slot: datetime) -> Target:
        """The issue of one schedule slot: its window ends at the slot."""
        settings = self.settings
        # "since-last": the end of the last issue of this edition that went out (the store is this edition's).
        last_end = self.store.issues.last_window_end(slot) if self.edition.window.mode == "since-last" else None
        window = edition_window(self.edition, slot, settings.newsletter.timezone, last_end)
        return Target(window=window, issue_id=self.issue_id_of(window), slot=slot)

    def stored_target(self, wanted: str) -> Target | None:
        """The target of a stored issue by id (its own window, no slot), or None if there is none."""
        stored = self.store.issues.load(wanted)
        if stored is None:
            return None
        return Target(window=Window(start=stored.window_start, end=stored.window_end), issue_id=wanted, slot=None)


RECENT_IDS = 5  # how many stored ids an unknown --issue lists: the ones a person most likely meant


def no_such_issue(store: Store | None, wanted: Sequence[str]) -> Refusal | None:
    """The refusal for the first of ``wanted`` that no stored issue has (``store`` None: no database yet), listing
    the most recent ids to pick from; None when every one is stored. Every command taking an issue id asks this."""
    summaries = store.issues.summaries() if store is not None else []
    known = {summary.id for summary in summaries}
    missing = next((issue for issue in wanted if issue not in known), None)
    if missing is None:
        return None
    every = store.issues.ids_of_every_edition() if store is not None else []  # the ids a person may have meant, any edition
    if not every:
        return Refusal(RefusalKind.NO_SUCH_ISSUE, f"no stored issue {missing!r}: no issue is stored yet", issue_id=missing)
    recent = ", ".join(every[:RECENT_IDS])
    more = f" of {len(every)}" if len(every) > RECENT_IDS else ""
    return Refusal(RefusalKind.NO_SUCH_ISSUE, f"no stored issue {missing!r} (the most recent{more}: {recent})", issue_id=missing)
