"""The store fields the gate follows but no audit event holds are checked against what the events do hold.

The attacks, by someone with write access to the project and the store (the append-only triggers
dropped) but no key: the weights changed and the version's file list edited to their new sha256
(its digest column kept); a lock's parsed protocol pointed at an untouched copy of the data, or its
path at an untouched copy of the protocol while the protocol itself is edited; an older, weaker lock
or another lock's passing run made to read as the latest by its row time or lock id; a demoted model's
stage rows re-chained to staging; the release plan edited after the release was signed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from qms.config import load_project
from qms.gate.checks.evidence import EvidenceIntact
from qms.gate.context import GateContext
from qms.hashing import sha256_file
from qms.store import Store
from qms.validation.manifest import DatasetManifest
from tests.core.tamper import drop_table_protection, execute
from tests.gate.test_gate_evidence import MODEL, _ctx, _reasons, project_root
from tests.validation.runs import QMS_TOML

__all__ = ["project_root"]


def test_weights_with_a_rewritten_file_list_fail(project_root: Path, store: Store) -> None:
    """Flipped weights whose sha256 was also written into the version's file list (its digest kept) are a finding: the list
    no longer hashes to the digest the registration event recorded."""
    weights = project_root / "models" / "tiny" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01
    weights.write_bytes(bytes(data))
    [(files,)] = _rows(store, "SELECT files FROM model_version")
    entries = json.loads(files)
    for e in entries:
        if e["path"] == "model.safetensors":
            e["sha256"] = sha256_file(weights)
    drop_table_protection(store, "model_version")
    execute(store, "UPDATE model_version SET files = :f", f=json.dumps(entries))
    reasons = _reasons(project_root, store)
    assert len(reasons) == 1 and reasons[0].startswith(f"model:{MODEL}: the registered file list") and "digest" in reasons[0]


def test_lock_pointed_at_an_untouched_copy_of_the_data_fails(project_root: Path, store: Store) -> None:
    """A lock row whose parsed protocol was edited to read the dataset from an untouched copy, while the real test image is
    swapped, is a finding: the stored protocol no longer hashes to the locked content digest."""
    shutil.copytree(project_root / "data", project_root / "pristine")
    manifest = DatasetManifest.from_file(project_root / "data" / "manifests" / "test.json")
    image = project_root / "data" / "deid" / manifest.entries[0].file
    image.write_bytes(image.read_bytes()[:-1] + b"\x00")
    [(content,)] = _rows(store, "SELECT content FROM validation_protocol_lock")
    parsed = json.loads(content)
    parsed["dataset"]["root"] = "pristine/deid"
    parsed["dataset"]["manifest"] = "pristine/manifests/test.json"
    drop_table_protection(store, "validation_protocol_lock")
    execute(store, "UPDATE validation_protocol_lock SET content = :c", c=json.dumps(parsed))
    found = EvidenceIntact().evaluate(_ctx(project_root, store)).findings
    assert any(f.item == "protocol:VAL-T@1.0" and "content digest" in f.reason for f in found)


def _rows(store: Store, sql: str) -> list[tuple[str, ...]]:
    from sqlalchemy import text

    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql)).all()]


def _two_locks(store: Store, root: Path) -> tuple[str, str]:
    """VAL-T@1.0 (acceptance AUROC >= 0.6) locked and passed, then VAL-T@1.1 (>= 0.99) locked and failed: (pass, fail) run ids."""
    from qms.validation.lock import lock
    from qms.validation.protocolparser import read_protocol
    from qms.validation.inputs import inputs_for
    from qms.validation.run import run_protocol
    from tests.validation.synthetic import PROTOCOL, make_project, toy_identity, toy_predictor

    first = make_project(root, 40)
    second = first.with_name("p11.yaml")
    second.write_text(PROTOCOL.replace('version: "1.0"', 'version: "1.1"').replace("lower >= 0.6", "lower >= 0.99"))
    ids = []
    for path in (first, second):
        lock(store, inputs_for(read_protocol(path), root, toy_identity(root)), "test.engineer")
        ids.append(run_protocol(store, path, root, "test.engineer", out_dir=root / "runs", predictor=toy_predictor(),
                                identity=toy_identity(root)).run.id)
    return ids[0], ids[1]


def _validation(root: Path, store: Store) -> list[str]:
    from qms.gate.checks.validation import ProtocolsPassed
    from qms.release_plan import ReleasePlan

    plan = ReleasePlan(source="release.yaml", version="1.0.0", model="toy@1.0.0", protocols=("VAL-T",),
                       signers={"author": ("alice",), "reviewer": ("bob",), "approver": ("carol",)},
                       anomaly_threshold="minor", soup_file="soup.yaml", anomaly_file="anomalies.yaml", references={})
    (root / "qms.toml").exists() or (root / "qms.toml").write_text(QMS_TOML)
    found = ProtocolsPassed().evaluate(GateContext(load_project(root), store, plan)).findings
    return [f.reason for f in found if f.item == "VAL-T"]


def test_older_lock_moved_to_latest_fails(store: Store, tmp_path: Path) -> None:
    """An older, weaker lock whose row time was moved after the stricter lock's (so it reads as the latest, with its passing
    run) is a finding: the audit trail locked the stricter version last."""
    passed, failed = _two_locks(store, tmp_path)
    assert [r for r in _validation(tmp_path, store) if failed in r and "failed" in r]
    drop_table_protection(store, "validation_protocol_lock")
    execute(store, "UPDATE validation_protocol_lock SET created_at = '2999-01-01 00:00:00' WHERE protocol_version = '1.0'")
    assert any("VAL-T@1.0" in r and "VAL-T@1.1 locked after it" in r for r in _validation(tmp_path, store))


def test_run_of_another_lock_refiled_fails(store: Store, tmp_path: Path) -> None:
    """A passing run of the weaker lock re-filed under the stricter lock (its lock id edited) and made its last run is a
    finding naming the run: its recorded result is of the other lock."""
    passed, failed = _two_locks(store, tmp_path)
    drop_table_protection(store, "validation_run")
    execute(store, "UPDATE validation_run SET lock_id = (SELECT id FROM validation_protocol_lock WHERE protocol_version = "
                   "'1.1'), created_at = '2999-01-01 00:00:00' WHERE id = :i", i=passed)
    reasons = _validation(tmp_path, store)
    assert any(f"run {passed} is filed under lock VAL-T@1.1" in r for r in reasons)
    assert any(failed in r and "failed" in r for r in reasons)  # the last run by the audit trail is still the failing one


def test_plan_edited_after_signing_fails(store: Store, tmp_path: Path) -> None:
    """A release plan edited after the release was authored (a protocol dropped) is a sequencing finding naming the step:
    the gate judges a release only under the plan its signers signed."""
    from qms.gate.checks.sequencing import Sequencing
    from qms.hashing import digest_of
    from qms.release_plan import ReleasePlan
    from qms.release_steps import ReleaseStep

    (tmp_path / "qms.toml").write_text(QMS_TOML)
    plan = ReleasePlan(source="release.yaml", version="1.0.0", model="toy@1.0.0", protocols=("VAL-A", "VAL-B"),
                       signers={"author": ("alice",), "reviewer": ("bob",), "approver": ("carol",)},
                       anomaly_threshold="minor", soup_file="soup.yaml", anomaly_file="anomalies.yaml", references={})
    store.add(ReleaseStep(version="1.0.0", step="authored", actor="alice", commit="c" * 40, model="toy@1.0.0",
                          plan_digest=digest_of(plan.to_json()), verdict_digest="v", documents="{}", soup="{}"))
    assert Sequencing().evaluate(GateContext(load_project(tmp_path), store, plan)).passed
    edited = ReleasePlan(**{**plan.__dict__, "protocols": ("VAL-A",)})
    [finding] = Sequencing().evaluate(GateContext(load_project(tmp_path), store, edited)).findings
    assert finding.item == "release:1.0.0" and "authored by alice under another release plan" in finding.reason


def test_demoted_model_rechained_to_staging_fails(project_root: Path, store: Store) -> None:
    """A version moved back to development whose stage rows were re-chained (`supersedes`) so staging reads as current is
    a finding: the audit trail's last stage change is to development."""
    from qms.gate.checks.validation import ProtocolsPassed
    from qms.models.stages import Stage, change_stage

    change_stage(store, MODEL, Stage.STAGING, actor="alice", reason="candidate")
    change_stage(store, MODEL, Stage.DEVELOPMENT, actor="alice", reason="a problem found in review")
    item = f"model:{MODEL}"
    assert any("still in development" in f.reason for f in ProtocolsPassed().evaluate(_ctx(project_root, store)).findings
               if f.item == item)
    (registered, _), (staged, _), (demoted, _) = _rows(store, "SELECT id, stage FROM model_stage ORDER BY created_at")
    drop_table_protection(store, "model_stage")
    execute(store, "UPDATE model_stage SET supersedes = :r WHERE id = :d", r=registered, d=demoted)
    execute(store, "UPDATE model_stage SET supersedes = :d WHERE id = :s", d=demoted, s=staged)
    [finding] = [f for f in ProtocolsPassed().evaluate(_ctx(project_root, store)).findings if f.item == item]
    assert "stage records end at staging, but the audit trail last moved it to development" in finding.reason


def test_lock_pointed_at_a_copy_of_the_protocol_fails(project_root: Path, store: Store) -> None:
    """A lock row whose path was pointed at an untouched copy of the protocol, while the protocol file itself is edited
    and committed, is a finding naming the edited file: it states the locked id and version with other text."""
    real = project_root / "protocols" / "p.yaml"
    copy = real.with_name("p-copy.yaml")
    shutil.copy(real, copy)
    real.write_text(real.read_text().replace("lower >= 0.6", "lower >= 0.5"))
    drop_table_protection(store, "validation_protocol_lock")
    execute(store, "UPDATE validation_protocol_lock SET path = :p", p=str(copy))
    reasons = _reasons(project_root, store)
    assert len(reasons) == 1 and f"{real} states protocol VAL-T@1.0 but differs from its lock" in reasons[0]
