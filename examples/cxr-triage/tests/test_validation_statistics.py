"""Performance statistics the release is judged on (REQ-011..013, RC-001, RC-003)."""

from __future__ import annotations

import numpy as np
import pytest

from qms.validation.auroc import auroc, delong_se
from qms.validation.metrics import LabelCases, Metric, point_estimate


def _cases(y: list[int], score: list[float]) -> LabelCases:
    return LabelCases(np.array(y, dtype=np.int64), np.array(score, dtype=np.float64), np.arange(len(y), dtype=np.int64))


@pytest.mark.verifies("REQ-011", "RC-001")
def test_auroc_is_exact_with_ties_counting_one_half() -> None:
    """AUROC equals the Mann-Whitney count by hand: 3 pairs ordered right, 1 tied, of 4 gives 0.875."""
    y = np.array([0, 0, 1, 1])
    scores = np.array([0.1, 0.4, 0.4, 0.9])
    assert auroc(scores, y) == pytest.approx(3.5 / 4)


@pytest.mark.verifies("REQ-012", "RC-001")
def test_auroc_standard_error_shrinks_with_more_cases() -> None:
    """The DeLong standard error is positive and about halves when the same cases are repeated four times."""
    rng = np.random.default_rng(11)
    y = rng.integers(0, 2, 200)
    scores = y * 0.8 + rng.normal(0, 0.6, 200)
    value, se = delong_se(scores, y)
    value4, se4 = delong_se(np.tile(scores, 4), np.tile(y, 4))
    assert value == pytest.approx(value4) and 0 < se
    assert se4 == pytest.approx(se / 2, rel=0.05)


@pytest.mark.verifies("RC-001")
def test_a_good_point_estimate_with_a_wide_interval_misses_the_target() -> None:
    """With 12 cases an AUROC of 0.94 has a lower 95% bound (0.82) below a 0.85 target, so acceptance on the bound refuses it."""
    rng = np.random.default_rng(0)
    y = np.array([0, 1] * 6)
    scores = y * 1.5 + rng.normal(0, 1, 12)
    value, se = delong_se(scores, y)
    assert value == pytest.approx(0.944, abs=0.001)
    assert value - 1.96 * se == pytest.approx(0.816, abs=0.001)


@pytest.mark.verifies("REQ-013", "RC-003")
def test_a_failing_subgroup_is_visible_behind_a_good_overall_auroc() -> None:
    """Per-group AUROC exposes a site where the model fails (0.0) even though the overall AUROC is above 0.5."""
    y = [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]
    score = [0.1, 0.9, 0.2, 0.8, 0.3, 0.7, 0.1, 0.9, 0.2, 0.8, 0.9, 0.1]
    site = np.array(["A"] * 10 + ["B"] * 2)
    cases = _cases(y, score)
    overall = point_estimate(Metric.AUROC, [cases], None)
    by_site = {s: point_estimate(Metric.AUROC, [cases.subset(site == s)], None) for s in ("A", "B")}
    assert overall > 0.5 and by_site["A"] == pytest.approx(1.0) and by_site["B"] == pytest.approx(0.0)
