"""A refusal in the CLI's words: the reason the domain gives, and the command or option that fixes it.

The one place where a :class:`~digest.models.Refusal` meets command-line
options: the domain and the app layer say why, never which flag.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from digest.cli.common import EXIT_PROBLEMS, EXIT_USAGE, Context, fail, hint

if TYPE_CHECKING:
    from digest.models import Refusal
    from digest.models.errors import LeaseHeldError


def worded(obj: Context, refusal: Refusal) -> str:
    """The reason, and what to run or add to get past it."""
    from digest.models import RefusalKind

    kind, why = refusal.kind, refusal.why
    if kind is RefusalKind.OVERLAP and refusal.other_issue:
        resume = hint(obj, "send", "--issue", refusal.other_issue)
        return f"{why}. To resume that issue: {resume}; to send this one anyway, add --allow-overlap"
    if kind is RefusalKind.SOURCE_FAILED:
        return f"{why}; fix the source, or add --force to send without it"
    if kind is RefusalKind.SETUP_FAILED:
        return f"{why}; `{hint(obj, 'doctor')}` says each fix (and checks DNS and the public app too); add --force to send anyway (logged)"
    if kind is RefusalKind.EMPTY_ISSUE:
        return f"{why} (`digest schedule` skips such a slot and records it; --force would mail the empty issue)"
    if kind is RefusalKind.ERROR_CHECKS:
        return f"{why}; fix them and build again, or add --force to send anyway"
    if kind is RefusalKind.SENT_ALREADY and refusal.issue_id:
        return f"{why} (resume it as it is: {hint(obj, 'send', '--issue', refusal.issue_id)})"
    if kind is RefusalKind.NOT_APPROVED and refusal.issue_id:
        unapproved = hint(obj, "send", "--issue", refusal.issue_id, "--without-approval")
        return f"{why}; to send its stored copy unapproved all the same (logged as such): {unapproved}"
    if kind is RefusalKind.NO_SUCH_ISSUE:
        return f"{why}; `{hint(obj, 'status')}` lists them all"
    if kind is RefusalKind.NO_SUCH_WEBHOOK:
        return f"{why}; `{hint(obj, 'webhooks', 'list')}` lists the endpoints"
    if kind is RefusalKind.NOTHING_TO_REPLAY:
        return f"{why}; `{hint(obj, 'webhooks', 'events')}` lists the stored events, with their ids"
    if kind is RefusalKind.LEFT and refusal.address:
        return f"{why}. If they asked you to: {hint(obj, 'subscribers', 'add', refusal.address, '--resubscribe')}"
    return why


def refuse(obj: Context, refusal: Refusal) -> NoReturn:
    """The refusal on stderr and its exit code: 2 for an issue id that names nothing (the command line is
    wrong, as with any usage error), 1 for a send or build that would hurt the list."""
    from digest.models import RefusalKind

    fail(worded(obj, refusal), EXIT_USAGE if refusal.kind is RefusalKind.NO_SUCH_ISSUE else EXIT_PROBLEMS)


def require_stored(obj: Context, wanted: Sequence[str]) -> None:
    """Each issue id given with --issue names a stored issue, or the one error every command gives (exit 2),
    before anything is read or written; a database that does not exist yet is not created to find out."""
    from digest.app.issues import no_such_issue

    if wanted:
        obj.follow_issue_edition(wanted)
    if wanted and (refusal := no_such_issue(obj.store_if_exists(), wanted)) is not None:
        refuse(obj, refusal)


def busy(obj: Context, exc: LeaseHeldError) -> str:
    """A send that cannot start because another is at work on the issue, with the command that helps."""
    from digest.models.errors import SoloSendRunningError, WorkersAtWorkError

    if isinstance(exc, WorkersAtWorkError):
        return f"{exc}: join them with `{hint(obj, 'send', '--worker', '--issue', exc.issue_id)}`, or wait for them to finish"
    if isinstance(exc, SoloSendRunningError):
        return f"{exc}; wait for it to finish (`{hint(obj, 'status', '--issue', exc.issue_id)}` shows its progress)"
    return str(exc)
