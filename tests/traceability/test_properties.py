"""Properties over random item graphs and random test outcomes (hypothesis)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from qms.traceability import Check, Design, Item, ItemType, Link, Outcome, Status, build_trace
from qms.traceability.checks import check_items
from qms.traceability.graph import cyclic_components
from qms.traceability.items import DEFAULT_PREFIXES
from qms.traceability.runs import LatestResult

HEAD = "a" * 40
SETTINGS = settings(max_examples=60, deadline=None)


def _design(items: list[Item]) -> Design:
    by_id, findings, cyclic = check_items(items, DEFAULT_PREFIXES, "B")
    return Design(Path("."), by_id, findings, cyclic)


def _req(n: int, parents: list[str], text: str = "shall", stamped: dict[str, str] | None = None) -> Item:
    links = tuple(Link(p, (stamped or {}).get(p), 5 + i) for i, p in enumerate(parents))
    return Item(f"REQ-{n}", ItemType.REQUIREMENT, f"R{n}", text, "design/r.yaml", n, links)


@st.composite
def graphs(draw: st.DrawFn) -> dict[str, list[str]]:
    n = draw(st.integers(1, 9))
    nodes = [f"REQ-{i}" for i in range(n)]
    return {v: draw(st.lists(st.sampled_from(nodes), max_size=3, unique=True)) for v in nodes}


def _on_a_cycle(edges: dict[str, list[str]], v: str) -> bool:
    return any(_reaches(edges, s, v) for s in edges[v])


@SETTINGS
@given(graphs())
def test_every_item_on_a_cycle_is_reported_and_no_other(edges: dict[str, list[str]]) -> None:
    """The cycle findings name exactly the items that lie on some cycle, and items of one loop share a finding."""
    found = cyclic_components(edges)
    reported = {v for component in found for v in component}
    assert reported == {v for v in edges if _on_a_cycle(edges, v)}
    for component in found:
        for a in component:
            for b in component:
                assert a == b or (_reaches(edges, a, b) and _reaches(edges, b, a))


def _reaches(edges: dict[str, list[str]], a: str, b: str) -> bool:
    seen, stack = set(), [a]
    while stack:
        u = stack.pop()
        if u == b:
            return True
        if u not in seen:
            seen.add(u)
            stack.extend(edges[u])
    return False


@SETTINGS
@given(st.integers(2, 6), st.data())
def test_links_are_suspect_exactly_when_the_parent_content_changed(n: int, data: st.DataObject) -> None:
    """After a review, a link becomes suspect exactly when its parent's meaning changed, not for whitespace."""
    parents = {i: data.draw(st.lists(st.integers(0, i - 1), max_size=2, unique=True)) if i else [] for i in range(n)}
    base = [_req(i, [f"REQ-{p}" for p in parents[i]], text=f"The software shall do thing {i}.") for i in range(n)]
    prints = {i.id: i.fingerprint for i in base}
    reviewed = [replace(i, links=tuple(replace(k, reviewed=prints[k.parent]) for k in i.links)) for i in base]
    changes = {i: data.draw(st.sampled_from(["same", "cosmetic", "meaning"])) for i in range(n)}
    edited = []
    for i, item in enumerate(reviewed):
        text = {"same": item.text, "cosmetic": "  " + item.text.replace(" ", "\n   ") + "\n\n",
                "meaning": item.text + " Also another thing."}[changes[i]]
        edited.append(replace(item, text=text))
    suspect = {(f.item, f.reason.split()[0]) for f in _design(edited).findings if f.check is Check.SUSPECT_LINK}
    expected = {(f"REQ-{i}", f"REQ-{p}") for i in range(n) for p in parents[i] if changes[p] == "meaning"}
    assert suspect == expected


OUTCOMES = st.sampled_from(list(Outcome))


@st.composite
def runs(draw: st.DrawFn) -> tuple[int, dict[str, LatestResult]]:
    n = draw(st.integers(1, 6))
    results = {}
    for t in range(draw(st.integers(0, 8))):
        linked = tuple(draw(st.lists(st.sampled_from([f"REQ-{i}" for i in range(n)]), max_size=2, unique=True)))
        commit = draw(st.sampled_from([HEAD, "b" * 40, None]))
        results[f"t.py::t{t}"] = LatestResult(f"t.py::t{t}", draw(OUTCOMES), linked, "", "run", commit, draw(st.booleans()))
    return n, results


@SETTINGS
@given(runs())
def test_a_requirement_is_covered_only_if_every_linked_test_passed_at_head_on_a_clean_tree(case: tuple[int, dict[str, LatestResult]]) -> None:
    """Covered iff at least one linked test, and every linked test passed in a clean run of HEAD; the need follows."""
    n, results = case
    need = Item("NEED-1", ItemType.NEED, "N", "n", "design/n.yaml", 1)
    items = [need] + [_req(i, ["NEED-1"]) for i in range(n)]
    items = [replace(i, links=tuple(replace(k, reviewed=need.fingerprint) for k in i.links)) for i in items]
    report = build_trace(_design(items), results, HEAD)
    for i in range(n):
        linked = [r for r in results.values() if f"REQ-{i}" in r.verifies]
        good = bool(linked) and all(r.outcome is Outcome.PASSED and r.commit == HEAD and not r.dirty for r in linked)
        assert report.covered(f"REQ-{i}") == good
        assert (report.rows[f"REQ-{i}"].status is Status.VERIFIED) == good
    all_good = all(report.covered(f"REQ-{i}") for i in range(n))
    assert report.covered("NEED-1") == all_good
    assert report.passed == all_good
