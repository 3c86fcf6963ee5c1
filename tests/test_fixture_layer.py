"""The tests' own house rule: a test file imports the shared helpers from the fixture layer (conftest.py, the servers,
factories.py, support/), never from another test file. Helpers imported from test files made a second, informal
fixture layer (issue 33, item 9): running one file ran another's module code, and moving a test moved others' helpers."""

from __future__ import annotations

import ast
import contextlib
import shutil
from pathlib import Path

import pytest

from conftest import postgres_schema

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


@pytest.mark.real_migrations
def test_a_new_store_made_from_the_copy_is_what_the_revisions_make(database_url: str, tmp_path: Path) -> None:
    """support/migrated.py gives an empty store a copy of what the revisions made instead of running them: the copy
    has every table, index, sequence and row they make, in their order (SQLite: sqlite_master and the rows;
    PostgreSQL: what pg_dump says of the schema, byte for byte)."""
    from digest.store import Store
    from digest.store.migrations import HEAD

    from support import migrated

    with contextlib.ExitStack() as stack:
        other = f"sqlite:///{tmp_path / 'copy.sqlite'}" if database_url.startswith("sqlite") else stack.enter_context(postgres_schema())
        real = Store.open(database_url)  # marked real_migrations: the revisions run
        stack.callback(real.close)
        migrated.enabled = True
        try:
            copy = Store.open(other)
        finally:
            migrated.enabled = False
        stack.callback(copy.close)
        dialect = real.engine.dialect.name
        assert migrated._images.get(dialect) is not None  # the copy was made, and used
        if dialect == "postgresql" and shutil.which("pg_dump") is None:
            pytest.skip("pg_dump is not installed (Debian package postgresql-client): nothing to compare the schemas with")
        assert copy.version() == HEAD == real.version()
        if dialect == "sqlite":
            assert migrated.sqlite_image(copy.engine) == migrated.sqlite_image(real.engine)
        else:
            image = migrated._images[dialect]
            assert image is not None and len(image.statements) == 1  # pg_dump's script, not the revisions' statements
            made, copied = (
                migrated.postgresql_dump(store.engine.url, url.rpartition("%3D")[2]) for store, url in ((real, database_url), (copy, other))
            )
            assert copied == made and "CREATE TABLE {schema}.subscribers (" in made
