"""Approval before a scheduled send (``schedule.approval = "required"``).

- ``schedule.draft_hours`` before a slot, the scheduler builds and freezes
  the draft and mails each of ``newsletter.editors`` a note with a link to
  the preview, the command that approves it, and the ``[DRAFT]`` copy attached.
- ``digest approve`` (or the preview's Approve button) approves the issue as
  it builds now: it refreezes it if the editor changed it since the draft,
  then records what was approved: a print of the stored issue and one of the
  editor's issue file.
- At the slot, only an approved issue is sent; any change to either print
  since the approval (a rebuild, an edit of the issue file) un-approves it.
  A slot without approval is recorded as ``not-approved`` and the editors are
  told, with the commands that approve and send it.
- A send by hand is held to the same gate (:func:`gated`): refused until the
  issue is approved, unless the operator says they mean it
  (``without_approval``, logged). Once a send of the issue has begun, the rest
  of the list gets what the first readers got: the gate is behind it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import datetime
from urllib.parse import urlencode

from digest.app.issues import ApprovalState, Newsletter, SendPlan, Target
from digest.issue.editorial import issue_file_path
from digest.mail.backends import Backend
from digest.mail.notice import send_notice
from digest.models import Refusal, RefusalKind, SlotState, StoredIssue
from digest.models.errors import RefusedError
from digest.models.routes import preview_base
from digest.send.delivery import compile_issue


def issue_print(issue: StoredIssue) -> str:
    """What readers would get, as one hash: subject, both bodies and the posts."""
    digest = hashlib.sha256()
    for part in (issue.subject, issue.preheader, issue.html, issue.text, "\0".join(issue.post_ids)):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def file_print(newsletter: Newsletter, target: Target) -> str:
    """The editor's issue file as one hash ("" when there is none)."""
    try:
        return hashlib.sha256(issue_file_path(newsletter.settings.newsletter, target.window, newsletter.edition).read_bytes()).hexdigest()
    except FileNotFoundError:
        return ""


def approval_state(newsletter: Newsletter, target: Target, sending: StoredIssue | None = None) -> ApprovalState:
    """Whether the issue of ``target`` may be sent, and why (or why not). ``sending``: the copy that would go out
    when it is not the stored one (``send --rebuild``): the approval must be of exactly that."""
    if not newsletter.settings.newsletter.schedule.approval_required:
        return ApprovalState(True, "no approval needed (schedule.approval = none)")
    wanted = target.issue_id
    approval = newsletter.store.approvals.get(wanted)
    approve = newsletter.hint("approve", "--issue", wanted)
    if approval is None or approval.approved_at is None:
        return ApprovalState(False, f"not approved; to approve it: {approve}")
    stored = sending or newsletter.store.issues.load(wanted)
    if stored is None or issue_print(stored) != approval.issue_print:
        return ApprovalState(False, f"the issue changed after it was approved; to approve it again: {approve}")
    if file_print(newsletter, target) != approval.file_print:
        return ApprovalState(False, f"the issue file was edited after the approval; to approve it again: {approve}")
    return ApprovalState(True, f"approved by {approval.approved_by} at {approval.approved_at:%Y-%m-%d %H:%M} UTC")


def send_gate(newsletter: Newsletter, target: Target, sending: StoredIssue | None = None) -> ApprovalState | None:
    """Whether a send of ``target`` may go, as the scheduler and a send by hand both ask: None when approval is
    not required. A send of the issue that has begun may go on (it was let through when it began: when its readers were
    queued, whether or not a copy was tried before it paused)."""
    if not newsletter.settings.newsletter.schedule.approval_required:
        return None
    if newsletter.store.ledger.is_queued(target.issue_id):
        return ApprovalState(True, "not asked again: its send has begun, and the rest of the list gets what the first readers got")
    return approval_state(newsletter, target, sending)


def gated(newsletter: Newsletter, plan: SendPlan, *, without_approval: bool = False, by: str = "") -> SendPlan:
    """``plan`` with the approval gate applied (see :func:`send_gate`): its ``approval`` set, and refused
    (``NOT_APPROVED``) when the issue is not approved, unless ``without_approval``: then it goes ahead, and the
    send logs who sent it unapproved. A refusal the plan has already comes first."""
    state = send_gate(newsletter, plan.target, plan.issue)  # the copy this send would mail (a --rebuild's own)
    if state is None:
        return plan
    refusal = plan.refusal
    if not state.approved and without_approval:
        state = dataclasses.replace(state, overridden_by=by or "the operator")
    elif not state.approved and refusal is None:
        why = f'issue {plan.issue.id} needs an approval (schedule.approval = "required"): {state.reason}'
        refusal = Refusal(RefusalKind.NOT_APPROVED, why, issue_id=plan.issue.id)
    return dataclasses.replace(plan, approval=state, refusal=refusal)


