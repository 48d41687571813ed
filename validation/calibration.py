"""Calibration by subgroup: does the predicted probability match what is observed? (VALIDATION.md, bias report).

Two measures per group, each with a patient-level cluster-bootstrap interval:
calibration-in-the-large (mean predicted probability minus observed prevalence, the
group's systematic over- or under-estimate) and the expected calibration error (ECE, the
case-weighted mean of |mean predicted - observed| over equal-width probability bins).
Calibration is of the probabilities the device output, so a failed case (no probability)
is left out here, and counted (`failed`); it still counts as an error in every other
metric. ECE is biased upwards in small groups (each bin's noise adds to it): read it
with the group's n.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from qms.validation.intervals import CIMethod, FloatArray, Interval, bootstrap
from qms.validation.metrics import BOOTSTRAP, CISpec, LabelCases
from qms.validation.protocolreader import ProtocolReader

if TYPE_CHECKING:  # scipy.sparse loads when calibration is measured, not when a protocol is read
    from scipy import sparse

__all__ = ["CalibrationSpec", "DEFAULT_BINS", "measures", "parse"]

DEFAULT_BINS = 10


@dataclass(frozen=True)
class CalibrationSpec:
    """`subgroups.calibration`: the number of equal-width bins of the ECE and the interval of both measures."""

    bins: int
    ci: CISpec


def parse(p: ProtocolReader, subgroups_ci: CISpec) -> CalibrationSpec | None:
    """`subgroups.calibration: {bins, ci}`; the interval defaults to the subgroups' (a bootstrap: both measures need one)."""
    path = ("subgroups", "calibration")
    if not p.has(path):
        return None
    p.keys(path, {"bins", "ci"})
    bins = int(p.get((*path, "bins"), int, required=False, default=DEFAULT_BINS))
    if not 2 <= bins <= 100:
        raise p.fail((*path, "bins"), f"bins = {bins} is out of range", hint="2 to 100 equal-width probability bins")
    default = subgroups_ci if subgroups_ci.method in BOOTSTRAP else \
        CISpec(CIMethod.BOOTSTRAP_PERCENTILE, subgroups_ci.level, subgroups_ci.resamples, subgroups_ci.seed)
    ci = p.ci((*path, "ci"), default)
    if ci.method not in BOOTSTRAP:
        raise p.fail((*path, "ci"), f"{ci.method.value} is not an interval for calibration",
                     hint="bootstrap-percentile or bootstrap-bca (a patient-level cluster bootstrap)")
    return CalibrationSpec(bins, ci)


def _sums(score: FloatArray, y: NDArray[np.int64], bins: int) -> sparse.csr_matrix:
    """Case -> columns [(p - y) in bin 0 .. bins-1, p - y, 1], so every measure is a ratio of weighted sums."""
    from scipy import sparse

    n = len(y)
    diff = score - y
    which = np.minimum((score * bins).astype(np.int64), bins - 1)
    rows = np.tile(np.arange(n), 3)
    cols = np.concatenate([which, np.full(n, bins), np.full(n, bins + 1)])
    return sparse.csr_matrix((np.concatenate([diff, diff, np.ones(n)]), (rows, cols)), shape=(n, bins + 2))


def measures(cases: LabelCases, spec: CalibrationSpec, level: float) -> dict[str, Any]:
    """Mean predicted, observed prevalence, calibration-in-the-large and ECE of the scored cases, with intervals."""
    scored = cases.subset(~cases.failed)
    out: dict[str, Any] = {"scored": len(scored.y), "failed": int(cases.failed.sum()), "bins": spec.bins}
    if not len(scored.y):
        return {**out, "mean_predicted": None, "observed": None, "calibration_in_the_large": None, "ece": None}
    x = _sums(scored.score, scored.y, spec.bins)

    def citl(w: NDArray[np.int32]) -> FloatArray:
        s = np.asarray((x.T @ w.T.astype(np.float64)).T)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(s[:, spec.bins] / s[:, spec.bins + 1], dtype=np.float64)

    def ece(w: NDArray[np.int32]) -> FloatArray:
        s = np.asarray((x.T @ w.T.astype(np.float64)).T)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(np.abs(s[:, :spec.bins]).sum(axis=1) / s[:, spec.bins + 1], dtype=np.float64)

    one = np.ones((1, len(scored.y)), dtype=np.int32)

    def iv(stat: Any) -> dict[str, Any]:
        r: Interval = bootstrap(stat, float(stat(one)[0]), scored.clusters, resamples=spec.ci.resamples,
                                seed=spec.ci.seed, level=level, method=spec.ci.method)
        return dict(r.to_json())

    return {**out, "mean_predicted": float(scored.score.mean()), "observed": float(scored.y.mean()),
            "calibration_in_the_large": iv(citl), "ece": iv(ece)}
