"""A real browser for the tests where the UI is the point: Debian's chromium, driven by Playwright."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

import pytest

# Every launch's flags: no sandbox (the suite may run as root), no GPU (no screen), no first-run dialogs.
FLAGS = ("--no-sandbox", "--disable-gpu", "--no-first-run")
# Chromium's home for the run: its crash reports and dconf cache go here (removed at exit), never the user's ~/.config.
_HOME = tempfile.TemporaryDirectory(prefix="digest-chromium-home-")


def real_browser() -> object:
    """(sync_playwright, the chromium executable); skips, saying why, where either is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("Debian's chromium is not installed (make test installs it with apt-get when run as root)")
    return sync_playwright, executable


def launch(playwright: Any, executable: str, *flags: str) -> Any:
    """Chromium started by ``playwright`` with the suite's flags and ``flags``, in a home of its own."""
    home = _HOME.name
    environ = os.environ | {"HOME": home, "XDG_CONFIG_HOME": f"{home}/.config", "XDG_CACHE_HOME": f"{home}/.cache"}
    return playwright.chromium.launch(executable_path=executable, args=[*FLAGS, *flags], env=environ)
