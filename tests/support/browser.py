"""A real browser for the tests where the UI is the point: Debian's chromium, driven by Playwright."""

from __future__ import annotations

import shutil

import pytest


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
