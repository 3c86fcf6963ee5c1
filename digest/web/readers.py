"""The Readers page: ``digest report`` in pictures, for the preview's ``/readers`` and ``digest report --html``.

One self-contained HTML file: its charts are inline SVG (:mod:`digest.app.charts`), its style inline, and a
policy in the page itself allows nothing to be fetched or run, so it opens offline, from a file or a mail.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from digest.app.bounces import COMPLAINT_LIMIT, FAILURE_LIMIT
from digest.app.charts import report_charts
from digest.app.report import FLOOR_WHY
from digest.web.pages import PAGES

if TYPE_CHECKING:
    from digest.app.report import Report


def readers_page(seen: Report | None, newsletter: str, language: str = "en", *, back: str | None = None) -> str:
    """The page of ``seen`` (None: nothing sent yet); ``back``: a link to the page it was opened from."""
    return PAGES.get_template("readers.html").render(
        seen=seen,
        charts=report_charts(seen) if seen is not None else (),
        newsletter=newsletter,
        language=language,
        limit=COMPLAINT_LIMIT,
        failure_limit=FAILURE_LIMIT,
        floor_why=FLOOR_WHY,
        back=back,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
