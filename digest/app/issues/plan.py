"""Planning a send: everything it will do, decided before anything is sent or stored, and why the real
send would refuse, first reason first: so a dry run says exactly what the send would say."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from digest.app.issues.build import Building, Built
from digest.app.issues.freeze import Drift, Freezing, drift_between
from digest.app.issues.reach import CutsOf, Reach, Recipient, left_out, reach_of
from digest.app.issues.target import Target, no_such_issue
from digest.config import Scope, SourceSpec, leaves_machine, link_problem, missing_secret, smtp_hosts
from digest.models import (
    CHECK_WORDS,
    DeliveryState,
    IssueSummary,
    Layout,
    OnStep,
    Outstanding,
    Refusal,
    RefusalKind,
    StoredIssue,
    SubscriberStatus,
    Window,
)
from digest.models.errors import RefusedError
from digest.send.delivery import KEY_USE_LINKS
from digest.send.variants import recipient_view


@dataclass(frozen=True, slots=True)
class ApprovalState:
    """Whether an issue may be sent with ``schedule.approval = "required"``, and why (or why not); ``overridden_by``:
    who sends it unapproved all the same (the send logs it)."""

    approved: bool
    reason: str
    overridden_by: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SendPlan:
    """Everything a send of one issue will do, decided before anything is sent or stored."""

    target: Target  # what was asked for (a slot, or the issue's own window)
    issue: StoredIssue
    frozen: bool  # stored already: this copy is what goes out
    built: Built | None  # built in this plan (the issue is not frozen, or a comparison was asked for)
    drift: Drift | None  # frozen and different from a fresh build
    outstanding: Outstanding
    errors: tuple[str, ...]  # error-level checks
    overlaps: tuple[IssueSummary, ...]  # other issues that went out whose windows overlap this one's
    refusal: Refusal | None  # why the real send would refuse; None when it would go ahead
    subscribers: dict[SubscriberStatus, int] = field(default_factory=dict)  # the list now, by status
    other_editions: int = 0  # of the active, those who get another edition of the newsletter (not this issue's)
    edition: str = ""  # the edition the issue is of: its readers are whom the send mails
    reach: Reach = field(default_factory=lambda: Reach())  # how the recipients' theme choices and pauses shape the send
    rebuild: bool = False  # the plan replaces the frozen copy with ``built``
    retry_failed: bool = False  # the send puts back the failed deliveries that were not the reader's fault (counted as pending)
    approval: ApprovalState | None = None  # schedule.approval = "required" and no send of it begun: the gate (digest.app.approval)

    def why_nothing_to_send(self, *, had_it: bool = False) -> str:
        """Why a send of it mails nobody, in the words the CLI, the API and the scheduler say it: everyone it is for
        has it (or failed for good) already (``had_it``: they got it while the send was being decided), or nobody
        reads it. When some active subscribers get another edition, "everyone" would be untrue (they were never to
        get it): the edition's readers are meant, and the others are counted."""
        had = had_it or any(self.outstanding.done.values())
        failed = ", or failed" if had and self.outstanding.retriable else ""
        if not self.other_editions:
            return f"every active subscriber has this issue already{failed}" if had else "no active subscribers"
        n = self.other_editions
        others = f"({n} other{'s get' if n > 1 else ' gets'} another edition)"
        if had:
            return f"every active reader of the {self.edition} edition has this issue already{failed} {others}"
        return f"the {self.edition} edition has no active readers {others}"


def error_checks(issue: StoredIssue) -> tuple[str, ...]:
    return tuple(f"{c.code}: {c.message}" for c in issue.checks if c.level == "error")


