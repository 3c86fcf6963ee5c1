"""The editor preview (``digest preview``): the coming issue as subscribers will get it, live.

One page shows the subject and preheader, the HTML email in a desktop and a
phone frame, the plain text, the headers a sample recipient gets, the model
as JSON, the excluded posts and every post's theme reason, and the checks
the send gate uses. Files under the content sources, the templates and the
config are watched (watchfiles); a change rebuilds the issue and open pages
reload themselves through server-sent events. A template or config error is
shown on the page (file, line, message), never as a crashed server. "Send a
test" goes through the configured backend, as ``digest send --to`` does.
Below, what placement learns from the editor's past issues, each label with a
"Forget" button (``digest themes forget-label`` from the page).
``/readers`` shows what past issues got (``digest report`` in charts).

An install of several newsletters gets one such site per newsletter under ``/n/SLUG/`` (each with its own build
state, watcher and page token), a switcher between them on every page, and ``/`` leading to the one shown first.

The page sends mail, so it is guarded (:mod:`digest.web.guard`): it answers
only its own host names, refuses cross-site POSTs, requires the page's
token on every POST, and allows a few test sends a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import html
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.policy import default
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route

from digest.app.desk import DeskForm, desk_view, edit_issue_file, language_flags, ref_of
from digest.app.hints import target_args
from digest.app.output import digest_json
from digest.app.preview import Failure, Listed, PreviewBuild, approval_line, newsletters_of, send_test_copy
from digest.app.subscribers import address_of
from digest.app.themes import forget_placement, forgotten_label, shown, taught_labels
from digest.models import OnStep
from digest.models.errors import AddressError, DeskError, DigestError, LabelError
from digest.models.routes import PREVIEW_NEWSLETTER as NEWSLETTER_PATH
from digest.web import favicon, guard
from digest.web.guard import PageToken, RateLimit
from digest.web.pages import PAGES
from digest.web.preview_state import PreviewState
from digest.web.preview_state import watch as watch_state
from digest.web.readers import readers_page

# The desk's largest form is the intro (a few paragraphs); the rest are a few fields.
MAX_FORM_BYTES = 256 * 1024
# Test sends go to any address the editor types: a few a minute is plenty for an editor, and little for abuse.
TEST_SENDS_PER_MINUTE = 5


def create_preview_app(
    config: Path | None = None,
    *,
    watch: bool = True,
    host: str = "127.0.0.1",
    on_step: OnStep | None = None,
    newsletter: str | None = None,
    edition: str | None = None,
) -> Starlette:
    """The preview app; it answers only loopback names and ``host`` (the address it is bound to). ``on_step``: the
    progress of a long build (the first of a large archive), on the terminal `digest preview` runs in. ``newsletter``:
    the slug of the one it shows first (None: the first); ``edition``: the edition whose issues that one shows (None:
    its default). An install of several newsletters gets each served under ``/n/SLUG/`` (its own state, watcher and
    page token) with a switcher between them, and ``/`` leads to ``newsletter``'s; with one, all stays at the root."""
    listed = newsletters_of(config)
    test_sends = RateLimit(TEST_SENDS_PER_MINUTE, 60.0)  # one allowance for the preview, whichever newsletter sends
    if len(listed) < 2:
        sites = [PreviewSite(PreviewState(config, on_step, newsletter, edition), test_sends)]
        routes: list[BaseRoute] = [*sites[0].routes()]
    else:
        first = newsletter if newsletter in {item.slug for item in listed} else listed[0].slug
        switcher = Switcher(config, listed)
        sites = [
            PreviewSite(
                PreviewState(config, on_step, item.slug, edition if item.slug == first else None),
                test_sends,
                base=NEWSLETTER_PATH.format(slug=item.slug),
                switcher=switcher,
            )
            for item in listed
        ]
        routes = [Route("/", leading_to(NEWSLETTER_PATH.format(slug=first))), *(Mount(site.base, routes=site.routes()) for site in sites)]
        routes.append(favicon.ROUTE)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        tasks = []
        for site in sites:
            site.state.changed = asyncio.Event()
            if watch:
                tasks.append(asyncio.create_task(watch_state(site.state, stop)))
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                task.cancel()

    return Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            guard.host_only(guard.trusted_hosts(host)),
            Middleware(guard.PolicyHeaders, policy=guard.PREVIEW_HEADERS, unless_set=frozenset({"Content-Security-Policy"})),
            Middleware(guard.SameOrigin),
            Middleware(guard.BodyLimit, max_bytes=MAX_FORM_BYTES),
        ],
    )


