"""The use cases of a reader's membership, as the public app offers them: leaving in one click, signing up and
confirming (double opt-in), choosing themes or a pause. Each answers with a typed value; the web app turns it
into a page.

The rules kept here, once: a link acts only with a token we signed that verifies; a sign-up never undoes an
opt-out by itself; a confirmation link belongs to the sign-up it was mailed for, and so does the theme choice
(another sign-up while one awaits confirmation changes nothing stored: digest.store.subscribers); at most one
mail per address every ten minutes, whoever fills in the form.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from digest.app.choices import (
    ChoiceProblem,
    Preferences,
    ThemeChoice,
    choice_problem,
    current_pause,
    offered_editions,
    pause_range,
    posted_choice,
    posted_edition,
    reader_today,
    stored_choice,
)
from digest.config import ConfigError, Scope
from digest.config.schema import theme_key_problem
from digest.mail.notice import send_notice
from digest.models import SUBSCRIBER_STATUS_WORDS, Refusal, RefusalKind, SignUpKind, Subscriber, SubscriberStatus, routes
from digest.models.addresses import clean_name, normalise_address
from digest.models.errors import DigestError, RefusedError, TransientError, UnknownSubscriberError
from digest.models.tokens import ExpiringSigner, Signer, address_hash
from digest.store import Store
from digest.store.subscribers import IMPORTED_AS

log = logging.getLogger(__name__)

CONFIRM_EVERY = timedelta(minutes=10)  # at most one confirmation mail per address in this time
KEY_USE_LINKS = "it checks the unsubscribe, preferences and confirmation links"


def address_of(typed: str) -> str:
    """An address a person typed (a form, a command line), as it is stored and sent to; raises AddressError
    saying what is wrong with it."""
    return normalise_address(typed)


def name_of(typed: str | None) -> str | None:
    """A name a person typed, on one line and without what would break a To: header; None when empty."""
    return clean_name(typed)


class ConfirmationState(StrEnum):
    """What a confirmation link finds."""

    NOT_OURS = "not-ours"  # forged, altered, or its subscriber is gone
    SUBSCRIBED = "subscribed"  # active already: nothing to confirm
    USED = "used"  # expired, used, or made before the sign-up that now awaits confirmation
    AWAITING = "awaiting"  # a sign-up of theirs awaits this very confirmation


@dataclass(frozen=True, slots=True)
class Confirmation:
    state: ConfirmationState
    subscriber: Subscriber | None = None


class Membership:
    """A reader's membership over one configuration and one database; needs DIGEST_SECRET_KEY (its tokens)."""

    def __init__(self, settings: Scope, store: Store) -> None:
        secret = settings.install.require_secret(KEY_USE_LINKS)
        self.settings = settings
        self.store = store
        self.secret = secret
        self.links = Signer(secret, settings.newsletter.list_id)
        self.confirmations = ExpiringSigner(secret, settings.newsletter.list_id, "confirm")

    # -- the reader's own links: unsubscribe and preferences --------------------------------------------

    def reader_of(self, token: str) -> Subscriber | None:
        """The subscriber a link's token names, or None for a forged, altered or stale one (their row is gone), or one of
        another newsletter's."""
        subscriber_id = self.links.subscriber_id_of(token)
        subscriber = self.store.subscribers.get(subscriber_id=subscriber_id) if subscriber_id is not None else None
        if subscriber is None or not self.links.matches(token, subscriber.id, subscriber.link_salt):
            return None
        # Tokens are keyed by the newsletter's List-Id, so another newsletter's token does not verify here; two
        # newsletters configured with one list_id would share keys, and the row's own newsletter still decides.
        return subscriber if subscriber.newsletter == self.store.newsletter else None

    def link_token(self, subscriber: Subscriber) -> str:
        """The token of their unsubscribe and preferences links."""
        return self.links.token(subscriber.id, subscriber.link_salt)

    def unsubscribe(self, subscriber: Subscriber, how: str = "one-click unsubscribe") -> bool:
        changed = self.store.subscribers.set_status(subscriber.id, SubscriberStatus.UNSUBSCRIBED, how)
        if changed:
            log.info("subscriber %d unsubscribed", subscriber.id)
        return changed

    def may_choose(self, subscriber: Subscriber) -> bool:
        """Whether they may set their themes and a pause: only while on the list (a sign-up awaiting confirmation
        chose its themes on the form)."""
        return subscriber.status == SubscriberStatus.ACTIVE

    def preferences_of(self, subscriber: Subscriber) -> Preferences:
        """What they chose, as their page shows it: the configured themes of their choice, a pause that lasts, their
        edition and the editions offered (none when the newsletter has one)."""
        newsletter = self.settings.newsletter
        stored, paused = self.store.subscribers.preferences_of(subscriber.id)
        today = reader_today(newsletter)
        offered = offered_editions(newsletter)
        edition = (self.store.subscribers.edition_of(subscriber.id) if offered else None) or newsletter.editions[0].name
        return Preferences(
            stored_choice(newsletter, stored), current_pause(paused, today), pause_range(today), edition=edition, editions=offered
        )

    def edition_of(self, posted: object) -> str | ChoiceProblem | None:
        """The edition a form posted (:func:`posted_edition`)."""
        return posted_edition(self.settings.newsletter, posted)

    def problem_of(self, themes: ThemeChoice, paused_until: date | None = None) -> ChoiceProblem | None:
        """What stops this choice being kept (:func:`digest.app.choices.choice_problem`); None when it may be."""
        return choice_problem(themes, paused_until, reader_today(self.settings.newsletter))

    def set_preferences(
        self, subscriber: Subscriber, themes: ThemeChoice, paused_until: date | None, edition: str | None = None
    ) -> ChoiceProblem | None:
        """Keep their choice (``edition``: one :meth:`edition_of` read, None to leave theirs); what stopped it
        (:class:`ChoiceProblem`: they left the list meanwhile too), or None. A new edition is set as ``digest
        subscribers set-edition`` sets it (:meth:`Roster.set_edition`), so their first issue of it is cut the same way."""
        if (problem := self.problem_of(themes, paused_until)) is not None:
            return problem
        if not self.store.subscribers.set_preferences(subscriber.id, themes.stored, paused_until):
            return ChoiceProblem.NOT_SUBSCRIBED
        if edition is not None and edition != self.preferences_of(subscriber).edition:
            Roster(self.settings, self.store).set_edition(subscriber, edition)
        return None

    def choice_of(self, posted: Iterable[object]) -> ThemeChoice:
        """The themes a form posted (:func:`posted_choice`)."""
        return posted_choice(self.settings.newsletter, posted)

    # -- signing up and confirming --------------------------------------------------------------------

    def sign_up(self, address: str, name: str | None, themes: ThemeChoice, edition: str | None = None) -> SignUpKind:
        """Record a sign-up (an address validated before; ``edition``: one :meth:`edition_of` read, None for the
        newsletter's first) and mail its confirmation, or "already subscribed";
        nothing when a mail went to that address in the last ten minutes. A mail that cannot go out is logged:
        the form's answer is the same for everyone, whoever is on the list."""
        settings = self.settings
        self.store.subscribers.expire_pending(timedelta(hours=settings.newsletter.confirm_hours))
        found = self.store.subscribers.sign_up(address, name, themes.stored, edition)
        if not self.store.subscribers.claim_confirmation(found.subscriber.id, CONFIRM_EVERY):
            return found.kind  # a mail went out in the last ten minutes: no mail bombing through our form
        try:
            if found.kind is SignUpKind.ACTIVE:
                send_notice(
                    settings,
                    address,
                    f"You are already subscribed to {settings.newsletter.name}",
                    f"Someone (you, we hope) asked to subscribe {address} to {settings.newsletter.name}. You are subscribed already: "
                    f"nothing has changed.\n\nTo leave: {routes.UNSUBSCRIBE.link(settings.base_url, token=self.link_token(found.subscriber))}\n",
                    label="signup",
                )
            else:
                expires = int(time.time() + settings.newsletter.confirm_hours * 3600)
                link = routes.CONFIRM.link(settings.base_url, token=self.confirmations.token(found.subscriber.id, expires))
                send_notice(
                    settings,
                    address,
                    f"Confirm your subscription to {settings.newsletter.name}",
                    f"Please confirm that you want {settings.newsletter.name}{self._edition_said(found.subscriber)} at {address}:\n\n    {link}\n\n"
                    f"The link works for {settings.newsletter.confirm_hours:g} hours. If you did not ask for this, ignore this mail: "
                    "nothing will be sent to you.\n",
                    label="signup",
                )
        except DigestError as exc:  # the answer stays the same; the operator sees why in the log
            log.error("could not send the sign-up mail to subscriber %d: %s", found.subscriber.id, exc)
            if not (isinstance(exc, TransientError) and exc.message_sent):  # nothing went out: our failure costs them no wait
                self.store.subscribers.release_confirmation(found.subscriber.id)
        return found.kind

    def confirmation(self, token: str, now: float | None = None) -> Confirmation:
        """What a confirmation link finds. A link belongs to the sign-up it was mailed for: one made before the
        sign-up that now awaits confirmation (used, or from before they left) stays used, whatever happened since."""
        checked = self.confirmations.check(token, int(time.time() if now is None else now))
        if checked is None:
            return Confirmation(ConfirmationState.NOT_OURS)
        subscriber_id, still_valid, expires = checked
        subscriber = self.store.subscribers.get(subscriber_id=subscriber_id)
        if subscriber is None or subscriber.newsletter != self.store.newsletter:  # another newsletter's sign-up: not this page's
            return Confirmation(ConfirmationState.NOT_OURS)
        if subscriber.status == SubscriberStatus.ACTIVE:
            return Confirmation(ConfirmationState.SUBSCRIBED, subscriber)
        since = self.store.subscribers.awaiting_since(subscriber.id)
        issued = expires - int(self.settings.newsletter.confirm_hours * 3600)
        if not still_valid or since is None or issued < int(since.timestamp()):
            return Confirmation(ConfirmationState.USED, subscriber)
        return Confirmation(ConfirmationState.AWAITING, subscriber)

    def _edition_said(self, subscriber: Subscriber) -> str:
        """ " (its monthly edition)" when the newsletter offers several: the reader's mail says which they chose."""
        editions = self.settings.newsletter.editions
        return f" (its {subscriber.edition or editions[0].name} edition)" if len(editions) > 1 else ""

    def confirm(self, subscriber: Subscriber) -> bool:
        """They clicked Confirm: active (their own choice lifts a suppression too), and a welcome mail."""
        settings = self.settings
        if not self.store.subscribers.confirm(subscriber.id):
            return False
        log.info("subscriber %d confirmed", subscriber.id)
        self.store.subscribers.lift_suppression(address_hash(self.secret, subscriber.email))
        token = self.link_token(subscriber)
        try:
            send_notice(
                settings,
                subscriber.email,
                f"Welcome to {settings.newsletter.name}",
                f"You are subscribed to {settings.newsletter.name}{self._edition_said(subscriber)}: the next issue comes to "
                f"{subscriber.email}.\n\n"
                f"Choose your themes, or take a break: {routes.PREFERENCES.link(settings.base_url, token=token)}\n"
                f"To leave at any time, one click: {routes.UNSUBSCRIBE.link(settings.base_url, token=token)}\n",
                label="welcome",
            )
        except DigestError as exc:
            log.error("could not send the welcome mail to subscriber %d: %s", subscriber.id, exc)
        return True


