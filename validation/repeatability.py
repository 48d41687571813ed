"""Repeatability: the locked model run a second time on a seeded subset of the test cases (VALIDATION.md).

`repeatability: {cases: 64, max_abs_difference: 1.0e-6}` (optional `seed`, default the
protocol's) draws that many cases without replacement, seeded, runs the predictor on
them again as a separate inference (a new model load, other batches), and compares each
case's scores for every protocol label with the first run's. The largest absolute
difference is recorded with the case it occurred on; a difference above the criterion,
or a case that failed in one run and not the other, fails the run (repeatability is a
pre-specified criterion, not a description). A test set smaller than the stated number
of cases is used whole, and that is a deviation from protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qms.validation.manifest import DatasetManifest
from qms.validation.predictions import Predictions
from qms.validation.protocolreader import ProtocolReader

__all__ = ["RepeatabilitySpec", "compare", "parse", "sample"]


@dataclass(frozen=True)
class RepeatabilitySpec:
    cases: int
    max_abs_difference: float
    seed: int


def parse(p: ProtocolReader, default_seed: int) -> RepeatabilitySpec | None:
    """The `repeatability` section: how many cases, the largest score difference allowed, an optional seed."""
    path = ("repeatability",)
    if p.get(path, dict, required=False) is None:
        return None
    p.keys(path, {"cases", "max_abs_difference", "seed", "notes"})
    cases = int(p.get((*path, "cases"), int))
    if cases < 1:
        raise p.fail((*path, "cases"), f"repeatability.cases = {cases}; at least one case is run again")
    limit = float(p.get((*path, "max_abs_difference"), (int, float)))
    if not 0 <= limit < 1:
        raise p.fail((*path, "max_abs_difference"), f"max_abs_difference = {limit:g} is out of range",
                     hint="a score difference: 0 (bit-identical) up to, not including, 1")
    return RepeatabilitySpec(cases, limit, int(p.get((*path, "seed"), int, required=False, default=default_seed)))


def sample(spec: RepeatabilitySpec, n: int) -> NDArray[np.int64]:
    """The cases to run again: min(cases, n) indices drawn without replacement from the seed, in manifest order."""
    rng = np.random.default_rng([spec.seed, 0x5EED])
    return np.sort(rng.choice(n, size=min(spec.cases, n), replace=False)).astype(np.int64)


def _scores(predictions: Predictions, labels: tuple[str, ...]) -> NDArray[np.float64]:
    return np.stack([np.asarray(predictions.probabilities, dtype=np.float64)[:, predictions.labels.index(label)]
                     for label in labels], axis=1)


def compare(spec: RepeatabilitySpec, manifest: DatasetManifest, labels: tuple[str, ...], first: Predictions,
            second: Predictions, picked: NDArray[np.int64]) -> tuple[dict[str, Any], list[str], list[str]]:
    """The largest difference between the runs and its verdict; the reasons it fails the run; the deviations."""
    a, b = _scores(first, labels)[picked], _scores(second, labels)
    failed_a, failed_b = np.isnan(a), np.isnan(b)
    mismatched = np.any(failed_a != failed_b, axis=1)
    diff = np.where(failed_a | failed_b, 0.0, np.abs(a - b))
    row, col = np.unravel_index(int(np.argmax(diff)), diff.shape)  # the manifest is never empty
    largest = float(diff[row, col])
    passed = largest <= spec.max_abs_difference and not mismatched.any()
    out = {"requested": spec.cases, "cases": int(len(picked)), "seed": spec.seed, "criterion": spec.max_abs_difference,
           "max_abs_difference": largest,
           "per_label": {label: float(diff[:, j].max()) for j, label in enumerate(labels)},
           "largest_at": {"file": manifest.entries[int(picked[row])].file, "label": labels[col]},
           "failure_mismatches": int(mismatched.sum()),
           "method": "second, separate inference of the locked model on the seeded subset; scores compared per case "
                     "and label", "verdict": "pass" if passed else "fail"}
    reasons = []
    if not passed:
        reasons.append(f"repeatability: largest score difference {largest:.3g} over {len(picked)} cases "
                       f"(limit {spec.max_abs_difference:g})"
                       + (f"; {int(mismatched.sum())} case(s) failed in one run only" if mismatched.any() else ""))
    deviations = []
    if len(picked) < spec.cases:
        deviations.append(f"repeatability: {len(picked)} cases run again, fewer than the {spec.cases} stated "
                          "(the whole test set)")
    return out, reasons, deviations
