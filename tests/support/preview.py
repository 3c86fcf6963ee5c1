"""The editor preview's page: its week, as the page's query, and the token of its forms."""

from __future__ import annotations

import re

from conftest import LiveServer, http_request

WINDOW = "since=2025-02-24&until=2025-03-03"


def page_token(server: LiveServer) -> str:
    """The token the preview page puts in its forms, read off the page as a browser would."""
    code, _, page = http_request("GET", f"{server.base}/?{WINDOW}")
    assert code == 200
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match is not None, "the page has no token in its form"
    return match.group(1)
