"""Cycles in the parent graph: every strongly connected component that loops is one finding.

Every cycle lies inside exactly one strongly connected component, so reporting each
component with a loop (more than one item, or an item that is its own parent) finds them
all without enumerating exponentially many elementary cycles. Iterative Tarjan, so
50,000 items do not hit the recursion limit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["cyclic_components"]


def cyclic_components(edges: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """The components of `edges` (node -> successors) that contain a cycle, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    succ_of = {v: [s for s in out if s in edges] for v, out in edges.items()}
    for root in edges:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, pos = work.pop()
            if pos == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            successors = succ_of[node]
            if pos < len(successors):
                work.append((node, pos + 1))
                succ = successors[pos]
                if succ not in index:
                    work.append((succ, 0))
                elif succ in on_stack:
                    low[node] = min(low[node], index[succ])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in succ_of[node]:
                    found.append(sorted(component))
    return found
