"""Sources' health: every fetch of a feed or URL source recorded, the entries each has shown remembered, and each
source judged ok, stale or failing from that history (the words: :data:`digest.models.HEALTH_WORDS`).

A build (:mod:`digest.app.issues.build`) hands what it gathered to :func:`record_fetches`, which stores each fetch and
returns the gathering with what the memory says of it:

- **A reissued entry is not news.** An entry whose GUID changed but whose address and title its source showed
  before the window began is an old post its feed re-published (Feedbin #416): the selection leaves it out, saying
  so (``not_new``). One first seen inside the window is still this issue's news, whatever its GUID did since.
- **A late arrival is flagged.** An entry seen for the first time but dated long before the window
  (:data:`LONG_BEFORE`) is reported (an advisory problem: the preview and the build's report show it); it is
  never news, being outside the window.
- **A failing or stale source is said** with each build (an advisory problem), and by ``digest sources``,
  ``digest status`` and the preview.

The rules are pure functions of the history (:func:`judge`), the thresholds the constants below. Sources on disk
(Markdown folders with their own index, :mod:`digest.sources.index`; feed and archive files) are read, not fetched:
they keep no fetch history and are listed as "unknown".
"""

from __future__ import annotations

import hashlib
import itertools
import statistics
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from digest.config import SourceSpec
from digest.issue.selection import normalise_title, normalise_url
from digest.models import Fetch, FetchRecord, Health, Problem, SeenEntry, SourceHealth, Window
from digest.sources import Gathered
from digest.store import KnownEntry, Store

FAILING_AFTER = 3  # fetches failed in a row that make a source "failing" (one or two are a bad moment)
STALE_FACTOR = 4  # no new entry for this many times its usual interval: "stale"
MIN_GAPS = 3  # gaps between entries' dates needed before a usual interval is trusted (fewer: never stale)
RHYTHM_ENTRIES = 30  # the latest entries whose dates give the usual interval (a feed's rhythm changes over years)
LONG_BEFORE = timedelta(days=30)  # an entry first seen now but dated this long before the window: flagged


def entry_key(entry: SeenEntry) -> str:
    """What makes two entries of one source the same post, whatever their GUIDs: address and title, normalised."""
    text = f"{normalise_url(entry.url) if entry.url else ''}\0{normalise_title(entry.title)}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_fetches(store: Store, gathered: Gathered, window: Window | None, now: datetime) -> Gathered:
    """Store each fetch of ``gathered`` at ``now`` and the entries it showed for the first time; returns ``gathered``
    with the reissued posts as ``not_new`` and the late arrivals and worrying sources as advisory problems."""
    not_new = dict(gathered.not_new)
    problems = list(gathered.problems)
    for fetch in gathered.fetches:
        before = store.fetches.history(fetch.source)
        known = store.fetches.known(fetch.source, [entry_key(entry) for entry in fetch.entries])
        new, reissued, late = _sort_entries(fetch, known, window, now, any(record.ok for record in before))
        not_new.update(reissued)
        problems.extend(late)
        record = FetchRecord(
            source=fetch.source,
            kind=fetch.kind,
            at=now,
            error=fetch.error,
            status=fetch.status,
            entries=len(fetch.entries),
            new_entries=len(new),
            size=fetch.size,
            seconds=round(fetch.seconds, 3),
        )
        store.fetches.record(record, new)
        judged = judged_from_store(store, fetch.source, fetch.kind, now, [record, *before])
        if judged.worrying:
            problems.append(Problem(where=fetch.source, message=f"source {judged.health}: {judged.reason}", advisory=True))
    return replace(gathered, not_new=not_new, problems=tuple(problems))


def _sort_entries(
    fetch: Fetch, known: dict[str, KnownEntry], window: Window | None, now: datetime, had_history: bool
) -> tuple[list[KnownEntry], dict[str, str], list[Problem]]:
    """The entries of one fetch sorted: new ones (to remember), reissued posts (id → why not news), late arrivals."""
    new: dict[str, KnownEntry] = {}
    reissued: dict[str, str] = {}
    late: list[Problem] = []
    for entry in fetch.entries:
        key = entry_key(entry)
        before = known.get(key)
        if before is None and key not in new:
            new[key] = KnownEntry(key=key, guid=entry.guid, post_id=entry.post_id, first_seen=now, published=entry.published)
            # A source's first fetch shows its whole back catalogue: only later arrivals are news to flag.
            if had_history and window is not None and entry.published < window.start - LONG_BEFORE:
                late.append(
                    Problem(
                        where=fetch.source,
                        message=f'"{entry.title}" appeared for the first time but is dated {entry.published:%Y-%m-%d}, '
                        "long before the window: flagged, not sent as news",
                        advisory=True,
                    )
                )
        elif before is not None and _reissued(entry, before, window):
            reissued[entry.post_id] = (
                f"seen before: first seen {before.first_seen:%Y-%m-%d} under GUID {before.guid}, "
                f"now under GUID {entry.guid} (its feed reissued it): an old post, not news"
            )
    return list(new.values()), reissued, late


