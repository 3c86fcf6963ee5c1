"""The public app (``digest serve``): one-click unsubscribe and the archive of sent issues.

- ``GET /u/<token>`` shows a confirmation page and changes nothing: mail
  scanners fetch links, so a GET must never unsubscribe.
- ``POST /u/<token>`` unsubscribes: no cookie, no login, idempotent; this is
  the RFC 8058 one-click endpoint that ``List-Unsubscribe-Post`` points at.
- A forged or altered token gets a 404 and changes nothing.
- ``/subscribe`` and ``/confirm/<token>``: sign-up with double opt-in;
  ``/preferences/<token>``: themes, a pause, leaving (:mod:`digest.web.preferences`).
- ``GET /archive/`` lists the sent issues; ``GET /archive/<id>/`` shows one
  (the "view in browser" link) with no recipient's data in it.

Every endpoint is a plain ``def``: Starlette runs it in its thread pool, so a
database call that waits (SQLite's write lock, held by a send's ledger
writers for a moment per message) never stalls the event loop and the other
requests with it.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from digest.app.archive import Archive
from digest.app.subscribers import ConfirmationState, Membership
from digest.config import Settings
from digest.models import SubscriberStatus
from digest.store import Store, Subscriber
from digest.subscribers.addresses import clean_name, normalise_address
from digest.web import guard
from digest.web.guard import RateLimit, RateLimits
from digest.web.metrics import metric_routes
from digest.web.preferences import preference_routes

log = logging.getLogger(__name__)
_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(Path(__file__).resolve().parent / "templates")),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
CSRF_COOKIE = "digest_csrf"
MAX_FORM_BYTES = 16 * 1024  # a sign-up is a few hundred bytes
SIGNUPS_PER_ADDRESS = 10  # per client address (a household or an office shares one), per 10 minutes
SIGNUPS_PER_MAILBOX = 3  # per confirmation address (its +tags folded), per hour: whatever address they come from
SIGNUPS_PER_MINUTE = 30  # from everyone together


def mask(email: str) -> str:
    """``a***@example.org``: enough for a reader to recognise, too little to harvest."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def create_public_app(
    settings: Settings, store: Store, *, host: str = "127.0.0.1", allow_hosts: tuple[str, ...] = (), with_metrics: bool = True
) -> Starlette:
    """The public app for ``settings``; needs DIGEST_SECRET_KEY to check tokens.

    ``/metrics`` is served only with ``DIGEST_METRICS_TOKEN`` set (its counts tell
    who is on the list); ``with_metrics`` False leaves it out even then:
    ``digest serve --metrics-address`` serves it on an address of its own
    (:func:`digest.web.metrics.create_metrics_app`).

    It answers only the host of ``base_url``, loopback names, the address it
    is bound to (``host``) and ``allow_hosts``: a foreign ``Host`` gets a 400,
    never a page or a redirect to that host.
    """
    members = Membership(settings, store)
    sent = Archive(settings, store)
    common = {"newsletter": settings.name, "language": settings.language}
    headers = {"Cache-Control": "no-store"}  # the policy headers come from guard.PolicyHeaders, on every response

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(_TEMPLATES.get_template(name).render(**common, **context), status_code=status, headers=headers)

    def not_found() -> HTMLResponse:
        return page(
            "message.html",
            404,
            heading="Link not recognised",
            text="This link is not valid. Use the unsubscribe link in an email you received.",
        )

    def subscriber_for(request: Request) -> Subscriber | None:
        return members.reader_of(str(request.path_params["token"]))

    def confirm(request: Request) -> Response:
        subscriber = subscriber_for(request)
        if subscriber is None:
            return not_found()
        if subscriber.status == SubscriberStatus.UNSUBSCRIBED:
            return page("unsubscribed.html", masked=mask(subscriber.email))
        return page("unsubscribe.html", masked=mask(subscriber.email), action=str(request.url.path))

    def unsubscribe(request: Request) -> Response:
        subscriber = subscriber_for(request)
        if subscriber is None:
            return not_found()
        members.unsubscribe(subscriber)
        return page("unsubscribed.html", masked=mask(subscriber.email))

    def help_page(request: Request) -> Response:
        return page(
            "message.html",
            heading="Unsubscribing",
            text="Use the unsubscribe link at the foot of an email you received: it is personal to you.",
        )

    def test_link(request: Request) -> Response:
        return page("message.html", heading="A test message", text="This link came in a test send; it unsubscribes nobody.")

    def archive(request: Request) -> Response:
        return page("archive.html", issues=sent.listing("/archive/"), feed="feed.atom", subscribe="/subscribe")

    def issue(request: Request) -> Response:
        copy = sent.web_copy(str(request.path_params["issue_id"]))
        if copy is None:
            return page("message.html", 404, heading="No such issue", text="This issue is not in the archive.")
        return HTMLResponse(copy, headers=headers)

    # -- sign-up with double opt-in ------------------------------------------------------

    themes = settings.theme_names
    everyone = RateLimit(SIGNUPS_PER_MINUTE, 60.0)
    per_client = RateLimits(SIGNUPS_PER_ADDRESS, 600.0)
    per_mailbox = RateLimits(SIGNUPS_PER_MAILBOX, 3600.0)
    form_cookie = guard.FormCookie(CSRF_COOKIE, secure=settings.base_url.startswith("https://"))

    def signup_form(status: int = 200, error: str | None = None, email: str = "", name: str = "", chosen: Any = None) -> Response:
        csrf = secrets.token_urlsafe(16)
        response = page(
            "subscribe.html",
            status,
            csrf=csrf,
            themes=themes,
            chosen=set(chosen if chosen is not None else themes),
            email=email,
            signup_name=name,
            error=error,
        )
        # Double submit: our own page sets the cookie and the field; a form embedded on another site sends
        # neither, and its protection is the confirmation mail (nothing happens until the reader clicks).
        form_cookie.issue(response, "/subscribe", csrf)
        return response

    def check_inbox() -> Response:
        # The same answer whoever is asked about: a stranger learns nothing of who is on the list.
        return page(
            "message.html",
            heading="Check your inbox",
            text=(
                "If the address can receive mail, a message is on its way, unless one went to it in the last ten minutes: "
                "then use the link in that one. Nothing arrives until you confirm."
            ),
        )

    def show_subscribe(request: Request) -> Response:
        return signup_form()

    async def subscribe(request: Request) -> Response:
        # Everything that costs nothing is checked first: a malformed or forged form is answered without
        # spending anyone's allowance, so empty POSTs cannot lock real people out.
        form = await request.form(max_files=0, max_fields=60, max_part_size=4096)
        field = {key: value for key, value in form.items() if isinstance(value, str)}
        cookie = form_cookie.sent(request)
        if cookie is not None and not form_cookie.matches(cookie, field.get("csrf", "")):
            return signup_form(403, "This form had expired. Please send it again.")
        if field.get("website"):  # the honeypot: a person never sees it, a bot fills it in
            return check_inbox()
        chosen = [theme for theme in form.getlist("theme") if theme in themes]
        raw_email, name = field.get("email", ""), clean_name(field.get("name")) or ""
        try:
            address = normalise_address(raw_email)
        except ValueError as exc:
            return signup_form(400, f"That address will not work: {exc}", raw_email[:320], name, chosen)
        if not chosen:
            return signup_form(400, "Tick at least one theme.", address, name, chosen)
        # The client's address is the proxy's word only for serve.trusted_proxies (guard.ClientAddress).
        client = request.client.host if request.client else "unknown"
        wait = per_client.take(client) or per_mailbox.take(guard.mailbox_key(address)) or everyone.take()
        if wait:
            response = page("message.html", 429, heading="Too many sign-ups", text="Please try again in a few minutes.")
            response.headers["Retry-After"] = str(max(1, round(wait)))
            return response
        await run_in_threadpool(members.sign_up, address, name or None, None if set(chosen) == set(themes) else chosen)
        return check_inbox()

    def confirmation_of(request: Request) -> tuple[Subscriber | None, Response | None]:
        found = members.confirmation(str(request.path_params["token"]))
        if found.state is ConfirmationState.NOT_OURS or found.subscriber is None:
            return None, not_found()
        masked = mask(found.subscriber.email)
        if found.state is ConfirmationState.SUBSCRIBED:
            return None, page("message.html", heading="You are subscribed", text=f"{masked} gets {settings.name} already.")
        if found.state is ConfirmationState.USED:
            return None, page(
                "message.html", 410, heading="This link has expired", text="Sign up again on the subscribe page to get a new one."
            )
        return found.subscriber, None

    def show_confirm(request: Request) -> Response:
        subscriber, answer = confirmation_of(request)
        if answer is not None or subscriber is None:
            return answer or not_found()
        return page("confirm.html", masked=mask(subscriber.email), action=str(request.url.path))

    def confirm_post(request: Request) -> Response:
        subscriber, answer = confirmation_of(request)
        if answer is not None or subscriber is None:
            return answer or not_found()
        members.confirm(subscriber)
        return page(
            "message.html",
            heading="You are subscribed",
            text=f"Welcome to {settings.name}. The next issue comes to {mask(subscriber.email)}.",
        )

    def feed(request: Request) -> Response:
        wanted = "feed.atom" if "theme" not in request.path_params else f"themes/{request.path_params['theme']}.atom"
        found = sent.feed(wanted)
        return Response(found.body, media_type=found.media_type) if found is not None else not_found()

    def home(request: Request) -> Response:
        # The site's root: the archive, whose page links the sign-up form. A path, never a host: no redirect
        # of ours names a host a request gave.
        return RedirectResponse("/archive/", status_code=302, headers=headers)

    return Starlette(
        routes=[
            Route("/", home, methods=["GET"]),
            Route("/u/", help_page, methods=["GET"]),
            Route("/u/test", test_link, methods=["GET", "POST"]),
            Route("/u/{token}", confirm, methods=["GET"]),
            Route("/u/{token}", unsubscribe, methods=["POST"]),
            Route("/archive/", archive, methods=["GET"]),
            Route("/archive/feed.atom", feed, methods=["GET"]),
            Route("/archive/themes/{theme}.atom", feed, methods=["GET"]),
            Route("/archive/{issue_id}/", issue, methods=["GET"]),
            *metric_routes(
                store,
                settings.metrics_token,
                claim_timeout=settings.delivery.claim_timeout,
                with_metrics=with_metrics and bool(settings.metrics_token),
                detailed=False,
            ),
            Route("/subscribe", show_subscribe, methods=["GET"]),
            Route("/subscribe", subscribe, methods=["POST"]),
            Route("/confirm/{token}", show_confirm, methods=["GET"]),
            Route("/confirm/{token}", confirm_post, methods=["POST"]),
            *preference_routes(settings, members, page, not_found, mask),
        ],
        middleware=[
            guard.host_only(guard.trusted_hosts(host, guard.host_of(settings.base_url), *allow_hosts)),
            Middleware(guard.PolicyHeaders, policy=guard.PUBLIC_HEADERS),
            Middleware(guard.ClientAddress, trusted=settings.trusted_proxies),
            Middleware(guard.BodyLimit, max_bytes=MAX_FORM_BYTES),
        ],
    )
