#!/usr/bin/env python3
"""Fail if any module of dintero_django takes part in an import cycle.

Late imports (inside functions) count; imports under ``TYPE_CHECKING`` do not.
A package counts as importing what its ``__init__`` imports, so the package
re-exporting its own submodules is not a cycle; anything else is. Run it with
``python tests/import_cycles.py`` (the quality gates of tests/run.py do).
"""

from __future__ import annotations

import sys

import grimp


def cycles(package: str) -> list[list[str]]:
    graph = grimp.build_graph(package, exclude_type_checking_imports=True)
    edges = {m: _edges(graph, m) for m in graph.modules}
    return [sorted(c) for c in _strongly_connected(edges) if len(c) > 1]


def _edges(graph: grimp.ImportGraph, module: str) -> set[str]:
    # A submodule importing its own package (``from . import x``) reaches the
    # package's __init__, which imports submodules by design: not a cycle of ours.
    return {
        target
        for target in graph.find_modules_directly_imported_by(module)
        if not module.startswith(target + ".")
    }


def _strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (no recursion limit on a large package)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(component)
    return found


def main() -> int:
    found = cycles("dintero_django")
    for cycle in found:
        print("import cycle:", " <-> ".join(cycle))
    print(f"import cycles in dintero_django: {len(found)}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