class Planning(Building, Freezing):
    """The use case that decides a send: the plan the dry run shows and the send carries out."""

    def plan_send(
        self,
        target: Target,
        now: datetime,
        *,
        sources: Sequence[SourceSpec] | None = None,
        rebuild: bool = False,
        force: bool = False,
        allow_overlap: bool = False,
        compare: bool = True,
        on_step: OnStep | None = None,
        retry_failed: bool = False,
    ) -> SendPlan:
        """What a send of ``target`` would do; builds if the issue is not frozen (or to compare), stores nothing.

        ``compare`` builds a frozen issue afresh too, to report how it differs
        (the scheduler resuming a slot skips that). ``retry_failed``: the failed
        deliveries whose cause was not the reader's address go out again (counted
        as pending here; put back by :meth:`send`).
        """
        store = self.store
        stored = store.issues.load(target.issue_id)
        if stored is not None and rebuild:
            self._refuse_rebuild_if_started(target.issue_id)
        built = self.build(target.window, now, sources, on_step) if stored is None or rebuild or compare else None
        replacing = stored is not None and rebuild
        issue = built.issue if built is not None and (stored is None or replacing) else stored
        assert issue is not None
        drift = drift_between(stored, built.digest, built.rendered) if stored is not None and built is not None and not replacing else None
        errors = error_checks(issue)
        overlaps = tuple(store.issues.overlapping(issue.window_start, issue.window_end, excluding=issue.id))
        refusal = self._refusal(issue, built, errors, overlaps, force=force, allow_overlap=allow_overlap)
        outstanding = store.ledger.outstanding(issue.id)
        if retry_failed:  # those failed for a reason not theirs count as to send, no longer as done
            done = outstanding.done | {DeliveryState.FAILED: outstanding.done[DeliveryState.FAILED] - outstanding.retriable}
            outstanding = replace(outstanding, pending=outstanding.pending + outstanding.retriable, retriable=0, done=done)
        return SendPlan(
            target=target,
            issue=issue,
            frozen=stored is not None and not replacing,
            built=built,
            drift=drift if drift else None,
            outstanding=outstanding,
            retry_failed=retry_failed,
            reach=reach_of(
                issue,
                store.ledger.choices(issue.id),
                now.astimezone(self.settings.newsletter.timezone).date(),
                self.settings.newsletter.key_of,
            ),
            errors=errors,
            overlaps=overlaps,
            refusal=refusal,
            subscribers=store.subscribers.counts(),
            other_editions=store.subscribers.active_elsewhere(self.edition.name, self.settings.newsletter.editions[0].name),
            edition=self.edition.name,
            rebuild=replacing,
        )

    def _refusal(
        self,
        issue: StoredIssue,
        built: Built | None,
        errors: tuple[str, ...],
        overlaps: tuple[IssueSummary, ...],
        *,
        force: bool,
        allow_overlap: bool,
    ) -> Refusal | None:
        """Why the real send would refuse, first reason first, each naming its fix; None when it would go ahead."""
        if overlaps and not allow_overlap:
            other = overlaps[0]
            return Refusal(
                RefusalKind.OVERLAP,
                f"the window of {issue.id} overlaps issue {other.id} ({other.subject!r}), which has deliveries already: "
                "sending both would mail the same posts twice",
                issue_id=issue.id,
                other_issue=other.id,
            )
        if built is not None and issue is built.issue and built.digest.failed_sources and not force:
            failed = "; ".join(str(problem) for problem in built.digest.failed_sources)
            return Refusal(
                RefusalKind.SOURCE_FAILED,
                f"a source yielded nothing ({failed}): the issue would go out without its posts",
                issue_id=issue.id,
            )
        if not issue.post_ids and not force:  # an empty window (a daily's quiet day) is not a fault to fix
            return Refusal(RefusalKind.EMPTY_ISSUE, "the issue has no posts: there is nothing to send", issue_id=issue.id)
        if errors and not force:
            return Refusal(RefusalKind.ERROR_CHECKS, "the issue has error-level checks (" + "; ".join(errors) + ")", issue_id=issue.id)
        if not self.settings.install.secret_key:
            return Refusal(RefusalKind.NO_KEY, missing_secret(KEY_USE_LINKS), issue_id=issue.id)
        if (problem := link_problem(self.settings.install)) is not None:
            return Refusal(RefusalKind.PRIVATE_LINKS, problem, issue_id=issue.id)
        from digest.app.doctor.local import setup_gate  # the doctor (dnspython, HTTP) loads only when a plan is made

        if not force and (gate := setup_gate(self.settings)):  # the one gate of every send: CLI, scheduler, API
            checks = "; ".join(f"{CHECK_WORDS[check.name]}: {check.detail}" for check in gate)
            return Refusal(RefusalKind.SETUP_FAILED, f"{len(gate)} check(s) of the setup failed ({checks})", issue_id=issue.id)
        if needs_postal_address(self.settings):
            return Refusal(
                RefusalKind.NO_POSTAL_ADDRESS,
                f"newsletter.address is empty, and this send goes over SMTP to {smtp_hosts(self.settings.install)}: bulk mail must carry "
                "the sender's postal address (the US CAN-SPAM act; many providers check it). Set newsletter.address in "
                f"{self.settings.install.config_path or 'the config'}",
                issue_id=issue.id,
            )
        return None

    def plan_stored(
        self,
        wanted: str,
        now: datetime,
        *,
        force: bool = False,
        allow_overlap: bool = False,
        compare: bool = True,
        retry_failed: bool = False,
    ) -> SendPlan:
        """The plan for a stored issue by id (``send --issue``); raises RefusedError if there is none.

        ``compare`` False skips building it afresh to report drift (a worker joining a send under way)."""
        stored = self.store.issues.load(wanted)
        if stored is None:
            raise RefusedError(no_such_issue(self.store, [wanted]) or Refusal(RefusalKind.NO_SUCH_ISSUE, f"no stored issue {wanted!r}"))
        window = Window(start=stored.window_start, end=stored.window_end)
        target = Target(window=window, issue_id=wanted, slot=None)
        return self.plan_send(target, now, force=force, allow_overlap=allow_overlap, compare=compare, retry_failed=retry_failed)

    def recipients(self, plan: SendPlan, now: datetime) -> list[Recipient]:
        """Each recipient a send of the plan would mail now, by address, and what they get (``send --recipients``)."""
        layout = Layout.load(plan.issue.layout, self.settings.newsletter.key_of)
        today = now.astimezone(self.settings.newsletter.timezone).date()
        found = []
        cuts = CutsOf(layout)
        for email, themes, paused_until, covered_until in self.store.ledger.would_mail(plan.issue.id):
            chose = recipient_view(layout, themes, paused_until, today)
            view = recipient_view(layout, themes, paused_until, today, cuts(covered_until))
            sections = tuple(layout.themes[number - 1] for number in sorted(chose.sections)) if layout is not None else ()
            cut = left_out(layout, chose, view)
            found.append(Recipient(email=email, view=view, themes=sections, paused_until=paused_until, chose=chose.kind, cut=cut))
        return found


def needs_postal_address(settings: Scope) -> bool:
    """True when a send would leave this machine without a postal address (CAN-SPAM)."""
    return not settings.newsletter.address and leaves_machine(settings.install)
