"""The trace report: each design item's verification status, its linked tests as judged, and every gap.

`qms.traceability.matrix` builds it; `qms.traceability.plainreport` turns it into plain data
for the cache and back; the HTML view and the release gate read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from qms.findings import Finding
from qms.traceability.design import Design
from qms.traceability.findings import Check
from qms.traceability.items import Item
from qms.traceability.runs import LatestResult

__all__ = ["Status", "TestEvidence", "TraceReport", "TraceRow"]


class Status(str, Enum):
    """How far an item is verified, best first."""

    VERIFIED = "verified"
    NOT_REQUIRED = "no test required"
    INCOMPLETE = "not fully verified"
    STALE = "not run at HEAD"
    SKIPPED = "skipped"
    UNTESTED = "no test"
    FAILED = "failed"

    @property
    def ok(self) -> bool:
        return self in (Status.VERIFIED, Status.NOT_REQUIRED)


@dataclass(frozen=True)
class TestEvidence:
    """One linked test as the trace judges it."""

    __test__ = False

    result: LatestResult
    status: Status
    problem: Check | None


@dataclass(frozen=True)
class TraceRow:
    item: Item
    status: Status
    own: Status
    tests: tuple[TestEvidence, ...]
    ancestors: tuple[str, ...]


@dataclass(frozen=True)
class TraceReport:
    """The matrix and its gaps; `gaps` holds every design finding and every trace gap."""

    head: str | None
    rows: dict[str, TraceRow]
    tests: dict[str, LatestResult]
    gaps: tuple[Finding, ...]
    design: Design

    @property
    def blocking(self) -> tuple[Finding, ...]:
        return tuple(g for g in self.gaps if g.blocking)

    @property
    def passed(self) -> bool:
        return not self.blocking

    def covered(self, item_id: str) -> bool:
        row = self.rows.get(item_id)
        return row is not None and row.status is Status.VERIFIED

    def to_json(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for row in self.rows.values():
            counts[row.status.value] = counts.get(row.status.value, 0) + 1
        return {
            "head": self.head, "passed": self.passed, "summary": counts,
            "items": [{
                "id": r.item.id, "type": r.item.type.value, "title": r.item.title, "where": r.item.where,
                "status": r.status.value, "own": r.own.value, "parents": list(r.item.parents),
                "children": sorted(self.design.children.get(r.item.id, [])), "ancestors": list(r.ancestors),
                "fingerprint": r.item.fingerprint,
                "tests": [{"nodeid": t.result.nodeid, "outcome": t.result.outcome.value, "status": t.status.value,
                           "commit": t.result.commit, "dirty": t.result.dirty, "run": t.result.run_id,
                           "docstring": t.result.docstring} for t in r.tests],
            } for r in sorted(self.rows.values(), key=lambda r: r.item.id)],
            "tests": [{"nodeid": t.nodeid, "outcome": t.outcome.value, "verifies": list(t.verifies),
                       "commit": t.commit, "dirty": t.dirty, "run": t.run_id} for t in self.tests.values()],
            "gaps": [g.to_json() for g in self.gaps],
        }
