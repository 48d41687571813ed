"""Sample-size justification: how many cases the acceptance criterion's lower bound needs (VALIDATION.md).

Pre-specified in the protocol (`sample_size: {endpoint, expected, power}`): for the named
endpoint, whose acceptance is `lower >= goal` on its interval at level L, the smallest
test set for which the lower bound clears the goal with the stated power when the true
value is `expected`:

- AUROC: z_{1-a/2} SE(goal) + z_power SE(expected) <= expected - goal, with the
  Hanley-McNeil (1982) variance at each value (the form of Obuchowski's sample-size
  formulas); negatives per positive from the stated `prevalence`, else the manifest's.
  In simulation (biexponential scores, for which that variance is exact) DeLong bounds
  at this size clear the goal in 0.88-0.93 of studies at a nominal 0.8: conservative,
  where the SE(expected)-only form falls short (0.71-0.75);
- sensitivity (n = positives) or specificity (n = negatives): the score-test form that
  the Wilson interval inverts, n = [(z_{1-a/2} sqrt(p0 q0) + z_power sqrt(p1 q1)) / (p1 - p0)]^2,
  and the exact binomial power of the endpoint's own interval (Wilson or Clopper-Pearson;
  Wilson standing in for a bootstrap) at the manifest's actual count.

a = 1 - L, so the justification sizes the very bound the criterion reads. Cases are
taken as independent; with several images per patient the effective size is smaller,
which the report states. A shortfall is reported; it fails the run only with `required: true`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from qms.validation.auroc import hanley_mcneil_se
from qms.validation.criteria import Endpoint
from qms.validation.intervals import CIMethod, clopper_pearson, wilson
from qms.validation.manifest import DatasetManifest
from qms.validation.metrics import Metric
from qms.validation.protocolreader import ProtocolReader

__all__ = [
    "SIZED", "SampleSizeSpec", "auroc_positives", "auroc_power", "justify", "parse", "proportion_n",
    "proportion_power",
]

SIZED = (Metric.AUROC, Metric.SENSITIVITY, Metric.SPECIFICITY)
_MAX_N = 200_000


@dataclass(frozen=True)
class SampleSizeSpec:
    endpoint: str
    metric: Metric
    label: str
    goal: float
    expected: float
    power: float
    level: float
    method: CIMethod
    prevalence: float | None = None
    required: bool = False


def parse(p: ProtocolReader, endpoints: tuple[Endpoint, ...]) -> SampleSizeSpec | None:
    """The `sample_size` section, checked against the endpoint it sizes."""
    path = ("sample_size",)
    if p.get(path, dict, required=False) is None:
        return None
    p.keys(path, {"endpoint", "expected", "power", "alpha", "prevalence", "required", "notes"})
    name = p.get((*path, "endpoint"), str)
    endpoint = next((e for e in endpoints if e.id == name), None)
    if endpoint is None:
        raise p.fail((*path, "endpoint"), f"no endpoint {name!r}", hint=f"endpoints: {', '.join(e.id for e in endpoints)}")
    if endpoint.metric not in SIZED:
        raise p.fail((*path, "endpoint"), f"sample size is computed for {', '.join(m.value for m in SIZED)}, "
                                          f"not {endpoint.metric.value}")
    acc = endpoint.acceptance
    if acc is None or acc.statistic != "lower" or acc.op not in (">=", ">"):
        raise p.fail((*path, "endpoint"), f"endpoint {name} needs an acceptance on its lower bound (lower >= goal)")
    expected = p.probability((*path, "expected"), open_interval=True)
    if expected <= acc.value:
        raise p.fail((*path, "expected"), f"expected {expected} must exceed the goal {acc.value:g}",
                     hint="no test set shows a lower bound above the goal when the true value is below it")
    power = p.probability((*path, "power"), open_interval=True)
    if p.has((*path, "alpha")):
        alpha = p.probability((*path, "alpha"), open_interval=True)
        if not math.isclose(alpha, 1 - endpoint.ci.level, abs_tol=1e-9):
            raise p.fail((*path, "alpha"), f"alpha {alpha:g} does not match the endpoint's {endpoint.ci.level:g} interval",
                         hint=f"the criterion reads the lower bound of that interval: alpha {1 - endpoint.ci.level:g} "
                              "(two-sided), or leave alpha out")
    prevalence = p.probability((*path, "prevalence"), open_interval=True) if p.has((*path, "prevalence")) else None
    required = p.get((*path, "required"), bool, required=False, default=False)
    return SampleSizeSpec(name, endpoint.metric, endpoint.labels[0], acc.value, expected, power, endpoint.ci.level,
                          endpoint.ci.method, prevalence, bool(required))


def _z(spec: SampleSizeSpec) -> tuple[float, float]:
    from scipy.special import ndtri  # scipy loads for a sample-size computation, not when a protocol is read

    return float(ndtri(0.5 + spec.level / 2)), float(ndtri(spec.power))


def auroc_power(expected: float, goal: float, n_pos: int, n_neg: int, level: float) -> float:
    """P(lower bound >= goal): Phi((expected - goal - z SE(goal)) / SE(expected)), Hanley-McNeil SEs."""
    from scipy.special import ndtr, ndtri

    se0, se1 = hanley_mcneil_se(goal, n_pos, n_neg), hanley_mcneil_se(expected, n_pos, n_neg)
    return float(ndtr((expected - goal - ndtri(0.5 + level / 2) * se0) / se1))


def auroc_positives(spec: SampleSizeSpec, negatives_per_positive: float) -> int:
    """The fewest positives (negatives in proportion) whose Hanley-McNeil SEs meet the power condition."""
    za, zb = _z(spec)

    def enough(n_pos: int) -> bool:
        n_neg = max(1, math.ceil(n_pos * negatives_per_positive))
        spread = za * hanley_mcneil_se(spec.goal, n_pos, n_neg) + zb * hanley_mcneil_se(spec.expected, n_pos, n_neg)
        return bool(spread <= spec.expected - spec.goal)
    lo, hi = 1, _MAX_N
    while lo < hi:
        mid = (lo + hi) // 2
        if enough(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def proportion_n(spec: SampleSizeSpec) -> int:
    """The score-test sample size for a proportion's lower bound (what the Wilson interval inverts)."""
    za, zb = _z(spec)
    p0, p1 = spec.goal, spec.expected
    return math.ceil(((za * math.sqrt(p0 * (1 - p0)) + zb * math.sqrt(p1 * (1 - p1))) / (p1 - p0)) ** 2)