def _reissued(entry: SeenEntry, before: KnownEntry, window: Window | None) -> bool:
    """The same address and title under another GUID, first seen before the window began (or as it began: the
    build of the issue before, at the end of its window), or first dated before it: an old post republished.

    The date counts too because the issue before is seldom built as its window ends: a weekly issue built on Friday
    for the calendar week to Monday, or a scheduler a few seconds later than last week, saw the post after this
    window began, though the post belonged to an earlier window."""
    changed = entry.guid is not None and before.guid is not None and entry.guid != before.guid
    return changed and window is not None and (before.first_seen <= window.start or before.published < window.start)


def judged_from_store(store: Store, source: str, kind: str, now: datetime, history: Sequence[FetchRecord] | None = None) -> SourceHealth:
    """:func:`judge` on what the store holds of ``source`` (``history``: its fetches, when already read)."""
    fetches = store.fetches.history(source) if history is None else history
    return judge(source, kind, fetches, store.fetches.dates(source, now, RHYTHM_ENTRIES), store.fetches.count(source), now)


def judge(source: str, kind: str, history: Sequence[FetchRecord], dates: Sequence[datetime], known: int, now: datetime) -> SourceHealth:
    """A source's health from its fetches (the latest first) and the dates of its latest entries (oldest first, up to
    :data:`RHYTHM_ENTRIES`; ``known``: how many it has shown): failing after :data:`FAILING_AFTER` failed fetches in a
    row, stale when its newest entry is older than :data:`STALE_FACTOR` times its usual interval, else ok; unknown
    with no fetch recorded."""
    failures = next((n for n, record in enumerate(history) if record.ok), len(history))
    last_new = next((record.at for record in history if record.new_entries), None)
    health, reason = _verdict(history, failures, dates, now)
    return SourceHealth(
        source=source,
        kind=kind,
        health=health,
        reason=reason,
        last=history[0] if history else None,
        fetches=len(history),
        failures_in_row=failures,
        entries_known=known,
        last_new_at=last_new,
    )


def _verdict(history: Sequence[FetchRecord], failures: int, dates: Sequence[datetime], now: datetime) -> tuple[Health, str]:
    if not history:
        return Health.UNKNOWN, "no fetch recorded yet"
    last = history[0]
    if failures >= FAILING_AFTER:
        success = next((record.at for record in history if record.ok), None)
        since = f"last success {success:%Y-%m-%d %H:%M} UTC" if success else "no success recorded"
        return Health.FAILING, f"{failures} fetches in a row failed, the last at {last.at:%Y-%m-%d %H:%M} UTC: {last.error}; {since}"
    usual = usual_interval(dates)
    if usual is not None and dates and now - dates[-1] > STALE_FACTOR * usual:
        quiet = now - dates[-1]
        return Health.STALE, f"no new entry since {dates[-1]:%Y-%m-%d} ({span(quiet)}); it usually has one every {span(usual)}"
    if failures:
        return Health.OK, f"the last fetch failed ({last.error}); {failures} in a row, failing at {FAILING_AFTER}"
    return Health.OK, f"last fetch {last.at:%Y-%m-%d %H:%M} UTC: {last.entries} entries, {last.new_entries} new"


def usual_interval(dates: Sequence[datetime]) -> timedelta | None:
    """The median gap between consecutive entries' dates (sorted); None with fewer than :data:`MIN_GAPS` gaps."""
    gaps = [later - earlier for earlier, later in itertools.pairwise(dates) if later > earlier]
    if len(gaps) < MIN_GAPS:
        return None
    return timedelta(seconds=statistics.median(gap.total_seconds() for gap in gaps))


def span(length: timedelta) -> str:
    """A length of time in the unit a person reads it in: ``5 hours``, ``12 days``."""
    hours = length.total_seconds() / 3600
    if hours < 48:
        return f"{hours:.0f} hour{'s' if round(hours) != 1 else ''}"
    return f"{hours / 24:.0f} days"


def source_health(specs: Sequence[SourceSpec], store: Store, now: datetime) -> tuple[SourceHealth, ...]:
    """Each configured source with its health, in the config's order (a source that keeps no fetch history, a
    file or folder on disk, is unknown, saying so)."""
    judged: list[SourceHealth] = []
    for spec in specs:
        if not spec.is_url:
            judged.append(
                SourceHealth(
                    source=spec.location,
                    kind=spec.kind,
                    health=Health.UNKNOWN,
                    reason="read from disk on every build: no fetch history kept",
                    last=None,
                    fetches=0,
                    failures_in_row=0,
                    entries_known=0,
                    last_new_at=None,
                )
            )
            continue
        judged.append(judged_from_store(store, spec.location, spec.kind, now))
    return tuple(judged)
