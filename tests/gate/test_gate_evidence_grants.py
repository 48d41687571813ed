"""Rows that decide a verdict (link reviews, model stages, test and validation runs) match their audit events.

The attacks: with the append-only triggers dropped, a link review's actor rewritten, review rows
inserted to clear suspect links, a staging row inserted to release a development model.
"""

from __future__ import annotations

from pathlib import Path

from qms.gate.grants import grant_findings
from qms.models import registry
from qms.models.stages import Stage, change_stage
from qms.store import Store
from qms.traceability import Outcome, load_project_design, record_run
from qms.traceability.review import review
from qms.traceability.records import LinkReview, TestRunRecord
from qms.validation.lock import lock
from qms.validation.protocolparser import read_protocol
from qms.validation.inputs import inputs_for
from qms.validation.run import run_protocol
from tests.core.tamper import drop_table_protection, execute
from tests.models.helpers import vit_folder
from tests.traceability.trace_helpers import NEED, make_run, requirement, write_project
from tests.validation.synthetic import make_project, toy_identity, toy_predictor


def _items(store: Store) -> list[str]:
    return [f"{f.item}: {f.reason}" for f in grant_findings(store)[0]]


def _reviewed(store: Store, tmp_path: Path) -> LinkReview:
    project = write_project(tmp_path / "device", {"n.yaml": NEED, "r.yaml": requirement("REQ-001", "NEED-001")})
    review(project, store, "REQ-001", "reviewer.one")
    record_run(store, make_run(project, "0" * 40, {"t::a": (Outcome.FAILED, ("REQ-001",))}), "ci")
    assert load_project_design(project).items["REQ-001"].links
    [row] = store.all(LinkReview)
    return row


def test_rewritten_review_actor_is_a_finding(store: Store, tmp_path: Path) -> None:
    """A link review whose reviewer was rewritten in the table (a15) no longer matches its event, named by row id."""
    row = _reviewed(store, tmp_path)
    assert _items(store) == []
    drop_table_protection(store, "link_review")
    execute(store, "UPDATE link_review SET actor = 'demo.reviewer'")
    assert _items(store) == [f"link_review REQ-001 -> NEED-001 (row {row.id}): the link_review row differs from what "
                             "its audit event recorded: the row was edited"]


def test_inserted_test_link_review_is_a_finding(store: Store, tmp_path: Path) -> None:
    """A test-link review row inserted by SQL with no audit event (a19, r6) is a finding naming the table and row."""
    row = _reviewed(store, tmp_path)
    execute(store, "INSERT INTO link_review (id, created_at, item_id, parent_id, fingerprint, previous, actor) "
                   "VALUES ('f0', :t, 'tests/test_x.py::test_y', 'REQ-001', :fp, NULL, 'demo.reviewer')",
            t=row.created_at, fp="ab" * 32)
    assert _items(store) == ["link_review tests/test_x.py::test_y -> REQ-001 (row f0): the link_review row has no "
                             "audit event: the row was inserted outside qmskit"]


def test_inserted_staging_row_is_a_finding(store: Store, tmp_path: Path) -> None:
    """A staging row inserted by SQL (r2) is a finding; honest registration and stage changes match their events."""
    registry.register(store, vit_folder(tmp_path / "vit"), name="m", version="1.0.0", actor="alice")
    change_stage(store, "m@1.0.0", Stage.STAGING, actor="bob", reason="validated")
    head = change_stage(store, "m@1.0.0", Stage.DEVELOPMENT, actor="bob", reason="back to dev")
    assert _items(store) == []
    execute(store, "INSERT INTO model_stage (id, created_at, model_version_id, stage, actor, reason, supersedes) "
                   "VALUES ('ffff', :t, :v, 'staging', 'demo.reviewer', 'forged', :s)",
            t=head.created_at, v=head.model_version_id, s=head.id)
    assert registry.show(store, "m@1.0.0").stage is Stage.STAGING  # what the gate would have trusted
    assert _items(store) == ["model_stage model:m@1.0.0 (row ffff): the model_stage row has no audit event: "
                             "the row was inserted outside qmskit"]


def test_flipped_test_outcome_is_a_finding(store: Store, tmp_path: Path) -> None:
    """A failed result rewritten to passed no longer adds up to its run's recorded outcomes: the run is a finding."""
    _reviewed(store, tmp_path)
    drop_table_protection(store, "test_result")
    execute(store, "UPDATE test_result SET outcome = 'passed'")
    [run] = store.all(TestRunRecord)
    assert _items(store) == [f"test_run test-run:{run.id} (row {run.id}): the test_run row differs from what its audit "
                             "event recorded: the row was edited"]


def test_edited_validation_verdict_is_a_finding(store: Store, tmp_path: Path) -> None:
    """A failing validation run's verdict rewritten to pass (in the column and in the stored result) is a finding."""
    path = make_project(tmp_path, 40)
    lock(store, inputs_for(read_protocol(path), tmp_path, toy_identity(tmp_path)), "test.engineer")
    run = run_protocol(store, path, tmp_path, "test.engineer", out_dir=tmp_path / "runs", predictor=toy_predictor(0.0),
                       identity=toy_identity(tmp_path)).run
    assert run.verdict == "fail" and _items(store) == []
    drop_table_protection(store, "validation_run")
    execute(store, "UPDATE validation_run SET verdict = 'pass', result = :r",
            r=run.result.replace(f'"verdict":"{run.verdict}"', '"verdict":"pass"'))
    assert _items(store) == [f"validation_run validation:{run.id} (row {run.id}): the validation_run row differs from "
                             "what its audit event recorded: the row was edited"]
