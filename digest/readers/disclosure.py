"""Which click counts may be shown without telling what one reader did: a floor (k-anonymity) and its closure.

A count is about the readers whose copy had the link: a theme's clicks are
about those who chose that theme. One click on a theme one reader chose
says that reader clicked; nought says they did not. So a figure is shown
only when it counts at least :data:`CLICK_FLOOR` clicks and at least
:data:`CLICK_FLOOR` readers could have made them (its reach, where known).

Hiding it is not enough when a total is shown: the issue's clicks minus
the themes shown give the one theme hidden. So, for each shown total and
the figures it adds up (the issue's themes, outlets and posts; a theme's
posts; an outlet's posts), more are hidden, smallest first, until what
is hidden there is nothing, or at least two figures together counting at
least the floor. A total that is hidden hides its parts.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

# Five: the smallest group in which one reader's clicks are not plain, and the common floor of published
# small-count rules (statistics offices suppress cells under 5 or 10). The same number as the click cap per
# address (digest.readers.clicks.CLICKS_PER_ADDRESS), by no necessity: one address can fill a figure of five.
CLICK_FLOOR = 5

Cell = TypeVar("Cell", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Total(Generic[Cell]):
    """A figure that is the sum of ``parts``: ``of`` names it (None: the issue's own total, always shown)."""

    of: Cell | None
    parts: Sequence[Cell]


def reach_of(choices: Iterable[tuple[Collection[str] | None, int]], themes: Collection[str]) -> int:
    """How many readers' copies had any of ``themes``, from (a choice of themes, how many made it); a choice of
    None is every theme."""
    return sum(count for chosen, count in choices if chosen is None or any(theme in chosen for theme in themes))


def hidden(counts: Mapping[Cell, int], totals: Sequence[Total[Cell]], reach: Mapping[Cell, int] | None = None) -> frozenset[Cell]:
    """The figures of ``counts`` not to show: below the floor, reaching fewer than it (``reach``: readers
    whose copy had each, where known), and those that would let a shown total tell one of them."""
    reach = reach or {}
    secret = {cell for cell, count in counts.items() if count < CLICK_FLOOR or reach.get(cell, CLICK_FLOOR) < CLICK_FLOOR}
    changed = True
    while changed:  # each pass hides more or ends: at most one pass per figure
        changed = False
        for total in totals:
            more = _more_to_hide(total, counts, secret)
            if more:
                secret |= more
                changed = True
    return frozenset(secret)


def _more_to_hide(total: Total[Cell], counts: Mapping[Cell, int], secret: Collection[Cell]) -> set[Cell]:
    shown = [part for part in total.parts if part not in secret]
    if total.of is not None and total.of in secret:
        return set(shown)
    covered = [part for part in total.parts if part in secret]
    if not covered or not shown or (len(covered) >= 2 and sum(counts[part] for part in covered) >= CLICK_FLOOR):
        return set()
    return {min(shown, key=lambda part: counts[part])}


__all__ = ["CLICK_FLOOR", "Total", "hidden", "reach_of"]
