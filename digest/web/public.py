"""The public app (``digest serve``): one-click unsubscribe and the archive of sent issues.

- ``GET /u/<token>`` shows a confirmation page and changes nothing: mail
  scanners fetch links, so a GET must never unsubscribe.
- ``POST /u/<token>`` unsubscribes: no cookie, no login, idempotent; this is
  the RFC 8058 one-click endpoint that ``List-Unsubscribe-Post`` points at.
- A forged or altered token gets a 404 and changes nothing.
- ``GET /archive/`` lists the sent issues; ``GET /archive/<id>/`` shows one
  (the "view in browser" link) with no recipient's data in it.

Every endpoint is a plain ``def``: Starlette runs it in its thread pool, so a
database call that waits (SQLite's write lock, held by a send's ledger
writers for a moment per message) never stalls the event loop and the other
requests with it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from digest import placeholders
from digest.config import Settings
from digest.models import SubscriberStatus
from digest.store import Store
from digest.tokens import Signer
from digest.web import guard

log = logging.getLogger(__name__)
_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(Path(__file__).resolve().parent / "templates")),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
# What stands in for a recipient's details on the public web copy of an issue.
WEB_EMAIL = "your address"


def mask(email: str) -> str:
    """``a***@example.org``: enough for a reader to recognise, too little to harvest."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def web_copy(html: str, unsubscribe_help: str) -> str:
    """An issue's HTML with the per-recipient placeholders replaced by neutral text."""
    return html.replace(placeholders.RECIPIENT_EMAIL, WEB_EMAIL).replace(placeholders.UNSUBSCRIBE_URL, unsubscribe_help)


def create_app(settings: Settings, store: Store, *, host: str = "127.0.0.1", allow_hosts: tuple[str, ...] = ()) -> Starlette:
    """The public app for ``settings``; needs DIGEST_SECRET_KEY to check tokens.

    It answers only the host of ``base_url``, loopback names, the address it
    is bound to (``host``) and ``allow_hosts``: a foreign ``Host`` gets a 400,
    never a page or a redirect to that host.
    """
    if not settings.secret_key:
        raise ValueError("DIGEST_SECRET_KEY is not set: it is needed to check unsubscribe tokens")
    signer = Signer(settings.secret_key, settings.list_id)
    common = {"newsletter": settings.name, "language": settings.language}
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(_TEMPLATES.get_template(name).render(**common, **context), status_code=status, headers=headers)

    def not_found() -> HTMLResponse:
        return page(
            "message.html",
            404,
            heading="Link not recognised",
            text="This link is not valid. Use the unsubscribe link in an email you received.",
        )

    def subscriber_for(request: Request) -> Any:
        subscriber_id = signer.verify(str(request.path_params["token"]))
        return store.subscribers.get(subscriber_id=subscriber_id) if subscriber_id is not None else None

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
        if store.subscribers.set_status(subscriber.id, SubscriberStatus.UNSUBSCRIBED, "one-click unsubscribe"):
            log.info("subscriber %d unsubscribed", subscriber.id)
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
        zone = settings.timezone
        issues = [
            {
                "url": f"/archive/{item.id}/",
                "subject": item.subject,
                "start": f"{item.window_start.astimezone(zone):%d %b}",
                "end": f"{item.window_end.astimezone(zone):%d %b %Y}",
            }
            for item in store.issues.summaries(sent_only=True)
        ]
        return page("archive.html", issues=issues)

    def issue(request: Request) -> Response:
        issue_id = str(request.path_params["issue_id"])
        sent = {item.id for item in store.issues.summaries(sent_only=True)}
        stored = store.issues.load(issue_id) if issue_id in sent else None
        if stored is None:
            return page("message.html", 404, heading="No such issue", text="This issue is not in the archive.")
        return HTMLResponse(web_copy(stored.html, f"{settings.base_url}/u/"), headers=headers)

    def health(request: Request) -> Response:
        store.version()
        return PlainTextResponse("ok\n")

    return Starlette(
        routes=[
            Route("/u/", help_page, methods=["GET"]),
            Route("/u/test", test_link, methods=["GET", "POST"]),
            Route("/u/{token}", confirm, methods=["GET"]),
            Route("/u/{token}", unsubscribe, methods=["POST"]),
            Route("/archive/", archive, methods=["GET"]),
            Route("/archive/{issue_id}/", issue, methods=["GET"]),
            Route("/healthz", health, methods=["GET"]),
        ],
        middleware=[
            guard.host_only(guard.trusted_hosts(host, guard.host_of(settings.base_url), *allow_hosts)),
            Middleware(guard.SecurityHeaders),
        ],
    )
