"""HTTP as a browser's form sends it, and as a scanner that does not follow redirects."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from typing import Any

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def no_follow(method: str, url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
    """A request whose redirect is returned, not followed; header names in lower case."""
    import urllib.error
    import urllib.request

    class Stay(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(Stay)
    try:
        with opener.open(urllib.request.Request(url, method=method, headers=headers), timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read().decode()


def post(url: str, fields: dict[str, str]) -> tuple[int, dict[str, str]]:
    """A form POST that does not follow the redirect, so the test sees the desk's own answer."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    request = urllib.request.Request(url, data=urllib.parse.urlencode(fields).encode(), headers=FORM, method="POST")
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}
