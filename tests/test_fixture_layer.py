"""The tests' own house rule: a test file imports the shared helpers from the fixture layer (conftest.py, the servers,
factories.py, support/), never from another test file. Helpers imported from test files made a second, informal
fixture layer (issue 33, item 9): running one file ran another's module code, and moving a test moved others' helpers."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def imported_test_modules(source: str) -> list[tuple[int, str]]:
    """The test modules (``test_*``) that ``source`` imports, anywhere in it (a function's body too), with their lines."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, name) for name in names if name.split(".")[0].startswith("test_")]
    return sorted(found)


def test_no_test_file_imports_another() -> None:
    # The test files, and the fixture layer itself (conftest.py, the servers, factories.py, support/).
    files = sorted(TESTS.glob("*.py")) + sorted((TESTS / "support").glob("*.py"))
    assert TESTS / "test_send_cli.py" in files and TESTS / "support" / "cli.py" in files
    broken = [
        f"{path.relative_to(TESTS)}:{line} imports {name}"
        for path in files
        for line, name in imported_test_modules(path.read_text(encoding="utf-8"))
    ]
    assert broken == [], "move the shared helper into tests/support/ and import it from there:\n" + "\n".join(broken)


def test_the_check_finds_every_form_of_import() -> None:
    source = (
        "import os\nfrom test_a import x\nimport test_b as b\nfrom support.cli import cli\n"
        "def t():\n    from test_c.inner import y\n    import support.issues\n"
    )
    assert imported_test_modules(source) == [(2, "test_a"), (3, "test_b"), (6, "test_c.inner")]