# -- the operator's side: the list as a whole ----------------------------------------------------------------


class RowFate(StrEnum):
    """What an import did with one row of a list."""

    ADDED = "added"
    ALREADY = "already"  # on the list, left as it is
    NOT_RESUBSCRIBED = "not-resubscribed"  # on the list having left: an import never brings anyone back
    OPTED_OUT = "opted-out"  # on the list, and the export says they left: their opt-out honoured here
    FORGOTTEN = "forgotten"  # asked to be forgotten: not added back
    UNCONFIRMED = "unconfirmed"  # the export says they never confirmed: skipped
    REPEATED = "repeated"  # the same address earlier in the file: skipped
    BAD = "bad"  # not a usable row: reported with its line


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportedRow:
    line: int
    fate: RowFate
    email: str | None = None
    status: SubscriberStatus | None = None  # what the row (or the export) says
    was: SubscriberStatus | None = None  # the status on the list before, for rows already on it
    problem: str = ""  # why a row was bad, repeated or skipped


@dataclass(frozen=True, slots=True)
class Imported:
    """Every row's fate, in file order."""

    rows: tuple[ImportedRow, ...]

    def count(self, fate: RowFate, status: SubscriberStatus | None = None) -> int:
        return sum(1 for row in self.rows if row.fate is fate and (status is None or row.status is status))

    @property
    def bad(self) -> tuple[ImportedRow, ...]:
        return tuple(row for row in self.rows if row.fate in (RowFate.BAD, RowFate.REPEATED))


