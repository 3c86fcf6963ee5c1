"""The list as another system keeps it in step (the HTTP API): add a person with or without double opt-in, read
one or a page of them, change their name or themes, unsubscribe or forget them.

Each rule is the one the CLI and the public pages keep, called from here, not restated: an operator's add
(:meth:`Roster.add`: never back someone who left or asked to be forgotten), a sign-up that mails its confirmation
(:meth:`Membership.sign_up`), a choice of themes only while on the list (:meth:`Membership.set_preferences`).
Today a person has one subscription, to the one newsletter: :class:`Person` carries it as a subscription of its own,
so a second newsletter adds an entry, not a new shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from digest.app.choices import ChoiceProblem, ThemeChoice, posted_choice
from digest.app.subscribers import AddOutcome, Membership, Roster, address_of, name_of
from digest.config import Scope
from digest.config.schema import theme_key_problem
from digest.models import SignUpKind, Subject, SubjectKind, Subscriber, SubscriberStatus
from digest.models.tokens import address_hash
from digest.store import Store

MOST_PER_PAGE = 200
MOST_ID = 2**31 - 1  # ids are PostgreSQL INTEGERs: a cursor past them finds nobody (and is never sent to the database)


@dataclass(frozen=True, slots=True, kw_only=True)
class Person:
    """A subscriber and their subscription to this newsletter: its status, the theme keys chosen (None: every
    theme, those added later too), the day a pause ends."""

    subscriber: Subscriber
    newsletter: str  # the newsletter's List-Id: the subscription's key once there are several
    themes: tuple[str, ...] | None
    paused_until: date | None


class PersonProblem(StrEnum):
    """Why a change to a person is not made (each entry point words it)."""

    UNKNOWN_THEME = "unknown-theme"  # a theme key no theme of the config has
    NO_THEME = "no-theme"  # nothing chosen: no issue would reach them
    NOT_SUBSCRIBED = "not-subscribed"  # only someone on the list chooses themes


@dataclass(frozen=True, slots=True)
class Refused:
    problem: PersonProblem
    detail: str


@dataclass(frozen=True, slots=True)
class Added:
    person: Person
    created: bool  # a new address (else: found as it was, or a pending sign-up made active on the operator's word)
    awaiting_confirmation: bool  # double opt-in: nothing goes to them until they click the link mailed (one per ten minutes)


class People:
    """The list of one newsletter, for the API; needs DIGEST_SECRET_KEY (the links and the keyed hashes)."""

    def __init__(self, settings: Scope, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.members = Membership(settings, store)
        self.roster = Roster(settings, store)

    def person(self, subscriber: Subscriber) -> Person:
        themes, paused = self.store.subscribers.preferences_of(subscriber.id)
        return Person(subscriber=subscriber, newsletter=self.settings.newsletter.list_id, themes=themes, paused_until=paused)

    def subject(self, subscriber: Subscriber) -> Subject:
        """How the audit log names them: their id, and the keyed hash of the address that outlives a forget."""
        return Subject(kind=SubjectKind.SUBSCRIBER, id=str(subscriber.id), address_hash=address_hash(self.members.secret, subscriber.email))

    def address_subject(self, typed: str) -> Subject:
        """The audit log's subject for an address refused before anyone was found: its keyed hash only."""
        return Subject(kind=SubjectKind.SUBSCRIBER, id=None, address_hash=address_hash(self.members.secret, typed.strip()))

    def choice(self, keys: Sequence[str] | None) -> ThemeChoice | Refused:
        """The themes ``keys`` name (None: every theme); a key no theme has is refused, never dropped in silence."""
        if keys is None:
            return ThemeChoice(tuple(self.settings.newsletter.theme_keys), every=True)
        unknown = [key for key in keys if key not in self.settings.newsletter.theme_keys]
        if unknown:
            known = ", ".join(self.settings.newsletter.theme_keys)
            return Refused(PersonProblem.UNKNOWN_THEME, f"no theme has the key {', '.join(map(repr, unknown))}; the keys are: {known}")
        chosen = posted_choice(self.settings.newsletter, keys)
        if self.members.problem_of(chosen) is ChoiceProblem.NO_THEME:
            return Refused(PersonProblem.NO_THEME, "choose at least one theme (or leave themes out: every theme)")
        return chosen

    def add(self, email: str, name: str | None, themes: Sequence[str] | None, *, confirmed: bool) -> Added | Refused:
        """Add a person: ``confirmed`` on the operator's word (their consent taken elsewhere: :meth:`Roster.add`), else
        by double opt-in (a confirmation mail; pending until they click). Raises AddressError for an address that will
        not work and RefusedError for someone who left or asked to be forgotten."""
        address = address_of(email)
        choice = self.choice(themes)
        if isinstance(choice, Refused):
            return choice
        if not confirmed:
            kind = self.members.sign_up(address, name_of(name), choice)
            found = self.store.subscribers.get(address)
            assert found is not None  # sign_up stored them
            return Added(self.person(found), created=kind is SignUpKind.NEW, awaiting_confirmation=kind is not SignUpKind.ACTIVE)
        added = self.roster.add(address, name_of(name))
        made = added.outcome is AddOutcome.ADDED  # new, or a pending sign-up made active: the themes given are theirs
        if made and themes is not None:
            self.store.subscribers.set_preferences(added.subscriber.id, choice.stored, None)
        return Added(self.person(added.subscriber), created=made and added.was is None, awaiting_confirmation=False)

    def get(self, subscriber_id: int) -> Subscriber | None:
        return self.store.subscribers.get(subscriber_id=subscriber_id)

    def page(
        self, after: int, limit: int, status: SubscriberStatus | None, theme: str | None, changed_since: datetime | None = None
    ) -> tuple[list[Person], int | None] | Refused:
        """Up to ``limit`` people after the id ``after`` (whose status, name or choices changed since ``changed_since``:
        what a CRM mirroring the list asks for), and the id to continue after (None: that was the last page)."""
        if theme is not None and theme_key_problem(theme) is not None:
            return Refused(PersonProblem.UNKNOWN_THEME, f"{theme!r} is not a theme key: {theme_key_problem(theme)}")
        if after >= MOST_ID:
            return [], None
        found = self.store.subscribers.page(after, min(limit, MOST_PER_PAGE) + 1, status, theme=theme, changed_since=changed_since)
        shown = found[: min(limit, MOST_PER_PAGE)]
        more = len(found) > len(shown)
        return [self.person(subscriber) for subscriber in shown], (shown[-1].id if more and shown else None)

    def change(
        self, subscriber: Subscriber, *, name: str | None = None, rename: bool = False, themes: Sequence[str] | None = None
    ) -> Person | Refused:
        """Change the name (``rename``: to ``name``, None or empty for none) and the themes (None: left as they are)."""
        preferences = None
        if themes is not None:
            choice = self.choice(themes)
            if isinstance(choice, Refused):
                return choice
            if not self.members.may_choose(subscriber):
                return Refused(
                    PersonProblem.NOT_SUBSCRIBED, f"only someone on the list chooses themes; this person is {subscriber.status.value}"
                )
            pause = self.members.preferences_of(subscriber).paused_until
            if self.members.problem_of(choice, pause) is not None:
                return Refused(PersonProblem.NOT_SUBSCRIBED, "they left the list meanwhile")
            preferences = (choice.stored, pause)
        # The name and the themes in one transaction: one change, one subscriber.updated naming both.
        if not self.store.subscribers.change(subscriber.id, name=name_of(name), rename=rename, preferences=preferences):
            return Refused(PersonProblem.NOT_SUBSCRIBED, "they left the list meanwhile")
        changed = self.get(subscriber.id)
        return self.person(changed or subscriber)

    def unsubscribe(self, subscriber: Subscriber, by: str) -> Person:
        """Unsubscribe them (idempotent), saying by whom."""
        self.members.unsubscribe(subscriber, how=f"unsubscribed through the API by {by}")
        return self.person(self.get(subscriber.id) or subscriber)

    def forget(self, subscriber: Subscriber) -> None:
        """Erase them (:meth:`Roster.forget`): only the keyed hash of the address is kept, here and in the audit log."""
        self.roster.forget(subscriber)
