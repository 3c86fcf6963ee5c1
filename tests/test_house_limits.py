"""The house's size limits (issue 33), held for every issue after it: at most 12 packages and modules at the top of
digest (one per box of the README's map), no module over 500 lines, no function over 80. A module that grows past
them is split by what its parts own; a function, by its steps; a new top-level package joins the box it belongs to."""

from __future__ import annotations

import ast
from pathlib import Path

DIGEST = Path(__file__).resolve().parent.parent / "digest"
TOP_LEVEL = 12
DATA_FOLDERS = frozenset({"templates", "locale", "scaffold"})  # package data, not code
MODULE_LINES = 500
FUNCTION_LINES = 80


def top_level(root: Path) -> list[str]:
    """The packages and modules at the top of ``root``, without ``__init__``/``__main__`` and the data folders."""
    return sorted(
        entry.name
        for entry in root.iterdir()
        if (entry.suffix == ".py" and not entry.name.startswith("__"))
        or (entry.is_dir() and (entry / "__init__.py").is_file() and entry.name not in DATA_FOLDERS)
    )


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


def test_digest_has_at_most_12_top_level_packages_and_modules() -> None:
    found = top_level(DIGEST)
    assert len(found) <= TOP_LEVEL, found
    assert {"__main__.py", "templates", "py.typed"} & {entry.name for entry in DIGEST.iterdir()}  # what is left out exists


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
    (package / "sub").mkdir()
    (package / "sub" / "__init__.py").write_text("", encoding="utf-8")
    (package / "templates").mkdir()
    (package / "templates" / "__init__.py").write_text("", encoding="utf-8")
    (package / "notes").mkdir()  # a folder that is not a package
    (package / "__main__.py").write_text("", encoding="utf-8")
    assert top_level(package) == ["calls.py", "fits.py", "long.py", "sub"]
