"""Print the graph of imports between the portal's domains (issue 15), from the source alone.

    python tools/domain_graph.py            # one line per domain: what it imports, lazy imports marked *
    python tools/domain_graph.py --dot      # Graphviz: python tools/domain_graph.py --dot | dot -Tsvg > graph.svg
    python tools/domain_graph.py --cycles   # only the pairs of domains that import each other

A *domain* is a package under ``portal/`` (``portal/accounts/...``); the modules at the top of ``portal/``
(``api``, ``links``, ``db``...) are the shared kernel and are left out. An import inside a function (a
lazy import) is an arrow all the same: it is marked, not hidden.
"""
from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PORTAL = ROOT / "portal"


def domains() -> list[str]:
    """The packages under portal/, sorted."""
    return sorted(p.name for p in PORTAL.iterdir() if (p / "__init__.py").exists())


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        if node.module == "portal":  # from portal import links, accounts
            return [f"portal.{alias.name}" for alias in node.names]
        return [node.module]
    return []


def _lazy_nodes(tree: ast.Module) -> set[int]:
    """ids of the import nodes inside a function or method body."""
    lazy = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lazy.update(id(inner) for inner in ast.walk(node) if isinstance(inner, (ast.Import, ast.ImportFrom)))
    return lazy


def module_imports(path: Path) -> list[tuple[str, int, bool]]:
    """``(imported module, line, lazy)`` for each import of a file, ``TYPE_CHECKING`` blocks left out."""
    tree = ast.parse(path.read_text(), filename=str(path))
    typing_only = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(inner) for inner in ast.walk(node))
    lazy = _lazy_nodes(tree)
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        for name in _imported(node):
            found.append((name, node.lineno, id(node) in lazy))
    return found


#: The edge of each domain: routes, pages and commands, which may use any domain they serve.
EDGE_MODULES = {"api.py", "views.py", "cli.py"}


def edges(core_only: bool = False) -> dict[tuple[str, str], list[str]]:
    """``{(domain, imported domain): ["file:line[*]", ...]}`` over every module of every domain
    (``core_only``: leaving out the edge modules, :data:`EDGE_MODULES`)."""
    known = set(domains())
    graph: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(PORTAL.rglob("*.py")):
        parts = path.relative_to(PORTAL).parts
        if len(parts) < 2 or parts[0] not in known or (core_only and parts[-1] in EDGE_MODULES):
            continue
        for name, line, lazy in module_imports(path):
            pieces = name.split(".")
            if len(pieces) >= 2 and pieces[0] == "portal" and pieces[1] in known and pieces[1] != parts[0]:
                where = f"{path.relative_to(ROOT).as_posix()}:{line}{'*' if lazy else ''}"
                graph[(parts[0], pieces[1])].append(where)
    return dict(graph)


def cycles(graph: dict[tuple[str, str], list[str]]) -> list[tuple[str, str]]:
    """Pairs of domains that import each other."""
    return sorted((a, b) for (a, b) in graph if a < b and (b, a) in graph)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dot", action="store_true", help="Graphviz output")
    parser.add_argument("--cycles", action="store_true", help="only the domains that import each other")
    parser.add_argument("--core", action="store_true", help="leave out api.py, views.py and cli.py")
    args = parser.parse_args(argv)
    graph = edges(core_only=args.core)
    if args.cycles:
        for a, b in cycles(graph):
            print(f"{a} <-> {b}: {', '.join(graph[(a, b)][:2])} / {', '.join(graph[(b, a)][:2])}")
        return 0
    if args.dot:
        print("digraph domains {\n  rankdir=BT; node [shape=box];")
        for (a, b), places in sorted(graph.items()):
            style = "dashed" if all(p.endswith("*") for p in places) else "solid"
            print(f'  "{a}" -> "{b}" [label="{len(places)}", style={style}];')
        print("}")
        return 0
    for domain in domains():
        targets = sorted({b for (a, b) in graph if a == domain})
        shown = [b + ("*" if all(p.endswith("*") for p in graph[(domain, b)]) else "") for b in targets]
        print(f"{domain:14} -> {', '.join(shown) or '(nothing)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
