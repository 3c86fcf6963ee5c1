"""Sign-up with double opt-in, over real HTTP, with the mails read from a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import re
import time
import urllib.parse

from aiosmtpd.controller import Controller

from digest.config import Scope
from digest.models import SubscriberStatus
from digest.models.tokens import ExpiringSigner
from digest.store import Store

from conftest import LiveServer, http_request, link_token
from mailserver import SmtpServer
from support.signup import mails_to, open_form, open_preferences, save_preferences, sign_up
from support.web import FORM


def test_sign_up_confirm_and_welcome(site: tuple[LiveServer, Store, Scope], smtp_server: SmtpServer) -> None:
    server, store, settings = site
    themes = [theme.key for theme in settings.newsletter.themes]  # the form posts each theme's key
    csrf, cookie = open_form(server)
    code, answer = sign_up(server, "ada@example.org", themes[:2], csrf=csrf, cookie=cookie)
    assert code == 200 and "Check your inbox" in answer
    pending = store.subscribers.get("ada@example.org")
    assert pending is not None and pending.status == SubscriberStatus.PENDING
    assert store.subscribers.themes_of(pending.id) == tuple(themes[:2])
    # A pending subscriber is never sent an issue.
    from factories import make_stored_issue

    store.issues.save(make_stored_issue("2026-11-20-abcdef"))
    assert store.ledger.enqueue("2026-11-20-abcdef") == 0
    [confirmation] = mails_to(smtp_server, "ada@example.org")
    assert (
        confirmation["Subject"] == f"Confirm your subscription to {settings.newsletter.name}"
        and confirmation["Auto-Submitted"] == "auto-generated"
    )
    link = re.search(r"https://news\.example\.org(/confirm/\S+)", confirmation.get_content())
    assert link is not None
    # Link scanners fetch GETs: a GET shows a button and changes nothing.
    code, _, page = http_request("GET", f"{server.base}{link.group(1)}")
    assert code == 200 and 'method="post"' in page and "a***@example.org" in page
    assert store.subscribers.get("ada@example.org").status == SubscriberStatus.PENDING  # type: ignore[union-attr]
    code, _, page = http_request("POST", f"{server.base}{link.group(1)}", b"", FORM)
    assert code == 200 and "You are subscribed" in page
    assert store.subscribers.get("ada@example.org").status == SubscriberStatus.ACTIVE  # type: ignore[union-attr]
    [_, welcome] = mails_to(smtp_server, "ada@example.org")
    assert welcome["Subject"] == f"Welcome to {settings.newsletter.name}" and "https://news.example.org/u/" in welcome.get_content()
    assert store.ledger.enqueue("2026-11-20-abcdef") == 1  # now she is on the list
    # Signing up again: the same answer as for anyone, and no mail within ten minutes of the last.
    code, again = sign_up(server, "ada@example.org", themes, csrf=csrf, cookie=cookie)
    assert code == 200 and again == answer
    assert len(mails_to(smtp_server, "ada@example.org")) == 2


def test_the_same_answer_for_everyone_and_no_mail_bombing(site: tuple[LiveServer, Store, Scope], smtp_server: SmtpServer) -> None:
    server, store, settings = site
    themes = [theme.name for theme in settings.newsletter.themes]
    store.subscribers.add("bo@example.org")  # active already
    _, for_active = sign_up(server, "bo@example.org", themes)  # no cookie: a form embedded on another site
    _, for_new = sign_up(server, "cy@example.org", themes)
    assert for_active == for_new  # the page never tells who is on the list
    [already] = mails_to(smtp_server, "bo@example.org")
    assert already["Subject"] == f"You are already subscribed to {settings.newsletter.name}"
    assert store.subscribers.get("bo@example.org").status == SubscriberStatus.ACTIVE  # type: ignore[union-attr]
    sign_up(server, "cy@example.org", themes)  # pending, again within 10 minutes
    assert len(mails_to(smtp_server, "cy@example.org")) == 1
    # The honeypot: a bot that fills every field gets the same page, and nothing happens.
    code, body = sign_up(server, "bot@example.org", themes, website="http://spam.example")
    assert code == 200 and body == for_new and store.subscribers.get("bot@example.org") is None
    # A form from our own page whose token does not match its cookie is refused.
    csrf, cookie = open_form(server)
    code, _ = sign_up(server, "dee@example.org", themes, csrf="forged", cookie=cookie)
    assert code == 403 and store.subscribers.get("dee@example.org") is None
    # A bad address is said to be bad (that reveals nothing about the list); no theme ticked is refused.
    code, body = sign_up(server, "not an address", themes, csrf=csrf, cookie=cookie)
    assert code == 400 and "That address will not work" in body


def test_forged_and_expired_confirmation_links(site: tuple[LiveServer, Store, Scope]) -> None:
    server, store, settings = site
    found = store.subscribers.sign_up("eve@example.org", None, None)
    assert settings.install.secret_key is not None
    signer = ExpiringSigner(settings.install.secret_key, settings.newsletter.list_id, "confirm")
    expired = signer.token(found.subscriber.id, int(time.time()) - 60)
    valid = signer.token(found.subscriber.id, int(time.time()) + 3600)
    forged = valid[:-3] + ("AAA" if not valid.endswith("AAA") else "BBB")
    moved = f"{found.subscriber.id}.{int(time.time()) + 999999}.{valid.rsplit('.', 1)[1]}"  # expiry moved: the MAC no longer fits
    for token in (forged, moved, "1.2.3", f"{found.subscriber.id}"):
        assert http_request("POST", f"{server.base}/confirm/{token}", b"", FORM)[0] == 404
    code, _, page = http_request("POST", f"{server.base}/confirm/{expired}", b"", FORM)
    assert code == 410 and "expired" in page
    assert store.subscribers.get("eve@example.org").status == SubscriberStatus.PENDING  # type: ignore[union-attr]

    unsubscribe_token = link_token(settings, store, found.subscriber.id)
    assert http_request("POST", f"{server.base}/confirm/{unsubscribe_token}", b"", FORM)[0] == 404  # another purpose


def test_sign_ups_are_rate_limited(site: tuple[LiveServer, Store, Scope]) -> None:
    server, _, settings = site
    themes = [theme.name for theme in settings.newsletter.themes]
    codes = []
    for n in range(12):
        code, _ = sign_up(server, f"r{n}@example.org", themes)
        codes.append(code)
    assert codes[:10] == [200] * 10 and codes[10:] == [429, 429]
    fields = urllib.parse.urlencode([("email", "big@example.org"), ("name", "x" * 20000)]).encode()
    assert http_request("POST", f"{server.base}/subscribe", fields, FORM)[0] in (413, 429)


def test_unconfirmed_sign_ups_expire(site: tuple[LiveServer, Store, Scope]) -> None:
    from datetime import timedelta

    _, store, _ = site
    store.subscribers.sign_up("late@example.org", None, None)
    assert store.subscribers.expire_pending(timedelta(hours=48)) == 0
    assert store.subscribers.expire_pending(timedelta(seconds=-1)) == 1
    assert store.subscribers.get("late@example.org") is None


def test_in_a_real_browser_the_form_signs_up_with_the_themes_ticked(site: tuple[LiveServer, Store, Scope], smtp_server: SmtpServer) -> None:
    from support.browser import launch, real_browser

    sync_playwright, executable = real_browser()  # type: ignore[misc]
    server, store, settings = site
    themes = [theme.key for theme in settings.newsletter.themes]  # the boxes' values
    with sync_playwright() as playwright:  # type: ignore[operator]
        browser = launch(playwright, executable)
        try:
            page = browser.new_page(viewport={"width": 375, "height": 800})
            page.goto(f"{server.base}/subscribe")
            assert page.locator('input[name="theme"]:checked').count() == len(themes) + 1  # all ticked by default
            page.fill('input[name="email"]', "fay@example.org")
            page.fill('input[name="name"]', "Fay")
            for theme in themes[1:]:
                page.uncheck(f'input[name="theme"][value="{theme}"]')
            page.uncheck(f'input[name="theme"][value="{settings.newsletter.fallback_theme_key}"]')
            page.click('button[type="submit"]')
            page.wait_for_selector("text=Check your inbox")
        finally:
            browser.close()
    fay = store.subscribers.get("fay@example.org")
    assert fay is not None and fay.name == "Fay" and store.subscribers.themes_of(fay.id) == (themes[0],)
    assert len(mails_to(smtp_server, "fay@example.org")) == 1


def test_from_sign_up_to_an_issue_of_only_the_chosen_themes(site: tuple[LiveServer, Store, Scope], smtp_server: SmtpServer) -> None:
    """The whole journey: sign up, confirm, the welcome mail's preferences link, a change of themes, the send."""
    from support.issues import sample_issue, send_with_views

    server, store, settings = site
    themes = [theme.name for theme in settings.newsletter.themes]
    keys = [theme.key for theme in settings.newsletter.themes]  # what the pages post, and what is stored
    csrf, cookie = open_form(server)
    sign_up(server, "gil@example.org", [*keys, settings.newsletter.fallback_theme_key], csrf=csrf, cookie=cookie)
    [confirmation] = mails_to(smtp_server, "gil@example.org")
    link = re.search(r"https://news\.example\.org(/confirm/\S+)", confirmation.get_content())
    assert link is not None
    http_request("POST", f"{server.base}{link.group(1)}", b"", FORM)
    [_, welcome] = mails_to(smtp_server, "gil@example.org")
    found = re.search(r"https://news\.example\.org(/preferences/\S+)", welcome.get_content())
    assert found is not None
    path = found.group(1)
    page, csrf, cookie = open_preferences(server, path)
    assert page.count("checked") == len(themes) + 1 and "g***@example.org" in page  # every theme, as signed up
    code, page = save_preferences(server, path, [keys[1], keys[3]], csrf=csrf, cookie=cookie)
    assert code == 200 and "Saved" in page and f"You get {themes[1]}, {themes[3]}".replace("&", "&amp;") in page
    gil = store.subscribers.get("gil@example.org")
    assert gil is not None and store.subscribers.preferences_of(gil.id) == ((keys[1], keys[3]), None)

    issue = sample_issue(settings)
    store.issues.save(issue)
    report = send_with_views(store, settings, issue)
    assert report.sent == 1 and report.variants == 1
    [_, _, digest] = mails_to(smtp_server, "gil@example.org")
    text = digest.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    assert [t for t in themes if f"\n{t.upper()}\n" in text] == [themes[1], themes[3]]
    assert f"https://news.example.org{path}" in text


