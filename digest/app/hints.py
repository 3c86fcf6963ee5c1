"""The command lines digest prints as hints: ``digest [--config PATH] [--newsletter SLUG] ARGS``, complete, doing what
they say (the newsletter named when the install has several).

A module of its own, importing nothing of the app layer, so every use case can word a hint (the CLI's
:func:`digest.cli.common.hint` and the app's own messages alike) without importing the pipeline; and the one
place the use cases' typed answers are turned into options (the use cases themselves word no command line).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from digest.config import DEFAULT_CONFIG

if TYPE_CHECKING:
    from digest.config import Publication, Scope
    from digest.models import Window


class Named(Protocol):
    """An issue as a request named it: a :class:`digest.app.issues.Target` (a protocol, so this module stays
    below the use cases it serves)."""

    @property
    def window(self) -> Window: ...

    @property
    def slot(self) -> datetime | None: ...


def command_hint(config_path: Path | None, *args: str, newsletter: str | None = None) -> str:
    """``digest [--config PATH] [--newsletter SLUG] ARGS``: the config is named unless it is the one found by default
    from here; the newsletter when given (an install with several: :func:`scope_hint`)."""
    words = ["digest"]
    if config_path is not None and not _is_default_config(config_path):
        words += ["--config", str(config_path)]
    if newsletter:
        words += ["--newsletter", newsletter]
    return " ".join(shlex.quote(word) for word in [*words, *args])


def scope_hint(scope: Scope, *args: str) -> str:
    """A command line about ``scope``'s newsletter: ``--newsletter SLUG`` in it when the install has several, so a
    pasted hint acts on the newsletter it was printed for (with one, the line is as it always was)."""
    return command_hint(scope.install.config_path, *args, newsletter=scope.newsletter.slug if scope.shared else None)


def _is_default_config(path: Path) -> bool:
    try:
        return path.resolve() == DEFAULT_CONFIG.resolve()
    except OSError:
        return False


def target_args(target: Named, zone: tzinfo, sources: Sequence[str] = ()) -> list[str]:
    """Options that name exactly ``target`` again, for a hint: the slot it belongs to, or its explicit window."""
    if target.slot is not None:
        args = slot_args(target.slot, zone)
    else:
        args = ["--since", target.window.start.isoformat(), "--until", target.window.end.isoformat()]
    for spec in sources:
        args += ["--source", spec]
    return args


def edition_args(newsletter: Publication, edition: str) -> list[str]:
    """``--edition NAME`` for a hint about an issue of ``edition``; none for the first, every command's default (a hint
    about a monthly's slot without it, pasted, would act on the weekly's)."""
    return ["--edition", edition] if newsletter.editions and edition != newsletter.editions[0].name else []


def slot_args(slot: datetime, zone: tzinfo) -> list[str]:
    """Options that name one schedule slot, whose issue is the one `digest schedule` makes for it."""
    return ["--as-of", slot.astimezone(zone).isoformat()]
