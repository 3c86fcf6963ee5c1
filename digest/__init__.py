"""digest: a scheduled newsletter digest generator.

The pipeline runs left to right: sources → selection → grouping → issue →
render; :mod:`digest.app` holds the use cases that the CLI, the scheduler
and the web apps call (an issue's in :mod:`digest.app.issues`). The public
names below are imported on first use, so that ``import digest`` (and
``digest --help``) stays cheap: nothing here loads SQLAlchemy, Jinja, MJML
or premailer until it is needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "ConfigError": "digest.models.errors",
    "DeliveryError": "digest.models.errors",
    "DigestError": "digest.models.errors",
    "RenderError": "digest.models.errors",
    "SourceError": "digest.models.errors",
    "StoreError": "digest.models.errors",
    "Digest": "digest.models",
    "Post": "digest.models",
    "RenderedIssue": "digest.models",
    "Window": "digest.models",
    "Scope": "digest.config",
    "load_settings": "digest.config",
    "build_issue": "digest.issue.assembly",
    "render_issue": "digest.render",
}
__all__ = [
    "ConfigError",
    "DeliveryError",
    "Digest",
    "DigestError",
    "Post",
    "RenderError",
    "RenderedIssue",
    "Scope",
    "SourceError",
    "StoreError",
    "Window",
    "__version__",
    "build_issue",
    "load_settings",
    "render_issue",
]

if TYPE_CHECKING:
    from digest.config import Scope, load_settings
    from digest.issue.assembly import build_issue
    from digest.models import Digest, Post, RenderedIssue, Window
    from digest.models.errors import ConfigError, DeliveryError, DigestError, RenderError, SourceError, StoreError
    from digest.render import render_issue


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'digest' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
