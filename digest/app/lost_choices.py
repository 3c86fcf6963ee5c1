"""Readers' theme choices that no theme of the config has any more (a theme renamed without its key, or removed):
who they strand, said in ``digest status`` and logged whenever the store is opened, so a renamed theme never quietly
leaves its readers without mail."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

from digest.app.hints import scope_hint
from digest.config import Scope
from digest.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LostChoice:
    """A theme key readers chose that no theme has any more (renamed without its key, or removed)."""

    key: str
    readers: int  # subscribers (active or awaiting confirmation) whose choice holds it
    stranded: int  # of whom nothing else they chose is a theme now: no issue reaches them
    some: tuple[str, ...]  # a few of their addresses

    listing: str  # the command that lists them all

    def __str__(self) -> str:
        stranded = f", {self.stranded} of them with no other theme left (they get no issue)" if self.stranded else ""
        more = ", …" if self.readers > len(self.some) else ""
        return (
            f'theme key "{self.key}" belongs to no theme now: {self.readers} reader(s) chose it ({", ".join(self.some)}{more}){stranded}; '
            f'give the theme it became key = "{self.key}" in the config (all of them: {self.listing})'
        )


LOST_EXAMPLES = 3  # addresses named per lost key: enough to recognise, few enough for a log line


def lost_choices(settings: Scope, store: Store) -> tuple[LostChoice, ...]:
    """The keys stored in readers' choices that no theme of the config has, with whom they affect. One grouped
    read of the list (its distinct choices), then a few addresses per lost key."""
    known = settings.newsletter.theme_keys
    readers: Counter[str] = Counter()
    stranded: Counter[str] = Counter()
    holders: dict[str, list[str]] = {}
    for stored, keys, count in store.subscribers.theme_choices():
        lost = [key for key in keys if key not in known]
        for key in lost:
            readers[key] += count
            stranded[key] += count if len(lost) == len(keys) else 0
            holders.setdefault(key, []).append(stored)
    return tuple(
        LostChoice(
            key,
            readers[key],
            stranded[key],
            store.subscribers.addresses_choosing(holders[key], LOST_EXAMPLES),
            scope_hint(settings, "subscribers", "list", "--theme", key),
        )
        for key in readers
    )


def warn_lost_choices(settings: Scope, store: Store) -> None:
    """Log each lost choice as a warning: at load, so a renamed theme never quietly leaves its readers without mail."""
    for lost in lost_choices(settings, store):
        log.warning("%s", lost)
