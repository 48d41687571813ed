"""Design controls and traceability: design items in git, suspect links, test runs, the trace matrix.

The release gate calls `trace(project, store)`; its `.gaps` are `qms.findings.Finding`s whose
`check` is a `Check`, and `.passed` is true only when none of them blocks.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from qms.traceability.design import Design, load_design, load_project_design
from qms.traceability.findings import Check
from qms.traceability.items import Item, ItemType, Link, fingerprint

if TYPE_CHECKING:
    from qms.traceability.matrix import build_trace, trace
    from qms.traceability.report import Status, TraceReport
    from qms.traceability.runs import LatestResult, Outcome, TestResult, TestRun, latest_results, record_run

# The names that need the record store's ORM, by module: they load on first use, so reading design
# files (`qms new`, `qms init`) starts without sqlalchemy. A review is `qms.traceability.review.review`:
# a lazy name may not share its module's name, which the import of that module would put in its place.
_WITH_STORE = {
    "build_trace": "matrix", "trace": "matrix", "Status": "report", "TraceReport": "report", "LatestResult": "runs",
    "Outcome": "runs", "TestResult": "runs", "TestRun": "runs", "latest_results": "runs", "record_run": "runs",
}


def __getattr__(name: str) -> Any:
    """A store-backed name: its module loads now, once."""
    if name not in _WITH_STORE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_WITH_STORE[name]}"), name)
    globals()[name] = value
    return value


__all__ = [
    "Check", "Design", "Item", "ItemType", "LatestResult", "Link", "Outcome", "Status", "TestResult", "TestRun",
    "TraceReport", "build_trace", "fingerprint", "latest_results", "load_design", "load_project_design", "record_run",
    "trace",
]
