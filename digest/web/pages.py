"""The web's HTML templates (``digest/web/templates``): one environment, autoescaped, for every page served here."""

from __future__ import annotations

from pathlib import Path

import jinja2

_FOLDER = str(Path(__file__).resolve().parent / "templates")

PAGES = jinja2.Environment(loader=jinja2.FileSystemLoader(_FOLDER), autoescape=True)
# The public site's pages: a name missing from a page's values is an error there, never an empty string.
STRICT_PAGES = jinja2.Environment(loader=jinja2.FileSystemLoader(_FOLDER), autoescape=True, undefined=jinja2.StrictUndefined)
