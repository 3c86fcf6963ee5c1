"""Each reader gets only the themes they chose: views of one frozen issue, sent through a real SMTP server.

The sample issue (the shipped config and content) has five sections; the
fallback theme ("Also worth reading") has no posts this week.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import pytest

from digest.app.issues import frozen_form, reach_of
from digest.config import DeliveryOptions, Scope, SmtpOptions, load_settings, theme_key
from digest.issue.assembly import build_issue
from digest.issue.selection import window_for
from digest.models import DeliveryState, Digest, Layout, StoredIssue
from digest.render import render_issue
from digest.render.views import Views, parse, view_of
from digest.send.delivery import compile_issue
from digest.store import Store

from mailserver import SmtpServer
from support.issues import NOW, send_with_views
from support.settings import overridden

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sample() -> tuple[Scope, Digest, StoredIssue]:
    settings = load_settings(REPO / "config" / "digest.toml", environ={})
    settings = overridden(settings, secret_key="test-secret-key-for-the-suite-0123456789", base_url="https://news.example.org")
    digest = build_issue(settings, window_for(NOW, settings.newsletter.window, settings.newsletter.timezone), NOW)
    return settings, digest, frozen_form(digest, render_issue(digest, settings), NOW)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(database(tmp_path))
    yield opened
    opened.engine.dispose()


def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'digest.sqlite'}"


def themes_of(digest: Digest) -> list[str]:
    return [section.theme for section in digest.sections]


def test_the_view_of_every_theme_is_the_stored_issue_byte_for_byte(sample: tuple[Scope, Digest, StoredIssue]) -> None:
    _, digest, issue = sample
    layout = Layout.load(issue.layout, theme_key)
    assert layout is not None and list(layout.themes) == themes_of(digest) and len(layout.themes) == 5
    html, text = Views(layout).render(view_of(layout, layout.sections_for(None)))
    assert html == issue.html and text == issue.text
    # The stored copy carries no marks; the marked one pairs every mark up.
    assert "<!--v:" not in issue.html and "\ufdd0" not in issue.text and "\ufdd2" not in issue.text
    parse(layout.html, html=True)
    parse(layout.text, html=False)


def test_a_view_counts_again_and_drops_what_is_not_its_own(sample: tuple[Scope, Digest, StoredIssue]) -> None:
    settings, digest, issue = sample
    layout = Layout.load(issue.layout, theme_key)
    assert layout is not None
    section = digest.sections[1]
    html, text = Views(layout).render(view_of(layout, layout.sections_for([settings.newsletter.key_of(section.theme)])))
    others = [s for s in digest.sections if s is not section]
    outlets = {post.outlet for post in section.posts}
    counts = (
        f"{len(section.posts)} post{'s' if len(section.posts) != 1 else ''} from {len(outlets)} outlet{'s' if len(outlets) != 1 else ''}"
    )
    for part in (html, text):
        for post in section.posts:
            assert post.title.replace("'", "&#x27;") in part or post.title in part
        for other in others:
            for post in other.posts:
                assert post.title not in part and (post.url is None or post.url not in part)
        assert counts in part  # the preheader (and in HTML the meta line) count this view's posts
    assert "In this issue" not in html  # one section: no contents
    assert html.count(f">{section.theme.replace('&', '&amp;')}</h2>") == 1
    # The outlets table has only this view's outlets, with their counts and shares.
    table = text.split("OUTLETS THIS WEEK", 1)[1].split("LINKS", 1)[0]
    assert sorted(re.findall(r"^  ([^:]+): \d+ \(\d+%\)$", table, re.M)) == sorted(o or "Other sources" for o in outlets)
    # The links are numbered again from 1, and each number in the text finds its link in the list.
    listed = dict(re.findall(r"^\[(\d+)\] (\S+)$", text, re.M))
    assert sorted(int(n) for n in listed) == list(range(1, len(listed) + 1))
    used = {n for n in re.findall(r"\[(\d+)\]", text.split("\nLINKS\n", 1)[0])}
    assert used == set(listed) and {post.url for post in section.posts} <= set(listed.values())
    assert all(len(line) <= 78 or line.startswith("[") for line in text.splitlines())
    # Two sections: the contents are back, with only those two.
    two = layout.sections_for([settings.newsletter.key_of(digest.sections[0].theme), settings.newsletter.key_of(digest.sections[3].theme)])
    html2, _ = Views(layout).render(view_of(layout, two))
    contents = html2.split("In this issue", 1)[1].split("</ul>", 1)[0]
    assert contents.count("<li") == 2 and 'href="#section-1"' in contents and 'href="#section-4"' in contents


def test_a_send_gives_each_reader_their_themes_and_skips_those_with_none(
    sample: tuple[Scope, Digest, StoredIssue], store: Store, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    base, digest, issue = sample
    settings = overridden(
        base,
        database_url=database(tmp_path),
        delivery=DeliveryOptions(backend="smtp", outbox_dir=tmp_path / "outbox", connections=2, retry_base=0.05, max_wait=5.0),
        smtp=SmtpOptions(host="127.0.0.1", port=smtp_server.port, security="none", timeout=2.0),
    )
    themes = themes_of(digest)
    keys = [settings.newsletter.key_of(theme) for theme in themes]  # a reader's choice is stored by theme key
    everyone = store.subscribers.add("all@example.org")[0]
    one = store.subscribers.add("one@example.org")[0]
    two = store.subscribers.add("two@example.org")[0]
    nothing = store.subscribers.add("fallback@example.org")[0]
    paused = store.subscribers.add("away@example.org")[0]
    store.subscribers.set_preferences(one.id, [keys[2]], None)
    store.subscribers.set_preferences(two.id, [keys[0], keys[4]], None)
    store.subscribers.set_preferences(nothing.id, [settings.newsletter.fallback_theme_key], None)  # no posts in it this week
    store.subscribers.set_preferences(paused.id, None, date(2026, 12, 31))
    store.subscribers.set_preferences(everyone.id, [*keys, settings.newsletter.fallback_theme_key], None)
    store.issues.save(issue)
    # The plan says it all before anything is sent.
    reach = reach_of(issue, store.ledger.choices(issue.id), date(2026, 11, 20), settings.newsletter.key_of)
    assert (reach.some_themes, reach.variants, reach.no_posts, reach.paused) == (2, 2, 1, 1)

    report = send_with_views(store, settings, issue)
    assert report.complete and report.sent == 3 and report.skipped == 2 and report.variants == 2
    rows = {d.subscriber_id: d for d in store.ledger.of(issue.id)}
    assert rows[nothing.id].state == DeliveryState.SKIPPED and rows[nothing.id].last_reply == "no posts in your themes"
    assert rows[paused.id].state == DeliveryState.SKIPPED and rows[paused.id].last_reply == "paused until 2026-12-31"
    received = {m.recipient: m.parse() for m in smtp_server.handler.received}
    assert set(received) == {"all@example.org", "one@example.org", "two@example.org"}

    def sections_in(message: EmailMessage) -> tuple[list[str], list[str]]:
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
        return [t for t in themes if f">{t.replace('&', '&amp;')}</h2>" in html], [t for t in themes if f"\n{t.upper()}\n" in text]

    assert sections_in(received["all@example.org"]) == (themes, themes)
    assert sections_in(received["one@example.org"]) == ([themes[2]], [themes[2]])
    assert sections_in(received["two@example.org"]) == ([themes[0], themes[4]], [themes[0], themes[4]])
    # The whole issue went out unchanged; a view is still a full message of its own.
    full = received["all@example.org"].get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    assert full.split("\n-- \n")[0] == issue.text.split("\n-- \n")[0]
    for address, message in received.items():
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        token = re.search(r"<https://news\.example\.org/u/([^>]+)>", message["List-Unsubscribe"])
        assert token is not None
        text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        preferences = f"https://news.example.org/preferences/{token.group(1)}"
        assert preferences in text and f'href="{preferences}"' in html, address
        assert address in text and "%%" not in text + html
    raw = next(m.data for m in smtp_server.handler.received if m.recipient == "one@example.org")
    assert all(len(line) <= 78 for line in raw.split(b"\r\n") if not line.startswith((b"List-", b"Message-ID", b"To:")))


def test_an_issue_whose_templates_mark_no_themes_goes_whole_to_everyone(sample: tuple[Scope, Digest, StoredIssue], tmp_path: Path) -> None:
    settings, digest, _ = sample
    own = tmp_path / "templates"
    own.mkdir()
    bundled = REPO / "digest" / "templates" / "email"
    unmarked = re.sub(r'\{\{ v\((?:"[^"]*"(?: ~ [a-z.]+)?|[a-z.()]+)?\) \}\}', "", (bundled / "digest.mjml.j2").read_text())
    assert "{{ v(" not in unmarked
    (own / "digest.mjml.j2").write_text(unmarked)
    rendered = render_issue(digest, overridden(settings, templates_dir=own))
    assert rendered.layout is None  # so Variants sends every reader the whole issue


def test_an_issue_without_sections_goes_whole_to_every_reader(sample: tuple[Scope, Digest, StoredIssue], store: Store) -> None:
    """An empty issue (sent with --force) has no theme to choose: nobody is skipped for their themes."""
    from digest.send.variants import Variants

    settings, digest, _ = sample
    empty = dataclasses.replace(digest, sections=(), outlet_summary=())
    issue = frozen_form(empty, render_issue(empty, settings), NOW)
    layout = Layout.load(issue.layout, theme_key)
    assert layout is not None and layout.themes == ()
    variants = Variants(compile_issue(issue, settings, date=NOW), layout)
    around = frozenset({"transport"})
    assert variants.message_for(around) is variants.full and variants.message_for(None) is variants.full
    reach = reach_of(issue, [(around, None, None, 3), (None, None, None, 2)], date(2026, 11, 20), settings.newsletter.key_of)
    assert reach.no_posts == 0 and reach.some_themes == 0
