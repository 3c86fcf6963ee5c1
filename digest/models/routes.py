"""The public app's addresses, each named once.

The web app mounts its routes at these paths (:mod:`digest.web.public`), and every link to one is built from
them: the emails' unsubscribe and preferences links, the sign-up and welcome mails, the archive's pages and
feeds, the counted links, the CLI's words. A test holds every link built here to a route the app serves, so a
path changed in one place cannot leave a link to nowhere in another.

Each newsletter's pages are mounted under its base path (``Publication.prefix``: nothing for the first, so the
links of mail already sent keep working; ``/culture`` for an added one), and its links are built with the same
base: ``X.link(scope.base_url)`` in mail, ``X.link(prefix)`` on its pages.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PublicPath:
    """One address of the public app: a Starlette path template such as ``/u/{token}``."""

    template: str
    personal: bool = False  # carries a reader's own token: redacted from the access log

    @property
    def prefix(self) -> str:
        """The path up to its first parameter (``/u/`` of ``/u/{token}``): a per-recipient loop adds the token."""
        return self.template.partition("{")[0]

    def link(self, base: str = "", **params: str) -> str:
        """``base`` (the public base URL; "" for a path on this site) and the path with ``params`` filled in."""
        return base + self.template.format(**params)


TEST_COPY = "test"  # in place of a reader's token in a test copy's links: UNSUBSCRIBE_TEST unsubscribes nobody

HOME = PublicPath("/")
ARCHIVE = PublicPath("/archive/")
ARCHIVE_ISSUE = PublicPath("/archive/{issue_id}/")  # an issue's "view in browser" copy
ARCHIVE_FEED = PublicPath("/archive/feed.atom")
THEME_FEED = PublicPath("/archive/themes/{theme}.atom")
# An edition's feed, beside the first's feed.atom (digest.app.archive): under a folder no issue id or month takes.
EDITION_FEED = PublicPath("/archive/editions/{edition}.atom")
SUBSCRIBE = PublicPath("/subscribe")
CONFIRM = PublicPath("/confirm/{token}", personal=True)
UNSUBSCRIBE_HELP = PublicPath("/u/")
UNSUBSCRIBE_TEST = PublicPath(f"/u/{TEST_COPY}")
UNSUBSCRIBE = PublicPath("/u/{token}", personal=True)
PREFERENCES_HELP = PublicPath("/preferences/")
PREFERENCES = PublicPath("/preferences/{token}", personal=True)
COUNTED = PublicPath("/r/{token}")  # a counted post link: the redirect
METRICS = PublicPath("/metrics")
HEALTH = PublicPath("/healthz")
FAVICON = PublicPath("/favicon.ico")


EVERY_PATH = (
    HOME,
    ARCHIVE,
    ARCHIVE_ISSUE,
    ARCHIVE_FEED,
    THEME_FEED,
    EDITION_FEED,
    SUBSCRIBE,
    CONFIRM,
    UNSUBSCRIBE_HELP,
    UNSUBSCRIBE_TEST,
    UNSUBSCRIBE,
    PREFERENCES_HELP,
    PREFERENCES,
    COUNTED,
    METRICS,
    HEALTH,
    FAVICON,
)


def taken_segments() -> frozenset[str]:
    """The first path segments the first newsletter's pages and the API take ("archive", "u", "api", …): an added
    newsletter's base path may not start with one, or its pages would be the first's (``/archive/subscribe``)."""
    first = {path.template.strip("/").partition("/")[0] for path in EVERY_PATH}
    return frozenset(first - {""} | {API_ROOT.strip("/").partition("/")[0]})


def archive_at(archive_url: str | None, base_url: str) -> str:
    """Where the archive lives, without its last slash (an issue's copy is ``…/<id>/``): the published one
    (``newsletter.archive_url``) when there is one, else the public app's."""
    return archive_url or ARCHIVE.link(base_url).removesuffix("/")


def month_archive(archive: str, year: int, month: int) -> str:
    """The archive's page of one month (``…/2026-11/``), which lists every post of the month: where a round-up's
    "and N more in the archive" points. ``archive``: :func:`archive_at`'s. The app serves it by :data:`ARCHIVE_ISSUE`'s
    route (a month's ``YYYY-MM`` is never an issue's id, ``YYYY-MM-DD-…``)."""
    return f"{archive}/{year:04d}-{month:02d}/"


# -- the HTTP API (``digest serve``, issue 36): its own addresses under one versioned prefix -------------------------


@dataclass(frozen=True, slots=True)
class ApiPath:
    """One address of the HTTP API, relative to :data:`API_ROOT` (``/subscribers/{subscriber_id}``); the app mounts
    the API at the root and each operation at its path, and the OpenAPI document names the full path."""

    template: str

    @property
    def full(self) -> str:
        return API_ROOT + self.template

    def link(self, base: str = "", **params: str) -> str:
        return base + self.full.format(**params)


API_ROOT = "/api/v1"
API_OPENAPI = ApiPath("/openapi.json")
API_NEWSLETTERS = ApiPath("/newsletters")
API_SUBSCRIBERS = ApiPath("/subscribers")
API_SUBSCRIBER = ApiPath("/subscribers/{subscriber_id}")
API_UNSUBSCRIBE = ApiPath("/subscribers/{subscriber_id}/unsubscribe")
API_ISSUES = ApiPath("/issues")
API_ISSUE = ApiPath("/issues/{issue_id}")
API_ISSUE_HTML = ApiPath("/issues/{issue_id}/html")
API_ISSUE_TEXT = ApiPath("/issues/{issue_id}/text")
API_APPROVE = ApiPath("/issues/{issue_id}/approve")
API_REPORT = ApiPath("/reports")
API_BOUNCES = ApiPath("/bounces")
API_BOUNCE_APPLY = ApiPath("/bounces/{report_id}/apply")
API_BOUNCE_DISMISS = ApiPath("/bounces/{report_id}/dismiss")
API_SENDS = ApiPath("/sends")
API_SEND = ApiPath("/sends/{issue_id}")


# The editor's preview (``digest preview``) of an install of several newsletters serves each under its own path (the
# first's too: no address is ambiguous); with one newsletter its pages stay at the root. The draft mail links there.
PREVIEW_NEWSLETTER = "/n/{slug}"


def preview_base(slug: str, *, several: bool) -> str:
    """The path the preview serves the newsletter ``slug`` under: "" in an install of one, ``/n/SLUG`` otherwise."""
    return PREVIEW_NEWSLETTER.format(slug=slug) if several else ""
