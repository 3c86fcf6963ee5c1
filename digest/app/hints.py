"""The command lines digest prints as hints: ``digest [--config PATH] ARGS``, complete, doing what they say.

A module of its own, importing nothing of the app layer, so every use case can word a hint (the CLI's
:func:`digest.cli.common.hint` and the app's own messages alike) without importing the pipeline.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from digest.config import DEFAULT_CONFIG


def command_hint(config_path: Path | None, *args: str) -> str:
    """``digest [--config PATH] ARGS``: the config is named unless it is the one found by default from here."""
    words = ["digest"]
    if config_path is not None and not _is_default_config(config_path):
        words += ["--config", str(config_path)]
    return " ".join(shlex.quote(word) for word in [*words, *args])


def _is_default_config(path: Path) -> bool:
    try:
        return path.resolve() == DEFAULT_CONFIG.resolve()
    except OSError:
        return False
