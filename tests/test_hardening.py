"""The findings of the attack on the running system (issue 11), each reproduced, each now refused.

Every test's docstring keeps the reproduction as the audit found it; the
test runs it against real parts (an SMTP server on 127.0.0.1, a real SQLite
file, real HTTP) and asserts what must happen instead.
"""

from __future__ import annotations

import email
from collections.abc import Callable
from datetime import date, datetime
from email.policy import default
from pathlib import Path

import pytest
import sqlalchemy as sa

from digest.app.issues import Newsletter
from digest.config import Scope, SourceSpec
from digest.issue.assembly import assemble_digest, gather_for
from digest.issue.selection import window_between
from digest.mail.backends import get_backend
from digest.mail.backends.outbox import file_name
from digest.models import ExclusionKind, RunEnd
from digest.models.addresses import normalise_address
from digest.models.errors import RenderError
from digest.models.tokens import Signer
from digest.render import render_issue, render_leaving_out
from digest.send.delivery import compile_issue, send_issue
from digest.store import Store
from digest.store.schema import people, subscribers

from conftest import Served, body_route, write
from factories import make_stored_issue
from mailserver import SmtpServer

Make = Callable[..., Scope]
ISSUE = "2026-11-20-abcdef"


def _store_with(settings: Scope, addresses: list[str]) -> Store:
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    for address in addresses:
        store.subscribers.add(address)
    store.issues.save(make_stored_issue(ISSUE))
    return store


def _send(settings: Scope, store: Store) -> object:
    issue = store.issues.load(ISSUE)
    assert issue is not None
    return send_issue(store, compile_issue(issue, settings), get_backend(settings.install), settings.install.delivery)


def test_an_internationalised_domain_is_delivered_to_its_ascii_form(smtp_server: SmtpServer, delivery_settings: Make) -> None:
    """Finding 2. Reproduction: ``x@xn--80ak6aa92e.com`` as subscriber 10 of 1,000; it was stored in its
    Unicode form, smtplib raised UnicodeEncodeError at RCPT, the run stopped: each run sent 10, 990 stayed
    pending. Now it is stored and delivered in its ASCII (IDNA) form, and everyone is delivered."""
    assert normalise_address("x@xn--80ak6aa92e.com") == "x@xn--80ak6aa92e.com"
    assert normalise_address("X@пример.com") == "X@xn--e1afmkfd.com"
    settings = delivery_settings(smtp_server.port, connections=2)
    addresses = [f"r{n:03d}@example.org" for n in range(30)]
    addresses.insert(10, "x@xn--80ak6aa92e.com")
    store = _store_with(settings, addresses)
    report = _send(settings, store)
    assert report.complete and report.sent == 31, report  # type: ignore[attr-defined]
    received = {r.recipient: r for r in smtp_server.handler.received}
    assert set(received) == set(addresses)
    to = received["x@xn--80ak6aa92e.com"].data.split(b"\r\n\r\n", 1)[0]
    assert to.isascii()


def test_a_row_that_cannot_be_encoded_fails_alone(smtp_server: SmtpServer, delivery_settings: Make) -> None:
    """Finding 2. Reproduction: an address stored by an older release in a form with no ASCII spelling
    (here a non-ASCII local part written straight into the table) made the whole run fatal. Now that row
    fails with the reason, and every other reader is delivered."""
    settings = delivery_settings(smtp_server.port, connections=1)
    store = _store_with(settings, [f"r{n:03d}@example.org" for n in range(5)])
    with store.engine.begin() as conn:
        person = sa.select(subscribers.c.person_id).where(subscribers.c.id == 3).scalar_subquery()  # the address is the person's
        conn.execute(people.update().where(people.c.id == person).values(email="jörg@example.org", email_key="jörg@example.org"))
    report = _send(settings, store)
    assert report.complete and report.end is RunEnd.COMPLETE and report.sent == 4  # type: ignore[attr-defined]
    [failed] = [d for d in store.ledger.of(ISSUE) if d.state == "failed"]
    assert failed.subscriber_id == 3 and "cannot be sent to this address" in (failed.last_reply or "")
    assert len(smtp_server.handler.received) == 4


