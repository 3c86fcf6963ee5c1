"""The import graph of digest, as grimp (import-linter's graph) reads it: no module imports itself round in a circle.

import-linter's contracts look at packages (a layer, a sibling); a circle between two modules of one package
passes them. This looks at every module, and counts every import: those under ``if TYPE_CHECKING:`` and those
inside a function too, since a type-only circle is still two modules that cannot be understood apart.
"""

from __future__ import annotations

import grimp


def import_cycles(graph: grimp.ImportGraph, package: str) -> list[list[str]]:
    """The strongly connected components of more than one module (or a module importing itself), each sorted:
    Tarjan's algorithm, iterative, so a deep graph cannot reach Python's recursion limit."""
    modules = sorted(module for module in graph.modules if module == package or module.startswith(package + "."))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in modules:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            module, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph.find_modules_directly_imported_by(successor)))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[module] = min(low[module], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[module])
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1 or module in graph.find_modules_directly_imported_by(module):
                    found.append(sorted(component))
    return sorted(found)


def test_no_import_cycle_between_modules_type_only_imports_included() -> None:
    graph = grimp.build_graph("digest", exclude_type_checking_imports=False, cache_dir=None)
    cycles = import_cycles(graph, "digest")
    assert cycles == [], "import cycles (each a set of modules that import each other round):\n" + "\n".join(
        " ↔ ".join(cycle) for cycle in cycles
    )


def test_the_cycle_finder_finds_a_circle() -> None:
    """The check above can fail: a graph with a circle of three and a module importing itself is told apart from a line."""
    graph = grimp.ImportGraph()
    for module in ("p", "p.a", "p.b", "p.c", "p.d", "p.e"):
        graph.add_module(module)
    for importer, imported in (("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.d", "p.e"), ("p.e", "p.e")):
        graph.add_import(importer=importer, imported=imported)
    assert import_cycles(graph, "p") == [["p.a", "p.b", "p.c"], ["p.e"]]


# The layers that sit below the app layer: what the entry points use of them comes through it, each name listed in
# the README's "Architecture" (digest.models, the nouns in the middle, is theirs to name directly).
_BELOW_APP = (
    "digest.config",
    "digest.store",
    "digest.readers",
    "digest.mail",
    "digest.render",
    "digest.send",
    "digest.sources",
    "digest.issue",
)


def test_the_readme_names_each_lower_layer_name_the_entry_points_use() -> None:
    """Issue 33's map holds: every name cli/ and web/ import from digest.app that is defined in a layer below it is
    one the README's Architecture section names (it listed four, the entry points used eight)."""
    import ast
    import importlib
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    section = (root / "README.md").read_text(encoding="utf-8").split("## Architecture", 1)[1].split("\n## ", 1)[0]
    passed_through: set[str] = set()
    for path in [*(root / "digest" / "cli").rglob("*.py"), *(root / "digest" / "web").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("digest.app"):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    defined_in = getattr(getattr(module, alias.name), "__module__", "") or ""
                    if defined_in.startswith(_BELOW_APP):
                        passed_through.add(alias.name)
    assert passed_through, "the scan found no name at all: it is broken"
    unnamed = sorted(name for name in passed_through if f"`{name}`" not in section)
    assert not unnamed, f"name these in README's Architecture (what comes through the app layer): {unnamed}"
