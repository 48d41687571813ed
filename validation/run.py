"""Running a locked protocol: check everything against the lock, infer, analyse, record.

Order matters (VALIDATION.md): the protocol, model, manifest and every data file are
compared with the lock first, and any difference refuses the run, naming it; bad input
(missing labels, unknown subgroup attributes) is refused before inference. Then the
test set's independence from training is checked (ids, file hashes, near-duplicate
images), the model predicts (GPU when there is one) batch by batch with each batch timed
(time-to-notification), and again on a seeded subset when the protocol asks for
repeatability, and the analysis runs, joined by the sample-size justification, the
reference standard with its inter-reader agreement, the data sources and cohort flow, the
acquisition table, the failure analysis, robustness strata, the deviations from protocol,
and the limitations and conclusion derived from all of it. The predictions (parquet,
with each case's latency), the result (JSON) and the plots are written, hashed, and
recorded with the environment in one append-only run record and its audit event. Every
recorded run counts as one more use of the dataset.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from qms import audit
from qms.atomic import atomic_writer, write_bytes, write_text
from qms.compute.engine import Engine
from qms.errors import QmsError
from qms.hashing import canonical_json, digest_of, sha256_file
from qms.store import Store
from qms.store.records import new_id
from qms.validation import acquisition, cohort, failures, latency, limitations, plots, readers, repeatability, robustness
from qms.validation import samplesize, textcalls, worklist
from qms.validation.analysis import analyse_run, label_cases, nan_to_none, predictions_frame
from qms.validation.independence import check_independence
from qms.validation.inputs import ModelIdentity, inputs_for
from qms.validation.lock import LockInputs, check_run_inputs, find_lock, stored_manifest
from qms.validation.manifest import DatasetManifest
from qms.validation.metrics import Metric
from qms.validation.neardup import find_near_duplicates
from qms.validation.predictions import Predictions
from qms.validation.protocol import Protocol
from qms.validation.protocolparser import read_protocol
from qms.validation.records import ProtocolLock, ValidationRun

__all__ = ["Predictor", "RunOutcome", "environment", "generates_text", "model_predictor", "run_protocol", "runs", "show"]

Predictor = Callable[[ProtocolLock, DatasetManifest, Path], Predictions]
"""Runs the locked model over the manifest's files under a data root."""

_PACKAGES = ("qmskit", "numpy", "scipy", "scikit-learn", "fairlearn", "pandas", "pyarrow", "torch", "matplotlib")


def generates_text(store: Store, ref: str) -> bool:
    """Whether `ref` is a registered report generator (its card states `generation`; an adapter over one too).

    A generator is validated on the reports it wrote (`qms.validation.textcalls`), never scored on images;
    a model outside the registry (a caller's own predictor) is scored by that predictor.
    """
    from qms.models.card import ModelCard, ModelKind
    from qms.models.refs import parse_ref
    from qms.models.records import ModelVersion

    name, version = parse_ref(ref)
    with store.reader() as session:
        found = session.exec(select(ModelVersion).where(ModelVersion.name == name, ModelVersion.version == version)).first()
    return found is not None and ModelCard.from_json(json.loads(found.card), ref).kind is ModelKind.GENERATOR


def model_predictor(store: Store, *, device: str | None = None, batch_size: int = 32, root: Path | None = None,
                    engine: Engine | None = None) -> Predictor:
    """Inference through the model registry: the files are hash-checked on load, the digest against the lock.

    `root` is the project a model's relative recorded location is under; `engine` (`qms.compute`) runs
    preprocessing and the model (default: this process, with a DataLoader).
    """
    def predict(lock: ProtocolLock, manifest: DatasetManifest, data_root: Path) -> Predictions:
        from qms.models import inference, registry

        model = registry.load(store, lock.model_ref, root=root)
        if model.digest != lock.model_sha256:
            raise QmsError(f"model {lock.model_ref} loaded with sha256 {model.digest}, the lock has {lock.model_sha256}",
                           where=f"lock {lock.key}")
        return latency.timed(lambda chunk: inference.predict_manifest(model, chunk, data_root, device=device,
                                                                      batch_size=batch_size, engine=engine),
                             manifest, batch_size)
    return predict


def environment(inference_env: dict[str, Any], root: Path) -> dict[str, Any]:
    """Git commit, library versions and the inference device (VALIDATION.md, model identity)."""
    packages: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    commit, dirty = None, None
    try:
        import git

        repo = git.Repo(root, search_parent_directories=True)
        commit, dirty = repo.head.commit.hexsha, repo.is_dirty(untracked_files=True)
    except Exception:  # noqa: BLE001 - a project outside git has no commit to record
        pass
    return {"git_commit": commit, "git_dirty": dirty, "python": platform.python_version(),
            "platform": platform.platform(), "packages": packages, "inference": inference_env}


@dataclass(frozen=True)
class RunOutcome:
    run: ValidationRun
    result: dict[str, Any]
    files: dict[str, str]


