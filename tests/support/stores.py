"""The store of a config, opened as a command opens it: for the config's newsletter (what it lists and finds is that
newsletter's), so what a test writes there is what the CLI and the web apps read."""

from __future__ import annotations

from pathlib import Path

from digest.config import Scope, load_settings
from digest.store import Store


def store_of(config: Path | Scope) -> Store:
    """The store of ``config`` (a config file, or settings), for its newsletter."""
    settings = config if isinstance(config, Scope) else load_settings(config, environ={})
    return Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
