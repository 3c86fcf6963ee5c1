"""The stored issues as another system reads them (the HTTP API): the list with each one's deliveries counted, one
issue with its checks and approval, its frozen copy, and an editor's approval; the report and the bounces waiting
for review, as ``digest report`` and ``digest bounces review`` give them.

Nothing here is a rule of its own: each call is the one the CLI makes (:func:`digest.app.approval.approve`,
:func:`digest.app.report.report`, :func:`digest.app.bounces.review`), so the API cannot do what the command would not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from digest.app.approval import approval_state
from digest.app.approval import approve as approve_target
from digest.app.bounces import Waiting, awaiting_review
from digest.app.bounces import review as review_report
from digest.app.issues import no_such_issue, of_issue
from digest.app.report import report
from digest.config import Scope
from digest.models import DeliveryState, IssueStatus, Refusal, RefusalKind, StoredIssue
from digest.store import Store


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueFacts:
    """One stored issue, its deliveries counted by state, and whether it may go out (None: no approval needed)."""

    issue: StoredIssue
    counts: dict[DeliveryState, int]
    approved: bool | None
    approval: str  # why it may, or may not, go out


class Catalogue:
    """The stored issues, the report and the review of one newsletter."""

    def __init__(self, settings: Scope, store: Store) -> None:
        self.settings = settings
        self.store = store

    def listed(self) -> list[IssueStatus]:
        """Every stored issue of every edition, newest window first, with its deliveries counted by state."""
        return self.store.ledger.status(self.store.issues.ids_of_every_edition())

    def edition_of(self, issue_id: str) -> str:
        """The edition of a stored issue (the newsletter's first when it has none stored of that id)."""
        return self.store.issues.edition_of(issue_id) or self.settings.newsletter.editions[0].name

    def facts(self, issue_id: str) -> IssueFacts | None:
        """One of this newsletter's stored issues (None: it has no issue of this id; another newsletter's is not its)."""
        newsletter = of_issue(self.settings, self.store, issue_id)  # of its own edition
        issue = newsletter.store.issues.load(issue_id) if no_such_issue(newsletter.store, [issue_id]) is None else None
        if issue is None:
            return None
        found = newsletter.store.ledger.status([issue_id])
        counts = found[0].counts if found else dict.fromkeys(DeliveryState, 0)
        target = newsletter.stored_target(issue_id)
        state = approval_state(newsletter, target) if target is not None else None
        required = self.settings.newsletter.schedule.approval_required
        return IssueFacts(
            issue=issue,
            counts=counts,
            approved=state.approved if required and state is not None else None,
            approval=state.reason if state is not None else "",
        )

    def approve(self, issue_id: str, by: str, now: datetime) -> StoredIssue | Refusal:
        """An editor's yes to a stored issue, as ``digest approve --issue`` gives it (rebuilt and frozen again if it
        changed, never once it has deliveries: RefusedError). A refusal when this newsletter has no such issue (another
        newsletter's is not its), and when approval is not asked for."""
        newsletter = of_issue(self.settings, self.store, issue_id)  # of its own edition
        if (refusal := no_such_issue(newsletter.store, [issue_id])) is not None:
            return refusal
        if not self.settings.newsletter.schedule.approval_required:
            return Refusal(
                RefusalKind.NOT_APPROVED, 'schedule.approval is "none": issues go out without approval, so there is nothing to approve'
            )
        target = newsletter.stored_target(issue_id)
        if target is None:
            return Refusal(RefusalKind.NO_SUCH_ISSUE, f"no stored issue has the id {issue_id}", issue_id=issue_id)
        return approve_target(newsletter, target, now, by)

    def report(self, issue_id: str | None, last: int) -> dict[str, Any] | None:
        """The figures ``digest report --format json`` prints; None when that issue (default: the latest sent) has no deliveries."""
        store = of_issue(self.settings, self.store, issue_id).store if issue_id is not None else self.store  # its edition's
        if issue_id is not None and no_such_issue(store, [issue_id]) is not None:
            return None  # no such issue of this newsletter (another newsletter's is reported under its own)
        today = datetime.now(self.settings.newsletter.timezone).date()
        seen = report(store, today, issue_id=issue_id, last=last, key_of=self.settings.newsletter.key_of)
        return seen.to_json() if seen is not None else None

    def waiting(self) -> list[Waiting]:
        """The bounces and complaints that named nobody by our token, waiting for a person (``digest bounces review``)."""
        return awaiting_review(self.store)

    def decide(self, report_id: int, *, apply_to: str | None, dismiss: bool) -> str:
        """Apply a waiting report to the subscriber it names, or dismiss it; raises ReviewError when it cannot be."""
        return review_report(report_id, apply_to=apply_to, dismiss=dismiss, settings=self.settings, store=self.store)
