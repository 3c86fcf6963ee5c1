"""The house's size limits (issue 33), held for every issue after it: no module of digest over 500 lines, no function
over 80. A module that grows past them is split by what its parts own; a function, by its steps."""

from __future__ import annotations

import ast
from pathlib import Path

DIGEST = Path(__file__).resolve().parent.parent / "digest"
MODULE_LINES = 500
FUNCTION_LINES = 80


def long_modules(root: Path, limit: int = MODULE_LINES) -> list[str]:
    return sorted(
        f"{path.relative_to(root.parent)}: {count} lines"
        for path in root.rglob("*.py")
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > limit
    )


def long_functions(root: Path, limit: int = FUNCTION_LINES) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node.end_lineno is None:
                continue
            if (count := node.end_lineno - node.lineno + 1) > limit:
                found.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.name}: {count} lines")
    return found


def test_no_module_is_over_500_lines() -> None:
    assert long_modules(DIGEST) == []


def test_no_function_is_over_80_lines() -> None:
    assert long_functions(DIGEST) == []


def test_the_limits_are_counted_as_they_say(tmp_path: Path) -> None:
    """The checks can fail: a module of 501 lines and a function of 81 (its def line included) are caught, at the limit not."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "fits.py").write_text("x = 1\n" * 500, encoding="utf-8")
    (package / "long.py").write_text("x = 1\n" * 501, encoding="utf-8")
    (package / "calls.py").write_text("def fits():\n" + "    x = 1\n" * 79 + "\n\ndef long():\n" + "    x = 1\n" * 80, encoding="utf-8")
    assert long_modules(package) == ["pkg/long.py: 501 lines"]
    assert long_functions(package) == ["pkg/calls.py:83 long: 81 lines"]
