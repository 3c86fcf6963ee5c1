"""The sample run (``digest sample``, what ``make run`` does): the sample issue delivered to the outbox, on a
database of its own, whatever the config says.

A new user's first command must not be able to mail anyone: the sample
subscribers go into ``.digest-sample/digest.sqlite`` under the project root
(never the configured database, whose list may be real), and the issue goes
to the outbox backend (never SMTP, whatever ``delivery.backend``,
``DIGEST_BACKEND`` or ``.env`` say). Run it again and nothing is sent twice.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from digest.app.issues import Newsletter, SendPlan, WindowRequest
from digest.app.output import write_issue
from digest.config import Scope
from digest.models import SendReport
from digest.models.csv_formats import read_csv
from digest.store import Store

SAMPLE_FOLDER = ".digest-sample"


@dataclass(frozen=True, slots=True, kw_only=True)
class SampleRun:
    folder: Path  # where the sample database is
    added: int  # sample subscribers new to it
    plan: SendPlan
    written: Path | None  # the issue's files, when it was built now and has posts
    outbox: Path  # where its messages are
    report: SendReport | None  # None: every sample subscriber has it already


def sample_settings(base: Scope) -> Scope:
    """``base`` on the sample database and the outbox, with a throw-away key when none is set."""
    install = base.install
    folder = install.root / SAMPLE_FOLDER
    sample = replace(
        install,
        database_url=f"sqlite:///{folder / 'digest.sqlite'}",
        delivery=replace(install.delivery, backend="outbox"),
        secret_key=install.secret_key or secrets.token_urlsafe(32),
    )
    return Scope(sample, base.newsletter)


def deliver_sample(
    base: Scope, subscribers_csv: str, as_of: str | None, now: datetime, on_plan: Callable[[SampleRun], None] | None = None
) -> SampleRun:
    """Add the sample subscribers (CSV text) to the sample database, build the issue ``as_of`` means (the
    latest slot) and deliver it to the outbox. ``on_plan`` hears what is about to go out before the send
    starts. Raises WindowError for a bad ``as_of``, DigestError for a failed send."""
    settings = sample_settings(base)
    folder = base.install.root / SAMPLE_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    store = Store.open(
        settings.install.database_url, newsletter=settings.newsletter.slug, first_edition=settings.newsletter.editions[0].name
    )
    try:
        newsletter = Newsletter(settings, store)
        target = newsletter.target(WindowRequest(as_of=as_of), now)
        rows = list(read_csv(subscribers_csv))
        added = sum(store.subscribers.add(row.email, row.name, status=row.status)[1] for row in rows if row.email is not None)
        plan = newsletter.plan_send(target, now)
        built = plan.built
        written = (
            write_issue(settings.newsletter.output_dir, built.digest, built.rendered) if built is not None and built.digest.posts else None
        )
        run = SampleRun(
            folder=folder, added=added, plan=plan, written=written, outbox=settings.install.delivery.outbox_dir / plan.issue.id, report=None
        )
        if on_plan is not None:
            on_plan(run)
        return replace(run, report=newsletter.send(plan, now))
    finally:
        store.close()
