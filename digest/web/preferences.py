"""The subscriber's preferences page: which themes they get, a pause, and the way out.

- ``GET /preferences/<token>`` shows the themes (ticked as chosen), the day a
  pause ends, and an Unsubscribe button (which posts to the one-click
  endpoint). The token is the one in every email's unsubscribe link.
- ``POST /preferences/<token>`` saves. It needs the page's own token too
  (double submit: a field and a ``SameSite=Strict`` cookie set by the
  page), so no other site can change a reader's choices.
- A forged or altered token gets a 404; someone no longer subscribed gets a
  page that says so, and nothing changes.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from digest.app.subscribers import Membership
from digest.config import Settings
from digest.models import SubscriberStatus
from digest.web import guard

PREFERENCES_COOKIE = "digest_preferences"
LONGEST_PAUSE = timedelta(days=366)


def preference_routes(
    settings: Settings,
    members: Membership,
    page: Callable[..., HTMLResponse],
    not_found: Callable[[], HTMLResponse],
    mask: Callable[[str], str],
) -> list[Route]:
    themes = settings.theme_names
    form_cookie = guard.FormCookie(PREFERENCES_COOKIE, secure=settings.base_url.startswith("https://"))

    def today() -> date:
        return datetime.now(settings.timezone).date()

    def subscriber_for(request: Request) -> Any:
        return members.reader_of(str(request.path_params["token"]))

    def not_subscribed(subscriber: Any) -> HTMLResponse:
        return page(
            "message.html",
            heading="Not subscribed",
            text=f"{mask(subscriber.email)} is not on the list of {settings.name} now: there is nothing to set. "
            "The subscribe page signs you up again.",
        )

    def form(
        request: Request, subscriber: Any, *, status: int = 200, error: str | None = None, saved: str | None = None, chosen: Any = None
    ) -> Response:
        stored_themes, paused = members.preferences_of(subscriber)
        picked = set(chosen if chosen is not None else (stored_themes if stored_themes is not None else themes))
        csrf = secrets.token_urlsafe(16)
        token = str(request.path_params["token"])
        response = page(
            "preferences.html",
            status,
            csrf=csrf,
            masked=mask(subscriber.email),
            themes=themes,
            chosen=picked,
            paused_until=paused.isoformat() if paused is not None and paused > today() else "",
            tomorrow=(today() + timedelta(days=1)).isoformat(),
            latest=(today() + LONGEST_PAUSE).isoformat(),
            action=f"/preferences/{token}",
            unsubscribe=f"/u/{token}",
            error=error,
            saved=saved,
        )
        form_cookie.issue(response, f"/preferences/{token}", csrf)
        return response

    def show(request: Request) -> Response:
        subscriber = subscriber_for(request)
        if subscriber is None:
            return not_found()
        if subscriber.status != SubscriberStatus.ACTIVE:
            return not_subscribed(subscriber)
        return form(request, subscriber)

    async def save(request: Request) -> Response:
        # The form is read here; the database work runs in the thread pool, never on the event loop.
        submitted = await request.form(max_files=0, max_fields=60, max_part_size=4096)
        return await run_in_threadpool(apply, request, submitted)

    def apply(request: Request, submitted: FormData) -> Response:
        subscriber = subscriber_for(request)
        if subscriber is None:
            return not_found()
        if subscriber.status != SubscriberStatus.ACTIVE:
            return not_subscribed(subscriber)
        if not form_cookie.matches(form_cookie.sent(request), submitted.get("csrf")):
            return form(request, subscriber, status=403, error="This page had expired: nothing was changed. Please choose again and save.")
        chosen = [theme for theme in submitted.getlist("theme") if theme in themes]
        if not chosen:
            return form(request, subscriber, status=400, error="Tick at least one theme, or unsubscribe below.", chosen=chosen)
        raw_pause = submitted.get("pause_until")
        pause: date | None = None
        if isinstance(raw_pause, str) and raw_pause.strip():
            try:
                pause = date.fromisoformat(raw_pause.strip())
            except ValueError:
                return form(request, subscriber, status=400, error="The pause needs a day, such as 2027-01-31.", chosen=chosen)
            if not today() < pause <= today() + LONGEST_PAUSE:
                return form(request, subscriber, status=400, error="The pause must end after today and within a year.", chosen=chosen)
        every = set(chosen) == set(themes)
        if not members.set_preferences(subscriber, None if every else chosen, pause):
            return not_subscribed(subscriber)
        what = "every theme" if every else ", ".join(chosen)
        saved = f"You get {what}" + (f", from {pause.isoformat()} on." if pause else ".")
        return form(request, subscriber, saved=saved)

    def help_page(request: Request) -> Response:
        return page(
            "message.html",
            heading="Your preferences",
            text="Use the preferences link at the foot of an email you received: it is personal to you.",
        )

    return [
        Route("/preferences/", help_page, methods=["GET"]),
        Route("/preferences/{token}", show, methods=["GET"]),
        Route("/preferences/{token}", save, methods=["POST"]),
    ]
