"""``digest webhooks replay`` refuses what would send nothing (an unknown endpoint or event id, an empty range, a range
backwards, ids and a range at once) with a message naming how to list what there is; ``digest webhooks events`` lists
the stored events a replay names. The command in-process, a real SQLite file, a real receiver on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from digest.cli import main

from support.project import make_config
from support.webhooks import Receiver

SECRET = "test-secret-key-for-the-suite-0123456789"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver()
    yield started
    started.stop()


def test_a_replay_that_names_nothing_is_refused_naming_how_to_list_and_queues_nothing(tmp_path: Path, receiver: Receiver) -> None:
    config = str(make_config(tmp_path, None))
    env = {"DIGEST_WEBHOOKS_ALLOW_PRIVATE": "1", "DIGEST_SECRET_KEY": SECRET}

    def digest(*args: str) -> Result:
        return CliRunner().invoke(main, ["--config", config, *args], env=env)

    assert digest("webhooks", "add", receiver.url, "--event", "subscriber.created").exit_code == 0
    assert digest("subscribers", "add", "ada@example.org").exit_code == 0
    listed = digest("webhooks", "events")
    assert listed.exit_code == 0 and "subscriber.created" in listed.output and "0 delivered, 1 waiting" in listed.output, listed.output
    event_id = listed.output.split()[0]
    assert digest("webhooks", "deliver").exit_code == 0 and "1 delivered, 0 waiting" in digest("webhooks", "events").output

    unknown = digest("webhooks", "replay", "1", "--event-id", "999")
    assert unknown.exit_code == 1 and "no stored event has the id 999" in unknown.output, unknown.output
    assert "webhooks events" in unknown.output and "nothing was queued" in unknown.output
    partly = digest("webhooks", "replay", "1", "--event-id", event_id, "--event-id", "998")
    assert partly.exit_code == 1 and "998" in partly.output
    nobody = digest("webhooks", "replay", "7", "--event-id", event_id)
    assert nobody.exit_code == 1 and "no webhook endpoint has the id 7" in nobody.output and "webhooks list" in nobody.output
    empty = digest("webhooks", "replay", "1", "--since", "2020-01-01T00:00", "--until", "2020-02-01T00:00")
    assert empty.exit_code == 1 and "no event of endpoint 1's types (subscriber.created) was made" in empty.output, empty.output
    assert "webhooks events" in empty.output
    backwards = digest("webhooks", "replay", "1", "--since", "2026-02-01T00:00", "--until", "2026-01-01T00:00")
    assert backwards.exit_code == 2 and "--since" in backwards.output and "before --until" in backwards.output
    both = digest("webhooks", "replay", "1", "--event-id", event_id, "--since", "2020-01-01T00:00")
    assert both.exit_code == 2 and "not both" in both.output
    assert digest("webhooks", "replay", "1", "--since", "yesterday").exit_code == 2
    assert "1 delivered, 0 waiting" in digest("webhooks", "events").output  # none of these queued anything
    assert receiver.types() == ["subscriber.created"]

    again = digest("webhooks", "replay", "1", "--event-id", event_id)
    assert again.exit_code == 0 and "1 event(s) queued again" in again.output
    assert digest("webhooks", "deliver").exit_code == 0 and receiver.types() == ["subscriber.created"] * 2