def _training_manifests(store: Store, lock: ProtocolLock, protocol: Protocol, root: Path) -> dict[str, DatasetManifest | None]:
    named = {m.sha256: m for m in (DatasetManifest.from_file(root / p) for p in protocol.training_manifests)}
    return {h: named.get(h) or stored_manifest(store, h) for h in json.loads(lock.training_manifests)}


def run_protocol(
    store: Store, protocol_path: Path, root: Path, actor: str, *, out_dir: Path, predictor: Predictor,
    identity: ModelIdentity,
) -> RunOutcome:
    """Run a locked protocol end to end; refusals raise before anything is recorded."""
    protocol = read_protocol(protocol_path)
    lock = find_lock(store, protocol.key)
    if lock is None:
        raise QmsError(f"protocol {protocol.key} is not locked", where=str(protocol_path),
                       hint=f"run `qms protocol lock {protocol_path}` before the run")
    inputs = inputs_for(protocol, root, identity)
    check_run_inputs(lock, inputs, root)
    manifest = inputs.manifest
    training = _training_manifests(store, lock, protocol, root)
    spec = protocol.near_duplicates
    near = find_near_duplicates(manifest, root / protocol.data_root, [m for m in training.values() if m is not None],
                                root / (spec.training_root or protocol.data_root), spec)
    independence = replace(check_independence(manifest, training), near_duplicates=near)
    generation = _report_generation(protocol, root)
    predict = _predict(store, protocol, lock, predictor, root)
    predictions = predict(manifest)
    result = _with_further_evidence(protocol, manifest, predictions, analyse_run(protocol, manifest, predictions, independence),
                                    predict, tuple(m for m in training.values() if m is not None), generation)

    run_id = new_id()
    folder = out_dir / run_id
    folder.mkdir(parents=True, exist_ok=False)
    files = _write_artefacts(folder, protocol, manifest, predictions, result)
    with store.transaction() as session:
        prior = session.exec(select(ValidationRun).where(ValidationRun.manifest_sha256 == manifest.sha256)
                             .order_by(col(ValidationRun.created_at))).all()
        use = len(prior) + 1
        result = {**result, "run_id": run_id,
                  "protocol": {"key": protocol.key, "title": protocol.title,
                               "intended_use": protocol.content.get("intended_use"), "text_sha256": lock.text_sha256,
                               "content_sha256": lock.content_sha256, "lock_id": lock.id, "lock_sha256": lock.lock_sha256,
                               "locked_by": lock.locked_by, "locked_at": lock.created_at.isoformat(),
                               "signature_id": lock.signature_id},
                  "model": {"ref": lock.model_ref, "sha256": lock.model_sha256},
                  "dataset": {"manifest": lock.manifest_path, "sha256": manifest.sha256, "name": manifest.name,
                              "split": manifest.split, "use": use,
                              "prior_runs": [{"run": r.id, "protocol": r.protocol_key, "model": r.model_ref,
                                              "verdict": r.verdict} for r in prior]},
                  "artefacts": files}
        env = environment(dict(getattr(predictions, "environment", {}) or {}), root)
        result_bytes = canonical_json(result)
        write_bytes(folder / "result.json", result_bytes)
        rec = ValidationRun(
            id=run_id, lock_id=lock.id, protocol_key=protocol.key, model_ref=lock.model_ref,
            model_sha256=lock.model_sha256, manifest_sha256=manifest.sha256, dataset_use=use,
            verdict=result["verdict"], predictions_sha256=files["predictions.parquet"],
            result_sha256=digest_of(result), result=result_bytes.decode(), out_dir=str(folder),
            environment=canonical_json(env).decode(), actor=actor,
        )
        session.add(rec)
        audit.append(session, audit.EventSpec(
            actor, "validation.run", f"validation:{run_id}", after=rec.result_sha256,
            details={"protocol": protocol.key, "model": lock.model_ref, "manifest": manifest.sha256,
                     "verdict": rec.verdict, "dataset_use": use, "predictions_sha256": rec.predictions_sha256},
        ))
    return RunOutcome(rec, result, files)


def _predict(store: Store, protocol: Protocol, lock: ProtocolLock, predictor: Predictor,
             root: Path) -> Callable[[DatasetManifest], Predictions]:
    """The run's predictions of some cases: a report generator's from the reports it wrote, any other model's scores."""
    spec = protocol.report_generation
    if spec is not None and generates_text(store, protocol.model_ref):
        return lambda cases: textcalls.generated_calls(spec, root, cases, protocol.labels)
    return lambda cases: predictor(lock, cases, root / protocol.data_root)


def _report_generation(protocol: Protocol, root: Path) -> tuple[dict[str, Any] | None, list[str]]:
    """The generated-report endpoints (`qms.validation.report_evaluation`): read and hash-checked before inference."""
    spec = protocol.report_generation
    if spec is None:
        return None, []
    from qms.validation import report_evaluation  # pandas loads only for a report-generating model's protocol

    return report_evaluation.evaluate_files(spec, root, protocol.multiplicity)


