"""Reading config/digest.toml and the environment into :class:`~digest.config.schema.Settings`: every problem
collected (``_Reader`` records each with its file and key), then reported at once as one ConfigError."""

from __future__ import annotations

import dataclasses
import difflib
import importlib.util
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from datetime import datetime
from email.headerregistry import Address
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from digest.config.extras import install_command
from digest.config.keys import SELECTOR, DkimKey, DkimSigner
from digest.config.labelled import SEED_SUFFIX, read_labelled
from digest.config.schema import (
    DEFAULT_CONFIG,
    DEFAULT_CRON,
    DEFAULT_PORTS,
    DEFAULT_USER_AGENT,
    MEANING_RUNTIME,
    PACKAGED,
    PACKAGED_MODEL,
    SOURCE_KINDS,
    WEEKDAYS,
    BounceOptions,
    DeliveryOptions,
    FeedFetch,
    MeaningOptions,
    Relay,
    ScheduleOptions,
    SelectionRules,
    Settings,
    SmtpOptions,
    SourceSpec,
    T,
    Theme,
    WindowRule,
    detect_kind,
    secret_key_verdict,
    theme_key,
    theme_key_problem,
)
from digest.config.validators import (
    UTC_NAMES,
    check_base_url,
    check_language,
    check_mailbox,
    check_network,
    check_title_format,
    choice,
    database_kind,
    expiry,
    fixed_offset,
    kind_name,
    nonempty,
    positive,
    rate,
    show,
    unit_interval,
)
from digest.errors import ConfigError
from digest.models import ClickTracking, SectionOrder


def parse_source_spec(spec: str, outlet: str | None = None) -> SourceSpec:
    """``[kind:]location``: ``feed:https://…``, ``archive:pages/``, ``content/``."""
    kind, sep, rest = spec.partition(":")
    if sep and kind in SOURCE_KINDS:
        if not rest:
            raise ConfigError([f"source {spec!r}: nothing after {kind}:"])
        return SourceSpec(kind=kind, location=rest, outlet=outlet)
    if not spec.strip():
        raise ConfigError(["source: empty location"])
    return SourceSpec(kind=detect_kind(spec), location=spec, outlet=outlet)


class _Reader:
    """Reads typed values out of one TOML table, collecting problems instead of stopping."""

    def __init__(
        self, file: str, problems: list[str], table: Mapping[str, object], prefix: str = "", known: set[str] | None = None
    ) -> None:
        self.file = file
        self.problems = problems
        self.table = table
        self.prefix = prefix
        self.seen: set[str] = set()
        self.known = known if known is not None else set()  # every key any reader was asked for: what the loader accepts

    def entry(self, table: Mapping[str, object], prefix: str) -> _Reader:
        """A reader for one table of an array (``[[sources]]``), sharing this one's problems and known keys."""
        return _Reader(self.file, self.problems, table, prefix, self.known)

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def fail(self, name: str, message: str) -> None:
        self.problems.append(f"{self.file}: {self.key(name)}: {message}")

    def get(self, name: str, kind: type[T], default: T, check: Callable[[T], str | None] | None = None) -> T:
        self.seen.add(name)
        self.known.add(re.sub(r"\[\d+\]", "", self.key(name)))
        if name not in self.table:
            return default
        value = self.table[name]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.fail(name, f"must be {kind_name(kind)}, got {show(value)}")
            return default
        if check is not None and (message := check(value)) is not None:
            self.fail(name, message)
            return default
        return value

    def strings(self, name: str) -> tuple[str, ...]:
        value = self.get(name, list, [])
        if not all(isinstance(item, str) for item in value):
            self.fail(name, f"must be a list of strings, got {show(value)}")
            return ()
        return tuple(value)

    def sub(self, name: str) -> _Reader:
        table = self.get(name, dict, {})
        return _Reader(self.file, self.problems, table, f"{self.key(name)}.", self.known)

    def finish(self) -> None:
        for name in sorted(set(self.table) - self.seen):
            near = difflib.get_close_matches(name, sorted(self.seen), n=1, cutoff=0.6)
            self.fail(name, f'unknown key (did you mean "{near[0]}"?)' if near else "unknown key")


def load_settings(path: Path | str | None = None, environ: Mapping[str, str] | None = None) -> Settings:
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
    return _settings(data, file, config_path, env)


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
    _settings({"sources": [{"location": "x"}], "themes": [{"name": "x"}]}, "(keys)", None, {}, known)
    return known


