"""A new newsletter in a folder (``digest init``): its config, two example posts and a templates folder.

The example posts are dated so that the issue ``digest send`` means now has
the welcome post and the one ``digest preview`` shows has the other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from digest.config import DEFAULT_CRON, load_settings, newsletter_slug
from digest.issue.slots import latest_slot
from digest.models import ClickTracking


@dataclass(frozen=True, slots=True)
class NewFile:
    path: Path
    text: str


def config_path(folder: Path) -> Path:
    return folder / "config" / "digest.toml"


def new_newsletter(
    folder: Path, name: str, zone: str, base_url: str, now: datetime, clicks: ClickTracking = ClickTracking.OFF, *, warmup: bool = False
) -> tuple[NewFile, ...]:
    """The files of a new newsletter in ``folder`` (written by the caller, which keeps any that exist); ``warmup``: a new
    sending domain, whose sends start with the warm-up's daily caps ([delivery.warmup])."""
    scaffold = files("digest") / "scaffold"
    toml = (
        scaffold.joinpath("digest.toml")
        .read_text(encoding="utf-8")
        .replace("@NAME@", json.dumps(name, ensure_ascii=False))
        .replace("@SLUG@", json.dumps(newsletter_slug(name)))
        .replace("@TIMEZONE@", json.dumps(zone))
        .replace("@SENDER@", json.dumps(f"{name} <digest@example.org>", ensure_ascii=False))
        .replace('base_url = "http://127.0.0.1:8080"', f"base_url = {json.dumps(base_url)}")
        .replace("@CLICKS@", clicks.value)
        .replace("@WARMUP@", "true" if warmup else "false")
    )
    # The welcome post goes a day before the latest scheduled send, so the issue `digest send` means has it.
    latest = latest_slot(CronTrigger.from_crontab(DEFAULT_CRON, timezone=ZoneInfo(zone)), now)
    welcome_date = (latest - timedelta(days=1)) if latest is not None else now

    def post(template: str, when: datetime) -> str:
        return scaffold.joinpath(template).read_text(encoding="utf-8").replace("@NAME_TEXT@", name).replace("@DATE@", when.isoformat())

    return (
        NewFile(config_path(folder), toml),
        NewFile(folder / "content" / "posts" / "welcome.md", post("welcome.md", welcome_date.astimezone(UTC))),
        NewFile(folder / "content" / "posts" / "coming-up.md", post("coming-up.md", now)),
        NewFile(folder / "templates" / "README.md", "Copy a template from digest/templates/email/ here to override it.\n"),
    )


def check_new_config(folder: Path) -> None:
    """Raises ConfigError if the new config does not load (it always should: this guards an edit of the scaffold)."""
    load_settings(config_path(folder), environ={})