def proportion_power(spec: SampleSizeSpec, n: int) -> float:
    """Exact binomial power: P over k ~ Bin(n, expected) that the endpoint's interval's lower bound clears the goal."""
    from scipy.stats import binom  # scipy.stats loads in a sample-size computation, not when a protocol is read

    if n < 1:
        return 0.0
    k = np.arange(n + 1)
    bound = clopper_pearson if spec.method is CIMethod.CLOPPER_PEARSON else wilson
    lower, _ = bound(k, np.full_like(k, n), spec.level)
    return float(binom.pmf(k, n, spec.expected)[lower >= spec.goal].sum())


def justify(spec: SampleSizeSpec | None, manifest: DatasetManifest) -> tuple[dict[str, Any] | None, list[str]]:
    """Required against actual counts, the power the actual test set has, and the method; reasons if enforced."""
    if spec is None:
        return None, []
    y = np.array([e.labels[spec.label] for e in manifest.entries], dtype=np.float64)
    pos, neg = int(np.nansum(y)), int(np.sum(y == 0))
    base = {"endpoint": spec.endpoint, "metric": spec.metric.value, "label": spec.label, "goal": spec.goal,
            "expected": spec.expected, "power": spec.power, "level": spec.level, "alpha": round(1 - spec.level, 12),
            "required_to_pass": spec.required,
            "actual": {"cases": len(manifest.entries), "positives": pos, "negatives": neg,
                       "patients": len(manifest.patient_ids)}}
    if spec.metric is Metric.AUROC:
        prevalence = spec.prevalence if spec.prevalence is not None else (pos / max(pos + neg, 1))
        ratio = (1 - prevalence) / prevalence if prevalence > 0 else float("inf")
        need_pos = auroc_positives(spec, ratio) if math.isfinite(ratio) else _MAX_N
        need_neg = math.ceil(need_pos * ratio) if math.isfinite(ratio) else _MAX_N
        achieved = auroc_power(spec.expected, spec.goal, pos, neg, spec.level) if pos and neg else 0.0
        needed = {"positives": need_pos, "negatives": need_neg, "cases": need_pos + need_neg}
        short = pos < need_pos or neg < need_neg
        method = ("Hanley-McNeil (1982) variance at the goal and at the expected AUROC (Obuchowski's form); "
                  f"Wald-type lower bound at "
                  f"{spec.level:g}; {prevalence:.3f} prevalence ({'stated' if spec.prevalence is not None else 'of the manifest'})")
    else:
        n_needed = proportion_n(spec)
        actual_n = pos if spec.metric is Metric.SENSITIVITY else neg
        which = "positives" if spec.metric is Metric.SENSITIVITY else "negatives"
        achieved = proportion_power(spec, actual_n)
        needed = {which: n_needed}
        short = actual_n < n_needed
        method = ("score-test (Wilson) normal approximation for the size; exact binomial power of the "
                  f"{'Clopper-Pearson' if spec.method is CIMethod.CLOPPER_PEARSON else 'Wilson'} lower bound at the actual count")
    result = {**base, "needed": needed, "achieved_power": achieved, "adequate": not short,
              "method": method + "; cases taken as independent (several images per patient lower the effective size)"}
    reasons = []
    if short and spec.required:
        reasons.append(f"sample size: {spec.endpoint} needs {needed}, the test set has {pos} positives and {neg} negatives")
    return result, reasons
