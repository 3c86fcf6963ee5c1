"""Projects to run the command on: the fixture project's config with a store of the test's own, an editable copy of
the whole project, and a store filled with subscribers and the fixture issue."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

from digest.app.issues import Newsletter
from digest.config import load_settings
from digest.issue.selection import window_between
from digest.store import Store

from conftest import FIXTURES, write

PROJECT = FIXTURES / "project"
# The fixture project's week, as the command's options, and the id of its issue.
WINDOW = ("--since", "2025-02-24", "--until", "2025-03-03")
ISSUE = "2025-03-02-b21c5b"


def make_config(tmp_path: Path, port: int | None, *, relays: tuple[int, ...] = (), database: str | None = None, **delivery: object) -> Path:
    """The fixture project's config, rooted at the fixture project, with a store in tmp_path; ``relays``: ports of
    [[smtp.relays]] instead of the one [smtp] host."""
    text = (PROJECT / "config" / "digest.toml").read_text(encoding="utf-8").replace('root = ".."', f'root = "{PROJECT}"')
    url = database or f"sqlite:///{tmp_path / 'digest.sqlite'}"
    text += f'\n[store]\nurl = "{url}"\n'
    options = {
        "backend": "smtp" if port else "outbox",
        "outbox_dir": str(tmp_path / "outbox"),
        "retry_base": 0.05,
        "max_wait": 5,
    } | delivery
    text += "\n[delivery]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in options.items())
    if relays:
        text += '\n[smtp]\nsecurity = "none"\ntimeout = 5\n'
        text += "".join(f'\n[[smtp.relays]]\nname = "relay{n}"\nhost = "127.0.0.1"\nport = {p}\n' for n, p in enumerate(relays))
    elif port:
        text += f'\n[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\ntimeout = 5\n'
    return write(tmp_path / "digest.toml", text)


def fill(config: Path, count: int) -> Store:
    """``count`` subscribers and the frozen fixture issue, straight into the store."""
    settings = load_settings(config, environ={})
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    with store.engine.begin() as conn:
        from digest.store.schema import people, subscribers

        now = datetime.now(UTC)
        addresses = [f"r{n:05d}@example.org" for n in range(count)]
        conn.execute(people.insert(), [{"email": a, "email_key": a, "name": None, "created_at": now, "updated_at": now} for a in addresses])
        conn.execute(
            subscribers.insert().from_select(
                ["person_id", "newsletter", "status", "created_at", "updated_at"],
                sa.select(people.c.id, sa.literal(store.newsletter), sa.literal("active"), people.c.created_at, people.c.updated_at)
                .where(people.c.email_key.in_(addresses))
                .order_by(people.c.id),
            )
        )
    window = window_between(date(2025, 2, 24), date(2025, 3, 3), settings.newsletter.timezone)
    store.issues.save(Newsletter(settings, store).build(window, datetime(2025, 3, 3, 9, tzinfo=UTC)).issue)
    return store


def make_project(tmp_path: Path, smtp_port: int | None = None) -> Path:
    """A copy of the fixture project (content, templates, config) that a test may edit."""
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "project", project)
    shutil.copy(FIXTURES / "archives" / "harbour-watch.txt", project / "content" / "harbour-watch.txt")
    config = project / "config" / "digest.toml"
    text = config.read_text(encoding="utf-8").replace("../archives/harbour-watch.txt", "content/harbour-watch.txt")
    text += f'\n[output]\ntemplates = "templates"\n[store]\nurl = "sqlite:///{tmp_path / "db.sqlite"}"\n'
    if smtp_port:
        text += f'\n[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\n'
    config.write_text(text, encoding="utf-8")
    (project / "templates").mkdir()
    return config
