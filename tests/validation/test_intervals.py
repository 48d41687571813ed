"""Confidence intervals: exact values for proportions and nominal coverage by simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from qms.validation.intervals import CIMethod, Interval, bootstrap, clopper_pearson, wilson
from qms.validation.metrics import CISpec, LabelCases, Metric, interval


def test_wilson_and_clopper_pearson_match_reference_values() -> None:
    """Wilson and Clopper-Pearson give the textbook bounds for 81 of 263 (Newcombe 1998, example)."""
    lo, hi = wilson(81, 263, 0.95)
    assert (round(float(lo), 4), round(float(hi), 4)) == (0.2553, 0.3662)
    lo, hi = clopper_pearson(81, 263, 0.95)
    assert (round(float(lo), 4), round(float(hi), 4)) == (0.2527, 0.3676)
    lo, hi = clopper_pearson(0, 10, 0.95)
    assert float(lo) == 0.0 and round(float(hi), 4) == 0.3085


def _binormal(rng: np.random.Generator, n: int, d: float) -> LabelCases:
    y = (rng.random(n) < 0.5).astype(np.int64)
    return LabelCases(y, rng.normal(size=n) + d * y, np.arange(n, dtype=np.int64))


def _coverage(intervals: list[Interval], truth: float) -> float:
    return float(np.mean([iv.lower <= truth <= iv.upper for iv in intervals]))


# Simulations: binormal scores with separation d, true AUROC = Phi(d / sqrt(2)). With R
# repetitions the coverage's standard error is about sqrt(0.95 * 0.05 / R); the tolerance
# below is about three of those, so a correct method fails by chance less than 1 in 300.
D = 1.2
TRUE_AUROC = float(norm.cdf(D / np.sqrt(2)))


def test_delong_interval_reaches_nominal_coverage() -> None:
    """DeLong 95 % intervals of AUROC cover the true area in 95 % +- 3.3 % of 400 simulated studies."""
    rng = np.random.default_rng(11)
    ci = CISpec(CIMethod.DELONG)
    ivs = [interval(Metric.AUROC, [_binormal(rng, 120, D)], None, ci) for _ in range(400)]
    assert abs(_coverage(ivs, TRUE_AUROC) - 0.95) < 0.033


@pytest.mark.parametrize("method", [CIMethod.BOOTSTRAP_PERCENTILE, CIMethod.BOOTSTRAP_BCA])
def test_bootstrap_interval_reaches_nominal_coverage(method: CIMethod) -> None:
    """Bootstrap 95 % intervals of AUROC cover the true area in 95 % +- 4.6 % of 200 simulated studies."""
    rng = np.random.default_rng(12)
    ivs = [interval(Metric.AUROC, [_binormal(rng, 150, D)], None, CISpec(method, 0.95, 400, i)) for i in range(200)]
    assert abs(_coverage(ivs, TRUE_AUROC) - 0.95) < 0.046


def test_cluster_bootstrap_reaches_coverage_when_patients_have_several_images() -> None:
    """With 3 correlated images per patient the cluster bootstrap keeps coverage near 95 % for sensitivity."""
    rng = np.random.default_rng(13)
    true_sens = float(1 - norm.cdf(0.0, loc=0.8, scale=np.sqrt(1.25)))
    ivs = []
    for i in range(200):
        patients = 60
        y_p = (rng.random(patients) < 0.5).astype(np.int64)
        latent = rng.normal(size=patients)
        y = np.repeat(y_p, 3)
        score = np.repeat(latent, 3) + 0.5 * rng.normal(size=3 * patients) + 0.8 * y
        cases = LabelCases(y, score, np.repeat(np.arange(patients), 3).astype(np.int64))
        ivs.append(interval(Metric.SENSITIVITY, [cases], 0.0, CISpec(CIMethod.BOOTSTRAP_PERCENTILE, 0.95, 400, i)))
    assert abs(_coverage(ivs, true_sens) - 0.95) < 0.05


def test_wilson_interval_reaches_nominal_coverage() -> None:
    """Wilson 95 % intervals of a proportion cover p = 0.85 in 95 % +- 2 % of 2,000 binomial samples."""
    rng = np.random.default_rng(14)
    k = rng.binomial(80, 0.85, size=2000)
    lo, hi = wilson(k, np.full(2000, 80), 0.95)
    assert abs(float(np.mean((lo <= 0.85) & (0.85 <= hi))) - 0.95) < 0.02


def test_bootstrap_is_reproducible_from_its_seed() -> None:
    """The same seed gives the same interval; another seed a different one."""
    cases = _binormal(np.random.default_rng(1), 200, 1.0)

    def run(seed: int) -> Interval:
        return interval(Metric.AUROC, [cases], None, CISpec(CIMethod.BOOTSTRAP_PERCENTILE, 0.95, 500, seed))

    assert run(7) == run(7) and run(7) != run(8)


def test_undefined_resamples_give_no_interval() -> None:
    """When most resamples leave the statistic undefined the interval is (nan, nan), never a misleading number."""
    iv = bootstrap(lambda w: np.full(len(w), np.nan), 1.0, np.arange(50),
                   resamples=200, seed=0, level=0.95, method=CIMethod.BOOTSTRAP_PERCENTILE)
    assert np.isnan(iv.lower) and np.isnan(iv.upper)


def test_cell_bootstrap_matches_case_resampling() -> None:
    """Resampling confusion-matrix counts gives the same sensitivity interval as resampling cases (Monte Carlo error)."""
    from qms.validation.intervals import cell_bootstrap
    from qms.validation.metrics import _cells, of_cells, _weighted

    cases = _binormal(np.random.default_rng(5), 300, 1.0)
    est = float(np.mean(cases.calls(0.5)[cases.y == 1]))
    statistic, _ = _weighted(Metric.SENSITIVITY, [cases], 0.5)
    for method in (CIMethod.BOOTSTRAP_PERCENTILE, CIMethod.BOOTSTRAP_BCA):
        by_case = bootstrap(statistic, est, cases.clusters, resamples=4000, seed=1, level=0.95, method=method)
        by_cell = cell_bootstrap(of_cells(Metric.SENSITIVITY), _cells(cases, 0.5), est, resamples=4000, seed=1,
                                 level=0.95, method=method)
        assert abs(by_case.lower - by_cell.lower) < 0.01 and abs(by_case.upper - by_cell.upper) < 0.01
