"""The bootstrap's draws and its fast AUROC path: exact values, uniformity, schedule-independence."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare
from sklearn.metrics import roc_auc_score

from qms.validation import intervals
from qms.validation.auroc import SortedScores, auroc
from qms.validation.intervals import CIMethod, bootstrap, draws_to_weights, resample_draws


@pytest.mark.parametrize("n", [1, 2, 3, 7, 1000, 100_000, 2**31 - 1])
def test_int32_draws_are_the_values_int64_draws_had(n: int) -> None:
    """Drawing cluster indices as int32 gives exactly the int64 stream of the same seed, so recorded runs keep their intervals."""
    child = np.random.SeedSequence(11).spawn(1)[0]
    if n <= 100_000:
        draws = intervals._draw(n, child, 3)
    else:  # a full row of 2**31 - 1 draws is too big for a test: the same generator call, shorter rows
        draws = np.random.default_rng(child).integers(0, n, size=(3, 5000), dtype=np.int32)
    as_int64 = np.random.default_rng(child).integers(0, n, size=draws.shape, dtype=np.int64)
    assert draws.dtype == np.int32
    assert np.array_equal(draws.astype(np.int64), as_int64)


def test_draws_are_uniform_at_small_n() -> None:
    """Each of 3 and of 7 clusters is drawn equally often (chi-square, 210,000 draws): no modulo bias at small n."""
    for n in (3, 7):
        counts = np.bincount(np.concatenate(list(resample_draws(n, 30_000, 5))).ravel(), minlength=n)
        assert counts.sum() == 30_000 * n
        assert chisquare(counts).pvalue > 1e-4


def _cases(seed: int, n: int, levels: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = rng.normal(size=n) + y
    # levels > 0: scores on a coarse grid, so tie groups hold both classes
    return (np.round(s * levels) / levels if levels else s), y


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([0, 2, 4]))
def test_rank_sum_path_equals_the_weights_form_and_sklearn_with_ties(seed: int, levels: int) -> None:
    """With distinct or tied scores the rank-sum AUROC and the int32 weights form of each resample equal the float64 form and sklearn."""
    n = 160
    s, y = _cases(seed, n, levels)
    ss = SortedScores(s, y)
    draws = next(resample_draws(n, 6, seed))
    fast = ss.auroc_of_draws(draws)
    assert fast is not None  # a handful of mixed tie groups stays on the fast path
    weighted = ss.auroc(draws_to_weights(draws, np.arange(n)).astype(np.float64))  # the float64 form
    assert np.allclose(ss.auroc(draws_to_weights(draws, np.arange(n))), weighted, equal_nan=True, rtol=0, atol=1e-12)
    assert np.allclose(fast, weighted, equal_nan=True, rtol=0, atol=1e-12)
    for row, value in zip(draws, fast, strict=True):
        if 0 < y[row].sum() < n:
            assert np.isclose(value, roc_auc_score(y[row], s[row]))


def test_many_mixed_tie_groups_fall_back_to_the_weights_form() -> None:
    """When tie groups holding both classes exceed cases/8 the fast path declines and the bootstrap uses weights."""
    s, y = _cases(3, 400, 40)
    ss = SortedScores(s, y)
    assert len(ss.mixed_keys) > 400 // 8
    assert ss.auroc_of_draws(next(resample_draws(400, 2, 1))) is None
    iv = bootstrap(ss.auroc, auroc(s, y), np.arange(400), resamples=200, seed=2, level=0.95,
                   method=CIMethod.BOOTSTRAP_PERCENTILE, on_draws=ss.auroc_of_draws)
    assert iv.lower < iv.estimate < iv.upper


def test_intervals_do_not_depend_on_thread_scheduling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several small chunks on one thread or on four give the same bootstrap interval, value for value."""
    s, y = _cases(9, 3000, 0)
    ss = SortedScores(s, y)
    monkeypatch.setattr(intervals, "_CELLS_PER_CHUNK", 3000 * 37)  # 300 resamples in 9 chunks

    def run() -> tuple[float, float]:
        iv = bootstrap(ss.auroc, auroc(s, y), np.arange(3000), resamples=300, seed=4, level=0.95,
                       method=CIMethod.BOOTSTRAP_PERCENTILE, on_draws=ss.auroc_of_draws)
        return iv.lower, iv.upper

    parallel = run()
    monkeypatch.setattr(intervals.os, "cpu_count", lambda: 1)
    serial = run()
    with ThreadPoolExecutor(4) as pool:  # and while other threads compete
        others = list(pool.map(lambda _: run(), range(4)))
    assert parallel == serial and all(o == serial for o in others)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 4))
def test_cluster_draw_path_equals_the_weights_form(seed: int, per_patient: int) -> None:
    """With several images per patient, ties or not, the AUROC from drawn patients' counts in score order equals the float64 weights form."""
    rng = np.random.default_rng(seed)
    patients = 50
    clusters = np.repeat(np.arange(patients), per_patient)
    rng.shuffle(clusters)
    y = rng.integers(0, 2, len(clusters))
    s = rng.normal(size=len(clusters)) + y
    ss = SortedScores(s, y)
    draws = next(resample_draws(patients, 6, seed))
    w = draws_to_weights(draws, clusters)
    fast = ss.auroc_of_draws(draws, clusters)
    assert fast is not None
    general = SortedScores(s, y).auroc(w.astype(np.float64))  # the float64 form, not the int32 running sum
    assert np.allclose(fast, general, equal_nan=True, rtol=0, atol=1e-12)
    tied = SortedScores(np.round(s), y)
    assert np.allclose(tied.auroc_of_draws(draws, clusters), tied.auroc(w.astype(np.float64)), equal_nan=True,
                       rtol=0, atol=1e-12)
