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
- ``GET /r/<token>``: a counted post link (``[tracking] clicks``): a 302 to
  the destination the frozen issue keeps for it, counted as a click, a
  scanner's fetch or a repeat (:mod:`digest.app.clicks`); the totals are
  written about once a second, and when the server stops.

Every endpoint is a plain ``def``: Starlette runs it in its thread pool, so a
database call that waits (SQLite's write lock, held by a send's ledger
writers for a moment per message) never stalls the event loop and the other
requests with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route

from digest.app.archive import Archive
from digest.app.choices import ChoiceProblem, offered_editions
from digest.app.clicks import CLICKS_PER_ADDRESS, HOLD_SECONDS, Redirects
from digest.app.subscribers import ConfirmationState, Membership, address_of, name_of
from digest.app.subscriptions import ReaderNewsletters
from digest.models import SubscriberStatus
from digest.models.errors import AddressError
from digest.models.routes import (
    API_ROOT,
    CONFIRM,
    COUNTED,
    SUBSCRIBE,
    UNSUBSCRIBE,
    UNSUBSCRIBE_HELP,
    UNSUBSCRIBE_TEST,
)
from digest.web import favicon, guard
from digest.web.api import REQUESTS_PER_MINUTE, Api
from digest.web.archive_pages import ArchivePages
from digest.web.guard import RateLimit, RateLimits
from digest.web.metrics import metric_routes
from digest.web.pages import Pages, mask
from digest.web.preferences import preference_routes

if TYPE_CHECKING:
    from digest.app.session import Scope, Store
    from digest.models import Subscriber

log = logging.getLogger(__name__)
CSRF_COOKIE = "digest_csrf"
MAX_FORM_BYTES = 16 * 1024  # a sign-up is a few hundred bytes
SIGNUPS_PER_ADDRESS = 10  # per client address (a household or an office shares one), per 10 minutes
SIGNUPS_PER_MAILBOX = 3  # per confirmation address (its +tags folded), per hour: whatever address they come from
SIGNUPS_PER_MINUTE = 30  # from everyone together


def create_public_app(
    settings: Scope,
    store: Store,
    *,
    host: str = "127.0.0.1",
    allow_hosts: tuple[str, ...] = (),
    with_metrics: bool = True,
    click_hold: float = HOLD_SECONDS,
    api_rate: tuple[int, float] = (REQUESTS_PER_MINUTE, 60.0),
    newsletters: Sequence[Scope] = (),
) -> Starlette:
    """The public app for ``settings``; needs DIGEST_SECRET_KEY to check tokens.

    ``/metrics`` is served only with ``DIGEST_METRICS_TOKEN`` set (its counts tell
    who is on the list); ``with_metrics`` False leaves it out even then:
    ``digest serve --metrics-address`` serves it on an address of its own
    (:func:`digest.web.metrics.create_metrics_app`).

    It answers only the host of ``base_url``, loopback names, the address it
    is bound to (``host``) and ``allow_hosts``: a foreign ``Host`` gets a 400,
    never a page or a redirect to that host. The HTTP API is mounted under
    ``/api/v1`` (:mod:`digest.web.api`), off until a token exists; ``api_rate``:
    the requests each token may make (how many, in how many seconds).

    ``newsletters``: every newsletter whose pages it serves (``digest serve``: the install's; empty: ``settings``'s
    alone), each under its base path: "/" keeps the paths mail already sent links to, an added one's are
    ``/SLUG/u/<token>`` and so on. Each newsletter's pages check tokens with its own keys and act on its own
    subscriptions only; the API, ``/metrics`` and ``/healthz`` are the install's, once.
    """
    every = tuple(newsletters) or (settings,)
    names = {scope.newsletter.slug: scope.newsletter.name for scope in every}
    served = [newsletter_routes(scope, store.of_scope(scope), click_hold, names) for scope in every]
    metrics = metric_routes(
        store,
        settings.install.metrics_token,
        claim_timeout=settings.install.delivery.claim_timeout,
        with_metrics=with_metrics and bool(settings.install.metrics_token),
        detailed=False,
        key_of=settings.newsletter.key_of,
    )
    app = Starlette(
        routes=[
            *(route for routes, _ in served for route in routes),
            *metrics,
            favicon.ROUTE,
            Mount(API_ROOT, app=Api(settings, store, rate=api_rate, newsletters=every).app()),
        ],
        middleware=[
            guard.host_only(guard.trusted_hosts(host, guard.host_of(settings.install.base_url), *allow_hosts)),
            Middleware(guard.PolicyHeaders, policy=guard.PUBLIC_HEADERS),
            Middleware(guard.ClientAddress, trusted=settings.install.trusted_proxies),
            Middleware(guard.BodyLimit, max_bytes=MAX_FORM_BYTES),
        ],
        lifespan=counting(*(redirects for _, redirects in served)),
    )
    # Starlette redirects "/x/" to "/x" (and back) with a URL of the request's scheme and host: behind a TLS proxy that
    # is http, and for /u/<token>/ it would put a reader's token in a plain-http address. The routes redirect by path.
    app.router.redirect_slashes = False
    return app


