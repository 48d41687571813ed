"""Locking and running protocols: freeze, refuse differences, check independence, record results."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import text

from qms import audit
from qms.errors import CheckFailed, QmsError
from qms.hashing import sha256_file
from qms.store import Store, open_store
from qms.validation.lock import lock
from qms.validation.manifest import DatasetManifest
from qms.validation.protocolparser import read_protocol
from qms.validation.records import ProtocolLock, ValidationRun
from qms.validation.inputs import inputs_for
from qms.validation.run import RunOutcome, run_protocol
from tests.validation.synthetic import PROTOCOL, make_project, toy_identity, toy_predictor


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Store:
    return open_store(sqlite_url)


def _lock(store: Store, path: Path, root: Path) -> ProtocolLock:
    rec, _ = lock(store, inputs_for(read_protocol(path), root, toy_identity(root)), "test.engineer")
    return rec


def _run(store: Store, path: Path, root: Path, **kw: object) -> RunOutcome:
    return run_protocol(store, path, root, "test.engineer", out_dir=root / "runs",
                        predictor=kw.pop("predictor", toy_predictor()), identity=kw.pop("identity", toy_identity(root)))


def test_locked_protocol_runs_and_records_an_immutable_result(store: Store, tmp_path: Path) -> None:
    """A locked protocol runs: endpoints with intervals and verdicts, subgroups, bias, artefacts hashed, record append-only."""
    path = make_project(tmp_path, 80)
    lk = _lock(store, path, tmp_path)
    out = _run(store, path, tmp_path)
    r = out.result
    assert r["verdict"] == "pass", r["reasons"]
    assert {e["id"]: e["verdict"] for e in r["endpoints"]} == {"AUROC": "pass", "SENS": "pass", "MEAN": None}
    assert all(e["lower"] <= e["estimate"] <= e["upper"] for e in r["endpoints"])
    assert r["independence"]["ok"] and r["independence"]["overlap"]["patients"] == 0
    groups = {(g["attribute"], g["group"]) for g in r["subgroups"]["groups"]}
    assert ("PatientSex", "F") in groups and any(a == "PatientAge" and g.startswith("[18") for a, g in groups)
    assert r["subgroups"]["groups"][0]["metrics"]["auroc"]["level"] > 0.95  # Bonferroni-adjusted
    assert [b["verdict"] for b in r["bias"]] == ["pass", "pass"]
    folder = Path(out.run.out_dir)
    for name, digest in out.files.items():
        assert sha256_file(folder / name) == digest
    assert {"roc.png", "calibration.png", "forest-auroc.png", "forest-sensitivity.png"} <= set(out.files)
    frame = pd.read_parquet(folder / "predictions.parquet")
    assert len(frame) == r["cohort"]["cases"] and "prob_pneumothorax" in frame
    assert sha256_file(folder / "result.json") == out.run.result_sha256
    assert r["protocol"]["lock_id"] == lk.id and r["dataset"]["use"] == 1
    assert audit.verify(store).intact and audit.log(store, action="validation.run")
    with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:
        conn.execute(text("UPDATE validation_run SET verdict = 'pass'"))


def test_relocking_a_changed_protocol_is_refused_naming_the_field(sqlite_store: Store, tmp_path: Path) -> None:
    """Re-locking the same id and version with a changed threshold is refused (exit 2, a refusal) and names the field."""
    path = make_project(tmp_path)
    _lock(sqlite_store, path, tmp_path)
    assert _lock(sqlite_store, path, tmp_path).id == sqlite_store.all(ProtocolLock)[0].id  # same content: same lock
    path.write_text(PROTOCOL.replace("threshold: 0.5\n    role", "threshold: 0.4\n    role", 1))
    with pytest.raises(QmsError, match=r"protocol field endpoints\[1\]\.threshold") as refused:
        _lock(sqlite_store, path, tmp_path)
    assert refused.value.exit_code == 2
    assert len(sqlite_store.all(ProtocolLock)) == 1


def test_run_refuses_a_protocol_changed_after_locking(sqlite_store: Store, tmp_path: Path) -> None:
    """A run of a protocol edited after its lock is refused, naming the changed field; nothing is recorded."""
    path = make_project(tmp_path)
    _lock(sqlite_store, path, tmp_path)
    path.write_text(PROTOCOL.replace("acceptance: lower >= 0.6", "acceptance: lower >= 0.1"))
    with pytest.raises(CheckFailed, match=r"protocol field endpoints\[0\]\.acceptance"):
        _run(sqlite_store, path, tmp_path)
    path.write_text(PROTOCOL + "# a comment\n")
    with pytest.raises(CheckFailed, match="protocol document text"):
        _run(sqlite_store, path, tmp_path)
    assert sqlite_store.all(ValidationRun) == []


def test_run_refuses_a_changed_data_file_naming_it(sqlite_store: Store, tmp_path: Path) -> None:
    """A test image whose bytes changed after locking refuses the run and names the file."""
    path = make_project(tmp_path)
    _lock(sqlite_store, path, tmp_path)
    m = DatasetManifest.from_file(tmp_path / "data" / "manifests" / "test.json")
    target = tmp_path / "data" / "deid" / m.entries[0].file
    target.write_bytes(target.read_bytes() + b"x")
    with pytest.raises(CheckFailed) as info:
        _run(sqlite_store, path, tmp_path)
    assert info.value.where == str(target)
    assert sqlite_store.all(ValidationRun) == []


def test_run_refuses_a_different_model_or_manifest(sqlite_store: Store, tmp_path: Path) -> None:
    """A model or a manifest whose hash differs from the lock refuses the run, naming which."""
    path = make_project(tmp_path)
    _lock(sqlite_store, path, tmp_path)
    with pytest.raises(CheckFailed, match="model toy@1.0.0 sha256"):
        _run(sqlite_store, path, tmp_path, identity=toy_identity(tmp_path, "cd" * 32))
    manifest = tmp_path / "data" / "manifests" / "test.json"
    data = json.loads(manifest.read_text())
    data["entries"][0]["labels"]["pneumothorax"] ^= 1
    manifest.write_text(json.dumps(data))
    with pytest.raises(CheckFailed, match="does not match its stored hash") as info:
        _run(sqlite_store, path, tmp_path)
    assert info.value.where == str(manifest)


def test_patient_overlap_with_training_fails_the_run_with_the_count(sqlite_store: Store, tmp_path: Path) -> None:
    """A test set sharing patients with the model's training manifest fails, with the overlap count."""
    path = make_project(tmp_path)
    (tmp_path / "data" / "manifests" / "train.json").write_text(
        (tmp_path / "data" / "manifests" / "test.json").read_text())
    _lock(sqlite_store, path, tmp_path)
    out = _run(sqlite_store, path, tmp_path)
    n = out.result["cohort"]["patients"]
    assert out.run.verdict == "fail"
    assert out.result["independence"]["overlap"]["patients"] == n
    assert any(f"{n} patients of the test set are also in training data" in r for r in out.result["reasons"])


