"""Several relays ([[smtp.relays]]): spread by weight, a failing one benched, the ledger's guarantees unchanged.

Each relay is a real SMTP server on 127.0.0.1.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from digest.config import Scope, load_settings
from digest.mail.backends import get_backend
from digest.mail.backends.relays import RelayPool
from digest.models import DeliveryState, RunEnd
from digest.send.delivery import compile_issue, send_issue
from digest.store import Store

from conftest import write
from factories import make_stored_issue
from mailserver import SmtpServer, free_port
from support.delivery import relay
from support.settings import overridden


@pytest.fixture
def second_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    yield server
    server.stop()


def send_to(settings: Scope, count: int, backend: object | None = None) -> tuple[Store, object]:
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    for n in range(count):
        store.subscribers.add(f"r{n:04d}@example.org")
    issue = make_stored_issue()
    store.issues.save(issue)
    report = send_issue(store, compile_issue(issue, settings), backend or get_backend(settings.install), settings.install.delivery)  # type: ignore[arg-type]
    return store, report


def test_connections_spread_over_the_relays_by_weight(
    delivery_settings: Callable[..., Scope], smtp_server: SmtpServer, second_server: SmtpServer
) -> None:
    settings = delivery_settings(smtp_server.port, connections=4, max_per_connection=4)
    relays = (relay("heavy", smtp_server.port, weight=3), relay("light", second_server.port, weight=1))
    pool = RelayPool(relays, 4, 60.0, seed=7)
    _, report = send_to(settings, 400, pool)
    assert report.sent == 400 and report.deferred == 0  # type: ignore[attr-defined]
    heavy, light = len(smtp_server.handler.received), len(second_server.handler.received)
    assert heavy + light == 400 and 2.0 <= heavy / light <= 5.0, (heavy, light)


def test_a_relay_that_refuses_connections_is_benched_and_the_send_goes_on(
    delivery_settings: Callable[..., Scope], smtp_server: SmtpServer
) -> None:
    settings = delivery_settings(smtp_server.port, connections=3, max_per_connection=5)
    settings = overridden(settings, relays=(relay("down", free_port(), weight=5), relay("up", smtp_server.port)))
    store, report = send_to(settings, 60)
    assert report.sent == 60 and report.deferred == report.failed == 0  # type: ignore[attr-defined]
    assert len(smtp_server.handler.counts()) == 60 and set(smtp_server.handler.counts().values()) == {1}
    assert all(d.attempts == 1 for d in store.ledger.of(make_stored_issue().id))  # nobody waited for a retry


def test_a_relay_answering_421_is_benched_and_the_message_goes_through_another_at_once(
    delivery_settings: Callable[..., Scope], smtp_server: SmtpServer, second_server: SmtpServer
) -> None:
    settings = delivery_settings(smtp_server.port, connections=2, max_per_connection=10)
    second_server.handler.mail_refusing = "421 4.7.0 Too busy, closing connection"
    relays = (relay("busy", second_server.port, weight=10), relay("calm", smtp_server.port))
    store, report = send_to(settings, 50, RelayPool(relays, 2, 60.0, seed=1))
    assert report.sent == 50 and report.deferred == 0  # type: ignore[attr-defined]
    assert len(second_server.handler.received) == 0 and len(smtp_server.handler.counts()) == 50
    counts = store.ledger.status([make_stored_issue().id])[0].counts
    assert counts[DeliveryState.SENT] == 50


def test_every_relay_down_pauses_and_a_later_run_delivers(
    delivery_settings: Callable[..., Scope], smtp_server: SmtpServer, second_server: SmtpServer
) -> None:
    settings = delivery_settings(smtp_server.port, connections=2, max_wait=0.0)
    for server in (smtp_server, second_server):
        server.handler.mail_refusing = "421 4.3.2 System not accepting network messages"
    relays = (relay("a", smtp_server.port), relay("b", second_server.port))
    settings = overridden(settings, relays=relays)
    store, report = send_to(settings, 10)
    # Our side (issue 31): the run pauses at once, every reader still pending with no attempt counted against them.
    assert report.end is RunEnd.OURS and report.sent == report.deferred == report.failed == 0  # type: ignore[attr-defined]
    assert [(d.state, d.attempts) for d in store.ledger.of(make_stored_issue().id)] == [("pending", 0)] * 10
    for server in (smtp_server, second_server):
        server.handler.mail_refusing = ""
    issue = make_stored_issue()
    rerun = send_issue(
        store,
        compile_issue(issue, settings),
        RelayPool(relays, 2, 0.01),
        dataclasses.replace(settings.install.delivery, retry_base=0.01, max_wait=5.0),
    )
    assert rerun.complete and len(smtp_server.handler.counts() + second_server.handler.counts()) == 10


def test_relays_in_the_config(tmp_path: Path) -> None:
    config = write(
        tmp_path / "digest.toml",
        '[delivery]\nbackend = "smtp"\n[smtp]\nsecurity = "none"\ncooldown = 30\n'
        '[[smtp.relays]]\nname = "primary"\nhost = "smtp1.example.org"\nport = 2525\nweight = 3\nrate = 50\n'
        '[[smtp.relays]]\nhost = "smtp2.example.org"\nsecurity = "ssl"\n',
    )
    settings = load_settings(config, environ={"SMTP_USERNAME": "all", "SMTP_PASSWORD": "pw", "SMTP_USERNAME_PRIMARY": "first"})
    first, second = settings.install.relays
    assert (first.name, first.options.host, first.options.port, first.weight, first.rate) == ("primary", "smtp1.example.org", 2525, 3, 50.0)
    assert (second.name, second.options.port, second.options.security) == ("smtp2.example.org", 465, "ssl")
    assert first.options.username == "first" and second.options.username == "all" and settings.install.relay_cooldown == 30.0
    assert "pw" not in repr(settings) and isinstance(get_backend(settings.install), RelayPool)
    bad = write(tmp_path / "bad.toml", '[[smtp.relays]]\nhost = "a"\nweight = 0\n[[smtp.relays]]\nhost = "a"\n')
    from digest.config import ConfigError

    with pytest.raises(ConfigError) as caught:
        load_settings(bad, environ={})
    text = "\n".join(caught.value.problems)
    assert "smtp.relays[0].weight: must be positive" in text and "a name of its own" in text


def test_a_relay_lost_while_the_message_was_written_is_not_tried_elsewhere(
    delivery_settings: Callable[..., Scope], smtp_server: SmtpServer, second_server: SmtpServer
) -> None:
    """The connection drops after the message went out: the relay may have it, so no other relay gets a second
    copy now; the delivery is deferred and the ledger's retry decides."""
    settings = delivery_settings(smtp_server.port, connections=1, max_wait=0.0)
    second_server.handler.data_all.append("DROP")
    relays = (relay("flaky", second_server.port, weight=1000), relay("calm", smtp_server.port))
    _, report = send_to(settings, 1, RelayPool(relays, 1, 60.0, seed=1))
    assert report.sent == 0 and report.deferred == 1  # type: ignore[attr-defined]
    assert smtp_server.handler.received == [] and second_server.handler.received == []


def test_a_relay_refusing_the_sender_is_benched_and_the_message_goes_through_another(
    delivery_settings: Callable[..., Scope], smtp_server: SmtpServer, second_server: SmtpServer
) -> None:
    """A relay that will not take digest's envelope sender (an authenticated relay's "not owned by user") is
    left out like one answering 421: the copies go through the other at once, nobody deferred or bounced."""
    settings = delivery_settings(smtp_server.port, connections=2, max_per_connection=10)
    second_server.handler.mail_refusing = "553 5.7.1 Sender address rejected: not owned by user"
    relays = (relay("picky", second_server.port, weight=10), relay("calm", smtp_server.port))
    _, report = send_to(settings, 30, RelayPool(relays, 2, 60.0, seed=1))
    assert report.sent == 30 and report.deferred == report.failed == report.bounced == 0  # type: ignore[attr-defined]
    assert len(second_server.handler.received) == 0 and len(smtp_server.handler.counts()) == 30
