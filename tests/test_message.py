"""The messages as delivered: parsed with the email package and checked against the RFCs."""

from __future__ import annotations

import email
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.policy import default

import pytest

from digest.app.issues import Newsletter
from digest.config import Scope, load_settings
from digest.issue.selection import window_between
from digest.mail.backends import get_backend
from digest.mail.message import CompiledMessage, MessageParts, reference_message
from digest.models.tokens import Signer
from digest.send.delivery import compile_issue, send_issue
from digest.store import Store

from conftest import FIXTURES
from factories import make_stored_issue
from mailserver import SmtpServer
from support.settings import overridden

Make = Callable[..., Scope]
NAMES = ["Ada Reader", "Zoë O'Brien", 'Rita "Rocket" Moss', None, "李小龍", "Smith, John"]


@pytest.fixture
def delivered(smtp_server: SmtpServer, delivery_settings: Make) -> tuple[Scope, list[EmailMessage], list[bytes]]:
    """The golden fixture issue, really rendered, sent to six subscribers over SMTP."""

    project = load_settings(FIXTURES / "project" / "config" / "digest.toml", environ={})
    settings = overridden(
        delivery_settings(smtp_server.port), sources=project.newsletter.sources, themes=project.newsletter.themes, root=project.install.root
    )
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    for n, name in enumerate(NAMES):
        store.subscribers.add(f"reader{n}@example.org", name)
    window = window_between(date(2025, 2, 24), date(2025, 3, 3), settings.newsletter.timezone)
    issue = Newsletter(settings, store).build(window, datetime(2025, 3, 3, 9, tzinfo=UTC)).issue
    store.issues.save(issue)
    report = send_issue(store, compile_issue(issue, settings), get_backend(settings.install), settings.install.delivery)
    assert report.complete
    raw = [item.data for item in sorted(smtp_server.handler.received, key=lambda r: r.recipient)]
    return settings, [item.parse() for item in sorted(smtp_server.handler.received, key=lambda r: r.recipient)], raw


def test_structure_encodings_and_line_lengths(delivered: tuple[Scope, list[EmailMessage], list[bytes]]) -> None:
    _, messages, raw = delivered
    assert len(messages) == len(NAMES)
    for message, data in zip(messages, raw, strict=True):
        assert message.get_content_type() == "multipart/alternative"
        parts = list(message.iter_parts())
        assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]  # plain first, html last
        for part in parts:
            assert part.get_content_charset() == "utf-8"
            assert part["Content-Transfer-Encoding"] in ("7bit", "quoted-printable", "base64")
        assert all(byte < 128 for byte in data)  # 7-bit on the wire
        assert b"\n" not in data.replace(b"\r\n", b"")  # CRLF only
        assert max(len(line) for line in data.split(b"\r\n")) <= 998
        body = data.split(b"\r\n\r\n", 1)[1]
        assert max(len(line) for line in body.split(b"\r\n")) <= 76  # quoted-printable's own limit
        assert not [line for line in data.split(b"\r\n") if line.startswith(b".")]  # dot_safe: nothing to stuff


def test_headers(delivered: tuple[Scope, list[EmailMessage], list[bytes]]) -> None:
    settings, messages, _ = delivered
    ids = set()
    for n, message in enumerate(messages):
        assert message["From"].addresses[0].addr_spec == "digest@openstreets.example"
        assert message["To"].addresses[0].addr_spec == f"reader{n}@example.org"
        assert message["To"].addresses[0].display_name == (NAMES[n] or "")
        assert message["Subject"] == "Open Streets Weekly Digest – 2 March 2025"  # the shipped config is en-GB
        assert message["Date"].datetime.tzinfo is not None
        message_id = message["Message-ID"]
        assert re.fullmatch(r"<[^<>@\s]+@openstreets\.example>", message_id)
        ids.add(message_id)
        assert message["List-Id"] == f"Open Streets <{settings.newsletter.list_id}>"
        uris = re.findall(r"<([^>]+)>", message["List-Unsubscribe"])
        https = [u for u in uris if u.startswith("https://")]
        assert len(https) == 1 and https[0].startswith("https://news.example.org/u/")  # exactly one https URI (RFC 8058)
        assert not any(u.startswith("mailto:") for u in uris)  # none configured: no address nothing reads
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["MIME-Version"] == "1.0"
    assert len(ids) == len(messages)