def leading_to(base: str) -> Callable[[Request], Awaitable[Response]]:
    """The root of a preview of several newsletters: to the page of the one shown first, with the query asked
    (``/?as_of=…`` → ``/n/SLUG/?as_of=…``)."""

    async def root(request: Request) -> Response:
        query = request.url.query
        return RedirectResponse(f"{base}/" + (f"?{query}" if query else ""), status_code=307)

    return root


class Switcher:
    """The links from one newsletter's page to the others', by name (read from the config at each page, so a rename
    shows at the next reload); the newsletters are those the preview started with, each served under its path."""

    def __init__(self, config: Path | None, listed: tuple[Listed, ...]) -> None:
        self.config = config
        self.listed = listed

    def entries(self, current: str) -> list[dict[str, Any]]:
        names = {item.slug: item.name for item in newsletters_of(self.config)}
        return [
            {
                "slug": item.slug,
                "name": names.get(item.slug, item.name),
                "href": NEWSLETTER_PATH.format(slug=item.slug) + "/",
                "current": item.slug == current,
            }
            for item in self.listed
        ]


WINDOW_FIELDS = ("since", "until", "as_of")  # what names an issue's window, in an address or a form


def window_fields(fields: Mapping[str, str]) -> dict[str, str]:
    """The window ``fields`` ask for: ``since``/``until``, or ``as_of``, or nothing (the coming issue)."""
    return {k: v for k, v in fields.items() if k in WINDOW_FIELDS and v}


def query_of(request: Request) -> dict[str, str]:
    """The window the address asks for."""
    return window_fields(request.query_params)


async def signed_fields(request: Request, token: PageToken, max_fields: int, max_part_size: int) -> dict[str, str] | None:
    """A form's text fields, or None when it does not carry this page's token (in the form, or the header)."""
    form = await request.form(max_files=0, max_fields=max_fields, max_part_size=max_part_size)
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    return fields if token.accepts(fields.get(guard.TOKEN_FIELD) or request.headers.get("x-digest-token")) else None


