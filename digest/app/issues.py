"""The use cases: every entry point (the CLI, the scheduler, the preview, the public app) calls these.

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

Nothing here prints or parses options; callers do that with what these return.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from types import MappingProxyType
from urllib.parse import urlsplit

from digest.app.clicks import counted_links, reader_copy, reader_interest
from digest.app.hints import command_hint
from digest.config import Settings, SourceSpec, is_loopback, leaves_machine, missing_secret, smtp_hosts
from digest.errors import RefusedError, WindowError
from digest.issue.assembly import assemble_digest, gather_for, issue_file_of, issue_id
from digest.issue.selection import at_moment, parse_when, select_posts, window_between, window_for
from digest.issue.slots import latest_slot, make_trigger, next_slot
from digest.mail.backends import Backend, Reply, get_backend
from digest.meaning import meaning_of
from digest.meaning.classifier import Label, LabelSource
from digest.models import (
    DeliveryState,
    Digest,
    OnStep,
    Post,
    Problem,
    ReaderInterest,
    Refusal,
    RefusalKind,
    RenderedIssue,
    SubscriberStatus,
    TrackedLink,
    Window,
)
from digest.render import render_leaving_out
from digest.render.views import Layout
from digest.send.delivery import KEY_USE_LINKS, compile_issue, send_issue, send_test
from digest.send.report import Progress, SendReport
from digest.send.variants import RecipientView, ViewKind, recipient_view
from digest.serialize import digest_to_json
from digest.sources import gather_all
from digest.store import IssueSummary, Outstanding, Store, StoredIssue, database_exists

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowRequest:
    """What a person asked for: an explicit window, a moment to act as of, or neither (now)."""

    since: str | None = None
    until: str | None = None
    as_of: str | None = None
    upcoming: bool = False  # the coming slot's issue (the preview) rather than the latest one's


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """The issue a request resolves to: its window, its id, and the slot it belongs to (None for an explicit window)."""

    window: Window
    issue_id: str
    slot: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Drift:
    """How a frozen issue differs from what a build would make now (post ids or what readers see)."""

    added: tuple[str, ...] = ()  # titles
    removed: tuple[str, ...] = ()  # post ids (the frozen copy keeps no titles)
    changed: tuple[str, ...] = ()
    edited: tuple[str, ...] = ()  # what else a reader would see differently: "the subject", "the preheader", …

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.edited)

    def describe(self) -> str:
        groups = (("added", self.added), ("removed", self.removed), ("changed", self.changed))
        posts = [f"{len(items)} post(s) {what}" for what, items in groups if items]
        return ", ".join([*posts, *(f"{what} edited" for what in self.edited)])


@dataclass(frozen=True, slots=True, kw_only=True)
class Listed:
    """The posts of ``digest posts``, and every problem met gathering them."""

    posts: tuple[Post, ...]
    problems: tuple[Problem, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Built:
    """An issue built and rendered now, stored nowhere."""

    digest: Digest
    rendered: RenderedIssue
    issue: StoredIssue  # the frozen form it would be stored in


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
    reach: Reach = field(default_factory=lambda: Reach())  # how the recipients' theme choices and pauses shape the send
    rebuild: bool = False  # the plan replaces the frozen copy with ``built``
    retry_failed: bool = False  # the send puts back the failed deliveries that were not the reader's fault (counted as pending)
    approval: ApprovalState | None = None  # schedule.approval = "required" and no send of it begun: the gate (digest.app.approval)


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipient:
    """One recipient of a planned send, and what they would get."""

    email: str
    view: RecipientView
    themes: tuple[str, ...]  # the themes of the sections they get (SOME_THEMES)
    paused_until: date | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Reach:
    """Of the recipients a send would mail: who gets only some themes, and who is skipped by their own choice."""

    some_themes: int = 0
    variants: int = 0  # distinct theme views among them
    no_posts: int = 0  # skipped: no posts in their themes
    paused: int = 0  # skipped: paused past today


def reach_of(
    issue: StoredIssue, choices: list[tuple[frozenset[str] | None, date | None, int]], today: date, key_of: Callable[[str], str]
) -> Reach:
    """What the send's workers will decide for each recipient, decided here ahead of them, per distinct choice
    (``key_of``: a theme name's key, for an issue frozen before theme keys)."""
    layout = Layout.load(issue.layout, key_of)
    counts: Counter[ViewKind] = Counter()
    views: set[frozenset[int]] = set()
    for choice, until, count in choices:
        view = recipient_view(layout, choice, until, today)
        counts[view.kind] += count
        if view.kind is ViewKind.SOME_THEMES:
            views.add(view.sections)
    return Reach(
        some_themes=counts[ViewKind.SOME_THEMES], variants=len(views), no_posts=counts[ViewKind.NO_POSTS], paused=counts[ViewKind.PAUSED]
    )


def post_print(post: Post) -> str:
    """A fingerprint of what a reader sees of a post, to tell a frozen copy gone stale."""
    parts = [post.title, post.url or "", post.outlet or "", post.author or "", post.excerpt_html, post.theme or ""]
    if post.image is not None:  # only when there is one: the prints of posts without stay as they were
        parts += [post.image.url, post.image.alt or ""]
    parts += [f"{item.outlet}\0{item.url}" for item in post.also]
    seen = "\0".join(parts)
    return hashlib.sha256(seen.encode("utf-8")).hexdigest()[:16]


def frozen_form(digest: Digest, rendered: RenderedIssue, now: datetime, links: tuple[TrackedLink, ...] = ()) -> StoredIssue:
    """The issue as it is stored: the rendered parts, what each post looked like, and its counted links."""
    return StoredIssue(
        id=digest.issue_id,
        window_start=digest.window.start,
        window_end=digest.window.end,
        subject=rendered.subject,
        preheader=rendered.preheader,
        html=rendered.html,
        text=rendered.text,
        post_ids=tuple(post.id for post in digest.posts),
        checks=rendered.checks,
        created_at=now,
        post_prints=MappingProxyType({post.id: post_print(post) for post in digest.posts}),
        model=json.dumps(digest_to_json(digest), ensure_ascii=False),
        layout=rendered.layout.to_json() if rendered.layout is not None else None,
        placements=digest.placements,
        links=links,
    )


def drift_between(stored: StoredIssue, fresh: Digest, rendered: RenderedIssue) -> Drift:
    """How ``stored`` differs from a build now: its posts, and every other edit that changes what would be sent
    (the editor's subject, preheader and intro, a pin or a move): the rendered email is compared whole, since
    a build of unchanged content renders byte for byte the same."""
    titles = {post.id: post.title for post in fresh.posts}
    prints = {post.id: post_print(post) for post in fresh.posts}
    frozen_ids = set(stored.post_ids)
    posts = Drift(
        added=tuple(titles[pid] for pid in titles if pid not in frozen_ids),
        removed=tuple(pid for pid in stored.post_ids if pid not in titles),
        changed=tuple(
            titles[pid] for pid in titles if pid in frozen_ids and pid in stored.post_prints and stored.post_prints[pid] != prints[pid]
        ),
    )
    edited = [
        what
        for what, before, now in (
            ("the subject", stored.subject, rendered.subject),
            ("the preheader", stored.preheader, rendered.preheader),
        )
        if before != now
    ]
    if not posts and (stored.text != rendered.text or stored.html != rendered.html):
        edited.append("the body (intro, order or sections)")
    return replace(posts, edited=tuple(edited))


def error_checks(issue: StoredIssue) -> tuple[str, ...]:
    return tuple(f"{c.code}: {c.message}" for c in issue.checks if c.level == "error")


class Newsletter:
    """The use cases over one configuration and one database.

    The store is opened on first use (``store`` may be a Store or a function
    that opens one), so a build of an explicit window needs no database.
    """

    def __init__(self, settings: Settings, store: Store | Callable[[], Store]) -> None:
        self.settings = settings
        self._store = store if isinstance(store, Store) else None
        self._open = store if not isinstance(store, Store) else None
        self.trigger = make_trigger(settings)

    @property
    def store(self) -> Store:
        if self._store is None:
            assert self._open is not None
            self._store = self._open()
        return self._store

    # -- windows --------------------------------------------------------------

    def target(self, request: WindowRequest, now: datetime) -> Target:
        """The issue a request means; raises WindowError saying what is wrong with it."""
        settings = self.settings
        zone = settings.timezone
        if request.as_of and (request.since or request.until):
            raise WindowError("as-of names a schedule slot, and since and until a window of your own: give one or the other")
        if bool(request.since) != bool(request.until):
            raise WindowError("a window of your own needs both its since and its until")
        if request.since and request.until:
            window = window_between(parse_when(request.since), parse_when(request.until), zone)
            return Target(window=window, issue_id=issue_id(window, zone), slot=None)
        at = at_moment(parse_when(request.as_of), zone) if request.as_of else now
        slot = next_slot(self.trigger, at) if request.upcoming else latest_slot(self.trigger, at)
        if slot is None:
            raise WindowError(f"the schedule {settings.schedule.cron!r} has no fire time near {at.isoformat()}")
        return self.slot_target(slot)

    def slot_target(self, slot: datetime) -> Target:
        """The issue of one schedule slot: its window ends at the slot."""
        settings = self.settings
        last_end = self.store.issues.last_window_end(slot) if settings.window.mode == "since-last" else None
        window = window_for(slot, settings.window, settings.timezone, last_end)
        return Target(window=window, issue_id=issue_id(window, settings.timezone), slot=slot)

    # -- building ---------------------------------------------------------------

    def _taught(self) -> list[Label]:
        """The editor's labels, from the posts of frozen issues (confirmed, and corrected), for meaning to learn
        from; none without a database (a build alone creates none) or with meaning off."""
        if not self.settings.meaning.enabled or (self._store is None and not database_exists(self.settings.database_url)):
            return []
        return [
            Label(text, theme, LabelSource.CORRECTED if corrected else LabelSource.CONFIRMED)
            for text, theme, corrected in self.store.placements.labels(self.settings.theme_keys)
        ]

    def _interest(self) -> ReaderInterest | None:
        """What readers clicked lately, per theme: for the desk, and for ``[grouping] order = "readers"``; none without
        a database (a build alone creates none)."""
        if self._store is None and not database_exists(self.settings.database_url):
            return None
        return reader_interest(self.store)

    def posts(self, window: Window | None, sources: Sequence[SourceSpec] | None = None) -> Listed:
        """The posts the sources yield, oldest first: those the window selects, or (None) every one."""
        gathered = gather_all(tuple(sources or self.settings.sources), self.settings, window.widened() if window else None)
        if window is None:
            chosen = tuple(sorted(gathered.posts, key=lambda p: (p.published, p.title)))
        else:
            chosen = select_posts(gathered.posts, window, self.settings.selection).selected
        return Listed(posts=chosen, problems=gathered.problems)

    def build(self, window: Window, now: datetime, sources: Sequence[SourceSpec] | None = None, on_step: OnStep | None = None) -> Built:
        """Gather, select, group and render the issue of ``window``; stores nothing. Raises RenderError."""
        gathered = gather_for(self.settings, window, sources)
        issue_file = issue_file_of(self.settings, window)
        meaning = meaning_of(self.settings, self._taught(), on_step)
        interest = self._interest()
        digest = assemble_digest(gathered, window, self.settings, now, issue_file=issue_file, meaning=meaning, interest=interest)
        digest, rendered = render_leaving_out(
            digest,
            self.settings,
            lambda unrenderable: assemble_digest(gathered, window, self.settings, now, unrenderable, issue_file, meaning, interest),
            reader_copy(self.settings),
        )
        return Built(digest=digest, rendered=rendered, issue=frozen_form(digest, rendered, now, counted_links(self.settings, digest)))

    def freeze(self, built: Built, *, rebuild: bool = False) -> tuple[StoredIssue, bool]:
        """Store ``built`` as the issue every send uses (``build --freeze``); returns what is stored, and whether it is ``built``.

        An issue stored already is kept unless ``rebuild``, which is refused
        once any delivery of it was attempted.
        """
        stored = self.store.issues.load(built.issue.id)
        if stored is not None and not rebuild:
            return stored, False
        if stored is None:
            return self.store.issues.add_once(built.issue), True
        self._replace(built.issue)
        return built.issue, True

    def _replace(self, issue: StoredIssue) -> None:
        """Store ``issue`` over the frozen copy of the same id: refused once any of its deliveries was attempted."""
        self._refuse_rebuild_if_started(issue.id)
        self.store.issues.save(issue, replace=True)

    def _refuse_rebuild_if_started(self, wanted: str) -> None:
        if self.store.ledger.has_started(wanted):
            raise RefusedError(
                Refusal(
                    RefusalKind.SENT_ALREADY,
                    f"issue {wanted} has deliveries already, so it cannot be rebuilt: what was sent must stay what is stored",
                    issue_id=wanted,
                )
            )

    # -- sending ------------------------------------------------------------------

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
            reach=reach_of(issue, store.ledger.choices(issue.id), now.astimezone(self.settings.timezone).date(), self.settings.key_of),
            errors=errors,
            overlaps=overlaps,
            refusal=refusal,
            subscribers=store.subscribers.counts(),
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
        if errors and not force:
            return Refusal(RefusalKind.ERROR_CHECKS, "the issue has error-level checks (" + "; ".join(errors) + ")", issue_id=issue.id)
        if not self.settings.secret_key:
            return Refusal(RefusalKind.NO_KEY, missing_secret(KEY_USE_LINKS), issue_id=issue.id)
        if (problem := link_problem(self.settings)) is not None:
            return Refusal(RefusalKind.PRIVATE_LINKS, problem, issue_id=issue.id)
        if needs_postal_address(self.settings):
            return Refusal(
                RefusalKind.NO_POSTAL_ADDRESS,
                f"newsletter.address is empty, and this send goes over SMTP to {smtp_hosts(self.settings)}: bulk mail must carry "
                "the sender's postal address (the US CAN-SPAM act; many providers check it). Set newsletter.address in "
                f"{self.settings.config_path or 'the config'}",
                issue_id=issue.id,
            )
        return None

    def has_deliveries(self, wanted: str) -> bool:
        """Whether any delivery of the issue was attempted: what was sent then stays what is stored."""
        return self.store.ledger.has_started(wanted)

    def send_begun(self, wanted: str) -> bool:
        """Whether a send of the issue has begun (its deliveries are in the ledger): what a joining worker waits for."""
        return self.store.ledger.is_queued(wanted)

    def stored_target(self, wanted: str) -> Target | None:
        """The target of a stored issue by id (its own window, no slot), or None if there is none."""
        stored = self.store.issues.load(wanted)
        if stored is None:
            return None
        return Target(window=Window(start=stored.window_start, end=stored.window_end), issue_id=wanted, slot=None)

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

    def send(
        self,
        plan: SendPlan,
        now: datetime,
        *,
        backend: Backend | None = None,
        stop: threading.Event | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        worker: bool = False,
    ) -> SendReport | None:
        """Carry out ``plan``: freeze the issue if it is not yet, and send it through the ledger.

        ``worker`` (or ``delivery.workers_may_join``) sends as one of several
        workers on the issue (:mod:`digest.send.workers`, PostgreSQL). Returns None when nobody is left to mail (nothing is frozen then).
        Raises RefusedError with the plan's refusal, so no caller can skip it;
        LeaseHeldError if another run is sending the issue.
        """
        if plan.refusal is not None:
            raise RefusedError(plan.refusal)
        if plan.outstanding.to_send == 0:
            return None
        if plan.retry_failed and (retried := self.store.ledger.retry_failed(plan.issue.id)):
            log.info("%s: %d failed delivery(ies) not the readers' fault put back to send again", plan.issue.id, retried)
        if plan.approval is not None and plan.approval.overridden_by:
            log.warning("issue %s sent without approval, as %s asked: %s", plan.issue.id, plan.approval.overridden_by, plan.approval.reason)
        issue = plan.issue
        if plan.rebuild:
            self._replace(issue)
        elif not plan.frozen:
            # Frozen as its first delivery is about to be attempted. Two sends started together may
            # both get here: the copy stored first is the one that goes out.
            issue = self.store.issues.add_once(issue)
        message = compile_issue(issue, self.settings, date=now)
        sender = send_issue
        if worker or self.settings.delivery.workers_may_join:
            from digest.send.workers import work_on_issue as sender
        return sender(
            self.store,
            message,
            backend or get_backend(self.settings),
            self.settings.delivery,
            stop=stop,
            on_progress=on_progress,
            layout=Layout.load(issue.layout, self.settings.key_of),
            today=now.astimezone(self.settings.timezone).date(),
        )

    def recipients(self, plan: SendPlan, now: datetime) -> list[Recipient]:
        """Each recipient a send of the plan would mail now, by address, and what they get (``send --recipients``)."""
        layout = Layout.load(plan.issue.layout, self.settings.key_of)
        today = now.astimezone(self.settings.timezone).date()
        found = []
        for email, themes, paused_until in self.store.ledger.would_mail(plan.issue.id):
            view = recipient_view(layout, themes, paused_until, today)
            sections = tuple(layout.themes[number - 1] for number in sorted(view.sections)) if layout is not None else ()
            found.append(Recipient(email=email, view=view, themes=sections, paused_until=paused_until))
        return found

    def backend(self) -> Backend:
        """Where this configuration's mail goes (delivery.backend, DIGEST_BACKEND)."""
        return get_backend(self.settings)

    def send_test(self, issue: StoredIssue, address: str, now: datetime, backend: Backend | None = None) -> Reply:
        """One ``[TEST]`` copy of ``issue`` to ``address``; recorded nowhere."""
        message = compile_issue(issue, self.settings, test=True, date=now)
        return send_test(message, backend or get_backend(self.settings), address)

    # -- hints --------------------------------------------------------------------

    def hint(self, *args: str) -> str:
        """A ``digest`` command line that does what a message says, for this configuration."""
        return command_hint(self.settings.config_path, *args)


def needs_postal_address(settings: Settings) -> bool:
    """True when a send would leave this machine without a postal address (CAN-SPAM)."""
    return not settings.address and leaves_machine(settings)


def link_problem(settings: Settings) -> str | None:
    """Why the links in an email to real readers would not work, or None.

    Mail that leaves this machine carries one-click unsubscribe (RFC 8058),
    which Gmail and Yahoo require to be https, and links a reader must be
    able to open: not http, not this machine's loopback address.
    """
    if not leaves_machine(settings):
        return None
    parts = urlsplit(settings.base_url)
    if parts.scheme == "https" and not is_loopback(parts.hostname or ""):
        return None
    return (
        f"newsletter.base_url is {settings.base_url}, but this send goes over SMTP to {smtp_hosts(settings)}: every unsubscribe "
        'and "view in browser" link would point there. One-click unsubscribe (RFC 8058) and the Gmail and Yahoo bulk-sender '
        "rules need a public https address. Set newsletter.base_url to the https address where `digest serve` answers "
        f"(in {settings.config_path or 'the config'}); the outbox backend and a local catcher on 127.0.0.1 work with http"
    )


RECENT_IDS = 5  # how many stored ids an unknown --issue lists: the ones a person most likely meant


def no_such_issue(store: Store | None, wanted: Sequence[str]) -> Refusal | None:
    """The refusal for the first of ``wanted`` that no stored issue has (``store`` None: no database yet), listing
    the most recent ids to pick from; None when every one is stored. Every command taking an issue id asks this."""
    summaries = store.issues.summaries() if store is not None else []
    known = {summary.id for summary in summaries}
    missing = next((issue for issue in wanted if issue not in known), None)
    if missing is None:
        return None
    if not summaries:
        return Refusal(RefusalKind.NO_SUCH_ISSUE, f"no stored issue {missing!r}: no issue is stored yet", issue_id=missing)
    recent = ", ".join(summary.id for summary in summaries[:RECENT_IDS])
    more = f" of {len(summaries)}" if len(summaries) > RECENT_IDS else ""
    return Refusal(RefusalKind.NO_SUCH_ISSUE, f"no stored issue {missing!r} (the most recent{more}: {recent})", issue_id=missing)


__all__ = [
    "ApprovalState",
    "Built",
    "Drift",
    "Newsletter",
    "Recipient",
    "RecipientView",
    "SendPlan",
    "Target",
    "ViewKind",
    "WindowRequest",
    "error_checks",
    "frozen_form",
    "no_such_issue",
]
