"""The weekly send's slots: run one, catch up after a restart, make the draft; exactly once, on time.

APScheduler calls these through :mod:`digest.cli.jobs`; ``digest schedule --once`` directly.

Every decision is a function of a scheduled *slot* (a fire time of the cron
trigger, in the schedule's time zone) and of ``now``, both passed in, so the
tests drive it with a controllable clock and never sleep.

- The issue is built for the window that ends at the slot, not at the
  moment the code runs, so a late run sends the same issue as an on-time one.
- Issue ids come from the window and the ledger is unique per issue and
  subscriber, so firing twice sends nothing twice.
- APScheduler records the next run before the job finishes, so it does not
  retry a crash by itself: at start-up :meth:`Scheduler.catch_up` looks at the
  latest slot, resumes it if it is unfinished and within the grace period,
  and records it as missed otherwise.
- One runner: ``digest schedule`` holds the "scheduler" lease; a second copy
  exits saying who holds it. The ledger stays the last guard.
- A slot whose window has fewer than ``schedule.min_posts`` posts is skipped
  and recorded, so no empty email goes out.
- The cron trigger works in local time, so 09:00 stays 09:00 across the
  spring and autumn clock changes, and fires once.

Slot outcomes (``schedule_runs.state``): running, sent, partial (some
recipients still deferred or the run was stopped: resumed on the next
start-up within grace), skipped, missed, failed (refused by the checks or
an overlapping issue, or an error), abandoned (partial, and found past its
grace period: the reason names the command that finishes it), not-approved
(``schedule.approval = "required"`` and no valid approval: see
:mod:`digest.app.approval`; retried at the next start-up within grace),
waiting (our side failed: the relay cannot be reached, refuses our login or
sender; every reader still pending: retried every ``RETRY_MINUTES`` within
grace, then failed for that reason).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from digest.app.approval import make_draft, send_gate, tell_not_approved
from digest.app.issues import Newsletter, Target
from digest.app.status import SCHEDULER_LEASE
from digest.config import Publication, Scope
from digest.issue.slots import edition_slots, edition_window, latest_slot, make_trigger, next_fire_times, next_slot
from digest.mail.backends import Backend, get_backend
from digest.models import WARMUP_HELD, DeliveryState, RunEnd, SlotState, Window
from digest.models.errors import DigestError
from digest.send.leases import Held, hold_lease
from digest.store import Store

log = logging.getLogger("digest.schedule")
# Slots that need nothing more: a partial slot past its grace period is abandoned, left to an operator.
FINAL = frozenset({SlotState.SENT, SlotState.SKIPPED, SlotState.MISSED, SlotState.ABANDONED})
RETRY_MINUTES = 5  # how often `digest schedule` tries again a slot our side held up (SlotState.WAITING)
# The doctor's checks (DNS, the public app, the mailbox) run once a day, counted from the last stored run, so a
# scheduler restarted every day still runs them; a first run waits SETUP_CHECK_DELAY after start, so a restart
# loop (or a test) asks nothing of DNS.
SETUP_CHECK_EVERY = timedelta(hours=24)
SETUP_CHECK_DELAY = timedelta(minutes=10)


def next_run(newsletter: Publication, now: datetime) -> datetime | None:
    """``newsletter``'s next slot after ``now`` (its schedule's cron in its zone): what ``digest newsletters list``
    and ``digest status`` show; None when the cron never fires again."""
    return next_slot(make_trigger(newsletter), now)


@dataclass(frozen=True, slots=True)
class EditionSlot:
    """One slot of one edition, and the window its issue covers."""

    edition: str
    slot: datetime
    window: Window


def edition_slots_after(newsletter: Publication, now: datetime, count: int = 5) -> list[EditionSlot]:
    """Each edition's next ``count`` slots at or after ``now``, all in time order (an edition's name breaking a tie):
    what `digest schedule` fires once issues are stored per edition (the store step of issue 35)."""
    zone = newsletter.schedule_zone
    found = [
        EditionSlot(edition.name, slot, edition_window(edition, slot, newsletter.timezone))
        for edition in newsletter.editions
        for slot in edition_slots(edition, zone, now, count)
    ]
    return sorted(found, key=lambda item: (item.slot, item.edition))


@dataclass(frozen=True, slots=True)
class SlotOutcome:
    slot: datetime
    state: SlotState
    issue_id: str | None
    reason: str | None = None


class Scheduler:
    """Runs slots. ``backend_factory`` lets tests and the CLI choose where mail goes."""

    def __init__(
        self,
        settings: Scope,
        store: Store,
        *,
        stop: threading.Event | None = None,
        backend_factory: Callable[[], Backend] | None = None,
        edition: str | None = None,
        newsletters: Sequence[Scope] = (),
    ) -> None:
        self.settings = settings
        # Every newsletter of the install: the bounce mailbox is the install's, and a bounce names any of them.
        self.newsletters = tuple(newsletters)
        # The edition whose slots it runs (None: the default): `digest schedule` holds one Scheduler per edition, each
        # with its own runs, issues and readers (the store of the edition).
        self.newsletter = Newsletter(settings, store, edition)
        first = settings.newsletter.editions[0].name
        # What its jobs are stored under: the newsletter's slug for the first edition (the ids of before editions, so
        # a running install's job store keeps working), "<slug>:<edition>" for another.
        self.key = (
            settings.newsletter.slug
            if self.newsletter.edition.name == first
            else f"{settings.newsletter.slug}:{self.newsletter.edition.name}"
        )
        self.first = self.newsletter.edition.name == first
        self.store = store.of_edition(self.newsletter.edition.name)  # its runs, issues and readers (the rest is shared)
        self.stop = stop or threading.Event()
        self.trigger = self.newsletter.trigger
        self.backend_factory = backend_factory or (lambda: get_backend(settings.install))
        self.lock = threading.Lock()  # one slot at a time in this process (APScheduler's max_instances is per job)

    def fire_times(self, now: datetime, count: int) -> list[datetime]:
        """The next ``count`` slots after ``now``."""
        return next_fire_times(self.trigger, now, count)

    def running(self, lost: threading.Event) -> AbstractContextManager[Held]:
        """Hold the scheduler's lease while the block runs (``lost`` is set if another process takes it);
        raises LeaseHeldError naming the scheduler already running."""
        return hold_lease(self.store, SCHEDULER_LEASE, lost, "the scheduler")

    def run_slot(self, slot: datetime, now: datetime) -> SlotOutcome:
        """Build (or load the frozen) issue for the window ending at ``slot`` and send it through the ledger."""
        with self.lock:
            return self._run_slot(slot, now)

    def _run_slot(self, slot: datetime, now: datetime) -> SlotOutcome:
        target = self.newsletter.slot_target(slot)
        wanted = target.issue_id
        self.store.runs.record(slot, SlotState.RUNNING, issue_id=wanted, finished=False)
        log.info("slot %s: issue %s for %s – %s", slot.isoformat(), wanted, target.window.start.isoformat(), target.window.end.isoformat())
        try:
            # Resuming a frozen issue needs no fresh build to compare with.
            plan = self.newsletter.plan_send(target, now, compare=False)
            if plan.built is not None and not plan.frozen:
                for problem in plan.built.digest.problems:
                    log.warning("slot %s: %s", slot.isoformat(), problem)
                # The edition's own min_posts (the default edition's is [schedule]'s): an empty day or week is skipped.
                if len(plan.issue.post_ids) < self.newsletter.edition.min_posts:
                    reason = (
                        f"{len(plan.issue.post_ids)} post(s) in the window, fewer than schedule.min_posts = "
                        f"{self.newsletter.edition.min_posts}; no email sent"
                    )
                    return self._finish(slot, SlotState.SKIPPED, wanted, reason)
            if plan.refusal is not None:
                return self._finish(slot, SlotState.FAILED, wanted, f"refused: {plan.refusal.why}")
            approval = send_gate(self.newsletter, target)  # None: not required; a send under way was let through when it began
            if approval is not None and not approval.approved:
                if plan.built is not None and not plan.frozen:
                    # No draft was made (the scheduler was not running then): store this build as the draft,
                    # so the `digest approve --issue` the editors are told to run finds it.
                    self.newsletter.freeze(plan.built)
                return self._finish(slot, SlotState.NOT_APPROVED, wanted, self._told_not_approved(target, approval.reason, now))
            report = self.newsletter.send(plan, now, backend=self.backend_factory(), stop=self.stop)
        except DigestError as exc:
            return self._finish(slot, SlotState.FAILED, wanted, str(exc))
        if report is None:
            if any(plan.outstanding.done.values()):
                return self._finish(slot, SlotState.SENT, wanted, plan.why_nothing_to_send())
            return self._finish(slot, SlotState.SKIPPED, wanted, f"{plan.why_nothing_to_send()}; nothing sent or stored")
        counts = report.counts
        summary = (
            f"{counts[DeliveryState.SENT]} sent, {counts[DeliveryState.FAILED]} failed, {counts[DeliveryState.DEFERRED]} deferred, "
            f"{counts[DeliveryState.PENDING] + counts[DeliveryState.SENDING]} pending"
        )
        if report.complete:
            return self._finish(slot, SlotState.SENT, wanted, summary)
        if report.held:  # the warm-up's cap for today: the retry tick sends the rest on the next day, past grace too
            return self._finish(slot, SlotState.WAITING, wanted, f"{summary} ({report.reason}; `digest schedule` sends them then)")
        if report.end is RunEnd.OURS:  # nobody to blame but our side: tried again at the next retry tick
            return self._finish(
                slot, SlotState.WAITING, wanted, f"{summary} ({report.reason}; `digest schedule` tries again every {RETRY_MINUTES} minutes)"
            )
        why = report.reason or ("stopped" if report.end is RunEnd.STOPPED else "recipients deferred")
        return self._finish(slot, SlotState.PARTIAL, wanted, f"{summary} ({why})")

    def draft_due(self, now: datetime) -> str | None:
        """With approval required: make the coming slot's draft once it is ``draft_hours`` away; its id, or None."""
        options = self.settings.newsletter.schedule
        if not options.approval_required:
            return None
        slot = next_slot(self.trigger, now)
        if slot is None or now < slot - timedelta(hours=options.draft_hours):
            return None
        try:
            drafted = make_draft(self.newsletter, self.newsletter.slot_target(slot), now, self.backend_factory())
        except DigestError as exc:
            log.error("slot %s: the draft could not be made: %s", slot.isoformat(), exc)
            return None
        if drafted is not None:
            log.info(
                "slot %s: draft %s frozen and mailed to %d editor(s)", slot.isoformat(), drafted.id, len(self.settings.newsletter.editors)
            )
        return drafted.id if drafted else None

    def _told_not_approved(self, target: Target, reason: str, now: datetime) -> str:
        """The slot's reason once the editors are told its issue waits for approval. A notice our relay cannot take
        (down, refusing) is said in that reason: the slot stays not-approved, which is what happened to the issue, and
        is never recorded as failed for our side's trouble."""
        try:
            tell_not_approved(self.newsletter, target, reason, now, self.backend_factory())
        except DigestError as exc:
            log.warning("slot of %s: the editors' not-approved notice could not be mailed: %s", target.issue_id, exc)
            return f"{reason}; the editors' notice could not be mailed: {exc}"
        return reason

    def _finish(self, slot: datetime, state: SlotState, wanted: str | None, reason: str) -> SlotOutcome:
        self.store.runs.record(slot, state, issue_id=wanted, reason=reason)
        log.info(
            "slot %s: %s: %s",
            slot.isoformat(),
            state,
            reason,
            extra={"fields": {"slot": slot.isoformat(), "state": str(state), "issue": wanted}},
        )
        return SlotOutcome(slot, state, wanted, reason)

    def catch_up(self, now: datetime) -> SlotOutcome | None:
        """Resume or record the latest slot at or before ``now``; None when it needs nothing.

        Unfinished (never run, running when the process died, or partial)
        and within ``schedule.misfire_grace`` of its fire time: run it again
        (the ledger sends only what is missing). Beyond the grace period: a
        slot never run is recorded as missed; one left unfinished is recorded
        as abandoned, with the command that finishes it.
        """
        slot = latest_slot(self.trigger, now)
        if slot is None:
            return None
        run = self.store.runs.get(slot)
        if run is not None and run.state in FINAL:
            return None
        late = (now - slot).total_seconds()
        grace = self.settings.newsletter.schedule.misfire_grace
        if late <= grace:
            if late > 1:
                log.info("slot %s: catching up, %.0f s late (grace %.0f s)", slot.isoformat(), late, grace)
            return self.run_slot(slot, now)
        if run is None:
            return self._record_unrun(slot, late, grace)
        if run.state is SlotState.WAITING and WARMUP_HELD in (run.reason or "") and self.settings.install.delivery.warmup.enabled:
            return self.run_slot(slot, now)  # held back by the warm-up, not late: each day sends that day's share
        if run.state is SlotState.WAITING:
            reason = f"{run.reason}; not tried again: {late / 3600:.1f} h late, beyond the grace period"
            return self._finish(slot, SlotState.FAILED, run.issue_id, reason)
        # `digest status` names the command that finishes an abandoned slot's issue.
        reason = f"{run.reason or run.state}; not resumed: {late / 3600:.1f} h late, beyond the grace period"
        return self._finish(slot, SlotState.ABANDONED, run.issue_id, reason)

    def retry_waiting(self, now: datetime) -> SlotOutcome | None:
        """The retry tick: the latest slot, when our side held it up (waiting), is run again within its grace period
        and recorded failed past it (:meth:`catch_up`); None when it is not waiting."""
        slot = latest_slot(self.trigger, now)
        run = self.store.runs.get(slot) if slot is not None else None
        if run is None or run.state is not SlotState.WAITING:
            return None
        return self.catch_up(now)

    def _record_unrun(self, slot: datetime, late: float, grace: float) -> SlotOutcome:
        """A slot past its grace period that the scheduler never ran: missed, unless an operator sent its issue by hand."""
        wanted = self.newsletter.slot_target(slot).issue_id
        if self.store.ledger.has_started(wanted):
            outstanding = self.store.ledger.outstanding(wanted)
            if outstanding.pending or outstanding.deferred:
                return self._finish(slot, SlotState.ABANDONED, wanted, "sent in part outside the scheduler")
            return self._finish(slot, SlotState.SENT, wanted, "sent outside the scheduler (digest send)")
        return self._finish(
            slot, SlotState.MISSED, None, f"not run: {late / 3600:.1f} h late, beyond the {grace / 3600:.1f} h grace period"
        )

    def next_setup_check(self, now: datetime) -> datetime:
        """When the doctor's checks are next due: a day after the last stored run, never sooner than
        SETUP_CHECK_DELAY from ``now``."""
        latest = self.store.checks.latest()
        due = latest.checked_at + SETUP_CHECK_EVERY if latest is not None else now
        return max(due, now + SETUP_CHECK_DELAY)

    def check_setup(self, now: datetime) -> None:
        """The daily pass: what is past its retention pruned, then the doctor's checks, stored for ``digest status``;
        each failure logged with its fix."""
        from digest.app.doctor import diagnose

        self.prune_old(now)
        try:
            report = diagnose(self.settings, now, self.store)
        except DigestError as exc:  # the store: tried again tomorrow
            log.error("doctor: %s", exc)
            return
        for check in report.checks:
            if check.failed:
                log.error("doctor: %s: %s (fix: %s)", check.name, check.detail, check.fix)
        log.info("doctor: %d checks, %d failed", len(report.checks), sum(check.failed for check in report.checks))

    def prune_old(self, now: datetime) -> None:
        """Delete the delivered webhook events and the audit log's lines past [retention]; a failure is logged and
        tried again tomorrow."""
        from digest.app.retention import prune

        try:
            done = prune(self.store, self.settings.install.retention, now)
        except DigestError as exc:
            log.error("retention: %s", exc)
            return
        if done.events or done.audit:
            log.info("retention: %d delivered webhook event(s) and %d audit line(s) pruned", done.events, done.audit)

    def deliver_webhooks(self, now: datetime) -> None:
        """One webhook delivery pass; a failure is logged and the next tick goes on."""
        import os

        from digest.app.webhooks import deliver, private_allowed

        try:
            done = deliver(self.store, now, allow_private=private_allowed(os.environ))
        except DigestError as exc:
            log.error("webhooks: %s", exc)
            return
        if done.delivered or done.failed:
            log.info("webhooks: %d delivered, %d failed (retried later)", done.delivered, done.failed)

    def fetch_bounces(self) -> None:
        """Read the bounce mailbox once; a failure is logged and tried again at the next tick."""
        from digest.app.bounces import fetch_mailbox

        try:
            report = fetch_mailbox(self.settings, self.store, self.newsletters)
        except DigestError as exc:
            log.error("bounces: %s", exc)
            return
        for uid, outcome in report.outcomes:
            log.info("bounces: uid %s: %s", uid, outcome.describe())
