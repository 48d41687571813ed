"""Test results, release steps, tool validations and API clients match their audit events, row by row.

The attacks, each with the append-only triggers dropped where a row is edited: which test
failed swapped (the counts kept), a failure's verified items cleared, a release step's recorded
verdict rewritten, a failed tool validation turned passed, an API client inserted with a
token the forger holds, a revocation deleted. Old stores: a test run recorded before its
event held its results' digest is matched by its counts, and the release may not rely on one.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qms import audit
from qms.api.tokens import authenticate, create_client, revoke_client, token_sha256
from qms.config import Project, load_project
from qms.gate.checks.audit import AuditTrailIntact
from qms.gate.context import GateContext
from qms.gate.grants import grant_findings
from qms.gate.results import results_findings
from qms.release_plan import load_plan
from qms.release_steps import ReleaseStep, step_event
from qms.signing import Signatory
from qms.signing.pdf import sign_pdf
from qms.store import Store
from qms.tool_validation import current_environment, record_validation
from qms.traceability import Outcome, record_run
from qms.traceability.records import TestRunRecord
from qms.traceability.runs import RESULT_FIELDS, results_digest
from tests.core.tamper import Row, drop_protection, drop_table_protection, execute, forge
from tests.signing.orgkit import make_org, passphrase, render_pdfa
from tests.traceability.trace_helpers import NEED, make_run, requirement, write_project

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cxr-triage"
EDITED = "differs from what its audit event recorded: the row was edited"


def _items(store: Store) -> list[str]:
    return [f"{f.item}: {f.reason}" for f in grant_findings(store)[0]]


def _run(store: Store, project: Project, device_results: dict[str, tuple[Outcome, tuple[str, ...]]]) -> str:
    return record_run(store, make_run(project, "0" * 40, device_results), "ci")


def _two_tests(store: Store, tmp_path: Path) -> str:
    """A run where t::a fails and t::b passes, both verifying REQ-001."""
    project = write_project(tmp_path / "device", {"n.yaml": NEED, "r.yaml": requirement("REQ-001", "NEED-001")})
    return _run(store, project, {"t::a": (Outcome.FAILED, ("REQ-001",)), "t::b": (Outcome.PASSED, ("REQ-001",))})


def _results(store: Store, run: str) -> list[str]:
    """The results check of one relied-on run, as the gate's audit criterion runs it."""
    findings, examined = results_findings(store, {run})
    assert examined in (0, 2)
    return [f"{f.item.split(' (')[0]}: {f.reason.split(':')[0]}" for f in findings]


SWAPPED = "the run's test_result rows differ from what its audit event recorded (which test had which outcome, or what it verifies)"


def test_swapped_failing_test_is_a_finding(store: Store, tmp_path: Path) -> None:
    """Swapping which test failed keeps the outcome counts, but no longer matches the run's results digest."""
    run = _two_tests(store, tmp_path)
    assert _items(store) == [] and _results(store, run) == []
    drop_table_protection(store, "test_result")
    execute(store, "UPDATE test_result SET nodeid = CASE nodeid WHEN 't::a' THEN 't::b' ELSE 't::a' END")
    assert _items(store) == []  # the counts still add up
    assert _results(store, run) == [f"test_run test-run:{run}: {SWAPPED}"]


def test_failure_moved_off_its_requirement_is_a_finding(store: Store, tmp_path: Path) -> None:
    """A failed test's verified items cleared (its requirement left with the passing test only) is a finding."""
    run = _two_tests(store, tmp_path)
    drop_table_protection(store, "test_result")
    execute(store, "UPDATE test_result SET verifies = '[]' WHERE outcome = 'failed'")
    assert _results(store, run) == [f"test_run test-run:{run}: {SWAPPED}"]


_TEXT = st.text(st.characters(blacklist_characters="\x00"), max_size=6)
_RESULT = st.tuples(_TEXT.filter(bool), st.sampled_from([o.value for o in Outcome]),
                    st.sampled_from(['[]', '["REQ-001"]']), _TEXT, st.sampled_from(["", "ab" * 32]))


@settings(max_examples=60, deadline=None)
@given(results=st.lists(_RESULT, min_size=2, max_size=6, unique_by=lambda r: r[0]), data=st.data())
def test_results_digest_is_of_the_set_and_sees_every_field(results: list[tuple[str, ...]], data: st.DataObject) -> None:
    """The results digest is the same in any order, and changes when one field of one result is changed or moved."""
    assert len(RESULT_FIELDS) == len(results[0])
    assert results_digest(data.draw(st.permutations(results))) == results_digest(results)
    row, field = data.draw(st.integers(0, len(results) - 1)), data.draw(st.integers(0, len(RESULT_FIELDS) - 1))
    edited = list(results[row])
    edited[field] = data.draw(_TEXT.filter(lambda t: t != results[row][field]))
    changed = [*results[:row], tuple(edited), *results[row + 1:]]
    assert results_digest(changed) != results_digest(results)
    a, b = results[0], results[1]
    swapped = [(b[0], *a[1:]), (a[0], *b[1:]), *results[2:]]
    if sorted(swapped) != sorted(results):
        assert results_digest(swapped) != results_digest(results)