def _settings(
    data: Mapping[str, object], file: str, config_path: Path | None, env: dict[str, str], known: set[str] | None = None
) -> Settings:
    problems: list[str] = []
    top = _Reader(file, problems, data, known=known)

    base = config_path.parent if config_path is not None else Path.cwd()
    root = (base / top.get("root", str, ".")).resolve()
    dotenv_path = root / ".env"
    if dotenv_path.is_file():
        # The real environment wins over .env, as python-dotenv's load_dotenv does by default.
        env = {**{k: v for k, v in dotenv_values(dotenv_path).items() if v is not None}, **env}

    warnings: list[str] = []
    # Each section is read into the Settings fields it sets (every problem recorded on the way), in file order.
    news = _newsletter(top, env, warnings)
    fields: dict[str, Any] = {
        **news,
        "window": _window(top),
        "selection": _selection(top),
        "sources": _sources(top),
        "themes": _themes(top),
        **_grouping(top, root, base, news["language"]),
        **_output(top, root),
        **_subscribe_and_serve(top, env),
        "clicks": _tracking(top),
        **_editorial(top, root),
        **_feeds(top, root),
        "database_url": _absolute_sqlite(_store(top, env), root),
    }
    _unique_theme_keys(top, fields["themes"], fields["fallback_theme"], fields["fallback_key"])
    fields["meaning"] = _starting_set(fields, problems)
    delivery = _delivery(top, env, root)
    smtp, relays, relay_cooldown = _smtp(top, env, root)
    bounces = _bounces(top, env, root)
    _cross_checks(top, file, delivery, smtp, relays, bounces, fields["database_url"])
    schedule = _schedule(top)
    dkim = _dkim(top, root, news["sender"], warnings)
    top.finish()

    secret_key = env.get("DIGEST_SECRET_KEY") or None
    if secret_key is not None:
        refused, weak = secret_key_verdict(secret_key)
        problems.extend([refused] if refused else [])
        warnings.extend([weak] if weak else [])
    if problems:
        raise ConfigError(problems)
    return Settings(
        config_path=config_path,
        root=root,
        **fields,
        secret_key=secret_key,
        metrics_token=env.get("DIGEST_METRICS_TOKEN") or None,
        delivery=delivery,
        smtp=smtp,
        relays=relays,
        relay_cooldown=relay_cooldown,
        schedule=schedule,
        dkim=dkim,
        bounces=bounces,
        warnings=tuple(warnings),
    )


def _newsletter(top: _Reader, env: Mapping[str, str], warnings: list[str]) -> dict[str, Any]:
    news = top.sub("newsletter")
    name = news.get("name", str, "Newsletter", nonempty)
    found = {
        "name": name,
        "title_format": news.get("title", str, "{name} Weekly Digest – {date}", check_title_format),
        "preheader": news.get("preheader", str, ""),
        "address": " ".join(news.get("address", str, "").split()),
        "editors": _addresses(news, "editors"),
        "language": news.get("language", str, "en", check_language),
        "timezone": _zone(news, env.get("DIGEST_TIMEZONE"), warnings),
        "sender": _sender(news, name),
        "base_url": news.get("base_url", str, "http://127.0.0.1:8080", check_base_url).rstrip("/"),
        "archive_url": news.get("archive_url", str, "", lambda v: None if not v else check_base_url(v)).rstrip("/"),
    }
    news.finish()
    return found


def _window(top: _Reader) -> WindowRule:
    win = top.sub("window")
    mode = win.get(
        "mode", str, "days", lambda v: None if v in ("days", "week", "since-last") else f'must be "days", "week" or "since-last", got "{v}"'
    )
    days = win.get("days", int, 7, positive)
    week_starts = win.get("week_starts", str, "monday", lambda v: None if v.lower() in WEEKDAYS else f'must be a weekday name, got "{v}"')
    win.finish()
    return WindowRule(mode=mode, days=days, week_starts=WEEKDAYS.index(week_starts.lower()))  # type: ignore[arg-type]


def _selection(top: _Reader) -> SelectionRules:
    sel = top.sub("selection")
    patterns: list[re.Pattern[str]] = []
    for index, pattern in enumerate(sel.strings("exclude_titles")):
        try:
            patterns.append(re.compile(pattern, re.IGNORECASE))
        except re.error as exc:
            sel.fail(f"exclude_titles[{index}]", f"not a valid regular expression: {exc}")
    selection = SelectionRules(
        exclude_titles=tuple(patterns),
        exclude_outlets=tuple(o.casefold() for o in sel.strings("exclude_outlets")),
        exclude_tags=tuple(t.casefold() for t in sel.strings("exclude_tags")),
    )
    sel.finish()
    return selection


