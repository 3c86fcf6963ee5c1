"""A reader's newsletters in this install, as their preferences and unsubscribe pages show and change them.

The page is reached with one newsletter's signed link; the link proves the address, so the page may show and
change that person's other subscriptions too (never anyone else's). The rules:

- unticking a newsletter ends that subscription (an unsubscribe, with its event);
- ticking one re-subscribes only a subscription its reader ended themselves (unsubscribed, not by a complaint):
  that reader had joined it, so consent was once given and is given again by this click. A newsletter they never
  joined is not offered as a box (joining one is its own sign-up with double opt-in); a sign-up awaiting
  confirmation, a bounced address or a complaint is shown and left as it is;
- "all newsletters from this sender" ends every subscription of the person that may still get mail.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from digest.models import Subscriber, SubscriberStatus

if TYPE_CHECKING:
    from digest.store import Store

COMPLAINED = "complained"  # the start of a complaint's status reason (digest.app.bounces): never undone by a tick
ON_PAGE = "preferences page"


@dataclass(frozen=True, slots=True)
class Held:
    """One subscription of a reader as their page shows it."""

    slug: str
    name: str  # the newsletter's name ("" when it is no longer configured: then shown by its slug)
    status: SubscriberStatus
    current: bool  # the newsletter whose link opened the page
    may_change: bool  # its box may be ticked or unticked here

    @property
    def subscribed(self) -> bool:
        return self.status == SubscriberStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class Changed:
    """What a save of the newsletters' boxes did, each by the newsletter's name."""

    left: tuple[str, ...] = ()
    joined: tuple[str, ...] = ()


def may_rejoin(subscription: Subscriber) -> bool:
    """Whether a tick re-subscribes it: they left it themselves (never a complaint, a bounce or an unconfirmed sign-up)."""
    return subscription.status == SubscriberStatus.UNSUBSCRIBED and not (subscription.status_reason or "").startswith(COMPLAINED)


class ReaderNewsletters:
    """The subscriptions of one person across the install's newsletters (``names``: slug → name, in the install's
    order), seen from the newsletter ``current``'s page."""

    def __init__(self, store: Store, names: Mapping[str, str], current: str) -> None:
        self.store = store
        self.names = dict(names)
        self.current = current
        self.order = {slug: number for number, slug in enumerate(self.names)}

    def of(self, subscriber: Subscriber) -> list[Held]:
        """Their subscriptions in the install's newsletters, in the install's order (one no longer configured: last)."""
        found = self.store.subscribers.subscriptions_of(subscriber.id)
        found.sort(key=lambda sub: (self.order.get(sub.newsletter, len(self.order)), sub.newsletter))
        return [
            Held(
                slug=sub.newsletter,
                name=self.names.get(sub.newsletter, ""),
                status=SubscriberStatus(sub.status),
                current=sub.newsletter == self.current,
                may_change=sub.newsletter in self.names and (sub.status == SubscriberStatus.ACTIVE or may_rejoin(sub)),
            )
            for sub in found
        ]

    def choose(self, subscriber: Subscriber, ticked: Collection[str]) -> Changed:
        """Apply the page's boxes: an active subscription not ``ticked`` ends, a ticked one they left is theirs again;
        every other one stays as it is. Each change writes its event (digest.store)."""
        left: list[str] = []
        joined: list[str] = []
        for sub in self.store.subscribers.subscriptions_of(subscriber.id):
            if sub.newsletter not in self.names:
                continue
            leaving = sub.status == SubscriberStatus.ACTIVE and sub.newsletter not in ticked
            rejoining = sub.newsletter in ticked and may_rejoin(sub)
            if leaving and self.store.subscribers.set_status(sub.id, SubscriberStatus.UNSUBSCRIBED, f"unticked on the {ON_PAGE}"):
                left.append(self.names[sub.newsletter])
            elif rejoining and self.store.subscribers.set_status(sub.id, SubscriberStatus.ACTIVE, f"ticked again on the {ON_PAGE}"):
                joined.append(self.names[sub.newsletter])
        return Changed(left=tuple(left), joined=tuple(joined))

    def leave_all(self, subscriber: Subscriber, how: str) -> tuple[str, ...]:
        """End every subscription of theirs that may still get mail (active, or awaiting confirmation); the names of
        the newsletters that changed."""
        left = []
        for sub in self.store.subscribers.subscriptions_of(subscriber.id):
            if sub.status in (SubscriberStatus.ACTIVE, SubscriberStatus.PENDING) and self.store.subscribers.set_status(
                sub.id, SubscriberStatus.UNSUBSCRIBED, f"{how} (every newsletter)"
            ):
                left.append(self.names.get(sub.newsletter, sub.newsletter))
        return tuple(left)