def test_unknown_training_manifest_fails_closed(sqlite_store: Store, tmp_path: Path) -> None:
    """A training manifest named by the model's lineage but not available fails the run (independence unshown)."""
    path = make_project(tmp_path)
    identity = lambda ref: ("ab" * 32, ("ef" * 32,))  # noqa: E731
    lock(sqlite_store, inputs_for(read_protocol(path), tmp_path, identity), "t")
    out = _run(sqlite_store, path, tmp_path, identity=identity)
    assert out.run.verdict == "fail" and out.result["independence"]["unresolved"] == ["ef" * 32]


def test_dataset_reuse_is_counted(sqlite_store: Store, tmp_path: Path) -> None:
    """Each run on the same locked dataset is counted, and earlier runs are listed."""
    path = make_project(tmp_path)
    _lock(sqlite_store, path, tmp_path)
    _run(sqlite_store, path, tmp_path)
    second = _run(sqlite_store, path, tmp_path)
    assert second.result["dataset"]["use"] == 2 and len(second.result["dataset"]["prior_runs"]) == 1


def test_failed_cases_count_as_errors(sqlite_store: Store, tmp_path: Path) -> None:
    """Cases the device failed on lower sensitivity (counted as misses), they are not excluded."""
    path = make_project(tmp_path, 80)
    _lock(sqlite_store, path, tmp_path)
    clean = _run(sqlite_store, path, tmp_path).result
    m = DatasetManifest.from_file(tmp_path / "data" / "manifests" / "test.json")
    positives = [i for i, e in enumerate(m.entries) if e.labels["pneumothorax"] == 1][:5]
    failed = _run(sqlite_store, path, tmp_path, predictor=toy_predictor(fail=positives)).result
    sens = {r["id"]: r["estimate"] for r in failed["endpoints"]}["SENS"]
    clean_sens = {r["id"]: r["estimate"] for r in clean["endpoints"]}["SENS"]
    assert failed["cohort"]["failed_cases"] == 5 and failed["cohort"]["cases"] == clean["cohort"]["cases"]
    assert sens < clean_sens
    assert failed["confusion"]["SENS"]["fn"] >= 5