def _with_further_evidence(protocol: Protocol, manifest: DatasetManifest, predictions: Predictions,
                           result: dict[str, Any], rerun: Callable[[DatasetManifest], Predictions],
                           training: tuple[DatasetManifest, ...] = (),
                           generation: tuple[dict[str, Any] | None, list[str]] = (None, [])) -> dict[str, Any]:
    """The further evidence joined to the analysis; failed criteria (sample size when required, kappa,
    time-to-notification, repeatability, generated-report endpoints) fail the run; limitations and the conclusion
    are derived last."""
    sample, r_sample = samplesize.justify(protocol.sample_size, manifest)
    reference, r_reference = readers.evaluate(protocol.reference_standard, manifest, protocol.labels)
    ttn, r_ttn = latency.evaluate(protocol.time_to_notification, predictions)
    queue, r_queue = worklist.evaluate(protocol.worklist, manifest, predictions, protocol.subgroups, protocol.seed)
    data, deviations = cohort.describe(protocol.data, manifest, protocol.labels, predictions.failures, training)
    repeat: dict[str, Any] | None = None
    r_repeat: list[str] = []
    if protocol.repeatability is not None:
        picked = repeatability.sample(protocol.repeatability, len(manifest.entries))
        repeat, r_repeat, d_repeat = repeatability.compare(protocol.repeatability, manifest, protocol.labels, predictions,
                                                           rerun(manifest.select(picked.tolist())), picked)
        deviations += d_repeat
    cases = {label: label_cases(manifest, predictions, label) for label in protocol.labels}
    reasons = [*result["reasons"], *r_sample, *r_reference, *r_ttn, *r_queue, *r_repeat, *generation[1]]
    out = nan_to_none({
        **result, "sample_size": sample, "reference_standard": reference, "time_to_notification": ttn, "worklist": queue,
        "data": data, "acquisition": acquisition.table(manifest),
        "failure_analysis": failures.analyse(protocol, manifest, cases, predictions.failures),
        "robustness": robustness.stratify(protocol.robustness, manifest, protocol.endpoints, cases),
        "repeatability": repeat, "report_generation": generation[0], "deviations": deviations, "reasons": reasons,
        "verdict": "fail" if reasons else result["verdict"]})
    return {**out, "limitations": limitations.derive(protocol, out), "conclusion": limitations.conclusion(protocol, out)}


def _write_artefacts(folder: Path, protocol: Protocol, manifest: DatasetManifest, predictions: Predictions,
                     result: dict[str, Any]) -> dict[str, str]:
    """Predictions parquet and the PNG figures; returns each file's sha256."""
    frame = predictions_frame(manifest, predictions, protocol.labels)
    seconds = getattr(predictions, "latency", None)
    if seconds is not None and len(seconds) == len(frame):
        frame["latency_s"] = seconds  # the case's time-to-notification (its batch's time, see qms.validation.latency)
    with atomic_writer(folder / "predictions.parquet", "wb") as f:
        frame.to_parquet(f, index=False)
    names = ["predictions.parquet"]
    auroc = next((e for e in result["endpoints"] if e["metric"] == Metric.AUROC.value and e["lower"] is not None), None)
    if auroc is not None:
        label = auroc["labels"][0]
        cases = label_cases(manifest, predictions, label)
        plots.roc(cases, label, auroc, folder / "roc.png", seed=protocol.seed)
        plots.calibration(cases, label, folder / "calibration.png")
        names += ["roc.png", "calibration.png"]
    sg = result.get("subgroups")
    if sg:
        for metric in sg["overall"]:
            goal = next((float(e["acceptance"].split()[-1]) for e in result["endpoints"]
                         if e["metric"] == metric and e["role"] == "primary" and e["acceptance"]
                         and e["acceptance"].startswith("lower")), None)
            plots.forest(sg["groups"], metric, goal, folder / f"forest-{metric}.png")
            names.append(f"forest-{metric}.png")
    write_text(folder / "protocol.txt", Path(protocol.source).read_text(encoding="utf-8"))
    names.append("protocol.txt")
    return {n: sha256_file(folder / n) for n in names}


def show(store: Store, run_id: str) -> ValidationRun:
    rows = store.all(ValidationRun, ValidationRun.id == run_id)
    if not rows:
        matches = store.all(ValidationRun, col(ValidationRun.id).startswith(run_id)) if len(run_id) >= 6 else []
        if len(matches) != 1:
            raise QmsError(f"no validation run {run_id!r}" if not matches else f"run id {run_id!r} is ambiguous",
                           hint="`qms validate show` lists runs")
        rows = matches
    return rows[0]


def runs(store: Store) -> list[ValidationRun]:
    with store.reader() as session:
        return list(session.exec(select(ValidationRun).order_by(col(ValidationRun.created_at))))