def test_the_preferences_page_refuses_what_it_should(site: tuple[LiveServer, Store, Scope]) -> None:
    server, store, settings = site
    themes = [theme.name for theme in settings.newsletter.themes]

    reader = store.subscribers.add("hal@example.org")[0]
    token = link_token(settings, store, reader.id)
    path = f"/preferences/{token}"
    # A forged or altered token: 404, and the page of no one.
    for bad in (f"/preferences/{reader.id}.AAAAAAAAAAAAAAAAAAAAAA", path[:-2] + ("AA" if not path.endswith("AA") else "BB")):
        code, _, page = http_request("GET", f"{server.base}{bad}")
        assert code == 404 and "hal" not in page
    code, _, page = http_request("GET", f"{server.base}/preferences/")
    assert code == 200 and "personal to you" in page
    page, csrf, cookie = open_preferences(server, path)
    # Without the page's cookie (another site's form) or with a token of another page: nothing changes.
    for forged_cookie, forged_csrf in ((None, csrf), (cookie, "forged")):
        code, body = save_preferences(server, path, themes[:1], csrf=forged_csrf, cookie=forged_cookie)
        assert code == 403 and "nothing was changed" in body
    assert store.subscribers.preferences_of(reader.id) == (None, None)
    code, body = save_preferences(server, path, [], csrf=csrf, cookie=cookie)
    assert code == 400 and "Tick at least one theme" in body
    for pause in ("2020-01-01", "someday", "2999-01-01"):
        code, body = save_preferences(server, path, themes, pause, csrf=csrf, cookie=cookie)
        assert code == 400, pause
    assert store.subscribers.preferences_of(reader.id) == (None, None)
    from datetime import datetime, timedelta

    later = datetime.now(settings.newsletter.timezone).date() + timedelta(days=30)
    everything = [*themes, settings.newsletter.fallback_theme, "Not a theme"]
    code, body = save_preferences(server, path, everything, later.isoformat(), csrf=csrf, cookie=cookie)
    assert code == 200 and f"from {later.isoformat()} on" in body
    assert store.subscribers.preferences_of(reader.id) == (None, later)  # every theme: stored as "all", new ones included
    assert f'value="{later.isoformat()}"' in open_preferences(server, path)[0]
    # Someone who has left is told so, and nothing is saved.
    store.subscribers.set_status(reader.id, SubscriberStatus.UNSUBSCRIBED, "test")
    code, _, page = http_request("GET", f"{server.base}{path}")
    assert code == 200 and "Not subscribed" in page and 'name="theme"' not in page
    code, body = save_preferences(server, path, themes[:1], csrf=csrf, cookie=cookie)
    assert "Not subscribed" in body and store.subscribers.preferences_of(reader.id) == (None, later)