class AddOutcome(StrEnum):
    """What ``subscribers add`` did."""

    ADDED = "added"  # a new address, or a pending sign-up made active on the operator's word
    ACTIVE = "active"  # on the list and active already: nothing changed
    RESUBSCRIBED = "resubscribed"  # had left, and came back at their request (the operator said so)


@dataclass(frozen=True, slots=True)
class Added:
    subscriber: Subscriber
    outcome: AddOutcome
    was: SubscriberStatus | None = None  # the status before, when it changed
    why: str | None = None  # why they had left, for a re-subscribed one
    renamed_from: str | None = None  # the name they had, when the operator's --name replaced it ("" for none)


class Roster:
    """The list as an operator keeps it: import, add, remove, show, forget."""

    def __init__(self, settings: Scope, store: Store) -> None:
        self.settings = settings
        self.store = store

    def forgotten_test(self) -> Callable[[str], bool]:
        """Whether an address asked to be forgotten. Only a keyed hash of each is kept, so without the secret key
        none can be recognised: refused then (ConfigError) while the suppression list holds any, rather than add
        back someone who asked to be forgotten."""
        key = self.settings.install.secret_key
        if not key:
            if not (count := self.store.subscribers.suppressions()):
                return lambda _address: False  # nobody was forgotten here
            self.settings.install.require_secret(
                f"it recognises the {count} forgotten address(es) on the suppression list, never added back"
            )
        return lambda address: self.store.subscribers.suppressed(address_hash(key or "", address))

    def import_rows(self, data: bytes, source: str) -> Imported:
        """Import a CSV list (digest.models.csv_formats reads every format it knows) and say what became of each row.

        An import never re-subscribes anyone who left, honours an opt-out the export carries for someone on the
        list, and never adds back an address that asked to be forgotten. A file that cannot be read as a whole
        (not UTF-8, another delimiter, a row the CSV reader gives up on) raises ListFileError before anything
        is stored: the file is read to its end first."""
        from digest.models.csv_formats import read_csv, text_of

        parsed = list(read_csv(text_of(data)))
        forgotten = self.forgotten_test()
        rows: list[ImportedRow] = []
        seen: dict[str, int] = {}
        for row in parsed:
            if row.skipped is not None:
                rows.append(ImportedRow(line=row.line, fate=RowFate.UNCONFIRMED, problem=row.skipped))
            elif row.email is None:
                rows.append(ImportedRow(line=row.line, fate=RowFate.BAD, problem=row.problem or "not a usable row"))
            elif row.edition is not None and (problem := self.edition_problem(row.edition)) is not None:
                rows.append(ImportedRow(line=row.line, fate=RowFate.BAD, email=row.email, problem=problem))
            elif row.email.casefold() in seen:
                rows.append(
                    ImportedRow(line=row.line, fate=RowFate.REPEATED, email=row.email, problem=f"repeats line {seen[row.email.casefold()]}")
                )
            else:
                seen[row.email.casefold()] = row.line
                done = self._import_one(row.line, row.email, row.name, row.status, source, forgotten)
                if row.edition is not None and done.fate in (RowFate.ADDED, RowFate.ALREADY):
                    self.set_edition(self.find(row.email), row.edition)  # the column sets it, as set-edition would
                rows.append(done)
        return Imported(tuple(rows))

    def edition_problem(self, name: str) -> str | None:
        """Why ``name`` is no edition of this newsletter (listing its editions), or None when it is one."""
        try:
            self.settings.newsletter.edition(name)
        except ConfigError as exc:
            return "; ".join(exc.problems)
        return None

    def set_edition(self, subscriber: Subscriber, name: str) -> bool:
        """Give the subscription the edition ``name`` (checked by the caller: :meth:`edition_problem`); whether it
        changed. Their next issue of it leaves out what their last delivered issue carried (``covered_until``)."""
        return self.store.subscribers.set_edition(subscriber.id, name)

    def _import_one(
        self, line: int, email: str, name: str | None, status: SubscriberStatus, source: str, forgotten: Callable[[str], bool]
    ) -> ImportedRow:
        if forgotten(email):
            return ImportedRow(line=line, fate=RowFate.FORGOTTEN, email=email, status=status)
        subscriber, created = self.store.subscribers.add(email, name, status=status)
        if created:
            return ImportedRow(line=line, fate=RowFate.ADDED, email=email, status=status)
        was = subscriber.status
        if was != SubscriberStatus.ACTIVE and status == SubscriberStatus.ACTIVE:
            return ImportedRow(line=line, fate=RowFate.NOT_RESUBSCRIBED, email=email, status=status, was=was)
        if status != SubscriberStatus.ACTIVE and was in (SubscriberStatus.ACTIVE, SubscriberStatus.PENDING):
            # The export says they left: an opt-out is honoured wherever it comes from.
            self.store.subscribers.set_status(subscriber.id, status, f"{IMPORTED_AS}{status.value} from {source}")
            return ImportedRow(line=line, fate=RowFate.OPTED_OUT, email=email, status=status, was=was)
        return ImportedRow(line=line, fate=RowFate.ALREADY, email=email, status=status, was=was)

    def add(self, email: str, name: str | None, *, resubscribe: bool = False, themes: Sequence[str] | None = None) -> Added:
        """Add an address an operator typed (a new one with the stored choice ``themes``; None: every theme). Refused
        (RefusedError) for one that asked to be forgotten, whatever is said, and for someone who left (unsubscribed,
        complained, bounced) unless ``resubscribe``: the operator's word that the person asked to come back. A
        pending sign-up becomes active on the operator's word."""
        if self.forgotten_test()(email):
            raise RefusedError(
                Refusal(
                    RefusalKind.FORGOTTEN,
                    f"{email} asked to be forgotten: only they can sign up again (on the subscribe page, confirming by mail)",
                )
            )
        subscriber, created = self.store.subscribers.add(email, name, themes=themes)
        added = self._added(subscriber, created, resubscribe)
        if name is None or added.subscriber.name == name:
            return added
        # The person is one row across newsletters: the operator's typed name is their word for it, so it replaces
        # the one on file (said back, since every newsletter's To: header changes); a form never does this.
        self.store.subscribers.change(subscriber.id, name=name, rename=True)
        return replace(added, subscriber=replace(added.subscriber, name=name), renamed_from=added.subscriber.name or "")

    def _added(self, subscriber: Subscriber, created: bool, resubscribe: bool) -> Added:
        email = subscriber.email
        if created:
            return Added(subscriber, AddOutcome.ADDED)
        was, why = subscriber.status, subscriber.status_reason
        if was == SubscriberStatus.ACTIVE:
            return Added(subscriber, AddOutcome.ACTIVE)
        if was == SubscriberStatus.PENDING:
            self.store.subscribers.set_status(
                subscriber.id, SubscriberStatus.ACTIVE, "added by an operator while a sign-up awaited confirmation"
            )
            return Added(replace(subscriber, status=SubscriberStatus.ACTIVE), AddOutcome.ADDED, was)
        if not resubscribe:
            raise RefusedError(
                Refusal(
                    RefusalKind.LEFT,
                    f"{email} left the list ({SUBSCRIBER_STATUS_WORDS[was]}{f': {why}' if why else ''}); an operator brings back only someone who asked to come back",
                    address=email,
                )
            )
        self.store.subscribers.set_status(
            subscriber.id, SubscriberStatus.ACTIVE, f"re-subscribed by an operator at their request (was {was})"
        )
        return Added(replace(subscriber, status=SubscriberStatus.ACTIVE), AddOutcome.RESUBSCRIBED, was, why)

    def find(self, address: str) -> Subscriber:
        """The subscriber with this address; UnknownSubscriberError when there is none."""
        subscriber = self.store.subscribers.get(address.strip())
        if subscriber is None:
            raise UnknownSubscriberError(address)
        return subscriber

    def remove(self, address: str) -> tuple[Subscriber, bool]:
        subscriber = self.find(address)
        return subscriber, self.store.subscribers.set_status(subscriber.id, SubscriberStatus.UNSUBSCRIBED, "removed by an operator")

    def listed(self, status: SubscriberStatus | None = None, theme: str | None = None) -> Iterator[Subscriber]:
        """Every subscriber (with ``status``; who chose the theme key ``theme``, not counting those who take every
        theme), in id order, read in batches: a large list is never held whole. A ``theme`` that cannot be a key
        raises ConfigError saying what one is."""
        if theme is not None and (problem := theme_key_problem(theme)) is not None:
            raise ConfigError([problem])
        return self.store.subscribers.iter(status, theme=theme)

    def counts(self) -> dict[SubscriberStatus, int]:
        return self.store.subscribers.counts()

    def record(self, subscriber: Subscriber) -> dict[str, Any]:
        """Everything stored about one subscriber (``subscribers show``, a data-access request): this subscription with
        the address and name, each of the person's subscriptions (newsletter, status, themes, dates), every delivery
        and every return."""
        return self.store.subscribers.record_of(subscriber.id)

    def forget(self, subscriber: Subscriber) -> list[str]:
        """Erase the person: every subscription of theirs (on every newsletter) and its delivery history; keep only a
        keyed hash of the address, so no import adds it again (the API's audit log keeps only that hash too). Returns
        the newsletters (slugs) whose subscription ended, this one's first."""
        key = self.settings.install.require_secret("it keys the hash kept on the suppression list")
        theirs = self.store.subscribers.subscriptions_of(subscriber.id)
        ended = self.store.subscribers.forget(subscriber.id, address_hash(key, subscriber.email))
        for subscription in theirs:  # the API's audit log keeps only the keyed hash of the address
            self.store.api.forget_subscriber(subscription.id)
        return ended
