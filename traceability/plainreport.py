"""The trace report as plain data (tuples, lists, dicts, text, numbers) and back, for the report cache.

Plain data is what `marshal` writes: C-fast both ways and it cannot name a class or run
code when read, unlike a pickle. Objects shared in the report (an item in its row and in
the design, one test's evidence under every item it verifies) are written once and shared
again when read back, so the report read equals the report written, field for field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qms.findings import Finding, Severity
from qms.traceability.design import Design
from qms.traceability.findings import Check
from qms.traceability.items import Item, ItemType, Link
from qms.traceability.report import Status, TestEvidence, TraceReport, TraceRow
from qms.traceability.runs import LatestResult, Outcome

__all__ = ["FORMAT", "from_plain", "to_plain"]

FORMAT = 1
_ITEM = ("id", "type", "title", "text", "file", "line", "links", "safety_class", "attributes", "fingerprint")
_LINK = ("parent", "reviewed", "line")
_FINDING = ("check", "item", "where", "reason", "hint", "severity")
_RESULT = ("nodeid", "outcome", "verifies", "docstring", "run_id", "commit", "dirty")
_EVIDENCE = ("result", "status", "problem")
_ROW = ("item", "status", "own", "tests", "ancestors")
_TYPES = {t.value: t for t in ItemType}
_CHECKS = {c.value: c for c in Check}
_SEVERITIES = {s.value: s for s in Severity}
_STATUSES = {s.value: s for s in Status}
_OUTCOMES = {o.value: o for o in Outcome}
_VALUE: dict[Any, str] = {m: m.value for e in (ItemType, Check, Severity, Status, Outcome) for m in e}  # no enum property per use


def _finding(f: Finding) -> tuple[Any, ...]:
    return (_VALUE[f.check], f.item, f.where, f.reason, f.hint, _VALUE[f.severity])


def to_plain(report: TraceReport) -> tuple[Any, ...] | None:
    """The report as plain data; None if its parts are not shared the way `build_trace` shares them."""
    design = report.design
    results = list(report.tests.values())
    index = {id(r): n for n, r in enumerate(results)}
    judged: dict[int, TestEvidence] = {}
    rows = []
    for row in report.rows.values():
        tests = []
        for e in row.tests:
            n = index.get(id(e.result))
            if n is None:
                return None
            seen = judged.setdefault(n, e)
            if seen is not e and (seen.status is not e.status or seen.problem is not e.problem):
                return None
            tests.append(n)
        rows.append((row.item.id, _VALUE[row.status], _VALUE[row.own], tuple(tests), row.ancestors))
    evidence = [None if (first := judged.get(n)) is None else (_VALUE[first.status], _VALUE.get(first.problem))
                for n in range(len(results))]
    if any(design.items.get(r[0]) is not report.rows[r[0]].item for r in rows):
        return None
    items = [(i.id, _VALUE[i.type], i.title, i.text, i.file, i.line, tuple((k.parent, k.reviewed, k.line) for k in i.links),
              i.safety_class, i.attributes, i.fingerprint) for i in design.items.values()]
    own = len(design.findings)
    if tuple(report.gaps[:own]) != tuple(design.findings):
        return None
    return (FORMAT, report.head, str(design.root), items, [_finding(f) for f in report.gaps], own,
            tuple(sorted(design.cyclic)), design.children, design.sources,
            [(r.nodeid, _VALUE[r.outcome], r.verifies, r.docstring, r.run_id, r.commit, r.dirty) for r in results],
            evidence, rows)


def _make(cls: type, names: tuple[str, ...], values: Any) -> Any:
    """A frozen dataclass instance from its field values (their types already checked by the cache digest)."""
    obj: Any = object.__new__(cls)
    obj.__dict__.update(zip(names, values))
    return obj


def from_plain(data: tuple[Any, ...]) -> TraceReport:
    """The report `to_plain` wrote (raises on anything else)."""
    fmt, head, root, items, gaps, own, cyclic, children, sources, results, evidence, rows = data
    if fmt != FORMAT:
        raise ValueError(f"report format {fmt}")
    by_id: dict[str, Item] = {}
    for i in items:
        links = tuple(_make(Link, _LINK, k) for k in i[6])
        item = _make(Item, _ITEM, (i[0], _TYPES[i[1]], i[2], i[3], i[4], i[5], links, i[7], i[8], i[9]))
        by_id[item.id] = item
    findings = [_make(Finding, _FINDING, (_CHECKS[f[0]], f[1], f[2], f[3], f[4], _SEVERITIES[f[5]])) for f in gaps]
    design = _make(Design, ("root", "items", "findings", "cyclic", "children", "sources"),
                   (Path(root), by_id, findings[:own], frozenset(cyclic), children, tuple(tuple(s) for s in sources)))
    latest = [_make(LatestResult, _RESULT, (r[0], _OUTCOMES[r[1]], tuple(r[2]), r[3], r[4], r[5], r[6])) for r in results]
    judged = [None if e is None else _make(TestEvidence, _EVIDENCE, (latest[n], _STATUSES[e[0]],
                                                                    None if e[1] is None else _CHECKS[e[1]]))
              for n, e in enumerate(evidence)]
    matrix = {r[0]: _make(TraceRow, _ROW, (by_id[r[0]], _STATUSES[r[1]], _STATUSES[r[2]],
                                          tuple(judged[n] for n in r[3]), tuple(r[4]))) for r in rows}
    if any(e is None for r in matrix.values() for e in r.tests):
        raise ValueError("a row names a test without evidence")
    return TraceReport(head, matrix, {r.nodeid: r for r in latest}, tuple(findings), design)
