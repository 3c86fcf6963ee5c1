"""The use cases of an issue: every entry point (the CLI, the scheduler, the preview, the public app) calls these.

One way to find a window, one way to build, one way to freeze, one way to
send, so that the things an operator can do cannot disagree:

- **The issue to send is defined once.** With no explicit window, the issue
  is the one of the latest schedule slot at or before the moment (now, or
  ``--as-of``): its window ends at the slot, so a manual send and the
  scheduler name the same issue and can never both go out.
- **"Since the last issue" means one thing**: the end of the latest window of
  an issue that went out (:meth:`Issues.last_window_end`).
- **Freeze only what goes out.** A plan builds and renders but stores
  nothing; the issue is stored ("frozen") just before its first delivery,
  or by an explicit ``build --freeze``.
- **Refusals are decided in the plan**, so a dry run says exactly what the
  real send would say: error-level checks, an overlapping issue that went
  out, a rebuild of an issue with deliveries, no signing key.

Nothing here prints or parses options; callers do that with what these return (the
command lines a message names come from :mod:`digest.app.hints`). One use case a module::

    core.py        one configuration and its database, opened on first use
    target.py      which issue a request means (WindowRequest → Target); an unknown id refused
    build.py       the posts, the build of a window, the frozen form of a build
    freeze.py      storing a build, a rebuild refused once it has deliveries, how a frozen copy drifted
    reach.py       whom a send reaches: each reader's view, counted per choice
    plan.py        what a send will do and why it would refuse (SendPlan), decided before anything is sent
    send.py        a plan carried out through the ledger; the test copy
    newsletter.py  Newsletter: all of them over one configuration, as the entry points hold them
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Each name is imported from its module on first use: a command that only asks which issue an id names
# (``status --issue``) does not load the build's stages, the renderer and the mail backends (about half a
# second of every such command's start).
_LAZY = {
    "Built": "digest.app.issues.build",
    "Listed": "digest.app.issues.build",
    "frozen_form": "digest.app.issues.build",
    "Drift": "digest.app.issues.freeze",
    "drift_between": "digest.app.issues.freeze",
    "Newsletter": "digest.app.issues.newsletter",
    "of_issue": "digest.app.issues.newsletter",
    "ApprovalState": "digest.app.issues.plan",
    "SendPlan": "digest.app.issues.plan",
    "error_checks": "digest.app.issues.plan",
    "Reach": "digest.app.issues.reach",
    "Recipient": "digest.app.issues.reach",
    "reach_of": "digest.app.issues.reach",
    "Target": "digest.app.issues.target",
    "WindowRequest": "digest.app.issues.target",
    "no_such_issue": "digest.app.issues.target",
    "link_problem": "digest.config",
    # What the entry points word of a send (they may not import below this layer): the backend, a reader's view, the counts.
    "Backend": "digest.mail.backends",
    "Progress": "digest.models",
    "RecipientView": "digest.models",
    "SendReport": "digest.models",
    "ViewKind": "digest.models",
}

if TYPE_CHECKING:
    from digest.app.issues.build import Built, Listed, frozen_form
    from digest.app.issues.freeze import Drift, drift_between
    from digest.app.issues.newsletter import Newsletter, of_issue
    from digest.app.issues.plan import ApprovalState, SendPlan, error_checks
    from digest.app.issues.reach import Reach, Recipient, reach_of
    from digest.app.issues.target import Target, WindowRequest, no_such_issue
    from digest.config import link_problem
    from digest.mail.backends import Backend
    from digest.models import Progress, RecipientView, SendReport, ViewKind


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "ApprovalState",
    "Backend",
    "Built",
    "Drift",
    "Listed",
    "Newsletter",
    "Progress",
    "Reach",
    "Recipient",
    "RecipientView",
    "SendPlan",
    "SendReport",
    "Target",
    "ViewKind",
    "WindowRequest",
    "drift_between",
    "error_checks",
    "frozen_form",
    "link_problem",
    "no_such_issue",
    "of_issue",
    "reach_of",
]