def test_missing_labels_and_unknown_attributes_are_refused(sqlite_store: Store, tmp_path: Path) -> None:
    """Labels missing for some cases, or a subgroup attribute the manifest lacks, refuse the lock."""
    path = make_project(tmp_path)
    path.write_text(PROTOCOL.replace("attribute: site", "attribute: Race").replace("attribute: PatientSex\n    max",
                                                                                 "attribute: Race\n    max"))
    with pytest.raises(QmsError, match="subgroup attribute 'Race' is not in the dataset manifest"):
        _lock(sqlite_store, path, tmp_path)
    labels = tmp_path / "data" / "labels.csv"
    lines = labels.read_text().splitlines()
    lines[2] = lines[2].replace(",test,0,", ",test,,").replace(",test,1,", ",test,,")
    labels.write_text("\n".join(lines) + "\n")
    from qms.validation.dataset import create_manifest

    m = create_manifest(tmp_path / "data" / "deid", labels, split="test", name="toy-test")
    (tmp_path / "data" / "manifests" / "test.json").write_text(m.dumps())
    path.write_text(PROTOCOL)
    with pytest.raises(QmsError, match="label 'pneumothorax' is missing for 1 of"):
        _lock(sqlite_store, path, tmp_path)
    assert sqlite_store.all(ProtocolLock) == []


def test_unlocked_protocol_does_not_run(sqlite_store: Store, tmp_path: Path) -> None:
    """A protocol that was never locked does not run."""
    path = make_project(tmp_path)
    with pytest.raises(QmsError, match="is not locked"):
        _run(sqlite_store, path, tmp_path)


def test_clustered_data_uses_cluster_methods(sqlite_store: Store, tmp_path: Path) -> None:
    """With several images per patient, Wilson intervals are refused and the cluster bootstrap runs."""
    path = make_project(tmp_path, 40, images_per_patient=2,
                        protocol=PROTOCOL.replace("threshold: 0.5\n    role: primary",
                                                  "threshold: 0.5\n    ci: {method: wilson}\n    role: primary"))
    with pytest.raises(QmsError, match="assumes independent cases"):
        _lock(sqlite_store, path, tmp_path)
    path.write_text(PROTOCOL)
    _lock(sqlite_store, path, tmp_path)
    assert _run(sqlite_store, path, tmp_path).result["cohort"]["patients"] == 20


