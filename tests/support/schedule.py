"""A schedule on the fixture project: its config and a slot whose week holds the fixture posts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from conftest import LONDON
from support.project import make_config

SLOT = datetime(2025, 3, 3, 9, 0, tzinfo=LONDON)  # a Monday; the fixture posts are in the week before


def schedule_config(tmp_path: Path, port: int, database: str | None = None, **delivery: object) -> Path:
    config = make_config(tmp_path, port, database=database, **delivery)
    config.write_text(config.read_text() + '\n[schedule]\ncron = "0 9 * * mon"\nmisfire_grace_hours = 6\n', encoding="utf-8")
    return config
