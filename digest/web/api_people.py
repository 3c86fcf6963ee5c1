"""The HTTP API's handlers of people and newsletters, and each newsletter's use cases (:class:`Desk`): an install's
API covers every newsletter of it, a request naming the one it is about (``newsletter``, its slug; needed only when
the install has several, :mod:`digest.web.api`). A subscriber, as the API shows them, is a person (one per address:
their id is the person's) with a subscription per newsletter they joined; an add, a change of themes and an
unsubscribe act on the named newsletter's subscription, a forget on the person."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from digest.app.people import People, Person, Refused
from digest.models import ApiScope, ApiToken, Subject, SubjectKind
from digest.models.errors import AddressError, RefusedError
from digest.web.api_answers import Answer, not_found, problem, refused
from digest.web.api_doc import openapi_document, whole_number
from digest.web.api_shapes import (
    AddedSubscriber,
    Forgotten,
    NewsletterList,
    NewsletterOut,
    NewSubscriber,
    SignUpTaken,
    SubscriberChange,
    SubscriberOut,
    SubscriberPage,
    Subscription,
)

if TYPE_CHECKING:
    from digest.app.catalogue import Catalogue
    from digest.app.dispatch import Dispatch
    from digest.app.session import Scope, Store

TAKEN = "taken: a confirmation mail goes to the address unless it is on the list already; nothing is sent until they click it"


@dataclass(slots=True)
class Call:
    """One authenticated request, read: the handler's input. ``subject`` is set by the handler as soon as it knows
    whom the request is about, so the audit log has it whatever the answer; ``newsletter``: the slug of the newsletter
    it is about (None: it names none, and needs none)."""

    token: ApiToken
    params: dict[str, Any]
    query: dict[str, Any]
    body: Any = None
    subject: Subject | None = None
    newsletter: str | None = None


class Desk:
    """One newsletter's use cases, on the store scoped to it: its people, and (made when first asked for) its issues
    and its sends: one running send per newsletter, so one newsletter's send never waits for another's."""

    def __init__(self, settings: Scope, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.people = People(settings, store)
        self._catalogue: Catalogue | None = None
        self._dispatch: Dispatch | None = None
        self._making = threading.Lock()  # handlers run on the thread pool: one Dispatch (one running send) per desk

    # The issues' use cases load the renderer (a plan builds the issue): imported when first asked for, so the public
    # pages' process does not load MJML and premailer until the API is asked about an issue.
    @property
    def catalogue(self) -> Catalogue:
        with self._making:
            if self._catalogue is None:
                from digest.app.catalogue import Catalogue

                self._catalogue = Catalogue(self.settings, self.store)
            return self._catalogue

    @property
    def dispatch(self) -> Dispatch:
        with self._making:
            if self._dispatch is None:
                from digest.app.dispatch import Dispatch

                self._dispatch = Dispatch(self.settings, self.store)
            return self._dispatch


def subscriber_out(person: Person, newsletter: str | None, order: Sequence[str] = ()) -> SubscriberOut:
    """A person as the API shows them, their subscriptions in the install's ``order`` of newsletters (one no longer
    configured: last); ``status``: their subscription's to ``newsletter`` (None: none meant, or none)."""
    meant = person.on(newsletter) if newsletter is not None else None
    place = {slug: number for number, slug in enumerate(order)}
    subscriptions = [
        Subscription(
            id=held.id,
            newsletter=held.newsletter,
            status=held.status,
            themes=list(held.themes) if held.themes is not None else None,
            paused_until=held.paused_until,
            edition=held.edition,
            created_at=held.created_at,
            updated_at=held.updated_at,
        )
        for held in sorted(person.subscriptions, key=lambda held: (place.get(held.newsletter, len(place)), held.newsletter))
    ]
    status = meant.status if meant is not None else None
    return SubscriberOut(id=person.id, email=person.email, name=person.name, status=status, subscriptions=subscriptions)


