"""The subscriber list: people (an address, validated before it gets here, and a name) and their subscriptions, one
per newsletter (status, themes, dates). A :class:`Subscribers` lists and finds by address its newsletter's
subscriptions; by id it finds any (ids are unique across newsletters: links and tokens carry them)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from digest.models import STATUS_EVENTS, EventType, SignUp, SignUpKind, Subscriber, SubscriberStatus
from digest.models.errors import StoreError
from digest.store.confirmations import Confirmations
from digest.store.engine import reads_of
from digest.store.outbox import forget_in_events
from digest.store.people import (
    JOINED,
    chosen_themes,
    may_get_mail,
    new_salt,
    plain,
    select_subscribers,
    stop_person,
    stored_day,
    subscriber_event,
    subscriber_of,
    subscription_record,
)
from digest.store.schema import deliveries, mail_events, now_utc, people, subscribers, suppressions

# The start of the reason an import gives a status: the export said so, and when it happened is not known.
IMPORTED_AS = "imported as "


class Subscribers(Confirmations):
    """Reads and writes of the ``people`` and ``subscribers`` tables, for the newsletter whose slug is ``newsletter``."""

    def __init__(self, engine: Engine, newsletter: str) -> None:
        self.engine = engine
        self.newsletter = newsletter
        self.reads = reads_of(engine)  # transactions that only read take no write lock
        self.mine = subscribers.c.newsletter == newsletter

    def _find(self, conn: Connection, key: str) -> Any:
        """This newsletter's subscription of the address whose key is ``key`` (a mapping), or None."""
        return conn.execute(select_subscribers().where(people.c.email_key == key, self.mine)).mappings().first()

    def _person(self, conn: Connection, email: str, name: str | None, now: datetime) -> int:
        """The id of the person with this address, made if there is none (given a name when theirs is unknown)."""
        key = email.casefold()
        found = conn.execute(sa.select(people.c.id, people.c.name).where(people.c.email_key == key)).first()
        if found is not None:
            if found[1] is None and name:
                conn.execute(sa.update(people).where(people.c.id == found[0]).values(name=name, updated_at=now))
            return int(found[0])
        made = conn.execute(
            sa.insert(people).values(email=email, email_key=key, name=name, created_at=now, updated_at=now)
        ).inserted_primary_key
        if made is None:  # pragma: no cover (every dialect we run returns it)
            raise StoreError("the database returned no id for a new person")
        return int(made[0])

    def add(
        self,
        email: str,
        name: str | None = None,
        *,
        status: SubscriberStatus = SubscriberStatus.ACTIVE,
        themes: Sequence[str] | None = None,
    ) -> tuple[Subscriber, bool]:
        """Add an address (already validated) to this newsletter; returns its subscription and whether it was new (a
        person already on another newsletter gets a subscription here, their person row shared). A new one gets
        ``themes`` (None: every theme) in the same row and event: never created with every theme, then narrowed.

        An existing address is returned as it is, its status unchanged: whether someone who left may come back is the
        caller's rule (digest.app.subscribers). ``status`` is the status of a new row (an import of someone who left
        elsewhere keeps them on file, never mailed)."""
        now = now_utc()
        with self.engine.begin() as conn:
            row = self._find(conn, email.casefold())
            if row is None:
                reason = None if status is SubscriberStatus.ACTIVE else IMPORTED_AS + status.value
                salt = new_salt()
                person = self._person(conn, email, name, now)
                new_id = conn.execute(
                    sa.insert(subscribers).values(
                        person_id=person,
                        newsletter=self.newsletter,
                        status=status.value,
                        status_reason=reason,
                        created_at=now,
                        updated_at=now,
                        link_salt=salt,
                        themes=json.dumps(list(themes), ensure_ascii=False) if themes is not None else None,
                    )
                ).inserted_primary_key
                if new_id is None:  # pragma: no cover (every dialect we run returns it)
                    raise StoreError("the database returned no id for a new subscriber")
                subscriber_event(conn, EventType.SUBSCRIBER_CREATED, int(new_id[0]))
                return subscriber_of(conn.execute(select_subscribers().where(subscribers.c.id == int(new_id[0]))).mappings().one()), True
            return subscriber_of(row), False

    def sign_up(self, email: str, name: str | None, themes: Sequence[str] | None, edition: str | None = None) -> SignUp:
        """Record a sign-up from the public form (the address validated before); nothing is active until confirmed.

        A new address is ``pending``; an active subscriber is left as they are.
        Someone who had left (unsubscribed, complained, bounced) keeps that
        status: anyone can type an address into the form, and an opt-out is
        never undone but by the person's own confirmation. A repeated sign-up
        while one awaits confirmation keeps its time, so the link already
        mailed still works, and changes nothing stored: anyone can type the
        address, so the choice of the sign-up whose confirmation was mailed
        stands until its owner confirms (they change it on their preferences
        page after). ``themes`` None means every theme; ``edition`` goes with them (None: the first's, or as it was).
        """
        now = now_utc()
        chosen = json.dumps(list(themes), ensure_ascii=False) if themes is not None else None
        choice = {"themes": chosen, **({"edition": edition} if edition is not None else {})}  # what one coming back sets
        with self.engine.begin() as conn:
            row = self._find(conn, email.casefold())
            if row is None:
                values = {"person_id": self._person(conn, email, name, now), "newsletter": self.newsletter}
                conn.execute(
                    sa.insert(subscribers).values(
                        **values,
                        status=SubscriberStatus.PENDING.value,
                        status_reason="signed up",
                        themes=chosen,
                        edition=edition,
                        created_at=now,
                        updated_at=now,
                        confirming_since=now,
                        link_salt=new_salt(),
                    )
                )
                row = self._find(conn, email.casefold())
                subscriber_event(conn, EventType.SUBSCRIBER_CREATED, row["id"])
                return SignUp(SignUpKind.NEW, subscriber_of(row))
            if row["status"] == SubscriberStatus.ACTIVE:
                return SignUp(SignUpKind.ACTIVE, subscriber_of(row))
            awaiting = row["status"] == SubscriberStatus.PENDING or row["confirming_since"] is not None
            conn.execute(
                sa.update(subscribers)
                .where(subscribers.c.id == row["id"])
                .values(confirming_since=row["confirming_since"] or now, **({} if awaiting else choice))
            )
            row = conn.execute(select_subscribers().where(subscribers.c.id == row["id"])).mappings().one()
            kind = SignUpKind.PENDING if row["status"] == SubscriberStatus.PENDING else SignUpKind.RETURNING
            return SignUp(kind, subscriber_of(row))

    def edition_of(self, subscriber_id: int) -> str | None:
        """The edition the subscription names (None: none, the newsletter's first)."""
        with self.reads.connect() as conn:
            return conn.execute(sa.select(subscribers.c.edition).where(subscribers.c.id == subscriber_id)).scalar() or None

    def themes_of(self, subscriber_id: int) -> tuple[str, ...] | None:
        """The themes a subscriber chose (None: every theme)."""
        return self.preferences_of(subscriber_id)[0]

    def preferences_of(self, subscriber_id: int) -> tuple[tuple[str, ...] | None, date | None]:
        """(the themes they chose, None for every theme; the day their pause ends, None when not paused)."""
        with self.reads.connect() as conn:
            row = conn.execute(sa.select(subscribers.c.themes, subscribers.c.paused_until).where(subscribers.c.id == subscriber_id)).first()
        if row is None:
            return None, None
        themes = chosen_themes(row[0])
        return (tuple(themes) if themes is not None else None), (date.fromisoformat(row[1]) if row[1] else None)

    def set_preferences(self, subscriber_id: int, themes: Sequence[str] | None, paused_until: date | None) -> bool:
        """Save what a subscriber chose on their preferences page; False when they are not active (nothing changes)."""
        return self.change(subscriber_id, preferences=(themes, paused_until))

    def change(
        self,
        subscriber_id: int,
        *,
        name: str | None = None,
        rename: bool = False,
        preferences: tuple[Sequence[str] | None, date | None] | None = None,
        edition: str | None = None,
    ) -> bool:
        """Set the person's name (``rename``), the subscription's preferences (themes, pause: only while active) and its
        ``edition`` (None: left as it is) in one transaction, with one ``subscriber.updated`` naming the fields that
        changed (none changed: no event). False when there is no such subscriber, or preferences were given and they
        are not active (then nothing changes)."""
        with self.engine.begin() as conn:
            row = conn.execute(select_subscribers().where(subscribers.c.id == subscriber_id)).mappings().first()
            if row is None or (preferences is not None and row["status"] != SubscriberStatus.ACTIVE.value):
                return False
            wanted: dict[str, Any] = {}
            if preferences is not None:
                themes, paused_until = preferences
                wanted["themes"] = json.dumps(list(themes), ensure_ascii=False) if themes is not None else None
                wanted["paused_until"] = paused_until.isoformat() if paused_until is not None else None
            if edition is not None:
                wanted["edition"] = edition
            changed = {key: value for key, value in wanted.items() if row[key] != value}
            renamed = rename and row["name"] != name
            if changed:
                conn.execute(sa.update(subscribers).where(subscribers.c.id == subscriber_id).values(**changed, updated_at=now_utc()))
            if renamed:
                conn.execute(sa.update(people).where(people.c.id == row["person_id"]).values(name=name, updated_at=now_utc()))
            if changed or renamed:
                fields = ("name",) * renamed + tuple(changed)
                subscriber_event(conn, EventType.SUBSCRIBER_UPDATED, subscriber_id, changed=fields)
        return True

    def set_edition(self, subscriber_id: int, edition: str | None) -> bool:
        """The edition the subscription gets (None: the newsletter's first), with one ``subscriber.updated`` naming
        ``edition``; whether it changed (no change, or no such subscriber: nothing written, no event)."""
        with self.engine.begin() as conn:
            was = conn.execute(sa.select(subscribers.c.edition).where(subscribers.c.id == subscriber_id)).first()
            if was is None or was[0] == edition:
                return False
            conn.execute(sa.update(subscribers).where(subscribers.c.id == subscriber_id).values(edition=edition, updated_at=now_utc()))
            subscriber_event(conn, EventType.SUBSCRIBER_UPDATED, subscriber_id, changed=("edition",))
        return True

    def theme_choices(self) -> list[tuple[str, list[str], int]]:
        """(the stored choice, its themes, how many) for each distinct choice of the subscribers who may get mail
        (active, or awaiting confirmation); every-theme choices left out."""
        query = sa.select(subscribers.c.themes, sa.func.count()).where(subscribers.c.themes.is_not(None), may_get_mail(), self.mine)
        with self.reads.connect() as conn:
            rows = conn.execute(query.group_by(subscribers.c.themes)).all()
        return [(str(row[0]), themes, int(row[1])) for row in rows if (themes := chosen_themes(row[0]))]

    def addresses_choosing(self, stored: Sequence[str], limit: int) -> tuple[str, ...]:
        """The first ``limit`` addresses (in id order) of the subscribers whose stored choice is one of ``stored``."""
        query = sa.select(people.c.email).select_from(JOINED).where(subscribers.c.themes.in_(list(stored)), may_get_mail(), self.mine)
        query = query.order_by(subscribers.c.id).limit(limit)
        with self.reads.connect() as conn:
            return tuple(str(row[0]) for row in conn.execute(query).all())

    def record_of(self, subscriber_id: int) -> dict[str, Any]:
        """Everything stored about the person of one subscription, for ``subscribers show``: the subscription with
        their address and name (``subscriber``), each of their subscriptions (``subscriptions``), and every delivery
        and returned report of any of them."""
        with self.reads.connect() as conn:
            row = conn.execute(select_subscribers().where(subscribers.c.id == subscriber_id)).mappings().one()
            theirs = conn.execute(
                sa.select(subscribers).where(subscribers.c.person_id == row["person_id"]).order_by(subscribers.c.newsletter)
            ).mappings()
            subscriptions = [subscription_record(sub) for sub in theirs]
            ids = [sub["id"] for sub in subscriptions]
            sent = conn.execute(
                sa.select(deliveries).where(deliveries.c.subscriber_id.in_(ids)).order_by(deliveries.c.created_at)
            ).mappings()
            history = [{key: plain(value) for key, value in delivery.items() if key != "subscriber_id"} for delivery in sent]
            returned = conn.execute(
                sa.select(mail_events).where(mail_events.c.subscriber_id.in_(ids)).order_by(mail_events.c.received_at)
            ).mappings()
            events = [{key: plain(value) for key, value in event.items() if key not in ("subscriber_id", "id")} for event in returned]
        record = {key: plain(value) for key, value in row.items() if key not in ("email_key", "person_id")}
        record["themes"] = json.loads(row["themes"]) if row["themes"] else None
        return {"subscriber": record, "subscriptions": subscriptions, "deliveries": history, "bounces_and_complaints": events}

    def subscriptions_of(self, subscriber_id: int) -> list[Subscriber]:
        """Every subscription of the person of ``subscriber_id`` (this one included), by newsletter."""
        person = sa.select(subscribers.c.person_id).where(subscribers.c.id == subscriber_id).scalar_subquery()
        query = select_subscribers().where(subscribers.c.person_id == person).order_by(subscribers.c.newsletter)
        with self.reads.connect() as conn:
            return [subscriber_of(row) for row in conn.execute(query).mappings().all()]

    def forget(self, subscriber_id: int, address_hash: str) -> list[str]:
        """Erase the person of a subscription: every subscription of theirs with its delivery history, and their
        person row; keep only ``address_hash`` on the suppression list, and in every event about them (those still to
        go out included), with a ``subscriber.forgotten`` for each subscription. Returns the newsletters (slugs) whose
        subscription it ended, the one of ``subscriber_id`` first."""
        with self.engine.begin() as conn:
            person = conn.execute(sa.select(subscribers.c.person_id).where(subscribers.c.id == subscriber_id)).scalar()
            theirs = conn.execute(
                sa.select(subscribers.c.id, subscribers.c.newsletter).where(subscribers.c.person_id == person).order_by(subscribers.c.id)
            ).all()
            ended = sorted(theirs, key=lambda sub: sub[0] != subscriber_id)
            for sub_id, newsletter in ended:
                forget_in_events(conn, sub_id, address_hash, newsletter, person)
            ids = [sub[0] for sub in ended]
            conn.execute(sa.delete(deliveries).where(deliveries.c.subscriber_id.in_(ids)))
            conn.execute(sa.delete(mail_events).where(mail_events.c.subscriber_id.in_(ids)))  # bounces quote the address
            conn.execute(sa.delete(subscribers).where(subscribers.c.id.in_(ids)))
            if person is not None:
                conn.execute(sa.delete(people).where(people.c.id == person))
            if not conn.execute(sa.select(suppressions).where(suppressions.c.address_hash == address_hash)).first():
                conn.execute(sa.insert(suppressions).values(address_hash=address_hash, created_at=now_utc()))
        return [str(sub[1]) for sub in ended]

    def suppressions(self) -> int:
        """How many addresses asked to be forgotten (each kept as a keyed hash only)."""
        with self.reads.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(suppressions)).scalar_one())

    def suppressed(self, address_hash: str) -> bool:
        with self.reads.connect() as conn:
            return conn.execute(sa.select(suppressions).where(suppressions.c.address_hash == address_hash)).first() is not None

    def lift_suppression(self, address_hash: str) -> None:
        """They signed up and confirmed again themselves: the suppression no longer applies."""
        with self.engine.begin() as conn:
            conn.execute(sa.delete(suppressions).where(suppressions.c.address_hash == address_hash))

    def get(self, email: str | None = None, *, subscriber_id: int | None = None) -> Subscriber | None:
        """A subscription by id (of any newsletter: ids are unique across them), or this newsletter's by address."""
        query = select_subscribers()
        query = (
            query.where(subscribers.c.id == subscriber_id)
            if subscriber_id is not None
            else query.where(people.c.email_key == (email or "").casefold(), self.mine)
        )
        with self.reads.connect() as conn:
            row = conn.execute(query).mappings().first()
        return subscriber_of(row) if row is not None else None

    def set_status(self, subscriber_id: int, status: SubscriberStatus, reason: str, event: EventType | None = None) -> bool:
        """Change one subscription's status, with its event (``event``, or the one the status makes: STATUS_EVENTS);
        returns whether anything changed (idempotent: no change, no event)."""
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(subscribers)
                .where(subscribers.c.id == subscriber_id, subscribers.c.status != status.value)
                .values(status=status.value, status_reason=reason, updated_at=now_utc())
            )
            if result.rowcount > 0:
                subscriber_event(conn, event or STATUS_EVENTS[status], subscriber_id)
        return result.rowcount > 0

    def set_person_status(
        self, subscriber_id: int, status: SubscriberStatus, reason: str, event: EventType | None = None
    ) -> list[tuple[str, bool]]:
        """A change about the address (a hard bounce, a complaint): the subscription named changes as
        :meth:`set_status` changes it, and every other subscription of the person that may still get mail (active,
        pending) with it, each with its event. Returns (newsletter, whether it changed) for each subscription of theirs,
        the named one first."""
        with self.engine.begin() as conn:
            return stop_person(conn, subscriber_id, status, reason, event or STATUS_EVENTS[status], named_any_status=True)

    def iter(self, status: SubscriberStatus | None = None, batch: int = 1000, *, theme: str | None = None) -> Iterator[Subscriber]:
        """This newsletter's subscribers in id order, read in batches so a large list is never held whole; ``theme``:
        only those whose own choice names this theme key (a slug: quoted, it matches one whole element of the JSON list)."""
        last = 0
        while rows := self.page(last, batch, status, theme=theme):
            yield from rows
            last = rows[-1].id

    def page(
        self,
        after: int,
        limit: int,
        status: SubscriberStatus | None = None,
        *,
        theme: str | None = None,
        changed_since: datetime | None = None,
    ) -> list[Subscriber]:
        """Up to ``limit`` of this newsletter's subscribers whose id is above ``after``, in id order (with ``status``;
        choosing ``theme``; whose row changed at or after ``changed_since``)."""
        query = select_subscribers().where(self.mine, subscribers.c.id > after).order_by(subscribers.c.id).limit(limit)
        if changed_since is not None:
            query = query.where(subscribers.c.updated_at >= changed_since)
        if status is not None:
            query = query.where(subscribers.c.status == status.value)
        if theme is not None:
            query = query.where(subscribers.c.themes.like(f'%"{theme}"%'))
        with self.reads.connect() as conn:
            return [subscriber_of(row) for row in conn.execute(query).mappings().all()]

    def rename(self, subscriber_id: int, name: str | None) -> bool:
        """Set the name of a subscription's person (None: none), with its ``subscriber.updated`` when it changes; False
        when there is no such subscriber."""
        return self.change(subscriber_id, name=name, rename=True)

    def emails_of(self, subscriber_ids: Sequence[int]) -> dict[int, str]:
        """The addresses of a few subscribers (for reports), by id."""
        if not subscriber_ids:
            return {}
        query = sa.select(subscribers.c.id, people.c.email).select_from(JOINED).where(subscribers.c.id.in_(list(subscriber_ids)))
        with self.reads.connect() as conn:
            rows = conn.execute(query).all()
        return {int(r[0]): str(r[1]) for r in rows}

    def active_elsewhere(self, edition: str, first: str) -> int:
        """How many of this newsletter's active subscriptions get another edition than ``edition`` (``first``: the
        edition of one that names none)."""
        theirs = sa.func.coalesce(sa.func.nullif(subscribers.c.edition, ""), first)
        query = sa.select(sa.func.count()).where(self.mine, subscribers.c.status == SubscriberStatus.ACTIVE.value, theirs != edition)
        with self.reads.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def counts(self) -> dict[SubscriberStatus, int]:
        """How many of this newsletter's subscribers have each status (every status present, zero when none)."""
        found = dict.fromkeys(SubscriberStatus, 0)
        query = sa.select(subscribers.c.status, sa.func.count()).where(self.mine).group_by(subscribers.c.status)
        with self.reads.connect() as conn:
            for status, count in conn.execute(query).all():
                found[SubscriberStatus(status)] = int(count)
        return found

    def of_people(self, person_ids: Sequence[int]) -> list[dict[str, Any]]:
        """Every subscription (any newsletter) of the people ``person_ids``, by person then newsletter: the person's id,
        address and name and the subscription's id, newsletter, status, themes (None: every), pause and dates. For the
        HTTP API, which shows a person with all their subscriptions."""
        if not person_ids:
            return []
        query = select_subscribers().where(subscribers.c.person_id.in_(list(person_ids)))
        with self.reads.connect() as conn:
            rows = conn.execute(query.order_by(subscribers.c.person_id, subscribers.c.newsletter)).mappings().all()
        keep = ("id", "person_id", "email", "name", "newsletter", "status", "edition", "created_at", "updated_at")
        return [
            {key: row[key] for key in keep} | {"themes": chosen_themes(row["themes"]), "paused_until": stored_day(row["paused_until"])}
            for row in rows
        ]