def test_feedback_id_is_never_folded_after_its_colon(delivered: tuple[Scope, list[EmailMessage], list[bytes]]) -> None:
    """Issue 22, item 21. Reproduction: ``Feedback-ID:`` folded right after the colon (one long token), so the
    value parsed with a leading space; the earlier test stripped it and never saw it."""
    settings, _, raws = delivered
    for raw in raws:
        head = raw.split(b"\r\n\r\n", 1)[0]
        [line] = [line for line in head.split(b"\r\n") if line.startswith(b"Feedback-ID:")]
        value = line.removeprefix(b"Feedback-ID: ").decode("ascii")
        label = settings.newsletter.list_id.removesuffix(".openstreets.example")
        assert value.endswith(f":{label}:digest:openstreets.example") and not value.startswith(" ")
        parsed = email.message_from_bytes(raw, policy=email.policy.compat32)
        assert str(parsed["Feedback-ID"]) == value  # no leading space, no fold
        assert len(line) <= 78  # one line, within the advised length


def test_links_are_visible_in_both_parts(delivered: tuple[Scope, list[EmailMessage], list[bytes]]) -> None:
    settings, messages, _ = delivered
    signer = Signer("test-secret-key-for-the-suite-0123456789", settings.newsletter.list_id)
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    for n, message in enumerate(messages):
        unsubscribe = re.findall(r"<(https://[^>]+)>", message["List-Unsubscribe"])[0]
        reader = store.subscribers.get(f"reader{n}@example.org")
        assert reader is not None and reader.id == n + 1 and reader.link_salt
        assert signer.matches(unsubscribe.rsplit("/", 1)[1], reader.id, reader.link_salt)  # their own row's token
        assert signer.verify(unsubscribe.rsplit("/", 1)[1]) is None  # not the unsalted one
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        for body in (text, html):
            assert unsubscribe in body
            assert "https://news.example.org/archive/2025-03-02-2e323a/" in body
            assert f"reader{n}@example.org" in body
            assert "%%" not in body


def _parts() -> MessageParts:
    from email.headerregistry import Address

    issue = make_stored_issue()
    return MessageParts(
        issue_id=issue.id,
        subject=issue.subject,
        html=issue.html,
        text=issue.text,
        sender=Address("Test News", "news", "example.org"),
        list_id="test-news.example.org",
        list_name="Test News",
        base_url="https://example.org",
        date=datetime(2026, 11, 20, 9, tzinfo=UTC),
    )


@pytest.mark.parametrize("name", NAMES)
def test_precompiled_message_equals_one_built_from_scratch(name: str | None) -> None:
    parts = _parts()
    compiled = CompiledMessage(parts, Signer("k", parts.list_id))
    ours = email.message_from_bytes(compiled.render(7, "reader@example.org", name), policy=default)
    reference = email.message_from_bytes(
        reference_message(
            parts,
            name=name,
            email="reader@example.org",
            message_id=compiled.message_id(7),
            unsubscribe_url=compiled.unsubscribe_url(7),
        ).as_bytes(),
        policy=default,
    )
    assert isinstance(ours, EmailMessage) and isinstance(reference, EmailMessage)
    for header in ("From", "To"):
        assert [(a.display_name, a.addr_spec) for a in ours[header].addresses] == [
            (a.display_name, a.addr_spec) for a in reference[header].addresses
        ]
    assert ours["To"].addresses[0].display_name == (name or "")
    for header in ("Subject", "Date", "Message-ID", "List-Id", "List-Unsubscribe-Post", "MIME-Version"):
        assert str(ours[header]) == str(reference[header]), header
    assert re.findall(r"<[^>]+>", str(ours["List-Unsubscribe"])) == re.findall(r"<[^>]+>", str(reference["List-Unsubscribe"]))
    assert ours.get_content_type() == reference.get_content_type()
    for a, b in zip(ours.iter_parts(), reference.iter_parts(), strict=True):
        assert a.get_content_type() == b.get_content_type()
        assert a.get_content_charset() == b.get_content_charset()
        assert a.get_content() == b.get_content()


def test_control_characters_can_never_add_a_header() -> None:
    import dataclasses

    parts = dataclasses.replace(_parts(), subject="Weekly\r\nBcc: victim@example.org\r\n\r\nInjected body")
    compiled = CompiledMessage(parts, Signer("k", parts.list_id))
    data = compiled.render(1, "reader@example.org", "Eve\r\nBcc: other@example.org")
    message = email.message_from_bytes(data, policy=default)
    assert message["Bcc"] is None
    assert "Bcc: victim@example.org" in message["Subject"]  # kept as harmless text inside the subject
    assert message["To"].addresses[0].addr_spec == "reader@example.org"
    headers = data.split(b"\r\n\r\n", 1)[0]
    assert not re.search(rb"\r\nBcc:", headers)


def test_subject_of_a_long_non_ascii_title_is_encoded_and_folded() -> None:
    import dataclasses

    parts = dataclasses.replace(_parts(), subject="Ünïcödé " * 30)
    data = CompiledMessage(parts, Signer("k", parts.list_id)).render(1, "r@example.org")
    headers = data.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 78 for line in headers.split(b"\r\n") if not line.startswith(b"List-Unsubscribe:"))
    assert email.message_from_bytes(data, policy=default)["Subject"] == ("Ünïcödé " * 30).strip()