class PreviewSite:
    """The preview's pages and the desk's actions over one state (builds cached per version and query); every
    state-changing request needs the page's token, and test sends are rate limited."""

    def __init__(self, state: PreviewState, test_sends: RateLimit, *, base: str = "", switcher: Switcher | None = None) -> None:
        self.state = state
        self.token = PageToken()  # its own: a form of one newsletter's page never acts on another's desk
        self.test_sends = test_sends
        self.base = base  # the path it is served under: "" (the only newsletter) or /n/SLUG
        self.switcher = switcher

    def context(self, query: dict[str, str]) -> dict[str, Any]:
        """What every rendering of the page needs: the query, the token, the path and the switcher."""
        switcher = self.switcher.entries(self.state.bench.newsletter or "") if self.switcher else None
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        return {"query": query, "qs": qs, "version": self.state.version, "token": self.token.value, "base": self.base, "switcher": switcher}

    def routes(self) -> list[Route]:
        return [
            Route("/", self.page),
            Route("/email.html", self.email_html),
            Route("/email.txt", self.email_text),
            Route("/digest.json", self.model),
            Route("/readers", self.readers),
            Route("/events", self.events),
            Route("/send-test", self.test_send, methods=["POST"]),
            Route("/desk/issue", self.desk_action, methods=["POST"]),
            Route("/desk/post", self.desk_action, methods=["POST"]),
            Route("/desk/approve", self.desk_action, methods=["POST"]),
            Route("/desk/forget-label", self.forget_label, methods=["POST"]),
            favicon.ROUTE,
        ]

    async def page(self, request: Request) -> Response:
        query = query_of(request)
        built = await asyncio.to_thread(self.state.build, query)
        context = self.context(query)
        if isinstance(built, Failure):
            context["failure"] = built
            return HTMLResponse(PAGES.get_template("preview.html").render(**context), status_code=built.page_status)
        zone = built.settings.newsletter.timezone
        message = email.message_from_bytes(built.sample, policy=default)
        context.update(
            built=built,
            newsletter=built.settings.newsletter.name,
            window=(built.digest.window.start.astimezone(zone), built.digest.window.end.astimezone(zone), str(zone)),
            headers=readable_headers(built.sample),
            text=message.get_body(("plain",)).get_content(),  # type: ignore[union-attr]
            model=digest_json(built.digest, indent=2),
            errors=sum(1 for c in built.rendered.checks if c.level == "error"),
            frozen_note=_frozen_note(built),
            desk=_desk_context(built),
            learning=_learning_context(built, request.query_params.get("forgot_issue", ""), request.query_params.get("forgot_post", "")),
        )
        return HTMLResponse(PAGES.get_template("preview.html").render(**context))

    async def readers(self, request: Request) -> Response:
        """What readers did with the issues sent: the report in charts (digest report --html is the same page)."""
        found = await asyncio.to_thread(self.state.bench.readers)
        if isinstance(found, Failure):
            return HTMLResponse(PAGES.get_template("preview.html").render(failure=found, **self.context({})), 500)
        settings, seen = found
        return HTMLResponse(readers_page(seen, settings.newsletter.name, settings.newsletter.language, back=f"{self.base}/"))

    async def desk_action(self, request: Request) -> Response:
        """One change to the issue file (a button or a form of the desk), then back to the page, rebuilt."""
        fields = await signed_fields(request, self.token, max_fields=30, max_part_size=64 * 1024)
        if fields is None:
            return PlainTextResponse("refused: this form is not from this preview page (reload the page)\n", 403)
        query = window_fields(fields)
        built = await asyncio.to_thread(self.state.build, query)
        if isinstance(built, Failure):
            return PlainTextResponse(f"the issue cannot be built, so it cannot be edited: {built.where}: {built.message}\n", 409)
        if built.frozen is not None and built.locked:
            return PlainTextResponse(
                f"refused: the desk is locked: issue {built.frozen.id} has been sent (it has deliveries), and what went "
                "out to some readers is what goes out to the rest: its issue file can no longer change it.\n",
                409,
            )
        path = request.url.path.removeprefix(self.base)
        which = DeskForm.ISSUE if path == "/desk/issue" else DeskForm.POST

        def edit() -> None:
            self.state.wrote(edit_issue_file(built.settings, built.target.window, built.digest, which, fields, built.newsletter.edition))

        def approve_it() -> None:
            from digest.app.approval import approve

            approve(built.newsletter, built.target, datetime.now(UTC), "the preview")
            self.state.bump()

        try:
            await asyncio.to_thread(approve_it if path == "/desk/approve" else edit)
        except DeskError as exc:
            return PlainTextResponse(f"refused: {exc}\n", 400)
        except DigestError as exc:
            return PlainTextResponse(f"refused: {exc}\n", 409)
        anchor = f"#{fields['back']}" if fields.get("back", "").replace("-", "").isalnum() else ""
        return RedirectResponse(f"{self.base}/?" + urlencode(query) + anchor, status_code=303)

    async def forget_label(self, request: Request) -> Response:
        """The Forget button of a label: builds stop learning from one past placement; then back to the page, rebuilt
        without it, saying so. It changes no issue file, so a locked desk or an issue that fails to build allows it."""
        fields = await signed_fields(request, self.token, max_fields=10, max_part_size=4 * 1024)
        if fields is None:
            return PlainTextResponse("refused: this form is not from this preview page (reload the page)\n", 403)
        settings = self.state.bench.settings()
        if isinstance(settings, Failure):
            return PlainTextResponse(
                f"refused: the config cannot be read, so nothing was forgotten: {settings.where}: {settings.message}\n", 409
            )
        issue_id, post_id = fields.get("issue", ""), fields.get("post", "")
        try:
            store = await asyncio.to_thread(self.state.bench.store, settings)
            label = await asyncio.to_thread(forget_placement, store, issue_id, post_id)
        except LabelError as exc:
            return PlainTextResponse(f"refused: {exc}; nothing changed (reload the page)\n", 409 if exc.forgotten else 404)
        except DigestError as exc:
            return PlainTextResponse(f"refused: {exc}\n", 409)
        self.state.bump()  # the builds cached were placed with this label: the page's next build learns without it
        query = window_fields(fields)
        said = {"forgot_issue": label.issue_id, "forgot_post": label.post_id}
        return RedirectResponse(f"{self.base}/?" + urlencode(query | said) + "#learning", status_code=303)

    async def email_html(self, request: Request) -> Response:
        built = await asyncio.to_thread(self.state.build, query_of(request))
        if isinstance(built, Failure):
            return HTMLResponse(f"<p>{html.escape(built.where)}: {html.escape(built.message)}</p>", status_code=built.page_status)
        message = email.message_from_bytes(built.sample, policy=default)
        body = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        return HTMLResponse(body, headers={"Content-Security-Policy": guard.EMAIL_VIEW_CSP})

    async def email_text(self, request: Request) -> Response:
        built = await asyncio.to_thread(self.state.build, query_of(request))
        if isinstance(built, Failure):
            return PlainTextResponse(f"{built.where}: {built.message}\n", status_code=built.status)
        return PlainTextResponse(email.message_from_bytes(built.sample, policy=default).get_body(("plain",)).get_content())  # type: ignore[union-attr]

    async def model(self, request: Request) -> Response:
        built = await asyncio.to_thread(self.state.build, query_of(request))
        if isinstance(built, Failure):
            return JSONResponse({"error": {"where": built.where, "message": built.message}}, status_code=built.status)
        return Response(digest_json(built.digest, built.rendered), media_type="application/json")

    async def events(self, request: Request) -> Response:
        async def stream() -> AsyncIterator[str]:
            yield "retry: 1000\n\n"
            seen = -1
            while not await request.is_disconnected():
                if self.state.version != seen:
                    seen = self.state.version
                    yield f"data: {seen}\n\n"
                if self.state.changed is None:  # served without the lifespan: no watcher, just keep the stream open
                    self.state.changed = asyncio.Event()
                try:
                    await asyncio.wait_for(self.state.changed.wait(), timeout=1.0)
                    self.state.changed.clear()
                except TimeoutError:
                    yield ": keep-alive\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    async def test_send(self, request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=20)
        given = form.get(guard.TOKEN_FIELD) or request.headers.get("x-digest-token")
        if not self.token.accepts(given if isinstance(given, str) else None):
            return JSONResponse({"ok": False, "message": "refused: this form is not from this preview page (reload the page)"}, 403)
        wait = self.test_sends.take()
        if wait:
            message = f"refused: at most {TEST_SENDS_PER_MINUTE} test sends a minute; try again in {wait:.0f} s"
            return JSONResponse({"ok": False, "message": message}, 429, headers={"Retry-After": str(max(1, round(wait)))})
        typed = str(form.get("address", ""))
        try:
            address_of(typed)  # a bad address is said before anything is built
        except AddressError as exc:
            return JSONResponse({"ok": False, "message": f"not an address: {exc}"}, status_code=400)
        built = await asyncio.to_thread(self.state.build, window_fields({k: v for k, v in form.items() if isinstance(v, str)}))
        if isinstance(built, Failure):
            return JSONResponse({"ok": False, "message": f"{built.where}: {built.message}"}, status_code=built.status)

        try:
            address, reply = await asyncio.to_thread(send_test_copy, built, typed)
        except DigestError as exc:
            return JSONResponse({"ok": False, "message": f"test send failed: {exc}"}, status_code=502)
        return JSONResponse({"ok": True, "message": f"sent to {address}: {reply}"})


