"""The web's HTML templates (``digest/web/templates``): one environment, autoescaped, for every page served here."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import jinja2
from starlette.responses import HTMLResponse

if TYPE_CHECKING:
    from digest.app.session import Publication

_FOLDER = str(Path(__file__).resolve().parent / "templates")

PAGES = jinja2.Environment(loader=jinja2.FileSystemLoader(_FOLDER), autoescape=True)
# The public site's pages: a name missing from a page's values is an error there, never an empty string.
STRICT_PAGES = jinja2.Environment(loader=jinja2.FileSystemLoader(_FOLDER), autoescape=True, undefined=jinja2.StrictUndefined)


def mask(email: str) -> str:
    """``a***@example.org``: enough for a reader to recognise, too little to harvest."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


class Pages:
    """The public app's pages, in the newsletter's name and language, never cached (the policy headers come
    from guard.PolicyHeaders, on every response)."""

    HEADERS: ClassVar[Mapping[str, str]] = MappingProxyType({"Cache-Control": "no-store"})

    def __init__(self, newsletter: Publication) -> None:
        self.common = {"newsletter": newsletter.name, "language": newsletter.language}
        self.at = newsletter.prefix  # the newsletter's base path: every route and link of its pages starts with it

    def page(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(STRICT_PAGES.get_template(name).render(**self.common, **context), status_code=status, headers=self.HEADERS)

    def message(self, heading: str, text: str, status: int = 200) -> HTMLResponse:
        return self.page("message.html", status, heading=heading, text=text)

    def not_found(self) -> HTMLResponse:
        return self.message("Link not recognised", "This link is not valid. Use the unsubscribe link in an email you received.", 404)