def _without_results_digest(rows: list[Row]) -> list[Row]:
    """An old store's events: a test.run recorded before the event held its results' digest."""
    out = []
    for time, actor, action, obj, before, after, details in rows:
        if action == "test.run":
            d = json.loads(details)
            d.pop("results_sha256")
            details = json.dumps(d, sort_keys=True, separators=(",", ":"))
        out.append((time, actor, action, obj, before, after, details))
    return out


def test_old_test_run_cannot_be_cross_checked(store: Store, tmp_path: Path) -> None:
    """A run whose event predates the results digest is still matched by its counts, but cannot be relied on."""
    run = _two_tests(store, tmp_path)
    drop_protection(store)
    forge(store, _without_results_digest)
    assert _items(store) == []
    assert _results(store, run) == [f"test_run test-run:{run}: the release relies on this test run's results, but its "
                                    "audit event was recorded before test-run events held their results' digest"]
    drop_table_protection(store, "test_result")
    execute(store, "UPDATE test_result SET outcome = 'passed'")
    assert _items(store) == [f"test_run test-run:{run} (row {run}): the test_run row {EDITED}"]


@pytest.fixture
def example(tmp_path: Path) -> Project:
    root = tmp_path / "proj"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".qms", "out", "data", "__pycache__"))
    return load_project(root)


def _audit(ctx: GateContext) -> list[object]:
    """The audit criterion's findings but the unwitnessed runs: these runs are recorded through the library, where no
    command seals them (`tests/gate/test_gate_checkpoint_coverage.py` judges that)."""
    return [f for f in AuditTrailIntact().evaluate(ctx).findings if "witnessed by no signed checkpoint" not in f.reason]


def test_release_may_not_rely_on_an_old_test_run(example: Project, store: Store, tmp_path: Path) -> None:
    """The audit criterion checks the runs the trace uses: an old-format one is a finding, one of another device not."""
    relied = _run(store, example, {"tests/t.py::t": (Outcome.PASSED, ("SRS-001",))})
    other = write_project(tmp_path / "other", {"n.yaml": NEED})
    _run(store, other, {"t::x": (Outcome.PASSED, ())})
    assert _audit(GateContext(example, store, load_plan(example))) == []
    drop_protection(store)
    forge(store, _without_results_digest)
    [finding] = _audit(GateContext(example, store, load_plan(example)))
    assert finding.item.startswith(f"test_run test-run:{relied} (audit event ")
    assert "cannot be cross-checked" in finding.reason and "qms test" in finding.hint


def test_gate_finds_a_swapped_failure_in_a_run_it_relies_on(example: Project, store: Store) -> None:
    """`qms verify`'s audit criterion re-hashes the results the trace uses: a swapped failure is its finding."""
    run = _run(store, example, {"tests/t.py::a": (Outcome.FAILED, ("SRS-001",)),
                                "tests/t.py::b": (Outcome.PASSED, ("SRS-001",))})
    assert _audit(GateContext(example, store, load_plan(example))) == []
    drop_table_protection(store, "test_result")
    execute(store, "UPDATE test_result SET outcome = CASE outcome WHEN 'failed' THEN 'passed' ELSE 'failed' END")
    [finding] = _audit(GateContext(example, store, load_plan(example)))
    assert finding.item.startswith(f"test_run test-run:{run} (audit event ") and SWAPPED in finding.reason


def _step(store: Store) -> ReleaseStep:
    row = ReleaseStep(version="1.0.0", step="authored", actor="alice", commit="c" * 40, model="m@1.0",
                      plan_digest="ab" * 32, verdict_digest="cd" * 32, documents='{"a.pdf":"' + "ef" * 32 + '"}',
                      soup='{"numpy":"2.0"}')
    with store.transaction() as session:
        session.add(row)
        session.flush()
        audit.append(session, step_event(row, "alice"))
    return row


def test_release_step_with_rewritten_verdict_is_a_finding(store: Store) -> None:
    """A release step whose recorded gate verdict digest was rewritten no longer matches its audit event."""
    row = _step(store)
    assert _items(store) == []
    drop_table_protection(store, "release_step")
    execute(store, "UPDATE release_step SET verdict_digest = :v", v="00" * 32)
    assert _items(store) == [f"release_step release:1.0.0 authored (row {row.id}): the release_step row {EDITED}"]


