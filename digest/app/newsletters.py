"""An install's newsletters: add one (``digest newsletters add``) and list them with their readers and next slots
(``digest newsletters list``).

A newsletter is data in the config: adding one writes ``config/newsletters/SLUG.toml`` beside config/digest.toml
(:mod:`digest.config.newsletters` reads it), documented, from the scaffold's template, with what it shares with the
first newsletter filled in (language, time zone, address, editors, the schedule), and makes its content folder. It
asks nothing: a name and a slug are all it needs, the rest is the file's to edit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib.resources import files
from pathlib import Path

from digest.app.scheduling import next_run
from digest.config import Config, Publication, Scope, load_config
from digest.config.newsletters import newsletter_folder
from digest.config.schema import theme_key_problem
from digest.models import SubscriberStatus
from digest.models.errors import ConfigError
from digest.models.routes import taken_segments
from digest.store import Store


@dataclass(frozen=True, slots=True)
class Added:
    """What ``newsletters add`` made: the newsletter's file and its content folder (None: it was there already)."""

    slug: str
    config_file: Path
    content: Path | None


def add_newsletter(whole: Config, slug: str, name: str) -> Added:
    """Write ``config/newsletters/SLUG.toml`` for a newsletter called ``name`` and make its ``content/SLUG/``; the
    install's config then loads with it (checked: a file that would not load is taken back). Raises ConfigError
    (the slug is not one, is taken, or the install has no config file to put it beside), with the fix."""
    first = whole.newsletters[0]
    config_path = whole.install.config_path
    if config_path is None:
        raise ConfigError(["no config/digest.toml to add a newsletter beside: run `digest init` first"])
    if (problem := theme_key_problem(slug)) is not None:
        raise ConfigError([f"SLUG: a newsletter's slug {problem}: try {_slugged(slug)}"])
    if slug in taken_segments():  # its pages would default to /SLUG, under the first newsletter's own
        raise ConfigError([f'SLUG: "{slug}" names the first newsletter\'s pages (/{slug}…): choose another slug'])
    target = newsletter_folder(config_path) / f"{slug}.toml"
    if slug in whole.slugs or target.exists():
        where = target if target.exists() else first.source or config_path
        raise ConfigError([f'SLUG: "{slug}" is already a newsletter of this install ({where}): choose another slug, or edit that file'])
    if not name.strip():
        raise ConfigError(["--name: a newsletter needs a name"])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(newsletter_file(first, slug, name.strip()), encoding="utf-8")
    try:
        load_config(config_path)
    except ConfigError:
        target.unlink()  # never leave a file that stops every command
        raise
    content = whole.install.root / "content" / slug
    made = not content.exists()
    content.mkdir(parents=True, exist_ok=True)
    return Added(slug, target, content if made else None)


def newsletter_file(first: Publication, slug: str, name: str) -> str:
    """The text of a new newsletter's file: the scaffold's documented template, filled in."""

    def value(text: object) -> str:
        return json.dumps(text, ensure_ascii=False)

    cron = first.schedule.cron
    fill = {
        "@NAME@": value(name),
        "@SLUG@": slug,
        "@SLUG_TEXT@": value(slug),
        "@ADDRESS@": value(first.address),
        "@EDITORS@": value(list(first.editors)),
        "@LANGUAGE@": value(first.language),
        "@TIMEZONE@": value(str(first.timezone)),
        "@SENDER@": value(f"{name} <{first.sender.addr_spec}>"),
        "@LIST_ID@": value(f"{slug}.{first.sender.domain}"),  # what list_id would derive, pinned
        "@PATH@": value(f"/{slug}"),
        "@SOURCES@": value(f"content/{slug}"),
        "@OUTPUT@": value(f"out/{slug}"),
        "@EDITORIAL@": value(f"content/issues/{slug}"),
        "@CRON@": value(cron),
    }
    text = (files("digest") / "scaffold" / "newsletter.toml").read_text(encoding="utf-8")
    for placeholder, filled in fill.items():
        text = text.replace(placeholder, filled)
    if first.schedule.timezone is not None:
        text = text.replace(
            '# timezone = ""               # default: this newsletter\'s', f"timezone = {value(str(first.schedule.timezone))}"
        )
    return text


def _slugged(slug: str) -> str:
    from digest.config import theme_key

    return f'"{theme_key(slug)}"'


@dataclass(frozen=True, slots=True)
class NewsletterLine:
    """One newsletter as ``newsletters list`` shows it."""

    slug: str
    name: str
    path: str
    config_file: Path | None
    active: int  # subscribers who get its issues
    total: int  # every subscriber row, whatever its status
    next_slot: datetime | None


def newsletter_lines(scopes: tuple[Scope, ...], open_store: Callable[[Scope], Store | None], now: datetime) -> tuple[NewsletterLine, ...]:
    """Each newsletter with its subscriber counts (from its own store scope: ``open_store`` gives None when the
    database is not there yet, counted as none) and its next slot after ``now``."""
    lines = []
    for scope in scopes:
        store = open_store(scope)
        try:
            counts = store.subscribers.counts() if store is not None else dict.fromkeys(SubscriberStatus, 0)
        finally:
            if store is not None:
                store.close()
        newsletter = scope.newsletter
        lines.append(
            NewsletterLine(
                slug=newsletter.slug,
                name=newsletter.name,
                path=newsletter.path,
                config_file=newsletter.source,
                active=counts[SubscriberStatus.ACTIVE],
                total=sum(counts.values()),
                next_slot=next_run(newsletter, now),
            )
        )
    return tuple(lines)


@dataclass(frozen=True, slots=True)
class Unconfigured:
    """A newsletter the database holds rows of that no config names: its file was removed, or its slug changed.
    Nothing of it is lost, and nothing of it is sent, until a config names the slug again."""

    slug: str
    subscriptions: int
    issues: int

    def said(self, config_path: Path | None) -> str:
        """The warning, with the fix: the file to put back beside ``config_path`` (the install's config/digest.toml)."""
        where = newsletter_folder(config_path) / f"{self.slug}.toml" if config_path else f"{self.slug}.toml"
        return (
            f'the database holds newsletter "{self.slug}" ({self.subscriptions} subscription(s), {self.issues} issue(s)) '
            f"that no config names, so its readers get nothing: put back {where}, or set its slug again where it was changed"
        )


def unconfigured(store: Store, slugs: tuple[str, ...]) -> tuple[Unconfigured, ...]:
    """The newsletters of the database whose slug is not in ``slugs`` (the install's config), by slug."""
    return tuple(
        Unconfigured(slug, subscriptions, issues) for slug, (subscriptions, issues) in sorted(store.held().items()) if slug not in slugs
    )
