"""The HTTP API as a client uses it: the digest command in-process (click's runner), a token of the scopes a test
names, and JSON requests over real HTTP to a server on 127.0.0.1."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from digest.cli import main

SECRET = "test-secret-key-for-the-suite-0123456789"


def digest_in_process(config: Path, *args: str) -> Result:
    """``digest --config CONFIG ARGS`` in this process, its environment as the subprocess tests give it."""
    return CliRunner().invoke(main, ["--config", str(config), *args], env={"DIGEST_SECRET_KEY": SECRET}, catch_exceptions=False)


def new_token(config: Path, name: str, *scopes: str) -> str:
    """A token made by ``digest api-tokens create``: the last line it prints."""
    result = digest_in_process(config, "api-tokens", "create", name, *(arg for scope in scopes for arg in ("--scope", scope)))
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


def call(
    base: str, method: str, path: str, token: str | None = None, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    """One API request; (status, headers in lower case, the body as JSON, or as text when it is not JSON)."""
    sent = dict(headers or {})
    data = None
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(base + path, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, got, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        status, got, raw = exc.code, dict(exc.headers), exc.read()
    lowered = {k.lower(): v for k, v in got.items()}
    text = raw.decode("utf-8")
    is_json = "json" in lowered.get("content-type", "")
    return status, lowered, json.loads(text) if is_json and text else text


class Served:
    """``digest serve``'s app for a config, on 127.0.0.1 (uvicorn in a thread), with its store and settings."""

    def __init__(self, config: Path, **app_options: Any) -> None:
        from digest.app.session import open_store, settings_of
        from digest.web.public import create_public_app

        from conftest import LiveServer

        self.config = config
        self.settings = settings_of(config, environ={"DIGEST_SECRET_KEY": SECRET})
        self.store = open_store(self.settings)
        self.server = LiveServer(create_public_app(self.settings, self.store, **app_options), proxy_headers=False)
        self.base = self.server.base

    def token(self, name: str, *scopes: str) -> str:
        return new_token(self.config, name, *scopes)

    def stop(self) -> None:
        self.server.stop()
        self.store.close()


def readme_curls(readme: Path, section: str) -> list[str]:
    """The ``curl`` lines of a README section (its heading's text), in order."""
    text = readme.read_text(encoding="utf-8")
    body = text.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    return [line.strip() for line in body.splitlines() if line.strip().startswith("curl ")]


def run_curl(line: str, variables: dict[str, str]) -> tuple[int, dict[str, str], Any]:
    """A README's curl line, its ``$NAME``s filled in, sent with urllib: the options the README uses (-X, -H, -d)."""
    import shlex

    for name, value in variables.items():
        line = line.replace(f"${name}", value)
    words = shlex.split(line)[1:]
    method, headers, data, url = "GET", {}, None, ""
    while words:
        word = words.pop(0)
        if word == "-X":
            method = words.pop(0)
        elif word == "-H":
            name, _, value = words.pop(0).partition(":")
            headers[name.strip()] = value.strip()
        elif word == "-d":
            data = words.pop(0).encode()
        elif not word.startswith("-"):
            url = word
    parsed = url.split("/api/v1", 1)
    return call(parsed[0], method, "/api/v1" + parsed[1], None, data, headers)
