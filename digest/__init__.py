"""digest: a scheduled newsletter digest generator.

The pipeline runs left to right: sources → selection → grouping → issue →
render. ``build_issue`` and ``render_issue`` are the entry points that the
CLI, the scheduler and the preview all call.
"""

from digest.config import Settings, load_settings
from digest.errors import ConfigError, DeliveryError, DigestError, RenderError, SourceError
from digest.issue import build_issue
from digest.models import Digest, Post, RenderedIssue, Window
from digest.render import render_issue

__version__ = "0.1.0"
__all__ = [
    "ConfigError",
    "DeliveryError",
    "Digest",
    "DigestError",
    "Post",
    "RenderError",
    "RenderedIssue",
    "Settings",
    "SourceError",
    "Window",
    "__version__",
    "build_issue",
    "load_settings",
    "render_issue",
]