def newsletter_routes(settings: Scope, store: Store, click_hold: float, names: Mapping[str, str]) -> tuple[list[Route], Redirects]:
    """One newsletter's pages, at its base path (``settings.newsletter.prefix``), and its click counter.
    ``store``: opened for this newsletter (what it finds is its own); ``names``: every newsletter served, slug → name."""
    members = Membership(settings, store)
    pages = Pages(settings.newsletter)
    redirects = Redirects(settings, store, hold=click_hold)
    theirs = ReaderNewsletters(store, names, settings.newsletter.slug)
    routes = [
        *ReaderLinks(pages, members, theirs).routes(),
        *CountedLinks(pages, redirects).routes(),
        *ArchivePages(pages, Archive(settings, store)).routes(),
        *SignUpPages(pages, members, settings).routes(),
        *preference_routes(settings, members, pages, theirs),
    ]
    return routes, redirects


FLUSH_SECONDS = 1.0  # how often the redirect's decided totals are written: one short transaction each


def counting(*every: Redirects) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """The app's lifespan: the click totals written every :data:`FLUSH_SECONDS` while it serves, and all that is
    left (held clicks too) when it stops."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async def flushing() -> None:
            while True:
                await asyncio.sleep(FLUSH_SECONDS)
                try:
                    for redirects in every:
                        await run_in_threadpool(redirects.flush)
                except Exception:  # a database that does not answer now: the totals wait in memory for the next try
                    log.warning("click totals not written yet", exc_info=True)

        task = asyncio.create_task(flushing())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            for redirects in every:
                await run_in_threadpool(redirects.flush, everything=True)

    return lifespan


class ReaderLinks:
    """``/u/<token>``: a GET shows a button and changes nothing (mail scanners fetch links); the POST is RFC 8058's
    one-click unsubscribe, idempotent, needing no cookie. A forged or stale token gets a 404. The POST ends this
    newsletter's subscription alone, unless the page's second button sent ``scope=all``: then every newsletter of
    the install stops mailing them ("all newsletters from this sender")."""

    def __init__(self, pages: Pages, members: Membership, theirs: ReaderNewsletters) -> None:
        self.pages = pages
        self.members = members
        self.theirs = theirs

    def routes(self) -> list[Route]:
        return [
            Route(self.pages.at + UNSUBSCRIBE_HELP.template, self.help_page, methods=["GET"]),
            Route(self.pages.at + UNSUBSCRIBE_TEST.template, self.test_link, methods=["GET", "POST"]),
            Route(self.pages.at + UNSUBSCRIBE.template, self.confirm, methods=["GET"]),
            Route(self.pages.at + UNSUBSCRIBE.template, self.unsubscribe, methods=["POST"]),
        ]

    def confirm(self, request: Request) -> Response:
        subscriber = self.members.reader_of(str(request.path_params["token"]))
        if subscriber is None:
            return self.pages.not_found()
        if subscriber.status == SubscriberStatus.UNSUBSCRIBED:
            return self.pages.page("unsubscribed.html", masked=mask(subscriber.email))
        several = len(self.theirs.names) > 1
        return self.pages.page("unsubscribe.html", masked=mask(subscriber.email), action=str(request.url.path), several=several)

    async def unsubscribe(self, request: Request) -> Response:
        # The one-click POST's body is "List-Unsubscribe=One-Click": no scope, this newsletter alone.
        form = await request.form(max_files=0, max_fields=8, max_part_size=256)
        return await run_in_threadpool(self.leave, str(request.path_params["token"]), form.get("scope") == "all")

    def leave(self, token: str, everything: bool) -> Response:
        subscriber = self.members.reader_of(token)
        if subscriber is None:
            return self.pages.not_found()
        if everything:
            self.theirs.leave_all(subscriber, "unsubscribe page")
        else:
            self.members.unsubscribe(subscriber)
        return self.pages.page("unsubscribed.html", masked=mask(subscriber.email), everything=everything)

    def help_page(self, request: Request) -> Response:
        return self.pages.message("Unsubscribing", "Use the unsubscribe link at the foot of an email you received: it is personal to you.")

    def test_link(self, request: Request) -> Response:
        return self.pages.message("A test message", "This link came in a test send; it unsubscribes nobody.")


class CountedLinks:
    """``/r/<token>``: a counted link of a sent issue. A 302 to where the frozen issue says it leads, never to
    anything the request says; a forged or unknown token is the 404 page."""

    HEADERS: ClassVar[Mapping[str, str]] = MappingProxyType({"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})

    UNLISTED_REMEMBERED = 64  # proxies warned about once each, a bounded few

    def __init__(self, pages: Pages, redirects: Redirects) -> None:
        self.pages = pages
        self.redirects = redirects
        self.warned: set[str] = set()

    def unlisted(self, address: str) -> None:
        """Tell the operator, once per address, that clicks come through a proxy nobody listed. Only a private
        or loopback address is named (where reverse proxies live): a public one may be a reader who wrote the
        header, and the access log keeps no reader's address beside a counted link."""
        private = guard.is_private(address)
        key = address if private else ""
        if key in self.warned or len(self.warned) >= self.UNLISTED_REMEMBERED:
            return
        self.warned.add(key)
        where = address if private else "a public address (not written here: it may be a reader's)"
        fix = (
            f'[serve] trusted_proxies = ["{address}"] (or DIGEST_TRUSTED_PROXIES={address})'
            if private
            else "list your proxies' addresses in [serve] trusted_proxies"
        )
        log.warning(
            "counted links: requests from %s carry a forwarding header from a proxy not in serve.trusted_proxies: everyone "
            "behind it shares one address, which counts at most %d clicks per issue per half hour. If it is your proxy: %s",
            where,
            CLICKS_PER_ADDRESS,
            fix,
        )

    def routes(self) -> list[Route]:
        # With a slash too: a client that adds one would otherwise get Starlette's 307 to the same path, its
        # address built from the request (http:// behind a TLS proxy).
        return [Route(self.pages.at + path, self.follow, methods=["GET", "HEAD"]) for path in (COUNTED.template, COUNTED.template + "/")]

    async def follow(self, request: Request) -> Response:
        # Asynchronous: a link read lately is answered from memory, with no thread and no database; only a link
        # not seen for a while is read from the store, in the thread pool.
        found = self.redirects.verify(str(request.path_params["token"]))
        link = None
        if found is not None:
            link = self.redirects.cached(*found) or await run_in_threadpool(self.redirects.destination, *found)
        if found is None or link is None:
            return self.pages.not_found()
        address = request.client.host if request.client else "unknown"
        via = guard.unlisted_forward(request.scope)
        if via:
            self.unlisted(address)
        self.redirects.count(
            found[0], found[1], method=request.method, address=address, agent=request.headers.get("user-agent", ""), via=via
        )
        return RedirectResponse(link.url, status_code=302, headers=self.HEADERS)