def test_in_a_real_browser_the_preferences_page_saves_themes_and_a_pause(site: tuple[LiveServer, Store, Scope]) -> None:
    from datetime import datetime, timedelta

    from support.browser import launch, real_browser

    sync_playwright, executable = real_browser()  # type: ignore[misc]
    server, store, settings = site
    themes = [theme.key for theme in settings.newsletter.themes]  # the boxes' values
    reader = store.subscribers.add("ivy@example.org")[0]
    token = link_token(settings, store, reader.id)
    back = datetime.now(settings.newsletter.timezone).date() + timedelta(days=14)
    with sync_playwright() as playwright:  # type: ignore[operator]
        browser = launch(playwright, executable)
        try:
            page = browser.new_page(viewport={"width": 375, "height": 800})
            page.goto(f"{server.base}/preferences/{token}")
            assert page.locator('input[name="theme"]:checked').count() == len(themes) + 1
            for theme in [*themes[2:], settings.newsletter.fallback_theme_key]:
                page.uncheck(f'input[name="theme"][value="{theme}"]')
            page.fill('input[name="pause_until"]', back.isoformat())
            page.click('form.signup button[type="submit"]')
            page.wait_for_selector("text=Saved")
            assert page.locator('input[name="theme"]:checked').count() == 2  # the page shows what was saved
        finally:
            browser.close()
    assert store.subscribers.preferences_of(reader.id) == (tuple(themes[:2]), back)


