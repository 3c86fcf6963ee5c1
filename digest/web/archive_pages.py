"""The archive as ``digest serve`` gives it (a newsletter's ``/archive/…``, under its base path): the sent issues of
each edition, each one's web copy (no recipient's data), the month pages, the Atom feeds; the same pages and feeds
``digest publish DIR`` writes (:mod:`digest.app.archive`)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from digest.app.archive import Archive
from digest.app.archive_month import month_of
from digest.models.routes import ARCHIVE, ARCHIVE_FEED, ARCHIVE_ISSUE, EDITION_FEED, HOME, SUBSCRIBE, THEME_FEED
from digest.web.pages import Pages


class ArchivePages:
    """``/`` and ``/archive/…``: the sent issues, each one's web copy, the months, the Atom feeds."""

    def __init__(self, pages: Pages, sent: Archive) -> None:
        self.pages = pages
        self.sent = sent

    def routes(self) -> list[Route]:
        at = self.pages.at
        return [
            Route(at + HOME.template, self.home, methods=["GET"]),
            Route(at + ARCHIVE.template, self.archive, methods=["GET"]),
            Route(at + ARCHIVE_FEED.template, self.feed, methods=["GET"]),
            Route(at + THEME_FEED.template, self.feed, methods=["GET"]),
            Route(at + EDITION_FEED.template, self.feed, methods=["GET"]),
            # An issue's copy, or a month's page (``YYYY-MM``: no issue id has that shape, routes.month_archive).
            Route(at + ARCHIVE_ISSUE.template, self.issue, methods=["GET"]),
            # The addresses without their slash, redirected by path: Starlette's own slash redirect names a host and
            # a scheme (http behind a TLS proxy), so it is off for this app (create_public_app).
            *(
                Route(at + path.template.removesuffix("/"), self.to_path(at + path.template), methods=["GET"])
                for path in (ARCHIVE, ARCHIVE_ISSUE)
            ),
            *([Route(at, self.home, methods=["GET"])] if at else []),  # "/culture" as "/culture/"
        ]

    @staticmethod
    def to_path(template: str) -> Callable[[Request], Response]:
        def redirect(request: Request) -> Response:
            return RedirectResponse(template.format(**request.path_params), status_code=302, headers=Pages.HEADERS)

        return redirect

    def home(self, request: Request) -> Response:
        # The site's root: the archive, whose page links the sign-up form. A path, never a host: no redirect
        # of ours names a host a request gave.
        return RedirectResponse(ARCHIVE.link(self.pages.at), status_code=302, headers=Pages.HEADERS)

    def archive(self, request: Request) -> Response:
        return self.pages.page("archive.html", 200, **self.sent.index(ARCHIVE.link(self.pages.at)), subscribe=SUBSCRIBE.link(self.pages.at))

    def issue(self, request: Request) -> Response:
        wanted = str(request.path_params["issue_id"])
        month = month_of(wanted)
        if month is not None:
            page = self.sent.month(*month)
            if page is None:
                return self.pages.message("No such month", "No post of this month is in the archive.", 404)
            return HTMLResponse(page, headers=Pages.HEADERS)
        copy = self.sent.web_copy(wanted)
        if copy is None:
            return self.pages.message("No such issue", "This issue is not in the archive.", 404)
        return HTMLResponse(copy, headers=Pages.HEADERS)

    def feed(self, request: Request) -> Response:
        # A feed is a file of the archive as `digest publish` writes it: its path under the archive's is the file's.
        params = request.path_params
        path = THEME_FEED if "theme" in params else EDITION_FEED if "edition" in params else ARCHIVE_FEED
        wanted = path.link(**params).removeprefix(ARCHIVE.link())
        found = self.sent.feed(wanted)
        return Response(found.body, media_type=found.media_type) if found is not None else self.pages.not_found()