def test_subgroup_values_and_bias_match_fairlearn_on_the_cases() -> None:
    """Per-group values and bias differences equal fairlearn's MetricFrame and sklearn run case by case."""
    import numpy as np
    from fairlearn.metrics import MetricFrame, demographic_parity_difference, equalized_odds_difference
    from sklearn.metrics import recall_score, roc_auc_score

    from qms.validation.intervals import CIMethod
    from qms.validation.metrics import CISpec, LabelCases, Metric
    from qms.validation.protocol import AttributeSpec, BiasCriterion, BiasKind, Multiplicity, Subgroups
    from qms.validation.protocolparser import read_protocol
    from qms.validation.subgroups import analyse, evaluate_bias

    rng = np.random.default_rng(4)
    n = 600
    y = (rng.random(n) < 0.4).astype(np.int64)
    s = 1 / (1 + np.exp(-(rng.normal(size=n) + 1.5 * y - 0.5)))
    sex = [None if v == "-" else str(v) for v in rng.choice(["F", "M", "-"], n, p=[0.45, 0.45, 0.1])]
    cases = LabelCases(y, s, np.arange(n, dtype=np.int64))
    spec = Subgroups("x", 0.5, (Metric.AUROC, Metric.SENSITIVITY, Metric.FLAG_RATE),
                     CISpec(CIMethod.BOOTSTRAP_PERCENTILE, 0.95, 200, 1), (AttributeSpec("sex"),), 30, 5)
    rows, cols = analyse(spec, cases, {"sex": sex}, Multiplicity.DESCRIPTIVE, {})
    calls = (s >= 0.5).astype(np.int64)
    col = cols["sex"]
    assert set(col) == {"F", "M", "unknown"}
    mf = MetricFrame(metrics={"sens": recall_score, "auc": lambda t, p: roc_auc_score(t, p)}, y_true=y,
                     y_pred=calls, sensitive_features=col)
    auc = MetricFrame(metrics=roc_auc_score, y_true=y, y_pred=s, sensitive_features=col).by_group
    for r in rows:
        assert np.isclose(r.values["sensitivity"]["estimate"], mf.by_group.loc[r.group, "sens"])
        assert np.isclose(r.values["auroc"]["estimate"], auc.loc[r.group])
    crit = [BiasCriterion("E", BiasKind.EQUALIZED_ODDS_DIFFERENCE, "sex", 1.0),
            BiasCriterion("F", BiasKind.FLAG_RATE_PARITY, "sex", 1.0)]
    bias = evaluate_bias(crit, spec, cases, rows, cols, {})
    keep = np.isin(col, [r.group for r in rows if r.sufficient])
    assert np.isclose(bias[0].value, equalized_odds_difference(y[keep], calls[keep], sensitive_features=col[keep]))
    assert np.isclose(bias[1].value, demographic_parity_difference(y[keep], calls[keep], sensitive_features=col[keep]))


def test_lock_is_e_signed_over_its_statement(tmp_path: Path) -> None:
    """A lock signed by an approver carries the signature, and the signature verifies over the lock statement."""
    from qms.hashing import canonical_json
    from qms.signing import SignatureRecord, sign_bytes, verify_record
    from tests.signing.orgkit import make_org, passphrase

    store = open_store(f"sqlite:///{tmp_path / 'qms.db'}")
    org = make_org(store, tmp_path / "home")
    path = make_project(tmp_path / "proj")
    root = tmp_path / "proj"
    inputs = inputs_for(read_protocol(path), root, toy_identity(root))

    def signer(data: bytes, ref: str) -> str:
        return sign_bytes(store, org.home, "carol", passphrase("carol"), data, "approved", ref).id

    rec, created = lock(store, inputs, "carol", signer=signer)
    assert created and rec.signature_id
    sig = store.all(SignatureRecord, SignatureRecord.id == rec.signature_id)[0]
    statement = canonical_json(inputs.statement("carol"))
    assert verify_record(sig, statement, org.trust()).ok
    assert not verify_record(sig, statement.replace(b"VAL-T", b"VAL-X"), org.trust()).ok


def test_signing_an_unsigned_lock_later_is_refused(sqlite_store: Store, tmp_path: Path) -> None:
    """An unsigned lock cannot gain a signature by locking again (a lock never changes)."""
    path = make_project(tmp_path)
    _lock(sqlite_store, path, tmp_path)
    inputs = inputs_for(read_protocol(path), tmp_path, toy_identity(tmp_path))
    with pytest.raises(QmsError, match="already locked without a signature") as refused:
        lock(sqlite_store, inputs, "t", signer=lambda data, ref: "never")
    assert not isinstance(refused.value, CheckFailed)  # a refusal (exit 2), not a failed check