def test_tokens_are_signed_and_checked() -> None:
    signer = Signer("key", "list.example.org")
    token = signer.token(42)
    assert signer.verify(token) == 42
    number, mac = token.split(".")
    assert signer.verify(f"43.{mac}") is None  # another subscriber's id
    assert signer.verify(f"{number}.{mac[:-1]}A") is None  # altered
    assert signer.verify("42") is None and signer.verify("x.y") is None and signer.verify("") is None
    assert Signer("other key", "list.example.org").verify(token) is None
    assert Signer("key", "other.example.org").verify(token) is None


def test_no_line_starts_with_a_dot_and_the_text_survives() -> None:
    """Lines starting with "." are written =2E, so SMTP dot-stuffing has nothing to do; decoding gives the text back."""
    import dataclasses

    from digest.models import placeholders

    text = (
        ".starts with a dot\n..two dots\n" + "x" * 75 + ".dot after a soft break\n" + "." + "y" * 90 + "\n"
        f"Sent to {placeholders.RECIPIENT_EMAIL}.\n{placeholders.UNSUBSCRIBE_URL}\n"
    )
    html = f"<p>.dot</p>\n.<b>x</b> {placeholders.RECIPIENT_EMAIL}.\n.{placeholders.UNSUBSCRIBE_URL}\n"
    parts = dataclasses.replace(_parts(), text=text, html=html)
    compiled = CompiledMessage(parts, Signer("k", parts.list_id))
    data = compiled.render(7, ".dotted@example.org", ".Dot")
    lines = data.split(b"\r\n")
    assert not [line for line in lines if line.startswith(b".")]
    assert max(len(line) for line in lines) <= 998
    message = email.message_from_bytes(data, policy=default)
    assert isinstance(message, EmailMessage)
    plain, rich = message.iter_parts()
    for part in (plain, rich):
        assert all(len(line) <= 76 for line in part.as_bytes().split(b"\n\n", 1)[1].split(b"\n"))
    assert plain.get_content().replace("\r\n", "\n").startswith(".starts with a dot\n..two dots\n" + "x" * 75 + ".dot after")
    assert ".dotted@example.org." in plain.get_content()
    assert "<p>.dot</p>\n.<b>x</b> .dotted@example.org.\n.https://example.org/u/7." in rich.get_content().replace("\r\n", "\n")


def test_list_unsubscribe_carries_a_mailto_only_when_one_is_configured() -> None:
    """Issue 13: the mailto in List-Unsubscribe points at an address the project processes, or is left out."""
    import dataclasses

    parts = dataclasses.replace(_parts(), unsubscribe_mailto="unsubscribe@lists.example.org")
    compiled = CompiledMessage(parts, Signer("k", parts.list_id))
    message = email.message_from_bytes(compiled.render(7, "reader@example.org"), policy=default)
    uris = re.findall(r"<([^>]+)>", message["List-Unsubscribe"])
    assert uris[0].startswith("https://example.org/u/7.") and uris[1] == "mailto:unsubscribe@lists.example.org?subject=unsubscribe"
    plain = email.message_from_bytes(CompiledMessage(_parts(), Signer("k", parts.list_id)).render(7, "reader@example.org"), policy=default)
    assert re.findall(r"<([^>]+)>", plain["List-Unsubscribe"]) == [uris[0]]


@pytest.mark.parametrize("language", ["en-GB", "fr"])
def test_the_text_footer_stays_within_78_columns_with_a_long_address(language: str, make_settings: Callable[..., Scope]) -> None:
    """Issue 22, item 18. Reproduction: "You are receiving Open Streets at ada.reader@example.org because you
    subscribed" is 79 characters, and an 82-character address gave a 139-character line: the check had judged the
    text with the placeholder in it. The address now stands on its own line; the check fills in a long one."""

    from support.issues import sample_issue

    settings = overridden(make_settings(secret_key="k", base_url="https://news.example.org"), language=language)
    issue = sample_issue(settings)
    assert not [check for check in issue.checks if check.code == "text-width"], issue.checks
    address = "firstname.middlename.lastname.of.a.reader@mail.department.example-organisation.org"  # 82 characters
    raw = compile_issue(issue, settings).render(7, address, "A Reader")
    message = email.message_from_bytes(raw, policy=default)
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    too_long = [line for line in text.splitlines() if len(line) > 78 and not re.fullmatch(r"\s*(\[\d+\]\s*)?(\S+://\S+|\S+@\S+)", line)]
    assert too_long == [], too_long
    assert address in text.splitlines()  # on a line of its own
