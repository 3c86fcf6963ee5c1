"""What the benchmarks share: the project root, the SMTP sink, bulk subscribers, and the sample issue."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from digest.app.issues import frozen_form
from digest.config import Scope, load_settings
from digest.config.schema import INSTALLATION_FIELDS
from digest.issue.assembly import build_issue
from digest.issue.grouping import summarise_outlets
from digest.issue.selection import window_for
from digest.models import OutletGroup, Post, Section, StoredIssue
from digest.render import render_issue
from digest.store import Store
from digest.store.schema import people, subscribers

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_AS_OF = datetime(2026, 11, 20, 9, tzinfo=UTC)  # the issue `make run` sends
# Generated posts and feed items are made of these (several match the shipped themes' keywords).
WORDS = [
    "harbour",
    "tram",
    "library",
    "market",
    "rent",
    "solar",
    "flood",
    "bakery",
    "choir",
    "council",
    "bus",
    "garden",
    "ferry",
    "museum",
    "homes",
    "heat",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def smtp_sink(keep: Path | None = None) -> Iterator[int]:
    """bench/sink.py in a process of its own (so it does not share the sender's GIL); yields its port.

    With ``keep``, the sink also writes each message it gets into that folder.
    """
    port = free_port()
    command = [sys.executable, str(ROOT / "bench" / "sink.py"), str(port), *([str(keep)] if keep else [])]
    sink = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
        yield port
    finally:
        sink.terminate()
        sink.wait()


def add_subscribers(store: Store, count: int, batch: int = 10_000, choices: list[str | None] | None = None) -> None:
    """``count`` active subscribers r0@example.org … of the store's newsletter (a person and a subscription each),
    inserted in batches; ``choices``: each one's themes (JSON)."""
    now = datetime.now(UTC)
    for first in range(0, count, batch):
        numbers = range(first, min(first + batch, count))
        with store.engine.begin() as conn:
            conn.execute(
                people.insert(),
                [{"email": f"r{n}@example.org", "email_key": f"r{n}@example.org", "created_at": now, "updated_at": now} for n in numbers],
            )
            keys = [f"r{n}@example.org" for n in numbers]
            person = dict(conn.execute(sa.select(people.c.email_key, people.c.id).where(people.c.email_key.in_(keys))).all())
            conn.execute(
                subscribers.insert(),
                [
                    {
                        "person_id": person[f"r{n}@example.org"],
                        "newsletter": store.newsletter,
                        "status": "active",
                        "created_at": now,
                        "updated_at": now,
                        "themes": choices[n] if choices is not None else None,
                    }
                    for n in numbers
                ],
            )


def overridden(scope: Scope, **changes: Any) -> Scope:
    """``scope`` with each of ``changes`` set in the part that owns it (the installation or the newsletter)."""
    install = {key: value for key, value in changes.items() if key in INSTALLATION_FIELDS}
    newsletter = {key: value for key, value in changes.items() if key not in INSTALLATION_FIELDS}
    return Scope(dataclasses.replace(scope.install, **install), dataclasses.replace(scope.newsletter, **newsletter))


def sample_settings() -> Scope:
    base = load_settings(ROOT / "config" / "digest.toml", environ={})
    return overridden(base, secret_key="bench", base_url="https://news.example.org")


def sample_issue(settings: Scope) -> StoredIssue:
    """The sample issue, built and frozen as `make run` sends it."""
    digest = build_issue(settings, window_for(SAMPLE_AS_OF, settings.newsletter.window, settings.newsletter.timezone), SAMPLE_AS_OF)
    return frozen_form(digest, render_issue(digest, settings), SAMPLE_AS_OF)


THEMES = 8


def themed_issue(settings: Scope) -> StoredIssue:
    """The sample issue's posts dealt into eight themes (the shipped five and three more), frozen."""
    digest = build_issue(settings, window_for(SAMPLE_AS_OF, settings.newsletter.window, settings.newsletter.timezone), SAMPLE_AS_OF)
    names = [section.theme for section in digest.sections] + ["Water & Rivers", "Work & Trade", "Schools"]
    posts = list(digest.posts)
    sections = tuple(Section(theme=name, description="", outlets=_groups(posts[n::THEMES])) for n, name in enumerate(names[:THEMES]))
    digest = dataclasses.replace(digest, sections=sections, outlet_summary=summarise_outlets(posts))
    return frozen_form(digest, render_issue(digest, settings), SAMPLE_AS_OF)


def _groups(posts: list[Post]) -> tuple[OutletGroup, ...]:
    by_outlet: dict[str | None, list[Post]] = {}
    for post in posts:
        by_outlet.setdefault(post.outlet, []).append(post)
    return tuple(OutletGroup(outlet=outlet, posts=tuple(items)) for outlet, items in by_outlet.items())


def theme_choices(count: int, themes: list[str], seed: int = 20261128) -> list[str | None]:
    """Realistic choices of ``themes`` (keys): 60 % every theme (None), the rest a random non-empty subset, as the store
    keeps them."""
    chance = random.Random(seed)
    chosen: list[str | None] = []
    for _ in range(count):
        if chance.random() < 0.6:
            chosen.append(None)
        else:
            subset = chance.sample(themes, chance.randint(1, len(themes) - 1))
            chosen.append(json.dumps(sorted(subset, key=themes.index)))
    return chosen


POSTGRES = os.environ.get("DIGEST_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def postgres_engine() -> tuple[sa.Engine | None, str]:
    """An engine on the PostgreSQL server the bench uses, or None and why not (the rows say it was skipped)."""
    try:
        engine = sa.create_engine(POSTGRES, connect_args={"connect_timeout": 3})
        with engine.begin() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:
        return None, f"not reachable ({type(exc).__name__})"
    return engine, ""


@contextmanager
def postgres_schema(engine: sa.Engine) -> Iterator[tuple[str, str]]:
    """A schema of its own on the bench's server: (its name, a URL whose search path is it); dropped after."""
    name = f"digest_bench_{uuid.uuid4().hex[:10]}"
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    try:
        yield name, f"{POSTGRES}?options=-csearch_path%3D{name}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