def readable_headers(message: bytes) -> str:
    """The message's header block as a person reads it: RFC 2047 encoded words decoded (a subject or a name in
    UTF-8 goes out as ``=?utf-8?q?…?=``, and is shown as written), each such header on one line; the rest as sent."""
    block = message.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace")
    fields = []
    for field in re.split(r"\r\n(?![ \t])", block):
        name, _, value = field.partition(":")
        # One that cannot be decoded (an unknown charset) is shown as it went out.
        with contextlib.suppress(LookupError, UnicodeError, HeaderParseError):
            value = " " + str(make_header(decode_header(value))) if "=?" in value else value
        fields.append(f"{name}:{value}")
    return "\n".join(fields).replace("\r\n", "\n")


def _desk_context(built: PreviewBuild) -> dict[str, Any]:
    """What the desk's forms show: the issue file's current values, each post's ref, and whether edits are locked."""
    view = desk_view(built.settings, built.target.window, built.newsletter.edition)
    return {
        "file": view.file,
        "subject": view.subject,
        "preheader": view.preheader,
        "intro": view.intro,
        "locked": built.locked,
        "themes": built.settings.newsletter.theme_names,
        "ref": ref_of,
        "notes": built.digest.editorial.notes if built.digest.editorial else {},
        "pinned": view.pinned,
        "approval": approval_line(built),
        "languages": language_flags(built.settings.newsletter, built.digest),  # post id → "in French; the model reads English"
    }


def _learning_context(built: PreviewBuild, forgot_issue: str, forgot_post: str) -> dict[str, Any] | None:
    """The panel of what placement learns from the editor (None: nothing to show, with no label and meaning off), and
    the label the last Forget took back, when the address names one (only one forgotten indeed is confirmed)."""
    store = built.newsletter.store
    taught = taught_labels(built.settings, store)
    if taught.idle and not taught.shown:
        return None
    forgot = forgotten_label(store, forgot_issue, forgot_post) if forgot_issue and forgot_post else None
    return {"taught": taught, "forgot": forgot, "shown": shown}


def _frozen_note(built: PreviewBuild) -> str | None:
    """What the page says when this issue is stored already: sends use that copy, not the build shown."""
    if built.frozen is None:
        return None
    note = f"This issue was frozen on {built.frozen.created_at:%Y-%m-%d %H:%M} UTC: every send uses that stored copy, not this build."
    if built.drift is None:
        return note + " The stored copy matches this build."
    note += f" It differs from this build: {built.drift.describe()}."
    if built.locked:
        return note + " It has deliveries already, so it cannot be rebuilt."
    args = [*target_args(built.target, built.settings.newsletter.timezone), *built.newsletter.edition_args()]
    return note + f" To send this build instead: {built.newsletter.hint('send', '--rebuild', *args)}"
