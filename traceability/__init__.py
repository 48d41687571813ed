"""Design controls and traceability: design items in git, suspect links, test runs, the trace matrix.

The release gate calls `trace(project, store)`; its `.gaps` are findings (check, item,
where, reason, hint) and `.passed` is true only when none of them blocks.
"""

from qms.traceability.design import Design, load_design, load_project_design
from qms.traceability.findings import Check, Finding, Severity
from qms.traceability.items import Item, ItemType, Link, fingerprint
from qms.traceability.matrix import Status, TraceReport, build_trace, trace
from qms.traceability.review import ReviewResult, review
from qms.traceability.runs import LatestResult, Outcome, TestResult, TestRun, latest_results, record_run

__all__ = [
    "Check", "Design", "Finding", "Item", "ItemType", "LatestResult", "Link", "Outcome", "ReviewResult", "Severity",
    "Status", "TestResult", "TestRun", "TraceReport", "build_trace", "fingerprint", "latest_results", "load_design",
    "load_project_design", "record_run", "review", "trace",
]
