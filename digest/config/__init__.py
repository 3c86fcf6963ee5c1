"""Scope: config/digest.toml plus the environment (and a .env file), validated once.

Every problem in the file is collected and reported at once, each with the
file and the key (``config/digest.toml: window.days: must be a positive
integer, got "seven"``). Nothing past this module sees raw TOML: the rest of
the program gets frozen values: the :class:`Installation` (store, transport, server, secrets) and each newsletter's
:class:`Publication` (the first from config/digest.toml, each further one from config/newsletters/SLUG.toml:
``newsletters.py``), side by side in a :class:`Scope` for a command.

Relative paths in the file are resolved against ``root``, itself relative to
the file's folder (the shipped file says ``root = ".."``, the project folder).
The file is ``config/digest.toml`` here or in the nearest folder above
(:func:`find_config`). With no file at all, the embedded defaults below apply,
rooted at the working directory: only for a run given all it reads (``build
--source``); every other command refuses (:mod:`digest.app.session`).

Beside the reader (``reader.py``, each section in a module of its own: it names them; ``table.py`` reads one
TOML table, keeping every problem with its key), the values (``schema.py``)
and the checks of single values (``validators.py``): ``keys.py`` loads the DKIM keys, ``editions.py`` reads a newsletter's editions (its rhythms),
``kinds.py`` the kinds of source (one table: names, file endings, the guess),
``labelled.py`` reads the starting set of labelled posts, ``hosts.py`` says where hosts are (this machine or not),
``alignment.py`` holds DMARC's alignment rule (organisational domains by the
bundled Public Suffix List), ``extras.py`` the command that installs an extra.
"""

from __future__ import annotations

from digest.config.hosts import is_loopback, leaves_machine, link_problem, smtp_hosts, split_nameserver
from digest.config.kinds import FIRST_PARTY_KINDS, KIND_NAMES, SOURCE_KINDS, SourceKind, detect_kind, source_kind
from digest.config.reader import accepted_keys, find_config, load_config, load_settings
from digest.config.rhythm import DEFAULT_CAP, DEFAULT_EDITION, Edition, SlotRule, WindowRule
from digest.config.schema import (
    DEFAULT_CONFIG,
    DEFAULT_CRON,
    DEFAULT_PORTS,
    DEFAULT_USER_AGENT,
    WEEKDAYS,
    BounceOptions,
    Config,
    DeliveryOptions,
    FeedFetch,
    Installation,
    MeaningOptions,
    Publication,
    Relay,
    ScheduleOptions,
    Scope,
    SelectionRules,
    SmtpOptions,
    SourceSpec,
    Theme,
    ThrottleOptions,
    WarmupOptions,
    is_url,
    newsletter_slug,
    theme_key,
)
from digest.config.secret_key import missing_secret
from digest.config.sourcing import parse_source_spec
from digest.models.errors import ConfigError

__all__ = [
    "DEFAULT_CAP",
    "DEFAULT_CONFIG",
    "DEFAULT_CRON",
    "DEFAULT_EDITION",
    "DEFAULT_PORTS",
    "DEFAULT_USER_AGENT",
    "FIRST_PARTY_KINDS",
    "KIND_NAMES",
    "SOURCE_KINDS",
    "WEEKDAYS",
    "BounceOptions",
    "Config",
    "ConfigError",
    "DeliveryOptions",
    "Edition",
    "FeedFetch",
    "Installation",
    "MeaningOptions",
    "Publication",
    "Relay",
    "ScheduleOptions",
    "Scope",
    "SelectionRules",
    "SlotRule",
    "SmtpOptions",
    "SourceKind",
    "SourceSpec",
    "Theme",
    "ThrottleOptions",
    "WarmupOptions",
    "WindowRule",
    "accepted_keys",
    "detect_kind",
    "find_config",
    "is_loopback",
    "is_url",
    "leaves_machine",
    "link_problem",
    "load_config",
    "load_settings",
    "missing_secret",
    "newsletter_slug",
    "parse_source_spec",
    "smtp_hosts",
    "source_kind",
    "split_nameserver",
    "theme_key",
]
