"""Reading config/digest.toml and the environment into a :class:`~digest.config.schema.Config`, the
:class:`~digest.config.schema.Installation` and its newsletters (:class:`~digest.config.schema.Publication`: the
file's [newsletter] and the sections about it, the file keeping its shape; then one per config/newsletters/SLUG.toml,
read by ``newsletters.py``): the file found
and parsed, each section read by its own module (every problem collected by a :class:`~digest.config.table.TableReader`
with its file and key), what no section judges alone checked, then every problem reported at once as one ConfigError.

The sections' modules: ``newsletter.py`` ([newsletter], [window], [selection], [output], [editorial], [tracking],
[schedule]), ``editions.py`` ([editions.NAME]), ``themes.py`` ([[themes]], [grouping]), ``sourcing.py`` ([[sources]], [feeds]), ``server.py`` ([store],
[subscribe], [serve]), ``transport.py`` ([delivery], [smtp], [bounces]) and ``dkim.py`` ([dkim])."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from digest.config.dkim import read_dkim
from digest.config.editions import read_editions, with_default_edition
from digest.config.newsletter import read_editorial, read_newsletter, read_output, read_schedule, read_selection, read_tracking, read_window
from digest.config.newsletters import check_newsletters, newsletter_files, read_newsletter_file
from digest.config.schema import (
    DEFAULT_CONFIG,
    INSTALLATION_FIELDS,
    PUBLICATION_FIELDS,
    BounceOptions,
    Config,
    DeliveryOptions,
    Installation,
    Publication,
    Relay,
    Scope,
    SmtpOptions,
    newsletter_slug,
)
from digest.config.secret_key import secret_key_verdict
from digest.config.server import absolute_sqlite, read_doctor, read_retention, read_store, read_subscribe_and_serve
from digest.config.sourcing import read_feeds, read_sources
from digest.config.table import TableReader
from digest.config.themes import read_grouping, read_themes, starting_set, unique_theme_keys
from digest.config.transport import read_bounces, read_delivery, read_smtp
from digest.models.errors import ConfigError


def load_settings(path: Path | str | None = None, environ: Mapping[str, str] | None = None) -> Scope:
    """The installation and its one newsletter (:func:`load_config`): what a command works on while an install
    holds one newsletter."""
    return load_config(path, environ).scope()


def load_config(path: Path | str | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Load and validate the configuration.

    ``path`` (else ``DIGEST_CONFIG``, else ``config/digest.toml`` here or in
    a folder above: :func:`find_config`) names the file; with none, the embedded
    defaults apply. The environment, and a ``.env`` file in the project root
    beneath it, supply secrets and overrides. Raises :class:`ConfigError`
    listing every problem found.
    """
    env = dict(os.environ if environ is None else environ)
    explicit = path if path is not None else env.get("DIGEST_CONFIG")
    config_path = Path(explicit) if explicit else find_config()
    data: dict[str, object] = {}
    if config_path is not None:
        try:
            data = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError([f"{config_path}: no such config file"]) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError([f"{config_path}: cannot read: {exc}"]) from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([f"{config_path}: not valid TOML: {exc}"]) from exc
    file = str(config_path) if config_path is not None else "(embedded defaults)"
    return _config(data, file, config_path, env)


def find_config() -> Path | None:
    """``config/digest.toml`` in the current folder or the nearest folder above that has one (as git finds its
    repository), so a command run from ``content/posts/`` acts on its newsletter; None when there is none.

    The walk up stops at a folder another user owns (``/tmp``, ``/home``): a config planted there would choose
    the relay, the store and the sources while the secrets come from this user's environment (git's
    safe.directory rule, CVE-2022-24765). The current folder is the person's own choice and is always read."""
    if DEFAULT_CONFIG.is_file():
        return DEFAULT_CONFIG  # relative, as people type it: hints then need no --config
    me = os.getuid() if hasattr(os, "getuid") else None
    for folder in Path.cwd().parents:
        found = folder / DEFAULT_CONFIG
        # The folder, the config folder in it and the file must all be this user's: /tmp is root's, and a
        # config/digest.toml someone else made there is theirs.
        chain = (folder, found.parent, found) if found.is_file() else (folder,)
        if me is not None and not all(_owned_by(path, me) for path in chain):
            return None
        if found.is_file():
            return found
    return None


def _owned_by(path: Path, uid: int) -> bool:
    try:
        return path.stat().st_uid == uid
    except OSError:
        return False


def accepted_keys() -> set[str]:
    """Every key the loader reads, dotted (``newsletter.timezone``, ``sources.location``): what a shipped config documents."""
    known: set[str] = set()
    # One edition stands for all: each [editions.NAME] reads the same keys, documented under [editions.weekly].
    _config({"sources": [{"location": "x"}], "themes": [{"name": "x"}], "editions": {"weekly": {}}}, "(keys)", None, {}, known)
    return known


def _with_dotenv(dotenv_path: Path, env: dict[str, str], warnings: list[str]) -> dict[str, str]:
    """``env`` over the variables of ``.env`` when there is one. The real environment wins, as python-dotenv's
    load_dotenv does by default; said when they differ (a key exported in a shell beat the one `digest init` wrote,
    and every signed link then looked forged), naming the variable, never its values."""
    if not dotenv_path.is_file():
        return env
    dotenv = {k: v for k, v in dotenv_values(dotenv_path).items() if v is not None}
    warnings += [
        f"{key} is set in the environment and, differently, in {dotenv_path}: the environment's is used"
        for key in sorted(dotenv)
        if key in env and env[key] != dotenv[key]
    ]
    return {**dotenv, **env}


