"""Synthetic per-case labels, scores, patients and attributes for the subgroup and disparity tests (seeded)."""

from __future__ import annotations

import numpy as np

from qms.validation.intervals import CIMethod
from qms.validation.metrics import CISpec, LabelCases, Metric
from qms.validation.protocol import AttributeSpec, Subgroups


def subgroup_spec(resamples: int = 300, intersections: tuple[tuple[str, ...], ...] = (),
                  attributes: tuple[AttributeSpec, ...] = (AttributeSpec("sex"), AttributeSpec("age", (40.0, 65.0))),
                  **kw: object) -> Subgroups:
    """AUROC, sensitivity and specificity by sex and age band (min 20 cases, 5 positives)."""
    return Subgroups(label="x", threshold=0.5, metrics=(Metric.AUROC, Metric.SENSITIVITY, Metric.SPECIFICITY),
                     ci=CISpec(CIMethod.BOOTSTRAP_PERCENTILE, 0.95, resamples, 5), attributes=attributes, min_size=20,
                     min_positives=5, intersections=intersections, **kw)  # type: ignore[arg-type]


def subgroup_cases(seed: int, n: int, per_patient: int = 1) -> tuple[LabelCases, dict[str, list[object]]]:
    """Cases with sex (F, M, 4 % blank) and age (3 % missing); women score higher at the same label."""
    rng = np.random.default_rng(seed)
    patients = n // per_patient
    # a patient's images share label and score (copies): the hardest case for a per-image bootstrap
    y = np.repeat((rng.random(patients) < 0.4).astype(np.int64), per_patient)
    sex = np.repeat(rng.choice(["F", "M", ""], patients, p=[0.48, 0.48, 0.04]), per_patient)
    age = np.repeat(rng.integers(18, 95, patients), per_patient).astype(object)
    age[rng.random(n) < 0.03] = None
    noise = np.repeat(rng.normal(size=patients), per_patient)
    score = 1 / (1 + np.exp(-(2 * y - 1 + noise + 0.4 * (sex == "F"))))
    return LabelCases(y, score, np.repeat(np.arange(patients), per_patient)), {"sex": list(sex), "age": list(age)}
