"""Sign-up and preferences over real HTTP, as a reader's browser sends them, and the mails they bring."""

from __future__ import annotations

import re
import urllib.parse
from email.message import EmailMessage

from conftest import LiveServer, http_request
from mailserver import SmtpServer
from support.web import FORM


def open_form(server: LiveServer) -> tuple[str, str]:
    """The form's token and the cookie that goes with it, as a browser gets them."""
    code, headers, page = http_request("GET", f"{server.base}/subscribe")
    assert code == 200 and 'name="website"' in page  # the honeypot is there
    cookie = {k.lower(): v for k, v in headers.items()}["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match is not None
    return match.group(1), cookie.split(";", 1)[0]


def sign_up(
    server: LiveServer, email: str, themes: list[str], *, csrf: str | None = None, cookie: str | None = None, **extra: str
) -> tuple[int, str]:
    fields = [("email", email), ("name", "Ada"), *(("theme", t) for t in themes), *extra.items()]
    if csrf is not None:
        fields.append(("csrf", csrf))
    headers = FORM | ({"Cookie": cookie} if cookie else {})
    code, _, body = http_request("POST", f"{server.base}/subscribe", urllib.parse.urlencode(fields).encode(), headers)
    return code, body


def mails_to(smtp_server: SmtpServer, address: str) -> list[EmailMessage]:
    return [m.parse() for m in smtp_server.handler.received if m.recipient == address]


def open_preferences(server: LiveServer, path: str) -> tuple[str, str, str]:
    """The preferences page, its form token and the cookie that goes with it."""
    code, headers, page = http_request("GET", f"{server.base}{path}")
    assert code == 200, page
    cookie = {k.lower(): v for k, v in headers.items()}["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and f"Path={path}" in cookie
    assert {k.lower(): v for k, v in headers.items()}["cache-control"] == "no-store"
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match is not None
    return page, match.group(1), cookie.split(";", 1)[0]


def save_preferences(
    server: LiveServer, path: str, themes: list[str], pause: str = "", *, csrf: str, cookie: str | None, edition: str | None = None
) -> tuple[int, str]:
    fields = [*(("theme", t) for t in themes), ("pause_until", pause), ("csrf", csrf), *((("edition", edition),) if edition else ())]
    headers = FORM | ({"Cookie": cookie} if cookie else {})
    code, _, body = http_request("POST", f"{server.base}{path}", urllib.parse.urlencode(fields).encode(), headers)
    return code, body
