"""The gate refuses link reviews and evidence events by an unverified actor (21 CFR 11.10(e), #14 item 7)."""

from __future__ import annotations

from pathlib import Path

from qms import audit
from qms.config import load_project
from qms.gate.checks.attribution import ActionsAttributed
from qms.gate.context import GateContext
from qms.release_plan import ReleasePlan
from qms.store import Store
from qms.traceability.review import review
from tests.traceability.trace_helpers import NEED, requirement, write_project

PLAN = ReleasePlan(source="release.yaml", version="1.0.0", model="tiny@1.0", protocols=(),
                   signers={"author": ("alice",), "reviewer": ("bob",), "approver": ("carol",)},
                   anomaly_threshold="minor", soup_file="soup.yaml", anomaly_file="anomalies.yaml", references={})


def _findings(root: Path, store: Store) -> list[tuple[str | None, str, str]]:
    outcome = ActionsAttributed().evaluate(GateContext(load_project(root), store, PLAN))
    return [(f.item, f.reason, f.hint) for f in outcome.findings]


def _event(store: Store, actor: str, action: str, obj: str) -> None:
    audit.record(store, audit.EventSpec(actor, action, obj))


def test_link_review_by_an_unverified_actor_fails_until_an_identity_reviews_it(tmp_path: Path, store: Store) -> None:
    """A link whose fingerprint an unverified name set is a finding with the unlock hint; a re-review by an identity clears it."""
    project = write_project(tmp_path, {"n.yaml": NEED, "r.yaml": requirement("REQ-001", "NEED-001")})
    review(project, store, "REQ-001", "unverified:mallory")
    (found,) = _findings(tmp_path, store)
    assert found[0] == "REQ-001" and "unverified:mallory" in found[1] and "qms session unlock" in found[2]
    assert review(project, store, "REQ-001", "alice").reviewed  # the same fingerprint, now vouched for by alice
    assert _findings(tmp_path, store) == []
    assert review(project, store, "REQ-001", "bob").reviewed == {}  # nothing left to review


def test_unverified_evidence_events_since_enrolment_fail(tmp_path: Path, store: Store) -> None:
    """Evidence events by an unverified actor after the first enrolment (and after the previous release) are findings;
    earlier ones, other releases' and non-evidence events are not."""
    write_project(tmp_path, {})
    _event(store, "unverified:ada", "deid.batch", "deid:before-enrolment")
    _event(store, "ca:0011", "user.add", "user:alice")
    _event(store, "unverified:ada", "model.stage", "model:old@0.9")
    _event(store, "alice", "release.bundled", "release:0.9.0")
    _event(store, "unverified:ada", "store.migrate", "store:1")
    _event(store, "alice", "dataset.create", "dataset:ok")
    _event(store, "unverified:ada", "validation.run", "validation:VAL-1")
    assert [(item, "unverified:ada" in reason) for item, reason, _ in _findings(tmp_path, store)] == [
        ("validation:VAL-1", True)]


def test_project_without_identities_reports_every_unverified_evidence_event(tmp_path: Path, store: Store) -> None:
    """Before any enrolment nobody can be authenticated: the gate reports the unverified events (the project cannot sign)."""
    write_project(tmp_path, {})
    _event(store, "unverified:ada", "deid.batch", "deid:1")
    _event(store, "unverified:ada", "test.run", "test-run:1")
    assert [item for item, _, _ in _findings(tmp_path, store)] == ["deid:1", "test-run:1"]
