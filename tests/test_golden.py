"""Whole-output golden files for a fixed fixture issue.

Regenerate after an intended change with ``UPDATE_GOLDEN=1 make test`` and
review the diff in git; a failure shows a unified diff.
"""

from __future__ import annotations

import difflib
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from digest.app.output import write_issue
from digest.config import load_settings
from digest.issue.assembly import build_issue
from digest.issue.selection import window_between
from digest.render import render_issue

from conftest import FIXTURES

GOLDEN = Path(__file__).resolve().parent / "golden"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    settings = load_settings(FIXTURES / "project" / "config" / "digest.toml", environ={})
    window = window_between(date(2025, 2, 24), date(2025, 3, 3), settings.newsletter.timezone)
    digest = build_issue(settings, window, datetime(2025, 3, 3, 9, 0, tzinfo=UTC))
    return write_issue(tmp_path_factory.mktemp("out"), digest, render_issue(digest, settings))


@pytest.mark.parametrize("name", ["digest.html", "digest.txt", "digest.json"])
def test_golden(built: Path, name: str) -> None:
    actual = (built / name).read_text(encoding="utf-8")
    golden = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(actual, encoding="utf-8")
    expected = golden.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), f"golden/{name}", f"built/{name}"))
        pytest.fail(f"{name} differs from its golden file (UPDATE_GOLDEN=1 to accept):\n{diff[:20000]}")


def test_issue_folder_is_named_for_the_window(built: Path) -> None:
    assert built.name == "2025-03-02-b21c5b"