class PeopleHandlers:
    """The handlers of the newsletters and the subscribers (named in :data:`digest.web.api_doc.OPERATIONS`)."""

    def __init__(self, every: Sequence[Scope], store: Store) -> None:
        self.desks = {scope.newsletter.slug: Desk(scope, store.of_scope(scope)) for scope in every}
        self.first = next(iter(self.desks.values()))

    def shown(self, person: Person, newsletter: str | None) -> SubscriberOut:
        return subscriber_out(person, newsletter, tuple(self.desks))

    def desk(self, call: Call) -> Desk:
        """The desk of the newsletter the call names (the first, the only one, when it names none)."""
        return self.desks[call.newsletter] if call.newsletter is not None else self.first

    def meant(self, call: Call) -> str | None:
        """The slug of the newsletter meant: the one named, or the only one there is."""
        return call.newsletter if call.newsletter is not None or len(self.desks) > 1 else self.first.settings.newsletter.slug

    def openapi(self, call: Call) -> Answer:
        return Answer(200, openapi_document())

    def list_newsletters(self, call: Call) -> Answer:
        counted = call.token.allows(ApiScope.SUBSCRIBERS_READ) or call.token.allows(ApiScope.REPORTS_READ)
        items = []
        for slug, desk in self.desks.items():
            counts = {status.value: n for status, n in desk.store.subscribers.counts().items()} if counted else None
            newsletter = desk.settings.newsletter
            items.append(NewsletterOut(slug=slug, name=newsletter.name, path=newsletter.path, subscribers=counts))
        return Answer(200, NewsletterList(items=items))

    def create_subscriber(self, call: Call) -> Answer:
        wanted: NewSubscriber = call.body
        people = self.desk(call).people
        call.subject = people.address_subject(wanted.email)
        only_adds = not call.token.allows(ApiScope.SUBSCRIBERS_WRITE)  # subscribers:create: a website's form
        if only_adds and wanted.confirmed:
            detail = 'adding someone as confirmed ("confirmed": true) needs the scope subscribers:write; this token adds by double opt-in'
            return problem(403, "forbidden", "Not allowed", detail)
        try:
            added = people.add(wanted.email, wanted.name, wanted.themes, confirmed=wanted.confirmed, by_themselves=only_adds)
        except AddressError as exc:
            return problem(422, "invalid", "Unusable request", f"that address will not work: {exc}", [f"'email' {exc}"])
        except RefusedError as exc:  # someone who left, or asked to be forgotten: nothing stored, nobody mailed
            return Answer(202, SignUpTaken(accepted=True, detail=TAKEN)) if only_adds else refused(exc.refusal)
        if isinstance(added, Refused):
            return refused(added)
        call.subject = people.subject(added.person)
        if only_adds:  # one answer whoever was on the list: the form's token is no oracle of who is
            return Answer(202, SignUpTaken(accepted=True, detail=TAKEN))
        shape = AddedSubscriber(
            subscriber=self.shown(added.person, people.slug), created=added.created, awaiting_confirmation=added.awaiting_confirmation
        )
        return Answer(201 if added.created else 200, shape)

    def list_subscribers(self, call: Call) -> Answer:
        after = whole_number(call.query["after"] or "0", most_digits=18)
        if after is None:
            return problem(422, "invalid", "Unusable request", "'after' must be a page's next cursor", ["'after' is not a cursor"])
        people = self.desk(call).people
        found = people.page(after, call.query["limit"], call.query["status"], call.query["theme"], call.query["changed_since"])
        if isinstance(found, Refused):
            return refused(found)
        shown, more = found
        items = [self.shown(person, people.slug) for person in shown]
        return Answer(200, SubscriberPage(items=items, next=str(more) if more is not None else None))

    def _person(self, call: Call) -> Person | None:
        """The person the path names, the audit's subject set (their id and keyed hash; the id alone for nobody)."""
        people = self.desk(call).people
        person = people.person(call.params["subscriber_id"])
        if person is not None:
            call.subject = people.subject(person)
        else:
            call.subject = Subject(kind=SubjectKind.SUBSCRIBER, id=str(call.params["subscriber_id"]))
        return person

    def _subscription(self, call: Call) -> tuple[Person, Any] | Answer:
        """The person the path names and their subscription to the newsletter meant, or the 404 saying which is not."""
        person = self._person(call)
        if person is None:
            return not_found("no subscriber has this id")
        subscription = self.desk(call).people.subscription(person)
        if subscription is None:
            return not_found(f"subscriber {person.id} has no subscription to {self.desk(call).people.slug}")
        return person, subscription

    def get_subscriber(self, call: Call) -> Answer:
        person = self._person(call)
        if person is None:
            return not_found("no subscriber has this id")
        meant = self.meant(call)
        if call.newsletter is not None and person.on(call.newsletter) is None:
            return not_found(f"subscriber {person.id} has no subscription to {call.newsletter}")
        return Answer(200, self.shown(person, meant))

    def update_subscriber(self, call: Call) -> Answer:
        found = self._subscription(call)
        if isinstance(found, Answer):
            return found
        people = self.desk(call).people
        change: SubscriberChange = call.body
        changed = people.change(found[1], name=change.name, rename=change.name is not None, themes=change.themes, edition=change.edition)
        return refused(changed) if isinstance(changed, Refused) else Answer(200, self.shown(changed, people.slug))

    def unsubscribe_subscriber(self, call: Call) -> Answer:
        found = self._subscription(call)
        if isinstance(found, Answer):
            return found
        people = self.desk(call).people
        return Answer(200, self.shown(people.unsubscribe(found[1], f"API token {call.token.name}"), people.slug))

    def forget_subscriber(self, call: Call) -> Answer:
        person = self._person(call)
        if person is None:
            return not_found("no subscriber has this id")
        if call.newsletter is not None and person.on(call.newsletter) is None:
            # As a read names it: a newsletter's CRM cleaning its own list never erases another's reader.
            return not_found(f"subscriber {person.id} has no subscription to {call.newsletter}: nothing forgotten")
        ended = self.desk(call).people.forget(person)
        call.subject = Subject(kind=SubjectKind.SUBSCRIBER, id=None, address_hash=call.subject.address_hash if call.subject else None)
        return Answer(200, Forgotten(forgotten=True, ended=ended))


__all__ = ["TAKEN", "Call", "Desk", "PeopleHandlers", "subscriber_out"]
