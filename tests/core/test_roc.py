"""`qms.roc` and the run's calibration figure give scikit-learn's values without importing it."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_auc_score, roc_curve

from qms.roc import roc_auc, roc_points
from qms.validation.plots import calibration_points

_cases = st.integers(2, 80).flatmap(lambda n: st.tuples(
    st.lists(st.integers(0, 1), min_size=n, max_size=n),
    st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5, 0.75, 1.0]) | st.floats(0, 1), min_size=n, max_size=n)))


@settings(max_examples=60, deadline=None)
@given(_cases)
def test_roc_points_and_area_equal_scikit_learn(case: tuple[list[int], list[float]]) -> None:
    """Every ROC point and the area equal roc_curve's and roc_auc_score's, ties and one-class inputs included."""
    y, scores = np.array(case[0]), np.array(case[1])
    if len(set(case[0])) == 2:
        fpr, tpr, _ = roc_curve(y, scores)
        assert all(np.array_equal(a, b) for a, b in zip(roc_points(y, scores), (fpr, tpr), strict=True))
        assert roc_auc(y, scores) == roc_auc_score(y, scores)
    else:
        assert np.isnan(roc_auc(y, scores))


@settings(max_examples=60, deadline=None)
@given(_cases, st.integers(1, 12))
def test_calibration_points_equal_scikit_learn(case: tuple[list[int], list[float]], bins: int) -> None:
    """Observed fraction and mean prediction per quantile bin equal calibration_curve(strategy="quantile")."""
    y, p = np.array(case[0]), np.array(case[1])
    expected = calibration_curve(y, p, n_bins=bins, strategy="quantile")
    assert all(np.array_equal(a, b) for a, b in zip(calibration_points(y, p, bins), expected, strict=True))
