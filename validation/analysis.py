"""The pre-specified analysis: per-case predictions in, endpoints, subgroups, bias and verdicts out.

Nothing here touches the store or a model: a run hands in the locked protocol, the
manifest and the predictions, and gets back a result whose every criterion has its own
verdict and whose overall verdict fails closed (any primary endpoint, bias criterion or
independence check that fails or cannot be evaluated fails the run).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from qms.errors import QmsError
from qms.validation import calibration, interpretation, monitoring
from qms.validation.independence import Independence
from qms.validation.intervals import CIMethod
from qms.validation.manifest import DatasetManifest
from qms.validation.metrics import THRESHOLDED, LabelCases, interval, point_estimate
from qms.validation.predictions import Predictions
from qms.validation.protocol import Endpoint, Protocol, Role, intersection_name
from qms.validation.subgroups import analyse, check_references, evaluate_bias, with_disparities

if TYPE_CHECKING:  # pandas loads when a run's predictions are tabled, not when a protocol is locked
    import pandas as pd

__all__ = [
    "EndpointResult", "FAIL", "PASS", "analyse_run", "check_compatible", "label_cases",
    "nan_to_none", "predictions_frame",
]

PASS, FAIL = "pass", "fail"


def check_compatible(protocol: Protocol, manifest: DatasetManifest, where: str) -> None:
    """Bad input is refused before anything runs: labels and subgroup attributes the manifest lacks, missing labels."""
    for label in protocol.labels:
        if label not in manifest.label_names:
            raise QmsError(f"label {label!r} is not in the dataset manifest (labels: {', '.join(manifest.label_names)})",
                           where=where)
        missing = [e.file for e in manifest.entries if e.labels[label] is None]
        if missing:
            raise QmsError(f"label {label!r} is missing for {len(missing)} of {len(manifest.entries)} cases "
                           f"(first: {missing[0]})", where=where,
                           hint="every case needs its reference label; complete the labels table and recreate the manifest")
    per_patient = Counter(e.patient_id for e in manifest.entries)
    clustered = sum(1 for n in per_patient.values() if n > 1)
    sg = protocol.subgroups
    specs = [(e.id, e.ci) for e in protocol.endpoints]
    if sg is not None:
        specs += [(f"subgroups {m.value}", sg.ci_for(m)) for m in sg.metrics]
    for name, ci in specs:
        if clustered and ci.method in (CIMethod.WILSON, CIMethod.CLOPPER_PEARSON):
            raise QmsError(f"{name}: {ci.method.value} assumes independent cases, but {clustered} patients have "
                           "several images", where=where,
                           hint="use bootstrap-percentile or bootstrap-bca (a patient-level cluster bootstrap)")
    if protocol.subgroups is not None:
        for attr in protocol.subgroups.attributes:
            if attr.name not in manifest.attribute_names:
                raise QmsError(f"subgroup attribute {attr.name!r} is not in the dataset manifest "
                               f"(attributes: {', '.join(manifest.attribute_names)})", where=where)
        check_references(protocol.subgroups, {a.name: [e.attributes[a.name] for e in manifest.entries]
                                              for a in protocol.subgroups.attributes if a.reference is not None})


def label_cases(manifest: DatasetManifest, predictions: Predictions, label: str) -> LabelCases:
    if label not in predictions.labels:
        raise QmsError(f"the model does not output label {label!r} (it outputs {', '.join(predictions.labels)})")
    score = predictions.probabilities[:, predictions.labels.index(label)].astype(np.float64)
    _, clusters = np.unique([e.patient_id for e in manifest.entries], return_inverse=True)
    y = np.array([e.labels[label] for e in manifest.entries], dtype=np.int64)
    return LabelCases(y, score, clusters.astype(np.int64))


@dataclass(frozen=True)
class EndpointResult:
    endpoint: Endpoint
    estimate: float
    lower: float
    upper: float
    level: float

    @property
    def verdict(self) -> str | None:
        a = self.endpoint.acceptance
        return None if a is None else PASS if a.holds(self.estimate, self.lower, self.upper) else FAIL

    def to_json(self) -> dict[str, Any]:
        e = self.endpoint

        def num(x: float) -> float | None:
            return None if x != x else x

        return {"id": e.id, "metric": e.metric.value, "labels": list(e.labels), "threshold": e.threshold,
                "prevalence": e.prevalence,
                "role": e.role.value, "ci": {"method": e.ci.method.value, "level": e.ci.level,
                                             "resamples": e.ci.resamples, "seed": e.ci.seed},
                "estimate": num(self.estimate), "lower": num(self.lower), "upper": num(self.upper),
                "acceptance": str(e.acceptance) if e.acceptance else None, "verdict": self.verdict}


def _confusion(cases: LabelCases, threshold: float) -> dict[str, int]:
    c = cases.calls(threshold)
    return {"tp": int(np.sum(c * cases.y)), "fp": int(np.sum(c * (1 - cases.y))),
            "fn": int(np.sum((1 - c) * cases.y)), "tn": int(np.sum((1 - c) * (1 - cases.y)))}


def nan_to_none(obj: Any) -> Any:
    """NaN (an undefined metric) as JSON null, through dicts and lists: canonical JSON has no NaN."""
    if isinstance(obj, float):
        return None if obj != obj else obj
    if isinstance(obj, dict):
        return {k: nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [nan_to_none(v) for v in obj]
    return obj


def analyse_run(
    protocol: Protocol, manifest: DatasetManifest, predictions: Predictions, independence: Independence,
) -> dict[str, Any]:
    """Every endpoint with its interval and verdict, the subgroup table, the bias criteria, one overall verdict."""
    cases = {label: label_cases(manifest, predictions, label) for label in protocol.labels}
    endpoints = []
    for e in protocol.endpoints:
        iv = interval(e.metric, [cases[label] for label in e.labels], e.threshold, e.ci, e.prevalence)
        endpoints.append(EndpointResult(e, iv.estimate, iv.lower, iv.upper, iv.level))
    reasons = [f"independence: {r}" for r in independence.reasons()]
    for r in endpoints:
        if r.endpoint.role is Role.PRIMARY and r.verdict != PASS:
            reasons.append(f"primary endpoint {r.endpoint.id}: {r.endpoint.metric.value} "
                           f"[{r.lower:.4f}, {r.upper:.4f}] does not meet {r.endpoint.acceptance}")
    subgroup_json: dict[str, Any] | None = None
    interpretation_json: dict[str, Any] | None = None
    post_market_json: dict[str, Any] | None = None
    bias_json: list[dict[str, Any]] = []
    sg = protocol.subgroups
    if sg is not None:
        goals = {r.endpoint.metric: r.endpoint.acceptance.value for r in endpoints
                 if r.endpoint.acceptance and r.endpoint.acceptance.statistic == "lower"
                 and r.endpoint.labels == (sg.label,) and r.endpoint.role is Role.PRIMARY}
        attributes = {a.name: [e.attributes[a.name] for e in manifest.entries] for a in sg.attributes}
        rows, columns = analyse(sg, cases[sg.label], attributes, protocol.multiplicity, goals)
        rows, bias_intervals = with_disparities(sg, cases[sg.label], rows, columns, protocol.bias, protocol.multiplicity)
        overall = {m: point_estimate(m, [cases[sg.label]], sg.threshold) for m in sg.metrics}
        bias = evaluate_bias(protocol.bias, sg, cases[sg.label], rows, columns, overall, bias_intervals)
        reasons += [b.failure_reason() for b in bias if not b.passed]
        interpretation_json = interpretation.interpret(protocol.interpretation, sg, rows, bias, columns,
                                                       float(cases[sg.label].y.mean()))
        post_market_json = monitoring.plan(protocol.post_market, sg, rows, interpretation_json["groups"])
        subgroup_json = {"label": sg.label, "threshold": sg.threshold, "min_size": sg.min_size,
                         "min_positives": sg.min_positives,
                         "ci": {m.value: {"method": sg.ci_for(m).method.value, "level": sg.ci_for(m).level} for m in sg.metrics},
                         "overall": {m.value: overall[m] for m in sg.metrics},
                         "goals": {m.value: g for m, g in goals.items()},
                         "attributes": [{"attribute": a.name, "bins": list(a.bins), "bands": list(a.bands),
                                         "definition": a.definition, "reference": a.reference} for a in sg.attributes],
                         "intersections": [{"attribute": intersection_name(c), "attributes": list(c)}
                                           for c in sg.intersections],
                         "calibration": sg.calibration and {
                             "bins": sg.calibration.bins, "method": sg.calibration.ci.method.value,
                             "overall": calibration.measures(cases[sg.label], sg.calibration, sg.calibration.ci.level)},
                         "disparity": {"reference": "the attribute's named reference group, else the complement "
                                                    "(every other case of the label)",
                                       "references": {name: sg.reference_of(name) or "complement" for name in columns},
                                       "measures": ["difference", "ratio"], "ci": "bootstrap-percentile",
                                       "resamples": sg.ci.resamples, "seed": sg.ci.seed,
                                       "clusters": "patients (cluster bootstrap)"},
                         "groups": [r.to_json() for r in rows]}
        bias_json = [b.to_json() for b in bias]
    failed = [int(i) for i in sorted(predictions.failures)]
    cohort = {"cases": len(manifest.entries), "patients": len(manifest.patient_ids), "studies": len(manifest.study_uids),
              "failed_cases": len(failed),
              "labels": {label: {"positives": int(c.y.sum()), "negatives": int(len(c.y) - c.y.sum()),
                                 "prevalence": float(c.y.mean())} for label, c in cases.items()}}
    confusion = {e.id: _confusion(cases[e.labels[0]], e.threshold) for e in protocol.endpoints
                 if e.metric in THRESHOLDED and e.threshold is not None}
    result: dict[str, Any] = nan_to_none({
        "verdict": PASS if not reasons else FAIL, "reasons": reasons, "cohort": cohort, "confusion": confusion,
        "endpoints": [r.to_json() for r in endpoints], "subgroups": subgroup_json, "bias": bias_json,
        "interpretation": interpretation_json, "post_market": post_market_json,
        "multiplicity": {"method": protocol.multiplicity.value, "statement": protocol.multiplicity_statement},
        "independence": independence.to_json(),
        "failures": [{"file": manifest.entries[i].file, "reason": predictions.failures[i],
                      "counted_as": "error (wrong call), not excluded"} for i in failed],
    })
    return result


def predictions_frame(manifest: DatasetManifest, predictions: Predictions, labels: Sequence[str]) -> pd.DataFrame:
    """One row per case: ids, reference labels, probabilities, failure reason (saved as parquet)."""
    data: dict[str, Any] = {
        "file": [e.file for e in manifest.entries], "sha256": [e.sha256 for e in manifest.entries],
        "patient_id": [e.patient_id for e in manifest.entries], "study_uid": [e.study_uid for e in manifest.entries],
    }
    for label in labels:
        data[f"label_{label}"] = [e.labels[label] for e in manifest.entries]
        data[f"prob_{label}"] = predictions.probabilities[:, predictions.labels.index(label)]
    data["failure"] = [predictions.failures.get(i) for i in range(len(manifest.entries))]
    import pandas as pd

    return pd.DataFrame(data)