def _grouping(top: _Reader, root: Path, base: Path, language: str) -> dict[str, Any]:
    """[grouping]; the model's folder is relative to ``root``, the examples file to the config file's folder ``base``."""
    grouping = top.sub("grouping")
    found = {
        "fallback_theme": grouping.get("fallback", str, "More this week", nonempty),
        "fallback_key": grouping.get("fallback_key", str, "", theme_key_problem),
        "fallback_description": grouping.get("fallback_description", str, ""),
        "meaning": _meaning(grouping, root, language),
        "examples_file": _examples_file(grouping, base),
        "section_order": SectionOrder(grouping.get("order", str, SectionOrder.CONFIG.value, choice(tuple(o.value for o in SectionOrder)))),
    }
    grouping.finish()
    return found


def _examples_file(grouping: _Reader, base: Path) -> Path | None:
    """[grouping] examples_file: the starting set's file, relative to the config file (read once the themes are known)."""
    name = grouping.get("examples_file", str, "")
    if not name:
        return None
    path = (base / Path(name).expanduser()).resolve()
    if not path.is_file():
        grouping.fail("examples_file", f'{path} is not a file (a path relative to the config file, e.g. "labelled-posts.txt")')
        return None
    return path


def _starting_set(fields: dict[str, Any], problems: list[str]) -> MeaningOptions:
    """The meaning options with the starting set read from [grouping] examples_file, each bad line a problem."""
    meaning: MeaningOptions = fields["meaning"]
    path: Path | None = fields.pop("examples_file")
    if path is None:
        return meaning
    starting, bad = read_labelled(
        path, fields["themes"], fields["fallback_theme"], fields["fallback_key"] or theme_key(fields["fallback_theme"])
    )
    problems.extend(f"grouping.examples_file: {problem}" for problem in bad)
    seed = path.with_name(f"{path.stem}{SEED_SUFFIX}")
    return dataclasses.replace(meaning, starting=starting, examples_file=path, seed=seed if seed.is_file() else None)


def _meaning(grouping: _Reader, root: Path, language: str) -> MeaningOptions:
    enabled = grouping.get("meaning", str, "off", choice(("on", "off"))) == "on"
    model = grouping.get("model", str, PACKAGED, nonempty)
    threshold = grouping.get("threshold", float, 0.15, unit_interval)
    fallback_examples = tuple(e.strip() for e in grouping.strings("fallback_examples") if e.strip())
    if model != PACKAGED:
        model = _model_folder(grouping, "model", model, root, enabled)
    multilingual = grouping.get("multilingual_model", str, "")
    if multilingual:
        multilingual = _model_folder(grouping, "multilingual_model", multilingual, root, enabled)
    if enabled:
        needed = MEANING_RUNTIME + (PACKAGED_MODEL if model == PACKAGED else ())
        missing = [name for name in needed if importlib.util.find_spec(name) is None]
        if missing:
            unavailable = (
                f"grouping.meaning is on, but {', '.join(missing)} is not installed: posts are placed by keywords; "
                f"to place them by meaning, install digest's meaning extra: {install_command('meaning')}"
            )
            return MeaningOptions(model=model, threshold=threshold, fallback_examples=fallback_examples, unavailable=unavailable)
    options = MeaningOptions(
        enabled=enabled, model=model, threshold=threshold, fallback_examples=fallback_examples, multilingual=multilingual
    )
    if enabled and not options.reads(language):
        unavailable = (
            f'grouping.meaning is on, but the packaged model reads English and newsletter.language is "{language}": posts '
            "are placed by keywords; set grouping.model to a folder with a multilingual ONNX export (model.onnx and "
            "tokenizer.json of paraphrase-multilingual-MiniLM-L12-v2, say) to place them by meaning"
        )
        return dataclasses.replace(options, enabled=False, unavailable=unavailable)
    return options


