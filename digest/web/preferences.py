"""The subscriber's preferences page: which themes they get, a pause, and the way out.

- ``GET /preferences/<token>`` shows the themes (ticked as chosen), the day a
  pause ends, the editions when the newsletter has several (theirs chosen),
  and an Unsubscribe button (which posts to the one-click
  endpoint). The token is the one in every email's unsubscribe link.
- ``POST /preferences/<token>`` saves. It needs the page's own token too
  (double submit: a field and a ``SameSite=Strict`` cookie set by the
  page), so no other site can change a reader's choices.
- A forged or altered token gets a 404; someone no longer subscribed gets a
  page that says so, and nothing changes.
- With several newsletters in the install, the page lists the reader's (one
  box each: :mod:`digest.app.subscriptions` says what a tick and an untick do);
  that form posts to the same address with ``form=newsletters`` and the same
  double-submit token. Each newsletter's page lives under its base path.
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from digest.app.choices import ChoiceProblem
from digest.app.subscribers import Membership
from digest.app.subscriptions import Changed, ReaderNewsletters
from digest.models.routes import PREFERENCES, PREFERENCES_HELP, UNSUBSCRIBE
from digest.web import guard
from digest.web.pages import Pages, mask

if TYPE_CHECKING:
    from digest.app.session import Scope
    from digest.models import Subscriber

PREFERENCES_COOKIE = "digest_preferences"
PROBLEM_WORDS = {
    ChoiceProblem.NO_THEME: "Tick at least one theme, or unsubscribe below.",
    ChoiceProblem.PAUSE_OUT_OF_RANGE: "The pause must end after today and within a year.",
    ChoiceProblem.NO_EDITION: "Choose one of the editions listed.",
}
UNREADABLE_PAUSE = "The pause needs a day, such as 2027-01-31."


def preference_routes(settings: Scope, members: Membership, pages: Pages, newsletters: ReaderNewsletters) -> list[Route]:
    """The routes of the preferences page, under the newsletter's base path, drawn with the public app's ``pages``."""
    return PreferencePages(settings, members, pages, newsletters).routes()


class PreferencePages:
    def __init__(self, settings: Scope, members: Membership, pages: Pages, newsletters: ReaderNewsletters) -> None:
        self.settings = settings
        self.members = members
        self.page = pages.page
        self.not_found = pages.not_found
        self.mask = mask
        self.at = pages.at
        self.newsletters = newsletters
        self.themes = settings.newsletter.theme_keys  # key → name: the form posts keys and shows names
        self.form_cookie = guard.FormCookie(PREFERENCES_COOKIE, secure=settings.install.base_url.startswith("https://"))

    def routes(self) -> list[Route]:
        return [
            Route(self.at + PREFERENCES_HELP.template, self.help_page, methods=["GET"]),
            Route(self.at + PREFERENCES.template, self.show, methods=["GET"]),
            Route(self.at + PREFERENCES.template, self.save, methods=["POST"]),
        ]

    def not_subscribed(self, subscriber: Subscriber) -> HTMLResponse:
        return self.page(
            "message.html",
            heading="Not subscribed",
            text=f"{self.mask(subscriber.email)} is not on the list of {self.settings.newsletter.name} now: there is nothing to set. "
            "The subscribe page signs you up again.",
        )

    def form(
        self,
        request: Request,
        subscriber: Subscriber,
        *,
        status: int = 200,
        error: str | None = None,
        saved: str | None = None,
        chosen: tuple[str, ...] | None = None,
        changed: str | None = None,
        edition: str | None = None,
    ) -> Response:
        stored = self.members.preferences_of(subscriber)
        picked = set(chosen if chosen is not None else stored.themes.keys)
        csrf = secrets.token_urlsafe(16)
        token = str(request.path_params["token"])
        response = self.page(
            "preferences.html",
            status,
            csrf=csrf,
            masked=self.mask(subscriber.email),
            themes=self.themes,
            chosen=picked,
            paused_until=stored.paused_until.isoformat() if stored.paused_until is not None else "",
            tomorrow=stored.pause_range.first.isoformat(),
            latest=stored.pause_range.last.isoformat(),
            editions=stored.editions,
            edition=edition or stored.edition,
            action=PREFERENCES.link(self.at, token=token),
            unsubscribe=UNSUBSCRIBE.link(self.at, token=token),
            error=error,
            saved=saved,
            held=self.newsletters.of(subscriber) if self.several else [],
            changed=changed,
            settable=self.members.may_choose(subscriber),
        )
        self.form_cookie.issue(response, PREFERENCES.link(self.at, token=token), csrf)
        return response

    def show(self, request: Request) -> Response:
        subscriber = self.members.reader_of(str(request.path_params["token"]))
        if subscriber is None:
            return self.not_found()
        if not self.members.may_choose(subscriber) and not self.other_newsletters(subscriber):
            return self.not_subscribed(subscriber)
        return self.form(request, subscriber)

    @property
    def several(self) -> bool:
        return len(self.newsletters.names) > 1

    def other_newsletters(self, subscriber: Subscriber) -> bool:
        """Whether the page has something to offer someone not on this newsletter: another of theirs to tick or untick."""
        return self.several and any(held.may_change for held in self.newsletters.of(subscriber))

    async def save(self, request: Request) -> Response:
        # The form is read here; the database work runs in the thread pool, never on the event loop.
        submitted = await request.form(max_files=0, max_fields=60, max_part_size=4096)
        return await run_in_threadpool(self.apply, request, submitted)

    def apply(self, request: Request, submitted: FormData) -> Response:
        subscriber = self.members.reader_of(str(request.path_params["token"]))
        if subscriber is None:
            return self.not_found()
        boxes = self.several and submitted.get("form") == "newsletters"
        if not self.members.may_choose(subscriber) and not (boxes and self.other_newsletters(subscriber)):
            return self.not_subscribed(subscriber)
        if not self.form_cookie.matches(self.form_cookie.sent(request), submitted.get("csrf")):
            return self.form(
                request, subscriber, status=403, error="This page had expired: nothing was changed. Please choose again and save."
            )
        if boxes:
            done = self.newsletters.choose(subscriber, {value for value in submitted.getlist("newsletter") if isinstance(value, str)})
            now = self.members.reader_of(str(request.path_params["token"])) or subscriber  # its status as it is now
            return self.form(request, now, changed=changed_words(done))
        choice = self.members.choice_of(submitted.getlist("theme"))
        pause, readable = pause_of(submitted.get("pause_until"))
        edition = self.members.edition_of(submitted.get("edition"))
        # The rules are the app's (digest.app.choices); an unreadable day is this form's, said after a missing theme.
        problem = self.members.problem_of(choice) or (edition if isinstance(edition, ChoiceProblem) else None)
        if problem is None and readable:
            problem = self.members.set_preferences(subscriber, choice, pause, edition if isinstance(edition, str) else None)
        if problem is ChoiceProblem.NOT_SUBSCRIBED:
            return self.not_subscribed(subscriber)
        if problem is not None or not readable:
            error = PROBLEM_WORDS[problem] if problem is not None else UNREADABLE_PAUSE
            kept = edition if isinstance(edition, str) else None
            return self.form(request, subscriber, status=400, error=error, chosen=choice.keys, edition=kept)
        what = "every theme" if choice.every else ", ".join(self.themes[key] for key in choice.keys)
        saved = f"You get {what}" + (f" in the {edition} edition" if isinstance(edition, str) else "")
        saved += f", from {pause.isoformat()} on." if pause else "."
        return self.form(request, subscriber, saved=saved)

    def help_page(self, request: Request) -> Response:
        return self.page(
            "message.html",
            heading="Your preferences",
            text="Use the preferences link at the foot of an email you received: it is personal to you.",
        )


def changed_words(done: Changed) -> str:
    """What a save of the newsletters' boxes did, in a sentence."""
    said = [f"You left {', '.join(done.left)}." if done.left else "", f"You get {', '.join(done.joined)} again." if done.joined else ""]
    return " ".join(part for part in said if part) or "Nothing changed."


def pause_of(raw: object) -> tuple[date | None, bool]:
    """(the day the form's pause ends, None for no pause; whether the field could be read as a day)."""
    if not isinstance(raw, str) or not raw.strip():
        return None, True
    try:
        return date.fromisoformat(raw.strip()), True
    except ValueError:
        return None, False
