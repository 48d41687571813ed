"""Which result of each test the trace uses, over random sequences of recorded runs (hypothesis, real stores).

The store fixture is one store per test; each example records under a device of its own.
"""

from __future__ import annotations

import uuid
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qms.hashing import canonical_json
from qms.store import Store
from qms.traceability import Outcome, TestResult, TestRun, latest_results, record_run
from qms.traceability.runs import _ids

HEAD = "a" * 40
RUN = st.tuples(st.sampled_from([HEAD, "b" * 40, None]), st.booleans(),
                st.dictionaries(st.sampled_from(["t::a", "t::b", "t::c"]), st.sampled_from(list(Outcome)), min_size=1))
IDS = st.lists(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6), max_size=3)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(RUN, min_size=1, max_size=5), st.sampled_from([HEAD, None]))
def test_the_newest_clean_result_at_head_wins_else_the_newest_anywhere(
        store: Store, runs: list[tuple[str | None, bool, dict[str, Outcome]]], head: str | None) -> None:
    """Per test of the newest clean run of HEAD (any test before HEAD has one): its result there, else its newest anywhere."""
    device = f"device-{uuid.uuid4().hex}"
    expected: dict[str, tuple[Outcome, str | None, bool]] = {}
    evidence: set[str] = set()
    existing: set[str] | None = None
    for commit, dirty, outcomes in runs:
        results = tuple(TestResult(n, o, 0.01, (f"REQ-{n[-1]}",)) for n, o in outcomes.items())
        record_run(store, TestRun(device, commit, dirty, "t0", "t1", "3.11", "linux", {}, 0, results), "ci")
        for nodeid, outcome in outcomes.items():
            clean_head = head is not None and commit == head and not dirty
            if clean_head or nodeid not in evidence:
                expected[nodeid] = (outcome, commit, dirty)
            if clean_head:
                evidence.add(nodeid)
        if head is not None and commit == head and not dirty:
            existing = set(outcomes)
    if existing is not None:
        expected = {n: e for n, e in expected.items() if n in existing}
    got = latest_results(store, device, head)
    assert {n: (r.outcome, r.commit, r.dirty) for n, r in got.items()} == expected
    assert all(r.verifies == (f"REQ-{n[-1]}",) for n, r in got.items())


@given(IDS)
def test_item_id_lists_read_back_exactly(ids: list[str]) -> None:
    """The fast reader of stored id lists gives what json gives, for any text, quotes and backslashes included."""
    assert _ids(canonical_json(ids).decode()) == tuple(ids)
