"""Issue 33, item 6: one error tree, no builtin raises. Every exception digest raises on purpose is one of
digest/models/errors.py's (or a private one in the vocabulary of the library a module sits under), so the entry points
can word each kind once; a builtin raised somewhere would reach them as a traceback."""

from __future__ import annotations

import ast
import builtins
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.models import Window
from digest.models.errors import DigestError, NaiveDatetimeError, WindowError

PACKAGE = Path(__file__).resolve().parent.parent / "digest"


def _builtin_error(name: str) -> bool:
    """Whether ``name`` is a builtin error class (SystemExit and KeyboardInterrupt are exits, not errors)."""
    found = getattr(builtins, name, None)
    return isinstance(found, type) and issubclass(found, Exception)


def _raised_name(node: ast.Raise) -> str | None:
    """The name a ``raise`` statement raises (``raise ValueError``, ``raise ValueError(...)``); None for a bare
    re-raise, an exception held in a variable of another name, or one named through a module."""
    exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
    return exc.id if isinstance(exc, ast.Name) else None


def _builtin_raises(source: str, where: str) -> list[str]:
    """Each ``raise`` of a builtin error class in ``source``, as "where:line: statement". A module's ``__getattr__``
    may raise AttributeError: Python's protocol for a missing module attribute asks for that one (PEP 562)."""
    tree = ast.parse(source)
    allowed: set[int] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
            allowed |= {
                id(raised) for raised in ast.walk(node) if isinstance(raised, ast.Raise) and _raised_name(raised) == "AttributeError"
            }
    return [
        f"{where}:{node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Raise) and id(node) not in allowed and (name := _raised_name(node)) is not None and _builtin_error(name)
    ]


def test_no_module_of_digest_raises_a_builtin_error() -> None:
    found = [
        problem
        for path in sorted(PACKAGE.rglob("*.py"))
        for problem in _builtin_raises(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent)))
    ]
    assert not found, "raise one of digest/models/errors.py's errors instead (add a subclass where none fits):\n" + "\n".join(found)


@pytest.mark.parametrize(
    "source",
    [
        "raise ValueError('no')",
        "def f():\n    raise RuntimeError\n",
        "class C:\n    def f(self):\n        raise AssertionError('unreachable')\n",
        "try:\n    pass\nexcept OSError as exc:\n    raise KeyError('x') from exc\n",
        "def __getattr__(name):\n    raise ValueError(name)\n",  # only AttributeError is the protocol's
        "def f():\n    def __getattr__(name):\n        raise AttributeError(name)\n",  # not a module's __getattr__
    ],
)
def test_the_scan_finds_a_builtin_raise(source: str) -> None:
    assert _builtin_raises(source, "example.py")


@pytest.mark.parametrize(
    "source",
    [
        "raise ConfigError(['no'])",
        "try:\n    pass\nexcept ValueError:\n    raise\n",
        "try:\n    pass\nexcept ValueError as exc:\n    raise exc\n",
        "raise click.UsageError('no')",
        "raise SystemExit('run `digest db upgrade`')",
        "def __getattr__(name):\n    raise AttributeError(name)\n",
    ],
)
def test_the_scan_passes_what_is_no_builtin_error_raised(source: str) -> None:
    assert not _builtin_raises(source, "example.py")


def test_a_backwards_or_naive_window_is_refused_with_the_trees_errors() -> None:
    """A backwards window was a ValueError traceback; every path to one is a WindowError now (the commands and the
    preview word it as a usage error, tests/test_gates.py), and a naive bound is a caller's bug of its own kind."""
    later, earlier = datetime(2026, 12, 6, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    with pytest.raises(WindowError, match="is not before end") as backwards:
        Window(start=later, end=earlier)
    assert isinstance(backwards.value, DigestError) and isinstance(backwards.value, ValueError)
    with pytest.raises(WindowError):
        Window(start=later, end=later)  # empty: [start, end) holds no moment
    with pytest.raises(NaiveDatetimeError, match="timezone-aware"):
        Window(start=datetime(2026, 12, 1), end=later)


def test_the_drawn_tree_names_every_error_of_the_tree() -> None:
    """digest/models/errors.py draws its tree in its docstring: every DigestError subclass is drawn (ListFileError,
    LabelError and BodyError were missing from it)."""
    from digest.models import errors

    every = {value.__name__ for value in vars(errors).values() if isinstance(value, type) and issubclass(value, DigestError)}
    assert len(every) > 20
    drawn = set(re.findall(r"[├└]── (\w+)", errors.__doc__ or "")) | {"DigestError"}
    assert every - drawn == set(), "draw these in the tree of digest/models/errors.py"
    assert drawn - every == set(), "the tree draws errors that are not there"
