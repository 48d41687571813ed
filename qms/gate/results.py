"""Which test had which outcome: the results of the test runs a release relies on, against their events' digest.

`qms.gate.grants` matches every test run by its outcome counts, which swapping which test
failed keeps. Each `test.run` event also holds its results' digest
(`qms.traceability.runs.results_digest`: node id, outcome, verified items, docstring and
source fingerprint of each result), and here the results of each run the release relies on
(one the trace takes a result from) are hashed again and compared. A run recorded before the
event held that digest cannot be cross-checked so: the release may not rely on it; a new run
at HEAD replaces it. Only those runs: reading every result ever recorded on each `qms verify`
would grow with the project's age.
"""

from __future__ import annotations

import gc
from collections.abc import Collection, Iterator
from contextlib import contextmanager

from sqlmodel import col, select

from qms.findings import Finding
from qms.gate.grants import CHECK, event_details
from qms.store import Store
from qms.store.records import AuditEvent
from qms.traceability.records import RESULT_TABLE
from qms.traceability.runs import RESULT_FIELDS, results_digest

__all__ = ["results_findings"]

_RESTORE = "restore the test_result table from backup and investigate who changed it (21 CFR 11.10(e))"


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a run's results are read: the rows are tuples of strings (no cycles), and
    in the gate's large heap the collections their allocation triggers cost more than reading them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def results_findings(store: Store, run_ids: Collection[str]) -> tuple[list[Finding], int]:
    """Each of these runs whose results differ from its event's digest, or whose event has none; and results read."""
    objects = {f"test-run:{run_id}": run_id for run_id in run_ids}
    if not objects:
        return [], 0
    names = [RESULT_TABLE.c[f].name for f in RESULT_FIELDS]
    marker = "?" if store.is_sqlite else "%s"
    query = (f"SELECT {', '.join(names[:-1])}, coalesce({names[-1]}, '') FROM {RESULT_TABLE.name} "
             f"WHERE {RESULT_TABLE.c.run_id.name} = {marker}")
    out: list[Finding] = []
    examined = 0
    with store.reader() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "test.run",
                                                       col(AuditEvent.object).in_(objects))).all()
        recorded = {objects[e.object]: (e.seq, event_details(e).get("results_sha256")) for e in events}
        cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
        for run_id in sorted(recorded):  # a run with no event at all is `qms.gate.grants`'s finding
            seq, digest = recorded[run_id]
            item = f"test_run test-run:{run_id} (audit event {seq})"
            if digest is None:
                out.append(Finding(CHECK, item, "the release relies on this test run's results, but its audit event "
                                   "was recorded before test-run events held their results' digest: which test passed "
                                   "or failed cannot be cross-checked",
                                   "run the tests again at HEAD (`qms test`): the new run is recorded with its "
                                   "results' digest"))
                continue
            with _collector_paused():
                cursor.execute(query, (run_id,))
                rows = cursor.fetchall()
            examined += len(rows)
            if results_digest(rows) != digest:
                out.append(Finding(CHECK, item, "the run's test_result rows differ from what its audit event recorded "
                                   "(which test had which outcome, or what it verifies): a result was edited, swapped, "
                                   "inserted or deleted", _RESTORE))
        cursor.close()
    return out, examined
