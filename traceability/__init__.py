"""Design controls and traceability: design items in git, suspect links, test runs, the trace matrix.

The release gate calls `trace(project, store)`; its `.gaps` are `qms.findings.Finding`s whose
`check` is a `Check`, and `.passed` is true only when none of them blocks.
"""

from qms.traceability.design import Design, load_design, load_project_design
from qms.traceability.findings import Check
from qms.traceability.items import Item, ItemType, Link, fingerprint
from qms.traceability.matrix import build_trace, trace
from qms.traceability.report import Status, TraceReport
from qms.traceability.review import ReviewResult, review
from qms.traceability.runs import LatestResult, Outcome, TestResult, TestRun, latest_results, record_run

__all__ = [
    "Check", "Design", "Item", "ItemType", "LatestResult", "Link", "Outcome", "ReviewResult", "Status", "TestResult",
    "TestRun", "TraceReport", "build_trace", "fingerprint", "latest_results", "load_design", "load_project_design",
    "record_run", "review", "trace",
]