def test_outbox_file_names_never_collide(delivery_settings: Make, tmp_path: Path) -> None:
    """Finding 9. Reproduction: two IDN addresses both became ``j@_.com.eml``; the ledger said 2 sent and one
    file existed. Now each label has its own file, and the file holds its own recipient."""
    labels = ["j@ä.com", "j@ö.com", "j@_.com", "a b@example.org", "a_b@example.org"]
    assert len({file_name(label) for label in labels}) == len(labels)
    assert file_name("reader@example.org") == "reader@example.org.eml"  # a plain address keeps a readable name
    settings = delivery_settings(None)
    store = _store_with(settings, ["j@ä.com", "j@ö.com"])
    report = _send(settings, store)
    assert report.sent == 2  # type: ignore[attr-defined]
    files = sorted((tmp_path / "outbox" / ISSUE).glob("*.eml"))
    assert len(files) == 2
    recipients = {email.message_from_bytes(f.read_bytes(), policy=default)["To"] for f in files}
    assert recipients == {"j@xn--4ca.com", "j@xn--nda.com"}


def test_token_ids_are_ascii_digits_in_canonical_form() -> None:
    """Finding 10. Reproduction: ``01.<mac>`` and fullwidth ``１.<mac>`` were accepted for subscriber 1
    (malleable, not forgeable). Now only the spelling the signer makes is accepted."""
    signer = Signer("test-secret-key-for-the-suite-0123456789", "list.example.org")
    token = signer.token(1)
    mac = token.partition(".")[2]
    assert signer.verify(token) == 1
    for variant in (f"01.{mac}", f"\uff11.{mac}", f"\u0661.{mac}", f"+1.{mac}", f" 1.{mac}", f"1 .{mac}"):
        assert signer.verify(variant) is None, variant
    assert signer.verify(signer.token(0)) == 0


def test_connection_failures_pause_the_run_and_never_count_against_the_reader(delivery_settings: Make) -> None:
    """Finding 11 said: with nothing listening, a delivery stayed deferred at 0 attempts run after run, silently.
    Issue 31 then found the fix of that (every refused connection counted, the reader failed after max_attempts)
    blaming readers for our relay. Now the run pauses at once, saying why and what to check; the reader stays
    pending with no attempt counted, and the next run (the relay back) delivers."""
    from mailserver import free_port

    settings = delivery_settings(free_port(), max_attempts=3, retry_base=0.01, max_wait=5.0, connections=1)
    store = _store_with(settings, ["reader@example.org"])
    report = _send(settings, store)
    assert report.end is RunEnd.OURS and "cannot connect" in (report.reason or "")  # type: ignore[attr-defined]
    assert "check smtp.host, smtp.port and smtp.security" in (report.reason or "")  # type: ignore[attr-defined]
    [delivery] = store.ledger.of(ISSUE)
    assert delivery.state == "pending" and delivery.attempts == 0


def test_a_server_without_auth_is_a_configuration_error(smtp_server: SmtpServer, delivery_settings: Make) -> None:
    """Finding 11. Reproduction: with smtp.username set and a server that offers no AUTH, smtplib's
    "SMTP AUTH extension not supported" was taken as transient and retried until max_wait. Now the run
    stops at once with what to fix, and the reader stays pending for a corrected run."""
    settings = delivery_settings(smtp_server.port, smtp={"username": "digest", "password": "pw-123456", "allow_plain_auth": True})
    store = _store_with(settings, ["reader@example.org"])
    report = _send(settings, store)
    assert report.end is RunEnd.OURS and report.reason is not None  # type: ignore[attr-defined]
    assert "does not offer SMTP AUTH" in report.reason and "smtp.security" in report.reason  # type: ignore[attr-defined]
    assert report.counts["pending"] == 1 and report.counts["deferred"] == 0  # type: ignore[attr-defined]
    assert "pw-123456" not in report.reason  # type: ignore[attr-defined]


