"""Freezing an issue: storing a build as the copy every send uses, refusing to replace one that has
deliveries, and how a frozen copy differs from what a build would make now."""

from __future__ import annotations

from dataclasses import dataclass, replace

from digest.app.issues.build import Built, post_print
from digest.app.issues.core import NewsletterCore
from digest.models import Digest, Refusal, RefusalKind, RenderedIssue, StoredIssue
from digest.models.errors import RefusedError


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


class Freezing(NewsletterCore):
    """The use case that stores an issue: what was sent must stay what is stored."""

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

    def has_deliveries(self, wanted: str) -> bool:
        """Whether any delivery of the issue was attempted: what was sent then stays what is stored."""
        return self.store.ledger.has_started(wanted)