def test_a_second_sign_up_while_one_awaits_confirmation_changes_nothing_stored(
    site: tuple[LiveServer, Store, Scope], smtp_server: SmtpServer
) -> None:
    """Issue 31 (low). Reproduction: a stranger's sign-up for an address already pending rewrote its theme choice,
    so the owner, confirming with the link mailed for their own sign-up, got the stranger's themes."""
    server, store, settings = site
    themes = [theme.key for theme in settings.newsletter.themes]  # the boxes' values, stored as they are (issue 31, item 4)
    csrf, cookie = open_form(server)
    assert sign_up(server, "eve@example.org", themes[:1], csrf=csrf, cookie=cookie)[0] == 200  # the owner
    pending = store.subscribers.get("eve@example.org")
    assert pending is not None and store.subscribers.themes_of(pending.id) == tuple(themes[:1])
    [mailed] = mails_to(smtp_server, "eve@example.org")
    code, answer = sign_up(server, "EVE@example.org", themes[1:])  # a stranger, from another site's form
    assert code == 200 and "Check your inbox" in answer
    stored = store.subscribers.get("eve@example.org")
    assert stored is not None and stored.name == "Ada" and store.subscribers.themes_of(stored.id) == tuple(themes[:1])
    link = re.search(r"https://news\.example\.org(/confirm/\S+)", mailed.get_content())
    assert link is not None
    code, _, page = http_request("POST", f"{server.base}{link.group(1)}", b"", FORM)
    assert code == 200 and "You are subscribed" in page
    assert store.subscribers.themes_of(pending.id) == tuple(themes[:1])  # the owner's own choice, confirmed
    # Someone who left and signs up again: that sign-up's choice goes with the confirmation it mails; another
    # sign-up while it awaits changes nothing.
    zoe, _ = store.subscribers.add("zoe@example.org")
    store.subscribers.set_status(zoe.id, SubscriberStatus.UNSUBSCRIBED, "one-click unsubscribe")
    assert sign_up(server, "zoe@example.org", themes[1:], csrf=csrf, cookie=cookie)[0] == 200
    assert store.subscribers.themes_of(zoe.id) == tuple(themes[1:])
    assert sign_up(server, "zoe@example.org", themes[:1])[0] == 200
    assert store.subscribers.themes_of(zoe.id) == tuple(themes[1:])
    assert store.subscribers.get("zoe@example.org").status == SubscriberStatus.UNSUBSCRIBED  # type: ignore[union-attr]


def test_a_sign_up_our_relay_could_not_mail_can_be_made_again_at_once(
    site: tuple[LiveServer, Store, Scope], smtp_server: SmtpServer
) -> None:
    """Issue 31: our relay down at a sign-up is our failure; the person who tries again once it is back gets their
    confirmation at once, not after the ten minutes that keep a form from mail-bombing an address."""
    server, _, settings = site
    themes = [theme.name for theme in settings.newsletter.themes]
    csrf, cookie = open_form(server)
    smtp_server.controller.stop()  # the relay is down
    try:
        code, answer = sign_up(server, "bo@example.org", themes, csrf=csrf, cookie=cookie)
        assert code == 200 and "Check your inbox" in answer  # the same answer for everyone, whatever happened
    finally:  # back on the same port (a stopped controller cannot start again)
        smtp_server.controller = Controller(smtp_server.handler, hostname="127.0.0.1", port=smtp_server.port, ready_timeout=10)
        smtp_server.controller.start()
    assert mails_to(smtp_server, "bo@example.org") == []
    code, _ = sign_up(server, "bo@example.org", themes, csrf=csrf, cookie=cookie)
    [confirmation] = mails_to(smtp_server, "bo@example.org")
    assert code == 200 and confirmation["Subject"] == f"Confirm your subscription to {settings.newsletter.name}"