def test_a_stale_fencing_number_changes_no_row(delivery_settings: Make) -> None:
    """Finding 3, at the ledger. A run whose lease was taken over (its fencing number is stale) writes
    nothing: not ``sending``, not ``sent``; the new holder's writes go through, and a released lease never
    starts its numbering again (a third holder gets a higher number than both)."""
    from datetime import timedelta

    from digest.models.errors import StoreError
    from digest.store import now_utc

    settings = delivery_settings(None)
    store = _store_with(settings, ["a@example.org", "b@example.org"])
    store.ledger.enqueue(ISSUE)
    lease = f"send:{ISSUE}"
    assert store.leases.acquire(lease, "first", now_utc() + timedelta(seconds=60)) is None
    first = store.leases.fence(lease, "first")
    # "first" is paused; its lease runs out; "second" takes over.
    assert store.leases.acquire(lease, "second", now_utc() + timedelta(seconds=60), at=now_utc() + timedelta(seconds=61)) is None
    second = store.leases.fence(lease, "second")
    assert first is not None and second is not None and second > first
    with store.ledger.writer((lease, first)) as stale, pytest.raises(StoreError, match="no longer holds the send lease"):
        stale.mark_sending(ISSUE, 1)
    with store.ledger.writer((lease, second)) as current:
        current.mark_sending(ISSUE, 1)
        current.mark_sent(ISSUE, 1, "250 ok")
    with store.ledger.writer((lease, first)) as stale, pytest.raises(StoreError):
        stale.mark_failed(ISSUE, 2, "550 late")
    states = {d.subscriber_id: d.state for d in store.ledger.of(ISSUE)}
    assert states == {1: "sent", 2: "pending"}
    # A row already handled is never taken again, even by the current holder.
    with store.ledger.writer((lease, second)) as current, pytest.raises(StoreError):
        current.mark_sending(ISSUE, 1)
    store.leases.release(lease, "second")
    assert store.leases.holder(lease) is None
    assert store.leases.acquire(lease, "third", now_utc() + timedelta(seconds=60)) is None
    third = store.leases.fence(lease, "third")
    assert third is not None and third > second


CONTROLS = "\x01\x07\x1b\x00\ufffe\u202e\u200b\u2066"


def test_control_and_invisible_characters_never_cancel_the_issue(
    make_settings: Make, tmp_path: Path, http_server: Served, fixed_now: datetime
) -> None:
    """Finding 5. Reproduction: a title, summary or body with ``\\x01``, ``\\a``, ``\\x1b``, NUL or U+FFFE, or a
    feed title with ``&#x1b;``, ended in ``MJML error: unable to parse next template``, exit 1, nothing
    built; U+202E, U+200B and U+2066 passed through and allowed title spoofing. Now every text field
    arrives without them, and the issue is built with every post in it."""
    write(
        tmp_path / "content" / "odd.md",
        f'---\ntitle: "Bell{CONTROLS}s at noon"\ndate: 2026-11-18T10:00:00Z\nsummary: "Sum{CONTROLS}mary"\n---\n\nBody{CONTROLS} text.\n',
    )
    write(
        tmp_path / "content" / "body.md",
        "---\ntitle: Plain title\ndate: 2026-11-18T11:00:00Z\n---\n\nA body with \x01 and \x1b[31m in it.\n",
    )
    feed = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Harbour &#x1b;Radio</title>'
        b"<item><title>Tide&#x1b; tables &#x202e;fdp.exe</title><link>https://example.org/tide</link>"
        b"<pubDate>Wed, 18 Nov 2026 12:00:00 GMT</pubDate><description>Low &#x7; water</description></item></channel></rss>"
    )

    http_server.routes["/feed.xml"] = body_route(feed, "application/rss+xml")
    settings = make_settings(
        sources=(SourceSpec(kind="markdown", location="content"), SourceSpec(kind="feed", location=f"{http_server.base}/feed.xml")),
        secret_key="test-secret-key-for-the-suite-0123456789",
    )
    window = window_between(date(2026, 11, 16), date(2026, 11, 20), settings.newsletter.timezone)
    built = Newsletter(settings, lambda: Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}")).build(window, fixed_now)
    titles = sorted(post.title for post in built.digest.posts)
    assert titles == ["Bells at noon", "Plain title", "Tide tables fdp.exe"]
    everything = [built.rendered.html, built.rendered.text, *(t for p in built.digest.posts for t in (p.excerpt_html, p.excerpt_text))]
    everything += [p.outlet or "" for p in built.digest.posts]
    for text in everything:
        assert not any(ch in text for ch in CONTROLS), repr(text[:200])
    assert "Radio" in built.rendered.text and "Summary" in built.rendered.text


