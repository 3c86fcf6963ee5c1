"""Readers choose their edition (issue 35, item 3) on the sign-up form and the preferences page, over real HTTP on a
real database: offered only when the newsletter has several editions, checked by the app's rule, kept with the
confirmation's rule, and a change on the page set as ``digest subscribers set-edition`` sets it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from digest.app.subscribers import Roster
from digest.config import Scope, load_settings
from digest.models import Subscriber, SubscriberStatus
from digest.store import Store
from digest.web.public import create_public_app

from conftest import LiveServer, http_request, link_token, write
from mailserver import SmtpServer
from support.settings import overridden
from support.signup import open_form, open_preferences, save_preferences, sign_up

EDITIONS = """
[newsletter]
name = "Harbour Notes"
[editions.weekly]
cron = "0 9 * * fri"
window = "7d"
[editions.monthly]
day = "first friday"
time = "09:00"
window = "previous month"
[editions.daily]
cron = "0 7 * * *"
window = "1d"
"""

Site = tuple[LiveServer, Store, Scope]


@pytest.fixture
def editions_site(delivery_settings: Callable[..., Scope], smtp_server: SmtpServer, tmp_path: Path) -> Iterator[Site]:
    """The public app of a newsletter with a weekly (the first), a monthly and a daily edition."""
    editions = load_settings(write(tmp_path / "editions" / "digest.toml", EDITIONS), environ={}).newsletter.editions
    settings = overridden(delivery_settings(smtp_server.port), editions=editions)
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    server = LiveServer(create_public_app(settings, store))
    yield server, store, settings
    server.stop()


def radios(page: str) -> dict[str, bool]:
    """The edition radio buttons of a page: name → checked."""
    found = re.findall(r'<input type="radio" name="edition" value="([a-z-]+)"( checked)?>', page)
    return {name: bool(checked) for name, checked in found}


def test_with_one_edition_neither_page_offers_one_and_a_posted_one_is_ignored(site: Site) -> None:
    server, store, settings = site
    themes = [theme.name for theme in settings.newsletter.themes]
    code, _, page = http_request("GET", f"{server.base}/subscribe")
    assert code == 200 and 'name="edition"' not in page and "One email a week." in page
    csrf, cookie = open_form(server)
    code, body = sign_up(server, "one@example.org", themes, csrf=csrf, cookie=cookie, edition="monthly")
    assert code == 200 and "Check your inbox" in body
    reader = store.subscribers.get("one@example.org")
    assert reader is not None and store.subscribers.edition_of(reader.id) is None
    store.subscribers.set_status(reader.id, SubscriberStatus.ACTIVE, "test")
    path = f"/preferences/{link_token(settings, store, reader.id)}"
    page, csrf, cookie = open_preferences(server, path)
    assert 'name="edition"' not in page and "How often" not in page
    code, body = save_preferences(server, path, themes, csrf=csrf, cookie=cookie, edition="monthly")
    assert code == 200 and "edition" not in body.split("Saved.", 1)[1].split("</p>", 1)[0]
    assert store.subscribers.edition_of(reader.id) is None


def test_the_sign_up_form_offers_the_editions_and_keeps_the_one_chosen(editions_site: Site, smtp_server: SmtpServer) -> None:
    server, store, settings = editions_site
    themes = [theme.name for theme in settings.newsletter.themes]
    code, _, page = http_request("GET", f"{server.base}/subscribe")
    assert code == 200 and radios(page) == {"weekly": True, "monthly": False, "daily": False}
    assert "One email a week." not in page
    csrf, cookie = open_form(server)
    # An edition the newsletter does not have: the form again, the reader's other answers kept, nothing stored.
    code, body = sign_up(server, "ada@example.org", themes[:1], csrf=csrf, cookie=cookie, edition="yearly")
    assert code == 400 and "Choose one of the editions listed." in body and 'value="ada@example.org"' in body
    assert store.subscribers.get("ada@example.org") is None
    code, body = sign_up(server, "ada@example.org", themes[:1], csrf=csrf, cookie=cookie, edition="Monthly")
    assert code == 200 and "Check your inbox" in body
    ada = store.subscribers.get("ada@example.org")
    assert ada is not None and ada.status is SubscriberStatus.PENDING and store.subscribers.edition_of(ada.id) == "monthly"
    # The confirmation mail says which edition was chosen (a journey: neither it nor the welcome named it).
    (mailed,) = [item.parse() for item in smtp_server.handler.received if item.recipient == "ada@example.org"]
    body = mailed.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert f"that you want {settings.newsletter.name} (its monthly edition) at ada@example.org" in body, body
    # Anyone can type the address: a second sign-up while the first awaits confirmation changes nothing stored.
    code, body = sign_up(server, "ada@example.org", themes, csrf=csrf, cookie=cookie, edition="daily")
    assert code == 200 and store.subscribers.edition_of(ada.id) == "monthly"
    # No edition posted (a form embedded elsewhere, made before editions): the newsletter's first.
    code, body = sign_up(server, "bo@example.org", themes, csrf=csrf, cookie=cookie)
    bo = store.subscribers.get("bo@example.org")
    assert code == 200 and bo is not None and store.subscribers.edition_of(bo.id) is None


def test_the_preferences_page_switches_the_edition_as_set_edition_does(editions_site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    server, store, settings = editions_site
    themes = [theme.name for theme in settings.newsletter.themes]
    calls: list[tuple[int, str]] = []
    set_edition = Roster.set_edition

    def spied(roster: Roster, subscriber: Subscriber, name: str) -> bool:
        calls.append((subscriber.id, name))
        return set_edition(roster, subscriber, name)

    monkeypatch.setattr(Roster, "set_edition", spied)  # the server runs in this process: the page's path is seen
    reader = store.subscribers.add("cy@example.org")[0]
    path = f"/preferences/{link_token(settings, store, reader.id)}"
    page, csrf, cookie = open_preferences(server, path)
    assert radios(page) == {"weekly": True, "monthly": False, "daily": False}
    # Another site's form (no cookie) or a stale token: 403, nothing changes.
    for forged_cookie, forged_csrf in ((None, csrf), (cookie, "forged")):
        code, body = save_preferences(server, path, themes, csrf=forged_csrf, cookie=forged_cookie, edition="monthly")
        assert code == 403 and "nothing was changed" in body
    code, body = save_preferences(server, path, themes, csrf=csrf, cookie=cookie, edition="yearly")
    assert code == 400 and "Choose one of the editions listed." in body
    code, body = save_preferences(server, path, [], csrf=csrf, cookie=cookie, edition="monthly")
    assert code == 400 and "Tick at least one theme" in body and radios(body)["monthly"]  # the choice shown again
    assert store.subscribers.edition_of(reader.id) is None and calls == []
    code, body = save_preferences(server, path, themes[:1], csrf=csrf, cookie=cookie, edition="monthly")
    assert code == 200 and f"You get {themes[0]} in the monthly edition." in body
    assert store.subscribers.edition_of(reader.id) == "monthly" and calls == [(reader.id, "monthly")]
    assert store.subscribers.preferences_of(reader.id) == ((settings.newsletter.key_of(themes[0]),), None)
    assert radios(open_preferences(server, path)[0]) == {"weekly": False, "monthly": True, "daily": False}
    # Saving the edition they have already writes nothing more.
    code, body = save_preferences(server, path, themes[:1], csrf=csrf, cookie=cookie, edition="monthly")
    assert code == 200 and calls == [(reader.id, "monthly")]
