"""The list as another system keeps it in step (the HTTP API): add a person with or without double opt-in, read
one or a page of them, change their name or themes, unsubscribe or forget them.

Each rule is the one the CLI and the public pages keep, called from here, not restated: an operator's add
(:meth:`Roster.add`: never back someone who left or asked to be forgotten), a sign-up that mails its confirmation
(:meth:`Membership.sign_up`), a choice of themes only while on the list (:meth:`Membership.set_preferences`).
A :class:`People` is one newsletter's (its store scoped to it): it adds to, lists, changes and unsubscribes that
newsletter's subscriptions; a :class:`Person` it answers with carries every subscription of theirs, in any newsletter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from digest.app.choices import ChoiceProblem, ThemeChoice, posted_choice
from digest.app.subscribers import AddOutcome, Membership, Roster, address_of, name_of
from digest.config import Scope
from digest.config.schema import theme_key_problem
from digest.models import Refusal, RefusalKind, SignUpKind, Subject, SubjectKind, Subscriber, SubscriberStatus
from digest.models.errors import RefusedError, StoreError
from digest.models.tokens import address_hash
from digest.store import Store

MOST_PER_PAGE = 200
MOST_ID = 2**31 - 1  # ids are PostgreSQL INTEGERs: a cursor past them finds nobody (and is never sent to the database)


@dataclass(frozen=True, slots=True, kw_only=True)
class Held:
    """One subscription of a person: its id (the one links, deliveries and webhooks carry), its newsletter's slug,
    status, the theme keys chosen (None: every theme, those added later too), the day a pause ends, and its dates."""

    id: int
    newsletter: str
    status: SubscriberStatus
    themes: tuple[str, ...] | None
    paused_until: date | None
    edition: str | None  # None: the newsletter's first
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Person:
    """A person (one per address, whatever newsletters they are on) and every subscription of theirs."""

    id: int
    email: str
    name: str | None
    subscriptions: tuple[Held, ...]

    def on(self, newsletter: str) -> Held | None:
        """Their subscription to the newsletter whose slug is ``newsletter``, if they have one."""
        return next((held for held in self.subscriptions if held.newsletter == newsletter), None)


class PersonProblem(StrEnum):
    """Why a change to a person is not made (each entry point words it)."""

    UNKNOWN_THEME = "unknown-theme"  # a theme key no theme of the config has
    NO_THEME = "no-theme"  # nothing chosen: no issue would reach them
    NOT_SUBSCRIBED = "not-subscribed"  # only someone on the list chooses themes
    UNKNOWN_EDITION = "unknown-edition"  # an edition the newsletter does not have


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

    @property
    def slug(self) -> str:
        return self.settings.newsletter.slug

    def people(self, person_ids: Sequence[int]) -> list[Person]:
        """The people ``person_ids`` (those that exist), in that order, each with every subscription of theirs."""
        rows: dict[int, list[dict[str, Any]]] = {}
        for row in self.store.subscribers.of_people(list(dict.fromkeys(person_ids))):
            rows.setdefault(int(row["person_id"]), []).append(row)
        return [_person_of(rows[person_id]) for person_id in dict.fromkeys(person_ids) if person_id in rows]

    def person(self, subscriber: Subscriber | int) -> Person | None:
        """The person of a subscription (or by their person id), with every subscription of theirs."""
        found = self.people([subscriber.person_id if isinstance(subscriber, Subscriber) else subscriber])
        return found[0] if found else None

    def subscription(self, person: Person) -> Subscriber | None:
        """Their subscription to this newsletter, if they have one."""
        held = person.on(self.slug)
        return self.store.subscribers.get(subscriber_id=held.id) if held is not None else None

    def subject(self, person: Person) -> Subject:
        """How the audit log names them: their person id (the API's), and the keyed hash of the address that outlives a
        forget."""
        return Subject(kind=SubjectKind.SUBSCRIBER, id=str(person.id), address_hash=address_hash(self.members.secret, person.email))

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

    def add(
        self, email: str, name: str | None, themes: Sequence[str] | None, *, confirmed: bool, by_themselves: bool = False
    ) -> Added | Refused:
        """Add a person: ``confirmed`` on the operator's word (their consent taken elsewhere: :meth:`Roster.add`), else
        by double opt-in (a confirmation mail; pending until they click). Raises AddressError for an address that will
        not work and RefusedError for someone who left or asked to be forgotten, unless ``by_themselves`` (a website's
        sign-up form: the person typing, who may come back by confirming, as on the subscribe page)."""
        address = address_of(email)
        choice = self.choice(themes)
        if isinstance(choice, Refused):
            return choice
        if not confirmed:
            held = self.store.subscribers.get(address)
            if not by_themselves and held is not None and held.status not in (SubscriberStatus.ACTIVE, SubscriberStatus.PENDING):
                # Someone who left comes back only by their own sign-up (the page's form): never mailed by the API.
                raise RefusedError(
                    Refusal(RefusalKind.LEFT, f"{address} left this newsletter ({held.status.value}): only they can sign up again")
                )
            if not by_themselves and held is None and self.roster.forgotten_test()(address):
                # A forget leaves no row to find, only the keyed hash: asked for here, or the sign-up mails them.
                raise RefusedError(Refusal(RefusalKind.FORGOTTEN, f"{address} asked to be forgotten: only they can sign up again"))
            kind = self.members.sign_up(address, name_of(name), choice)
            found = self.store.subscribers.get(address)
            assert found is not None  # sign_up stored them
            return Added(self._whole(found), created=kind is SignUpKind.NEW, awaiting_confirmation=kind is not SignUpKind.ACTIVE)
        # A new one is stored with the themes given, in one row and one event; a pending sign-up made active takes them
        # as a change of its own (it had chosen at its sign-up).
        added = self.roster.add(address, name_of(name), themes=choice.stored if themes is not None else None)
        if added.outcome is AddOutcome.ADDED and added.was is not None and themes is not None:
            self.store.subscribers.set_preferences(added.subscriber.id, choice.stored, None)
        made = added.outcome is AddOutcome.ADDED
        return Added(self._whole(added.subscriber), created=made and added.was is None, awaiting_confirmation=False)

    def _whole(self, subscriber: Subscriber) -> Person:
        found = self.person(subscriber)
        if found is None:  # pragma: no cover (the subscription was just read: its person is there)
            raise StoreError(f"subscriber {subscriber.id} has no person")
        return found

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
        return self.people([subscriber.person_id for subscriber in shown]), (shown[-1].id if more and shown else None)

    def change(
        self,
        subscriber: Subscriber,
        *,
        name: str | None = None,
        rename: bool = False,
        themes: Sequence[str] | None = None,
        edition: str | None = None,
    ) -> Person | Refused:
        """Change the name (``rename``: to ``name``, None or empty for none), the themes and the edition (None: left as
        they are; an edition the newsletter does not have is refused, naming those it has)."""
        if edition is not None and (problem := self.roster.edition_problem(edition)) is not None:
            return Refused(PersonProblem.UNKNOWN_EDITION, problem)
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
        if not self.store.subscribers.change(subscriber.id, name=name_of(name), rename=rename, preferences=preferences, edition=edition):
            return Refused(PersonProblem.NOT_SUBSCRIBED, "they left the list meanwhile")
        return self._whole(subscriber)

    def unsubscribe(self, subscriber: Subscriber, by: str) -> Person:
        """Unsubscribe them (idempotent), saying by whom."""
        self.members.unsubscribe(subscriber, how=f"unsubscribed through the API by {by}")
        return self._whole(subscriber)

    def forget(self, person: Person) -> list[str]:
        """Erase them, every subscription (:meth:`Roster.forget`): only the keyed hash of the address is kept, here and
        in the audit log (which names them by person id). Returns the newsletters (slugs) whose subscription it ended:
        those still on or awaiting confirmation (one they had left was over already, though erased too)."""
        live = {held.newsletter for held in person.subscriptions if held.status in (SubscriberStatus.ACTIVE, SubscriberStatus.PENDING)}
        any_one = self.store.subscribers.get(subscriber_id=person.subscriptions[0].id)
        erased = self.roster.forget(any_one) if any_one is not None else []
        self.store.api.forget_subscriber(person.id)
        return [slug for slug in erased if slug in live]


def _person_of(rows: list[dict[str, Any]]) -> Person:
    first = rows[0]
    held = tuple(
        Held(
            id=int(row["id"]),
            newsletter=str(row["newsletter"]),
            status=SubscriberStatus(row["status"]),
            themes=tuple(row["themes"]) if row["themes"] is not None else None,
            paused_until=row["paused_until"],
            edition=row["edition"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )
        for row in rows
    )
    return Person(id=int(first["person_id"]), email=str(first["email"]), name=first["name"], subscriptions=held)