def _config(data: Mapping[str, object], file: str, config_path: Path | None, env: dict[str, str], known: set[str] | None = None) -> Config:
    problems: list[str] = []
    top = TableReader(file, problems, data, known=known)

    base = config_path.parent if config_path is not None else Path.cwd()
    root = (base / top.get("root", str, ".")).resolve()
    warnings: list[str] = []
    env = _with_dotenv(root / ".env", env, warnings)
    # Each section is read into the fields it sets, of either part (every problem recorded on the way), in file order.
    news = read_newsletter(top, env, warnings)
    fields: dict[str, Any] = {
        **news,
        "window": read_window(top),
        "selection": read_selection(top),
        "sources": read_sources(top),
        "themes": read_themes(top),
        **read_grouping(top, root, base, news["language"]),
        **read_output(top, root),
        **read_subscribe_and_serve(top, env),
        "clicks": read_tracking(top),
        **read_editorial(top, root),
        **read_feeds(top, root),
        "database_url": absolute_sqlite(read_store(top, env), root),
        "nameservers": read_doctor(top, env),
        "retention": read_retention(top),
    }
    unique_theme_keys(top, fields["themes"], fields["fallback_theme"], fields["fallback_key"])
    fields["meaning"] = starting_set(fields, problems)
    delivery, delivery_list_id = read_delivery(top, env, root)
    if delivery_list_id and fields["configured_list_id"] and delivery_list_id != fields["configured_list_id"]:
        top.fail("newsletter.list_id", f'differs from delivery.list_id ("{delivery_list_id}"): keep one of them')
    fields["configured_list_id"] = fields["configured_list_id"] or delivery_list_id
    smtp, relays, relay_cooldown = read_smtp(top, env, root)
    bounces = read_bounces(top, env, root)
    _cross_checks(top, file, delivery, smtp, relays, bounces, fields["database_url"])
    schedule = read_schedule(top)
    fields["editions"] = read_editions(top, schedule, fields["window"])
    schedule, fields["window"] = with_default_edition(schedule, fields["window"], fields["editions"])
    dkim = read_dkim(top, root, news["sender"], warnings)
    top.finish()
    fields["source"] = config_path
    fields["slug_given"] = bool(fields["slug"])
    if not fields["slug"]:
        fields["slug"] = newsletter_slug(fields["name"])
    further = _further(config_path, file, root, fields, env, problems, warnings)
    check_newsletters([fields, *further], file, relays, problems)

    secret_key = env.get("DIGEST_SECRET_KEY") or None
    if secret_key is not None:
        refused, weak = secret_key_verdict(secret_key)
        problems.extend([refused] if refused else [])
        warnings.extend([weak] if weak else [])
    if problems:
        raise ConfigError(problems)
    fields |= {
        "config_path": config_path,
        "root": root,
        "secret_key": secret_key,
        "metrics_token": env.get("DIGEST_METRICS_TOKEN") or None,
        "delivery": delivery,
        "smtp": smtp,
        "relays": relays,
        "relay_cooldown": relay_cooldown,
        "schedule": schedule,
        "dkim": dkim,
        "bounces": bounces,
        "warnings": tuple(warnings),
    }
    install = Installation(**{key: value for key, value in fields.items() if key in INSTALLATION_FIELDS})
    publications = (Publication(**{key: value for key, value in item.items() if key in PUBLICATION_FIELDS}) for item in (fields, *further))
    return Config(install, tuple(publications))


def _further(
    config_path: Path | None,
    file: str,
    root: Path,
    first: Mapping[str, Any],
    env: Mapping[str, str],
    problems: list[str],
    warnings: list[str],
) -> list[dict[str, Any]]:
    """The fields of each newsletter in config/newsletters/ (:mod:`digest.config.newsletters`), its problems recorded."""
    found = (read_newsletter_file(path, file, root, first, env, problems, warnings) for path in newsletter_files(config_path))
    return [fields for fields in found if fields is not None]


def _cross_checks(
    top: TableReader, file: str, delivery: DeliveryOptions, smtp: SmtpOptions, relays: tuple[Relay, ...], bounces: BounceOptions, url: str
) -> None:
    """What no single section can judge alone."""
    if bounces.address and delivery.unsubscribe_mailto:
        top.problems.append(
            f"{file}: delivery.unsubscribe_mailto: with bounces.address set, each copy's List-Unsubscribe mailto is "
            f"{bounces.unsubscribe_address.replace('@', '+<token>@')}, which digest reads: remove unsubscribe_mailto"
        )
    if delivery.workers_may_join and url.startswith("sqlite"):
        top.problems.append(
            f"{file}: delivery.workers_may_join: several senders on one issue need PostgreSQL (store.url or DATABASE_URL "
            "= postgresql://…); on SQLite one send uses delivery.connections in one process: set it to false"
        )
    if delivery.backend == "smtp" and not smtp.host and not relays:
        top.problems.append(f"{file}: smtp.host: the smtp backend needs a host (or set SMTP_HOST)")
