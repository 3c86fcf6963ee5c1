"""The public app's paths, named once (digest.models.routes): the app mounts exactly these, and every link built from them
is answered by one of its routes, over real HTTP on a real SQLite file."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.routing import Route

from digest.app.archive import archive_url
from digest.config import Scope
from digest.models import routes
from digest.store import Store
from digest.web.public import create_public_app

from conftest import LiveServer, http_request, link_token

SAMPLE = {"token": "not-a-real-token", "issue_id": "2026-11-20-abcdef", "theme": "no-such-theme", "edition": "no-such-edition"}


@pytest.fixture
def public(make_settings: Callable[..., Scope], tmp_path: Path) -> Iterator[tuple[LiveServer, Store, Scope]]:
    settings = make_settings(
        database_url=f"sqlite:///{tmp_path / 'site.db'}",
        secret_key="a-secret-key-for-the-routes-0123456789",
        metrics_token="a-metrics-token-for-the-routes",
        base_url="https://news.example.org",
    )
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    server = LiveServer(create_public_app(settings, store))
    yield server, store, settings
    server.stop()
    store.close()


def test_every_named_path_is_in_the_list() -> None:
    named = [value for value in vars(routes).values() if isinstance(value, routes.PublicPath)]
    assert set(named) == set(routes.EVERY_PATH) and len(routes.EVERY_PATH) == len(set(routes.EVERY_PATH))
    for path in routes.EVERY_PATH:
        filled = path.link(**SAMPLE)
        assert filled.startswith("/") and "{" not in filled, path
        if path.personal:  # the emails add a reader's token to the prefix, once per recipient: the same link
            assert path.prefix + SAMPLE["token"] == filled, path
    assert routes.UNSUBSCRIBE.link(token=routes.TEST_COPY) == routes.UNSUBSCRIBE_TEST.template


def test_the_app_mounts_the_named_paths_and_only_them(public: tuple[LiveServer, Store, Scope]) -> None:
    server, _, _ = public
    app = server.server.config.app
    mounted = {route.path for route in app.routes if isinstance(route, Route)}
    named = {path.template for path in routes.EVERY_PATH}
    assert named <= mounted
    # Beside them only a named path's twin with its last slash added or taken away (redirected, or the same page).
    for extra in mounted - named:
        assert extra + "/" in named or extra.removesuffix("/") in named, extra


def test_every_link_built_is_served_by_a_route(public: tuple[LiveServer, Store, Scope]) -> None:
    server, store, settings = public
    reader, _ = store.subscribers.add("ada@example.org", "Ada")
    token = link_token(settings, store, reader.id)
    built = [path.link(server.base, **SAMPLE) for path in routes.EVERY_PATH]
    built += [
        routes.UNSUBSCRIBE.link(server.base, token=token),
        routes.PREFERENCES.link(server.base, token=token),
        archive_url(settings).replace(settings.install.base_url, server.base),  # the archive's address, without its slash
        f"{routes.archive_at(None, server.base)}/{SAMPLE['issue_id']}/",  # an issue's "view in browser" link
        routes.month_archive(routes.archive_at(None, server.base), 2026, 11),  # a round-up's "and N more in the archive"
    ]
    for link in built:
        code, body = fetch(link)
        # Starlette's own answer for a path no route holds is a bare "Not Found"; each route answers with its page.
        assert body != b"Not Found", (link, code)
    code, _, body = http_request("GET", routes.UNSUBSCRIBE.link(server.base, token=token))
    assert code == 200 and "a***@example.org" in body  # a reader's own link reaches them
    code, _, body = http_request("GET", routes.UNSUBSCRIBE_TEST.link(server.base))
    assert code == 200 and "test send" in body  # a test copy's link unsubscribes nobody
    assert fetch(f"{server.base}/no/such/page") == (404, b"Not Found")  # the check above can fail


def fetch(url: str) -> tuple[int, bytes]:
    """A real GET, its status and body as bytes (the favicon is no text)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_an_added_newsletter_has_every_page_under_its_path_and_its_tokens_are_kept_out_of_the_log(
    public: tuple[LiveServer, Store, Scope],
) -> None:
    from dataclasses import replace

    from digest.web.guard import redact

    _, store, settings = public
    culture = replace(settings, newsletter=replace(settings.newsletter, name="Culture Monthly", slug="culture", path="/culture"))
    app = create_public_app(settings, store, newsletters=(settings, culture))
    mounted = {route.path for route in app.routes if isinstance(route, Route)}
    pages = {path.template for path in routes.EVERY_PATH if path not in (routes.METRICS, routes.HEALTH, routes.FAVICON)}
    assert pages <= mounted  # the first newsletter's, where mail already sent points
    assert {"/culture" + template for template in pages} <= mounted  # the added one's, under its base path
    assert not {"/culture" + path.template for path in (routes.METRICS, routes.HEALTH, routes.FAVICON)} & mounted  # the install's, once
    assert culture.base_url == "https://news.example.org/culture" and settings.base_url == "https://news.example.org"
    for path in routes.EVERY_PATH:
        if path.personal:
            assert redact(path.link("/culture", token="a-token.mac")) == "/culture" + path.prefix + "<redacted>"
    assert redact("/culture" + routes.UNSUBSCRIBE_TEST.template) == "/culture" + routes.UNSUBSCRIBE_TEST.template
