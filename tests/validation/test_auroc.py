"""AUROC point values and standard errors against published numbers and scikit-learn."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from qms.validation.auroc import SortedScores, auroc, delong_se, hanley_mcneil_se
from qms.validation.intervals import draws_to_weights, resample_draws

pytestmark = pytest.mark.verifies("QMS-REQ-006", "QMS-RC-005")

# Hanley & McNeil, Radiology 1982;143:29-36, Table 1: CT images of 109 patients rated on a
# 5-point scale (1 definitely normal ... 5 definitely abnormal); published area 0.893, SE 0.032.
HM_NORMAL = (33, 6, 6, 11, 2)
HM_ABNORMAL = (3, 2, 2, 11, 33)


def _hanley_mcneil() -> tuple[np.ndarray, np.ndarray]:
    ratings = np.arange(1, 6, dtype=np.float64)
    scores = np.r_[np.repeat(ratings, HM_NORMAL), np.repeat(ratings, HM_ABNORMAL)]
    y = np.r_[np.zeros(sum(HM_NORMAL), dtype=np.int64), np.ones(sum(HM_ABNORMAL), dtype=np.int64)]
    return scores, y


def test_hanley_mcneil_ct_ratings_reproduce_the_published_area_and_se() -> None:
    """The CT rating table gives the published trapezoidal area 0.893 and standard error 0.032."""
    scores, y = _hanley_mcneil()
    a = auroc(scores, y)
    assert len(y) == 109
    assert round(a, 3) == 0.893
    assert round(hanley_mcneil_se(a, n_abnormal=51, n_normal=58), 3) == 0.032
    # DeLong's nonparametric SE on the same data is close to Hanley & McNeil's approximation.
    _, se = delong_se(scores, y)
    assert abs(se - 0.032) < 0.003


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.booleans()), min_size=2, max_size=60))
def test_auroc_equals_sklearn_with_ties(cases: list[tuple[int, bool]]) -> None:
    """The rank-based AUROC equals scikit-learn's roc_auc_score, ties counted one half."""
    scores = np.array([c[0] for c in cases], dtype=np.float64)
    y = np.array([int(c[1]) for c in cases], dtype=np.int64)
    if 0 < y.sum() < len(y):
        assert np.isclose(auroc(scores, y), roc_auc_score(y, scores))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.floats(-3, 3, allow_nan=False, width=16), st.booleans()), min_size=1, max_size=60))
def test_auroc_is_the_exact_share_of_ordered_pairs_correctly_rounded(cases: list[tuple[float, bool]]) -> None:
    """The AUROC is the share of (positive, negative) pairs ranked right, ties one half, to the last bit
    (the rational value rounded once), and undefined without both classes."""
    scores = np.array([c[0] for c in cases], dtype=np.float64)
    y = np.array([int(c[1]) for c in cases], dtype=np.int64)
    pos, neg = scores[y == 1], scores[y == 0]
    if len(pos) == 0 or len(neg) == 0:
        assert np.isnan(auroc(scores, y))
        return
    twice = sum(2 * int(p > q) + int(p == q) for p in pos for q in neg)
    assert auroc(scores, y) == float(Fraction(twice, 2 * len(pos) * len(neg)))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.booleans())
def test_weighted_auroc_equals_sklearn_on_the_resampled_cases(seed: int, ties: bool) -> None:
    """Each bootstrap row's AUROC (weights form and rank-sum form) equals sklearn on that resample."""
    rng = np.random.default_rng(seed)
    n = 40
    y = rng.integers(0, 2, n)
    scores = np.round(rng.normal(size=n) + y, 1 if ties else 12)
    ss = SortedScores(scores, y)
    draws = next(resample_draws(n, 5, seed))
    weighted = ss.auroc(draws_to_weights(draws, np.arange(n)))
    fast = ss.auroc_of_draws(draws)
    for row, value in zip(draws, weighted, strict=True):
        yy = y[row]
        if 0 < yy.sum() < n:
            assert np.isclose(value, roc_auc_score(yy, scores[row]))
    if fast is not None:
        assert np.allclose(fast, weighted, equal_nan=True)
    else:
        assert ties


def test_clustered_delong_reduces_to_delong_shape_and_widens_for_duplicates() -> None:
    """Obuchowski's clustered SE grows when every patient's image is duplicated (no new information)."""
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 200)
    s = rng.normal(size=200) + y
    _, se = delong_se(s, y)
    _, se_clustered = delong_se(np.r_[s, s], np.r_[y, y], np.r_[np.arange(200), np.arange(200)])
    _, se_naive = delong_se(np.r_[s, s], np.r_[y, y])
    assert se_naive < se * 0.75  # treating copies as independent overstates precision
    assert abs(se_clustered - se) / se < 0.05


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-3, 3), min_size=1, max_size=40))
def test_midranks_equal_scipy(values: list[int]) -> None:
    """The numpy midranks used by DeLong equal scipy.stats.rankdata, ties included."""
    from scipy.stats import rankdata as scipy_rankdata

    from qms.validation.auroc import rankdata

    x = np.array(values, dtype=np.float64)
    assert np.allclose(rankdata(x), scipy_rankdata(x))


def test_closed_form_jackknife_equals_leaving_each_case_out() -> None:
    """The placement-based jackknife equals recomputing the AUROC without each case, ties included."""
    from qms.validation.auroc import jackknife

    rng = np.random.default_rng(8)
    y = rng.integers(0, 2, 60)
    s = np.round(rng.normal(size=60) + y, 1)
    expected = [roc_auc_score(np.delete(y, i), np.delete(s, i)) for i in range(60)]
    assert np.allclose(jackknife(s, y), expected)