def test_inserted_release_step_is_a_finding(store: Store) -> None:
    """A review step inserted by SQL (a release moved on without a reviewer's event) is a finding."""
    row = _step(store)
    execute(store, "INSERT INTO release_step (id, created_at, version, step, actor, \"commit\", model, plan_digest, "
                   "verdict_digest, documents, soup, supersedes) SELECT 'f1', created_at, version, 'reviewed', 'bob', "
                   "\"commit\", model, plan_digest, verdict_digest, documents, soup, id FROM release_step")
    assert row.supersedes is None and _items(store) == [
        "release_step release:1.0.0 reviewed (row f1): the release_step row has no audit event: the row was inserted "
        "outside qmskit"]


def test_failed_tool_validation_turned_passed_is_a_finding(store: Store, tmp_path: Path) -> None:
    """A failed tool validation rewritten to passed in its table is a finding."""
    org = make_org(store, tmp_path / "home")
    env = current_environment()
    _, sig = sign_pdf(org.store, org.home, Signatory("alice", passphrase("alice")), render_pdfa("<p>tool validation</p>"),
                      "authored", f"tool-validation:qmskit@{env.qmskit}")
    rec = record_validation(store, env, False, [{"id": "oq-gate", "passed": False}], sig.output_sha256 or "", sig.id, "alice")
    assert _items(store) == []
    drop_table_protection(store, "tool_validation")
    execute(store, "UPDATE tool_validation SET passed = :p", p=True)
    assert _items(store) == [f"tool_validation tool-validation:{rec.id} (row {rec.id}): the tool_validation row {EDITED}"]


def test_inserted_api_client_is_a_finding(store: Store) -> None:
    """An API client inserted by SQL with a token the forger holds authenticates, and is a gate finding."""
    create_client(store, "ward", ["m"], actor="admin")
    revoke_client(store, "ward", actor="admin")
    assert _items(store) == []
    forged = "qms_forged-token"
    execute(store, "INSERT INTO api_client (id, created_at, name, token_sha256, models, active, actor) "
                   "SELECT 'f2', created_at, 'mallory', :h, '[\"m\"]', :a, 'admin' FROM api_client LIMIT 1",
            h=token_sha256(forged), a=True)
    assert authenticate(store, forged) is not None  # what the forged row would let in
    assert _items(store) == ["api_client api-client:mallory (row f2): the api_client row has no audit event: "
                             "the row was inserted outside qmskit"]


def test_deleted_api_revocation_is_a_finding(store: Store) -> None:
    """A client's revocation deleted by SQL (its token working again) is a finding: the trail records the revocation."""
    token = create_client(store, "ward", ["m"], actor="admin")
    revoke_client(store, "ward", actor="admin")
    drop_table_protection(store, "api_client")
    execute(store, "DELETE FROM api_client WHERE active = :a", a=False)
    assert authenticate(store, token) is not None
    [reason] = _items(store)
    assert reason.startswith("api_client api-client:ward") and "deleted" in reason


def test_untouched_test_run_of_many_results_matches(store: Store, tmp_path: Path) -> None:
    """A run with results in any order, with and without source fingerprints, matches its event."""
    project = write_project(tmp_path / "device", {"n.yaml": NEED, "r.yaml": requirement("REQ-001", "NEED-001")})
    results = {f"t::{i}": (list(Outcome)[i % len(Outcome)], ("REQ-001",) if i % 2 else ()) for i in range(30)}
    _run(store, project, results)
    assert _items(store) == [] and len(store.all(TestRunRecord)) == 1


def _old_events(rows: list[Row]) -> list[Row]:
    """An old store's events: revocations and release steps recorded before their events held all of their row."""
    out = []
    for time, actor, action, obj, before, after, details in rows:
        d = json.loads(details)
        if action == "api.token.revoke":
            d = {}
        elif action.startswith("release."):
            d = {k: v for k, v in d.items() if k not in ("plan_digest", "verdict_digest", "soup_sha256")}
        out.append((time, actor, action, obj, before, after, json.dumps(d, sort_keys=True, separators=(",", ":"))))
    return out


def test_old_events_match_on_the_fields_they_hold(store: Store) -> None:
    """Old revocation and release-step events still vouch for their rows' recorded fields: a deleted revocation or a
    rewritten signer is a finding, an unchanged row is not."""
    create_client(store, "ward", ["m"], actor="admin")
    revoke_client(store, "ward", actor="admin")
    row = _step(store)
    drop_protection(store)
    forge(store, _old_events)
    assert _items(store) == []
    drop_table_protection(store, "release_step")
    execute(store, "UPDATE release_step SET actor = 'mallory'")
    drop_table_protection(store, "api_client")
    execute(store, "DELETE FROM api_client WHERE active = :a", a=False)
    edited, deleted = _items(store)
    assert edited == f"release_step release:1.0.0 authored (row {row.id}): the release_step row {EDITED}"
    assert deleted.startswith("api_client api-client:ward") and "deleted" in deleted