def _model_folder(grouping: _Reader, key: str, setting: str, root: Path, enabled: bool) -> str:
    """A model's folder (relative to the root), which must hold an ONNX export when meaning is on."""
    folder = root / Path(setting).expanduser()
    onnx = (folder / "model.onnx").is_file() or (folder / "onnx" / "model.onnx").is_file()
    if enabled and not (onnx and (folder / "tokenizer.json").is_file()):
        grouping.fail(key, f"{folder} needs model.onnx (or onnx/model.onnx) and tokenizer.json")
    return str(folder)


def _output(top: _Reader, root: Path) -> dict[str, Any]:
    out = top.sub("output")
    output_dir = out.get("dir", str, "out", nonempty)
    templates = out.get("templates", str, "")
    found = {
        "output_dir": root / output_dir,
        "templates_dir": (root / templates) if templates else None,
        "excerpt_words": out.get("excerpt_words", int, 60, positive),
        "images": out.get("images", str, "thumbnail", choice(("thumbnail", "none"))),
    }
    out.finish()
    return found


def _subscribe_and_serve(top: _Reader, env: Mapping[str, str]) -> dict[str, Any]:
    signup = top.sub("subscribe")
    confirm_hours = signup.get(
        "confirm_hours", float, 48.0, lambda v: None if 0 < v <= 24 * 30 else f"must be more than 0 and at most 720, got {v}"
    )
    signup.finish()
    serving = top.sub("serve")
    trusted_proxies = serving.strings("trusted_proxies")
    for index, network in enumerate(trusted_proxies):
        if (problem := check_network(network)) is not None:
            serving.fail(f"trusted_proxies[{index}]", problem)
    if env.get("DIGEST_TRUSTED_PROXIES"):  # for containers: comma-separated, replaces the file's list
        trusted_proxies = tuple(part.strip() for part in env["DIGEST_TRUSTED_PROXIES"].split(",") if part.strip())
        for network in trusted_proxies:
            if (problem := check_network(network)) is not None:
                serving.problems.append(f"environment: DIGEST_TRUSTED_PROXIES: {problem}")
    header_timeout = serving.get(
        "header_timeout", float, 10.0, lambda v: None if 0 < v <= 300 else f"must be more than 0 and at most 300 (seconds), got {v}"
    )
    per_client = serving.get("max_connections_per_client", int, 32, positive)  # how many the process can take: checked at start
    serving.finish()
    return {
        "confirm_hours": confirm_hours,
        "trusted_proxies": trusted_proxies,
        "header_timeout": header_timeout,
        "max_connections_per_client": per_client,
    }


def _tracking(top: _Reader) -> ClickTracking:
    tracking = top.sub("tracking")
    clicks = ClickTracking(tracking.get("clicks", str, ClickTracking.OFF.value, choice(tuple(kind.value for kind in ClickTracking))))
    tracking.finish()
    return clicks


def _editorial(top: _Reader, root: Path) -> dict[str, Any]:
    editorial = top.sub("editorial")
    editorial_dir = editorial.get("dir", str, "content/issues", nonempty)
    editorial.finish()
    return {"editorial_dir": root / editorial_dir}


def _feeds(top: _Reader, root: Path) -> dict[str, Any]:
    feeds = top.sub("feeds")
    feed = FeedFetch(
        timeout=feeds.get("timeout", float, 10.0, positive),
        max_bytes=feeds.get("max_bytes", int, 5_000_000, positive),
        user_agent=feeds.get("user_agent", str, DEFAULT_USER_AGENT, nonempty),
        allow_private=feeds.get("allow_private", bool, False),
    )
    cache_dir = feeds.get("cache_dir", str, ".digest-cache", nonempty)
    feeds.finish()
    return {"feed": feed, "cache_dir": root / cache_dir}


def _store(top: _Reader, env: Mapping[str, str]) -> str:
    store = top.sub("store")
    # The file's value is always read (and checked), then the environment may override it.
    database_url = store.get("url", str, "sqlite:///digest.sqlite", database_kind)
    if env.get("DATABASE_URL"):
        database_url = env["DATABASE_URL"]
        if (problem := database_kind(database_url)) is not None:
            store.problems.append(f"environment: DATABASE_URL: {problem}")
    store.finish()
    return database_url