class SignUpPages:
    """``/subscribe`` and ``/confirm/<token>``: double opt-in. The form's answer is the same page whoever signs
    up; nothing is sent to an address but the confirmation until its owner clicks."""

    def __init__(self, pages: Pages, members: Membership, settings: Scope) -> None:
        self.pages = pages
        self.members = members
        self.name = settings.newsletter.name
        self.themes = settings.newsletter.theme_keys  # key → name: the form posts keys and shows names
        self.editions = offered_editions(settings.newsletter)  # the app's rule: offered only when the newsletter has several
        self.everyone = RateLimit(SIGNUPS_PER_MINUTE, 60.0)
        self.per_client = RateLimits(SIGNUPS_PER_ADDRESS, 600.0)
        self.per_mailbox = RateLimits(SIGNUPS_PER_MAILBOX, 3600.0)
        self.form_cookie = guard.FormCookie(CSRF_COOKIE, secure=settings.install.base_url.startswith("https://"))

    def routes(self) -> list[Route]:
        return [
            Route(self.pages.at + SUBSCRIBE.template, self.show_subscribe, methods=["GET"]),
            Route(self.pages.at + SUBSCRIBE.template, self.subscribe, methods=["POST"]),
            Route(self.pages.at + CONFIRM.template, self.show_confirm, methods=["GET"]),
            Route(self.pages.at + CONFIRM.template, self.confirm_post, methods=["POST"]),
        ]

    def form(
        self, status: int = 200, error: str | None = None, email: str = "", name: str = "", chosen: Any = None, edition: str | None = None
    ) -> Response:
        csrf = secrets.token_urlsafe(16)
        response = self.pages.page(
            "subscribe.html",
            status,
            csrf=csrf,
            themes=self.themes,
            chosen=set(chosen if chosen is not None else self.themes),
            editions=self.editions,
            edition=edition or (self.editions[0] if self.editions else ""),
            email=email,
            signup_name=name,
            error=error,
            action=SUBSCRIBE.link(self.pages.at),
        )
        # Double submit: our own page sets the cookie and the field; a form embedded on another site sends
        # neither, and its protection is the confirmation mail (nothing happens until the reader clicks).
        self.form_cookie.issue(response, SUBSCRIBE.link(self.pages.at), csrf)
        return response

    def check_inbox(self) -> Response:
        # The same answer whoever is asked about: a stranger learns nothing of who is on the list.
        return self.pages.message(
            "Check your inbox",
            "If the address can receive mail, a message is on its way, unless one went to it in the last ten minutes: "
            "then use the link in that one. Nothing arrives until you confirm.",
        )

    def show_subscribe(self, request: Request) -> Response:
        return self.form()

    async def subscribe(self, request: Request) -> Response:
        # Everything that costs nothing is checked first: a malformed or forged form is answered without
        # spending anyone's allowance, so empty POSTs cannot lock real people out.
        form = await request.form(max_files=0, max_fields=60, max_part_size=4096)
        field = {key: value for key, value in form.items() if isinstance(value, str)}
        cookie = self.form_cookie.sent(request)
        if cookie is not None and not self.form_cookie.matches(cookie, field.get("csrf", "")):
            return self.form(403, "This form had expired. Please send it again.")
        if field.get("website"):  # the honeypot: a person never sees it, a bot fills it in
            return self.check_inbox()
        choice = self.members.choice_of(form.getlist("theme"))
        edition = self.members.edition_of(field.get("edition"))
        kept = edition if isinstance(edition, str) else None
        raw_email, name = field.get("email", ""), name_of(field.get("name")) or ""
        try:
            address = address_of(raw_email)
        except AddressError as exc:
            return self.form(400, f"That address will not work: {exc}", raw_email[:320], name, choice.keys, kept)
        if self.members.problem_of(choice) is ChoiceProblem.NO_THEME:  # the app's rule (a sign-up sets no pause)
            return self.form(400, "Tick at least one theme.", address, name, choice.keys, kept)
        if edition is ChoiceProblem.NO_EDITION:  # the app's rule too: an edition the newsletter has, when it has several
            return self.form(400, "Choose one of the editions listed.", address, name, choice.keys)
        if wait := self.allowance(request, address):
            response = self.pages.message("Too many sign-ups", "Please try again in a few minutes.", 429)
            response.headers["Retry-After"] = str(max(1, round(wait)))
            return response
        await run_in_threadpool(self.members.sign_up, address, name or None, choice, kept)
        return self.check_inbox()

    def allowance(self, request: Request, address: str) -> float:
        """0 when this sign-up may go ahead (and it is counted), else the seconds to wait: per client (the proxy's
        word only for serve.trusted_proxies: guard.ClientAddress), per confirmation mailbox, for everyone."""
        client = request.client.host if request.client else "unknown"
        return self.per_client.take(client) or self.per_mailbox.take(guard.mailbox_key(address)) or self.everyone.take()

    def confirmation_of(self, request: Request) -> tuple[Subscriber | None, Response | None]:
        found = self.members.confirmation(str(request.path_params["token"]))
        if found.state is ConfirmationState.NOT_OURS or found.subscriber is None:
            return None, self.pages.not_found()
        if found.state is ConfirmationState.SUBSCRIBED:
            return None, self.pages.message("You are subscribed", f"{mask(found.subscriber.email)} gets {self.name} already.")
        if found.state is ConfirmationState.USED:
            return None, self.pages.message("This link has expired", "Sign up again on the subscribe page to get a new one.", 410)
        return found.subscriber, None

    def show_confirm(self, request: Request) -> Response:
        subscriber, answer = self.confirmation_of(request)
        if answer is not None or subscriber is None:
            return answer or self.pages.not_found()
        return self.pages.page("confirm.html", masked=mask(subscriber.email), action=str(request.url.path))

    def confirm_post(self, request: Request) -> Response:
        subscriber, answer = self.confirmation_of(request)
        if answer is not None or subscriber is None:
            return answer or self.pages.not_found()
        self.members.confirm(subscriber)
        return self.pages.message("You are subscribed", f"Welcome to {self.name}. The next issue comes to {mask(subscriber.email)}.")