def hold_for_approval(newsletter: Newsletter, plan: SendPlan) -> bool:
    """A send refused for want of an approval, of an issue not stored yet: store this build as the draft, as the
    scheduler stores one, so that ``digest approve --issue ID`` (and ``send --issue ID --without-approval``), the
    commands the refusal names, find it. True when it stored one."""
    refused = plan.refusal is not None and plan.refusal.kind is RefusalKind.NOT_APPROVED
    if not refused or plan.frozen or plan.built is None:
        return False
    newsletter.freeze(plan.built)
    return True


def approve(newsletter: Newsletter, target: Target, now: datetime, by: str) -> StoredIssue:
    """Approve the issue of ``target`` as it builds now: freeze it (again, if it changed since the draft) and record it."""
    store = newsletter.store
    built = newsletter.build(target.window, now)
    stored = store.issues.load(target.issue_id)
    if stored is None or issue_print(stored) != issue_print(built.issue):
        if store.ledger.has_started(target.issue_id):
            raise RefusedError(
                Refusal(
                    RefusalKind.SENT_ALREADY,
                    f"issue {target.issue_id} has deliveries already: what was sent stays what is stored",
                    issue_id=target.issue_id,
                )
            )
        stored, _ = newsletter.freeze(built, rebuild=stored is not None)
    store.approvals.approve(target.issue_id, by, issue_print(stored), file_print(newsletter, target), at=now)
    return stored


def preview_link(newsletter: Newsletter, target: Target) -> str:
    """The preview's page of ``target``'s issue: under its newsletter's path when the install has several."""
    settings = newsletter.settings
    slot = (target.slot or target.window.end).astimezone(settings.newsletter.timezone)
    return f"{settings.newsletter.schedule.preview_url}{preview_base(settings.newsletter.slug, several=settings.shared)}/?{urlencode({'as_of': slot.isoformat()})}"


def make_draft(newsletter: Newsletter, target: Target, now: datetime, backend: Backend | None = None) -> StoredIssue | None:
    """Freeze the draft of ``target`` and mail the editors, once; None when the draft was made already."""
    store = newsletter.store
    if not store.approvals.drafted(target.issue_id, at=now):
        return None
    built = newsletter.build(target.window, now)
    stored = store.issues.load(target.issue_id)
    if stored is None or not store.ledger.has_started(target.issue_id):
        stored, _ = newsletter.freeze(built, rebuild=stored is not None)
    draft = compile_issue(stored, newsletter.settings, test=True, date=now, mark="[DRAFT]")
    note = (
        f"The draft of {stored.subject!r} is ready. It goes out at {target.window.end:%Y-%m-%d %H:%M} UTC "
        "only once an editor approves it.\n\n"
        f"Preview it, edit it and approve it: {preview_link(newsletter, target)}\n"
        f"(that is `digest preview` on the editors' machine), or approve it as it is:\n\n"
        f"    {newsletter.hint('approve', '--issue', stored.id)}\n\n"
        "The draft itself is attached. An edit after approving un-approves it.\n"
    )
    for editor in newsletter.settings.newsletter.editors:
        attached = draft.render(0, editor)
        send_notice(newsletter.settings, editor, f"[DRAFT] {stored.subject}", note, backend=backend, attached=attached, label="draft")
    return stored


def tell_not_approved(newsletter: Newsletter, target: Target, reason: str, now: datetime, backend: Backend | None = None) -> None:
    """Tell the editors that a slot did not send its issue for want of approval, and what to run."""
    # The slot's own time, where people read it: the run may have started later (a catch-up, --as-of).
    zone = newsletter.settings.newsletter.schedule_zone
    when = (target.slot or now).astimezone(zone)
    note = (
        f"Issue {target.issue_id} was not sent at its slot ({when:%a %Y-%m-%d %H:%M} {zone}): {reason}.\n\n"
        f"Once approved, send it with:\n\n    {newsletter.hint('send', '--issue', target.issue_id)}\n"
    )
    for editor in newsletter.settings.newsletter.editors:
        send_notice(newsletter.settings, editor, f"Not sent: {target.issue_id} needs approval", note, backend=backend, label="not-approved")


def slot_passed_unapproved(newsletter: Newsletter, issue_id: str) -> bool:
    """Whether the schedule met this issue's slot without an approval (one of the last 20 slots): approving it
    now does not send it; a send by hand does."""
    return any(run.issue_id == issue_id and run.state is SlotState.NOT_APPROVED for run in newsletter.store.runs.recent(20))