def test_a_post_that_still_breaks_the_email_is_left_out_not_the_issue(make_settings: Make, tmp_path: Path, fixed_now: datetime) -> None:
    """Finding 5, the safety net. A post whose text breaks the MJML compiler (here a control character put
    straight into the model, past the sources' cleaning) is left out and reported; the issue is built
    with the others, and its counts still add up."""
    from dataclasses import replace

    write(tmp_path / "content" / "a.md", "---\ntitle: Ferry fares\ndate: 2026-11-18T10:00:00Z\n---\n\nFares hold.\n")
    write(tmp_path / "content" / "b.md", "---\ntitle: Choir night\ndate: 2026-11-18T11:00:00Z\n---\n\nSongs.\n")
    settings = make_settings(sources=(SourceSpec(kind="markdown", location="content"),))
    window = window_between(date(2026, 11, 16), date(2026, 11, 20), settings.newsletter.timezone)
    gathered = gather_for(settings, window)
    poisoned = replace(
        gathered, posts=tuple(replace(p, title="Choir\x01 night") if p.title == "Choir night" else p for p in gathered.posts)
    )
    digest = assemble_digest(poisoned, window, settings.newsletter, fixed_now)
    with pytest.raises(RenderError, match="MJML error"):
        render_issue(digest, settings)  # what the audit saw: the whole issue lost
    fixed, rendered = render_leaving_out(
        digest, settings, lambda bad: assemble_digest(poisoned, window, settings.newsletter, fixed_now, bad)
    )
    assert [p.title for p in fixed.posts] == ["Ferry fares"]
    [left_out] = [e for e in fixed.excluded if e.kind == ExclusionKind.UNRENDERABLE]
    assert left_out.post.title == "Choir\x01 night" and "left out" in left_out.reason
    assert any("could not be put in the email" in p.message for p in fixed.problems)
    assert "Ferry fares" in rendered.html
    stats = fixed.stats
    assert stats.gathered == stats.selected + stats.excluded + stats.distant


def test_a_yaml_alias_bomb_is_refused_small_and_fast(make_settings: Make, tmp_path: Path) -> None:
    """Finding 6. Reproduction: 330 bytes of anchors and aliases in ``tags:`` grew to 3.8 GB and died with
    MemoryError. Now front matter with anchors or aliases is refused with file and line, oversized
    front matter and non-scalar tags are refused, and the other posts are read."""
    bomb = "\n".join(
        ['a: &a ["x","x","x","x","x","x","x","x","x"]']
        + [
            f"{chr(98 + n)}: &{chr(98 + n)} [*{chr(97 + n)},*{chr(97 + n)},*{chr(97 + n)},*{chr(97 + n)},*{chr(97 + n)},*{chr(97 + n)},*{chr(97 + n)},*{chr(97 + n)},*{chr(97 + n)}]"
            for n in range(8)
        ]
    )
    write(tmp_path / "content" / "bomb.md", f"---\ntitle: Boom\ndate: 2026-11-18\n{bomb}\ntags: *i\n---\n\nBody.\n")
    write(tmp_path / "content" / "nested.md", "---\ntitle: Nested\ndate: 2026-11-18\ntags: [[a, b], {c: d}]\n---\n\nBody.\n")
    write(tmp_path / "content" / "huge.md", '---\ntitle: Huge\ndate: 2026-11-18\nsummary: "' + "x" * 70_000 + '"\n---\n\nBody.\n')
    write(tmp_path / "content" / "good.md", "---\ntitle: Good\ndate: 2026-11-18\ntags: [trams, buses]\n---\n\nBody.\n")
    settings = make_settings(sources=(SourceSpec(kind="markdown", location="content"),))
    window = window_between(date(2026, 11, 16), date(2026, 11, 20), settings.newsletter.timezone)
    gathered = gather_for(settings, window)
    assert [p.title for p in gathered.posts] == ["Good"]
    messages = {p.where.split(":")[0]: p.message for p in gathered.problems}
    assert "anchors and aliases" in messages["content/bomb.md"]
    assert "each tag must be text" in messages["content/nested.md"]
    assert "front matter" in messages["content/huge.md"] and "bytes" in messages["content/huge.md"]