def _cross_checks(
    top: _Reader, file: str, delivery: DeliveryOptions, smtp: SmtpOptions, relays: tuple[Relay, ...], bounces: BounceOptions, url: str
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


def _bounces(top: _Reader, env: Mapping[str, str], root: Path) -> BounceOptions:
    reader = top.sub("bounces")

    def plain_mailbox(value: str) -> str | None:
        problem = check_mailbox(value)
        if problem is None and value and "+" in value.partition("@")[0]:
            problem = 'must not contain "+": digest adds "+<token>" to it'
        return problem

    address = reader.get("address", str, "", plain_mailbox)
    unsubscribe = reader.get("unsubscribe_address", str, "", plain_mailbox)
    if unsubscribe and not address:
        reader.fail("unsubscribe_address", "needs bounces.address: both are read by `digest bounces`")
    options = BounceOptions(
        address=address,
        unsubscribe_address=unsubscribe or (f"unsubscribe@{address.partition('@')[2]}" if address else ""),
        soft_limit=reader.get("soft_limit", int, 3, positive),
        soft_days=reader.get("soft_days", float, 30.0, positive),
        poll_minutes=reader.get("poll_minutes", float, 15.0, lambda v: None if v >= 1 else f"must be at least 1, got {v}"),
        imap_host=env.get("IMAP_HOST", ""),
        imap_port=int(port) if (port := env.get("IMAP_PORT", "")).isdigit() and 0 < int(port) < 65536 else 993,
        imap_username=env.get("IMAP_USERNAME") or None,
        imap_password=env.get("IMAP_PASSWORD") or None,
        imap_folder=reader.get("imap_folder", str, "INBOX", nonempty),
        imap_ca_file=(root / ca) if (ca := reader.get("imap_ca_file", str, "")) else None,
        piped=reader.get("piped", bool, False),
    )
    if env.get("IMAP_PORT") and options.imap_port == 993 and env.get("IMAP_PORT") != "993":
        reader.problems.append(f'environment: IMAP_PORT: must be a port number, got "{env.get("IMAP_PORT")}"')
    if options.imap_host and not (options.imap_username and options.imap_password):
        reader.problems.append("environment: IMAP_HOST is set but IMAP_USERNAME or IMAP_PASSWORD is not: the mailbox cannot be read")
    reader.finish()
    return options


def _dkim(top: _Reader, root: Path, sender: Address, warnings: list[str]) -> DkimSigner | None:
    """[dkim]: the keys are loaded here, so a missing or unreadable one stops the program at start, not mid-send."""
    from digest.config.alignment import aligned, organisational_domain
    from digest.config.keys import DEFAULT_HEADERS

    reader = top.sub("dkim")
    domain = reader.get("domain", str, sender.domain, lambda v: None if SELECTOR.fullmatch(v) else f'must be a domain name, got "{v}"')
    keys = [key for prefix in ("", "ed25519_") if (key := _dkim_key(reader, root, domain, prefix)) is not None]
    headers = tuple(name.lower() for name in reader.strings("headers")) or DEFAULT_HEADERS
    if "from" not in headers:
        reader.fail("headers", 'must include "from": a signature that does not cover From counts for nothing (RFC 6376 5.4)')
    reader.finish()
    if keys and not aligned(domain, sender.domain):
        warnings.append(
            f"dkim.domain {domain} is not in the sender's organisational domain ({organisational_domain(sender.domain)}, "
            f"of {sender.domain}): the signature will not align with the From address, and DMARC will not count it"
        )
    return DkimSigner(tuple(keys), headers) if keys else None


def _dkim_key(reader: _Reader, root: Path, domain: str, prefix: str) -> DkimKey | None:
    """The key of ``[dkim] {prefix}selector`` and ``{prefix}key_file`` (the second, ``ed25519_``, must be Ed25519);
    None when it is not configured or, with the problem recorded, cannot be used."""
    from digest.config.keys import load_key
    from digest.errors import DkimKeyError

    selector = reader.get(
        f"{prefix}selector", str, "", lambda v: None if not v or SELECTOR.fullmatch(v) else f'must be a DNS label, got "{v}"'
    )
    key_file = reader.get(f"{prefix}key_file", str, "")
    if not selector and not key_file and (prefix or not reader.table):
        return None  # no [dkim], or no second key: one signature
    if not selector or not key_file:
        reader.fail(f"{prefix}selector" if not selector else f"{prefix}key_file", "is needed to sign (set both selector and key_file)")
        return None
    try:
        key = load_key(root / key_file, domain=domain, selector=selector)
    except DkimKeyError as exc:
        reader.fail(f"{prefix}key_file", str(exc))
        return None
    if prefix and key.algorithm != "ed25519-sha256":
        reader.fail(f"{prefix}key_file", "must hold an Ed25519 key (the second, RFC 8463 signature)")
        return None
    return key


def _absolute_sqlite(url: str, root: Path) -> str:
    """A relative SQLite path is relative to the project root, not to wherever the command runs."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str(root / url[len(prefix) :])
    return url


def _env_override(reader: _Reader, env: Mapping[str, str], variable: str, check: Callable[[str], str | None]) -> str | None:
    value = env.get(variable)
    if value is None or value == "":
        return None
    if (message := check(value)) is not None:
        reader.problems.append(f"environment: {variable}: {message}")
        return None
    return value


def _delivery(top: _Reader, env: Mapping[str, str], root: Path) -> DeliveryOptions:
    reader = top.sub("delivery")
    backends = ("smtp", "outbox", "console", "memory")
    configured = reader.get("backend", str, "", choice(backends))
    backend = _env_override(reader, env, "DIGEST_BACKEND", choice(backends)) or configured
    if not backend:
        # The embedded default: real SMTP only when a host is configured, else the local outbox.
        smtp_table = top.table.get("smtp", {})
        has_host = bool(env.get("SMTP_HOST")) or (isinstance(smtp_table, dict) and bool(smtp_table.get("host") or smtp_table.get("relays")))
        backend = "smtp" if has_host else "outbox"
    options = DeliveryOptions(
        backend=backend,  # type: ignore[arg-type]
        outbox_dir=root / reader.get("outbox_dir", str, "outbox", nonempty),
        connections=reader.get("connections", int, 4, positive),
        max_per_connection=reader.get("max_per_connection", int, 200, positive),
        rate=reader.get("rate", float, 0.0, rate),
        max_attempts=reader.get("max_attempts", int, 5, positive),
        retry_base=reader.get("retry_base", float, 60.0, positive),
        max_wait=reader.get("max_wait", float, 900.0, lambda v: None if v >= 0 else f"must be 0 or more, got {v}"),
        lease_seconds=reader.get("lease_seconds", float, 60.0, expiry),
        breaker=reader.get("breaker", int, 20, positive),
        workers_may_join=reader.get("workers_may_join", bool, False),
        claim_timeout=reader.get("claim_timeout", float, 30.0, expiry),
        list_id=reader.get(
            "list_id",
            str,
            "",
            lambda v: None if re.fullmatch(r"[A-Za-z0-9.-]*", v) else f'must be a dot-atom like "news.example.org", got "{v}"',
        ),
        unsubscribe_mailto=reader.get("unsubscribe_mailto", str, "", check_mailbox),
    )
    reader.finish()
    return options


def _smtp(top: _Reader, env: Mapping[str, str], root: Path) -> tuple[SmtpOptions, tuple[Relay, ...], float]:
    reader = top.sub("smtp")
    # The file's values are always read (and checked); the environment may then override them.
    host = reader.get("host", str, "")
    host = _env_override(reader, env, "SMTP_HOST", nonempty) or host
    port = reader.get("port", int, 0, lambda v: None if 0 < v < 65536 else f"must be a port number, got {v}")
    raw_port = _env_override(
        reader, env, "SMTP_PORT", lambda v: None if v.isdigit() and 0 < int(v) < 65536 else f'must be a port number, got "{v}"'
    )
    if raw_port is not None:
        port = int(raw_port)
    securities = ("starttls", "ssl", "none")
    security = reader.get("security", str, "starttls", choice(securities))
    security = _env_override(reader, env, "SMTP_SECURITY", choice(securities)) or security
    ca_file = reader.get("ca_file", str, "")
    options = SmtpOptions(
        host=host,
        port=port or DEFAULT_PORTS[security],
        security=security,  # type: ignore[arg-type]
        timeout=reader.get("timeout", float, 30.0, positive),
        username=env.get("SMTP_USERNAME") or None,
        password=env.get("SMTP_PASSWORD") or None,
        allow_plain_auth=reader.get("allow_plain_auth", bool, False),
        ca_file=(root / ca_file) if ca_file else None,
        local_hostname=reader.get("local_hostname", str, "") or None,
        pipelining=reader.get("pipelining", bool, True),
    )
    for secret in ("username", "password"):
        if secret in reader.table:
            reader.fail(secret, f"secrets are read only from the environment (SMTP_{secret.upper()}) or .env, never from the config file")
            reader.seen.add(secret)
    cooldown = reader.get("cooldown", float, 60.0, positive)
    relays = _relays(reader, options, env)
    reader.finish()
    return options, relays, cooldown


def _relays(smtp: _Reader, shared: SmtpOptions, env: Mapping[str, str]) -> tuple[Relay, ...]:
    """[[smtp.relays]]: each a host, port, security, weight and rate; the rest of [smtp] shared.

    Credentials: SMTP_USERNAME_<NAME> and SMTP_PASSWORD_<NAME> for the relay
    named so (upper case, "-" as "_"), else SMTP_USERNAME and SMTP_PASSWORD.
    """
    smtp.seen.add("relays")
    raw = smtp.table.get("relays", [])
    if not isinstance(raw, list) or not all(isinstance(entry, dict) for entry in raw):
        smtp.fail("relays", "must be an array of tables ([[smtp.relays]])")
        return ()
    relays: list[Relay] = []
    for index, entry in enumerate(raw):
        reader = smtp.entry(entry, f"{smtp.key('relays')}[{index}].")
        host = reader.get("host", str, "", nonempty)
        name = reader.get(
            "name",
            str,
            host or f"relay{index + 1}",
            lambda v: None if re.fullmatch(r"[A-Za-z0-9_.-]+", v) else f'must be letters, digits, ".", "-" or "_", got "{v}"',
        )
        security = reader.get("security", str, shared.security, choice(("starttls", "ssl", "none")))
        port = reader.get("port", int, 0, lambda v: None if 0 < v < 65536 else f"must be a port number, got {v}")
        suffix = re.sub(r"[^A-Z0-9]", "_", name.upper())
        options = dataclasses.replace(
            shared,
            host=host,
            port=port or DEFAULT_PORTS[security],
            security=security,  # type: ignore[arg-type]
            username=env.get(f"SMTP_USERNAME_{suffix}") or shared.username,
            password=env.get(f"SMTP_PASSWORD_{suffix}") or shared.password,
        )
        relays.append(
            Relay(
                name=name,
                options=options,
                weight=reader.get("weight", int, 1, positive),
                rate=reader.get("rate", float, 0.0, rate),
            )
        )
        reader.finish()
    if len({relay.name for relay in relays}) < len(relays):
        smtp.fail("relays", "each relay needs a name of its own (name = …)")
    return tuple(relays)


def _zone(news: _Reader, override: str | None, warnings: list[str]) -> ZoneInfo:
    """The newsletter's time zone; from DIGEST_TIMEZONE (named as such in a message) when set."""
    name = news.get("timezone", str, "UTC")
    where = f"{news.file}: {news.key('timezone')}"
    if override:
        name, where = override, "environment: DIGEST_TIMEZONE"
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        news.problems.append(f'{where}: unknown time zone "{name}" (use an IANA name like "Europe/London")')
        return ZoneInfo("UTC")
    if name.upper() not in UTC_NAMES and fixed_offset(zone):
        offset = datetime(2026, 1, 1, tzinfo=zone).strftime("%z")
        warnings.append(
            f'{where}: "{name}" is a fixed offset (UTC{offset[:3]}:{offset[3:]} all year, no daylight saving); '
            'for local time use a place name like "America/New_York" or "Europe/London"'
        )
    return zone


def _sender(news: _Reader, name: str) -> Address:
    raw = news.get("sender", str, f"{name} <digest@localhost>")
    display, addr = parseaddr(raw)
    user, at, domain = addr.rpartition("@")
    if not at or not user or not domain or any(c in raw for c in "\r\n"):
        news.fail("sender", f'must be an address like "Name <digest@example.org>", got "{raw}"')
        return Address(name, "digest", "localhost")
    return Address(display or name, user, domain)


def _sources(top: _Reader) -> tuple[SourceSpec, ...]:
    top.seen.add("sources")
    raw = top.table.get("sources", [])
    if not isinstance(raw, list):
        top.fail("sources", "must be an array of tables ([[sources]])")
        return ()
    specs: list[SourceSpec] = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            top.fail(f"sources[{index}]", "must be a table with a location")
            continue
        reader = top.entry(entry, f"sources[{index}].")
        location = reader.get("location", str, "", nonempty)
        kind = reader.get("kind", str, "", lambda v: None if v in SOURCE_KINDS else f'must be one of {", ".join(SOURCE_KINDS)}, got "{v}"')
        outlet = reader.get("outlet", str, "") or None
        reader.finish()
        if "location" not in entry:
            reader.fail("location", "missing")
        if location:
            specs.append(SourceSpec(kind=kind or detect_kind(location), location=location, outlet=outlet))  # type: ignore[arg-type]
    return tuple(specs)


def _themes(top: _Reader) -> tuple[Theme, ...]:
    top.seen.add("themes")
    raw = top.table.get("themes", [])
    if not isinstance(raw, list):
        top.fail("themes", "must be an array of tables ([[themes]])")
        return ()
    themes: list[Theme] = []
    names: set[str] = set()
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            top.fail(f"themes[{index}]", "must be a table with a name")
            continue
        reader = top.entry(entry, f"themes[{index}].")
        name = reader.get("name", str, "", nonempty)
        if "name" not in entry:
            reader.fail("name", "missing")
        elif name.casefold() in names:
            reader.fail("name", f'"{name}" is defined twice')
        names.add(name.casefold())
        theme = Theme(
            name=name,
            key=reader.get("key", str, "", theme_key_problem),
            description=reader.get("description", str, ""),
            keywords=tuple(k for k in reader.strings("keywords") if k.strip()),
            tags=tuple(t.casefold() for t in reader.strings("tags")),
            examples=tuple(e.strip() for e in reader.strings("examples") if e.strip()),
        )
        reader.finish()
        if name:
            themes.append(theme)
    return tuple(themes)


def _unique_theme_keys(top: _Reader, themes: tuple[Theme, ...], fallback: str, fallback_key: str) -> None:
    """Two themes with one key would share their readers: refused, naming both and how to part them."""
    owners: dict[str, str] = {}  # key → the name of the first theme with it
    for where, name, key, derived in (
        *((f"themes[{index}].key", theme.name, theme.key, theme.derived_key) for index, theme in enumerate(themes)),
        ("grouping.fallback_key", fallback, fallback_key or theme_key(fallback), not fallback_key),
    ):
        owner = owners.get(key)
        if owner is None:
            owners[key] = name
            continue
        if derived and owner.casefold() == name.casefold() and where.startswith("themes["):
            continue  # a theme's name defined twice: reported as such
        how = f' (derived from the name "{name}")' if derived else ""
        top.fail(where, f'"{key}"{how} is already the key of "{owner}": give one of them a key of its own')


def _addresses(reader: _Reader, name: str) -> tuple[str, ...]:
    """A list of email addresses, each checked as subscriber addresses are."""
    from digest.subscribers.addresses import normalise_address

    found = []
    for raw in reader.strings(name):
        try:
            found.append(normalise_address(raw))
        except ValueError as exc:
            reader.fail(name, f"{raw!r} is not an address: {exc}")
    return tuple(found)


def _schedule(top: _Reader) -> ScheduleOptions:
    from apscheduler.triggers.cron import CronTrigger

    reader = top.sub("schedule")
    cron = reader.get("cron", str, "")
    fields = {name: reader.get(name, str, "") for name in ("day_of_week", "hour", "minute")}
    zone_name = reader.get("timezone", str, "")
    zone: ZoneInfo | None = None
    if zone_name:
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            reader.fail("timezone", f'unknown time zone "{zone_name}"')
    if cron and any(fields.values()):
        reader.fail("cron", "give either cron or day_of_week/hour/minute, not both")
    elif any(fields.values()):
        cron = f"{fields['minute'] or '0'} {fields['hour'] or '9'} * * {fields['day_of_week'] or 'fri'}"
    cron = cron or DEFAULT_CRON
    try:
        CronTrigger.from_crontab(cron)
    except ValueError as exc:
        reader.fail("cron", f'not a valid crontab expression "{cron}": {exc}')
        cron = DEFAULT_CRON
    hours = reader.get("misfire_grace_hours", float, 6.0, lambda v: None if v >= 0 else f"must be 0 or more, got {v}")
    options = ScheduleOptions(
        cron=cron,
        timezone=zone,
        misfire_grace=hours * 3600,
        min_posts=reader.get("min_posts", int, 1, lambda v: None if v >= 0 else f"must be 0 or more, got {v}"),
        approval=reader.get("approval", str, "none", choice(("none", "required"))),  # type: ignore[arg-type]
        draft_hours=reader.get(
            "draft_hours", float, 24.0, lambda v: None if 0 < v <= 24 * 14 else f"must be more than 0 and at most 336, got {v}"
        ),
        preview_url=reader.get("preview_url", str, "http://127.0.0.1:8000", check_base_url).rstrip("/"),
    )
    reader.finish()
    return options
