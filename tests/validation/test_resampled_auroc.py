"""The O(cases)-per-resample AUROC from score bins: the same values, bit for bit, on numpy and torch."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from qms.validation.auroc import SortedScores, auroc
from qms.validation.intervals import CIMethod, DrawStatistic, bootstrap, draws_to_weights, resample_draws
from qms.validation.resampled_auroc import ScoreBins, torch_device

# The CPU engines verify the statistic everywhere; the CUDA case runs only where a GPU is, so it cannot be
# the evidence a requirement rests on (a skipped verifying test is a gap).
VERIFIES = pytest.mark.verifies("QMS-REQ-006", "QMS-RC-005")
ENGINES = [pytest.param("numpy", marks=VERIFIES), pytest.param("numba", marks=VERIFIES),
           pytest.param("cpu", id="torch-cpu", marks=VERIFIES),
           pytest.param("cuda", id="torch-cuda", marks=pytest.mark.skipif(torch_device() is None, reason="no CUDA device"))]

cases_st = st.lists(st.tuples(st.integers(0, 8), st.booleans()), min_size=2, max_size=80)


def _engine(engine: str) -> str:
    if engine not in ("numpy", "numba"):
        pytest.importorskip("torch")
    return engine


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=40, deadline=None)
@given(cases=cases_st, seed=st.integers(0, 10_000), fine=st.booleans())
def test_each_resample_equals_the_weights_form_and_sklearn(engine: str, cases: list[tuple[int, bool]], seed: int,
                                                           fine: bool) -> None:
    """Each resample's AUROC equals the float64 weights form exactly and sklearn on the drawn cases, ties included."""
    y = np.array([int(c[1]) for c in cases], dtype=np.int64)
    jitter = np.random.default_rng(seed).normal(size=len(y)) if fine else 0.0
    scores = np.array([c[0] for c in cases], dtype=np.float64) + jitter
    draws = next(resample_draws(len(y), 5, seed))
    values = ScoreBins(scores, y, _engine(engine))(draws)
    expected = SortedScores(scores, y).auroc(draws_to_weights(draws, np.arange(len(y))).astype(np.float64))
    assert np.array_equal(values, expected, equal_nan=True)
    for row, value in zip(draws, values, strict=True):
        if 0 < y[row].sum() < len(y):
            assert value == pytest.approx(roc_auc_score(y[row], scores[row]), abs=1e-12)
        else:
            assert np.isnan(value)


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=30, deadline=None)
@given(cases=cases_st, seed=st.integers(0, 10_000), patients=st.integers(1, 30))
def test_cluster_draws_equal_the_weights_of_the_drawn_patients(engine: str, cases: list[tuple[int, bool]], seed: int,
                                                               patients: int) -> None:
    """With draws of patients, each resample's AUROC equals the float64 form on those patients' case weights."""
    y = np.array([int(c[1]) for c in cases], dtype=np.int64)
    scores = np.array([c[0] for c in cases], dtype=np.float64)
    clusters = np.unique(np.random.default_rng(seed).integers(0, patients, len(y)), return_inverse=True)[1]
    draws = next(resample_draws(int(clusters.max()) + 1, 6, seed))
    values = ScoreBins(scores, y, _engine(engine))(draws, clusters)
    expected = SortedScores(scores, y).auroc(draws_to_weights(draws, clusters).astype(np.float64))
    assert np.array_equal(values, expected, equal_nan=True)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("per_patient", [1, 3])
@pytest.mark.parametrize("levels", [0, 3, 40])
@pytest.mark.parametrize("method", [CIMethod.BOOTSTRAP_PERCENTILE, CIMethod.BOOTSTRAP_BCA])
def test_intervals_equal_the_rank_sum_form_to_the_last_digit(engine: str, per_patient: int, levels: int,
                                                             method: CIMethod) -> None:
    """A protocol's seed gives the same interval, float for float, from score bins as from the earlier per-resample sort."""
    rng = np.random.default_rng(levels + per_patient)
    n = 900
    y = rng.integers(0, 2, n)
    s = rng.normal(size=n) + y
    s = np.round(s * levels) / levels if levels else s  # 40 levels: many tie groups hold both classes
    clusters = np.repeat(np.arange(n // per_patient), per_patient)
    ss = SortedScores(s, y)

    def interval(on_draws: DrawStatistic) -> tuple[float, float]:
        iv = bootstrap(ss.auroc, auroc(s, y), clusters, resamples=300, seed=7, level=0.95, method=method,
                       on_draws=on_draws)
        return iv.lower, iv.upper

    # the rank-sum path with one sort per resample, or the int32 weights form where it declines
    assert interval(ScoreBins(s, y, _engine(engine))) == interval(ss.auroc_of_draws)


@VERIFIES
def test_a_small_chunk_runs_on_the_cpu_under_the_automatic_engine() -> None:
    """Under the automatic engine a small chunk is counted by numpy and a large one below the GPU threshold (on a
    machine without one) by the compiled CPU loop: each resample's AUROC either way."""
    s, y = np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])
    bins = ScoreBins(s, y)
    draws = np.array([[0, 1, 2, 3], [0, 0, 3, 3]], dtype=np.int32)
    assert bins._device(draws.size) is None
    assert np.array_equal(bins(draws), [0.75, 1.0])
    if torch_device() is None:
        assert bins._device(5_000_000) == "numba"


@VERIFIES
@settings(max_examples=40, deadline=None)
@given(cases=cases_st, seed=st.integers(0, 10_000), patients=st.integers(0, 30), rows=st.integers(1, 7))
def test_drawing_from_the_seed_equals_counting_the_stored_draws(cases: list[tuple[int, bool]], seed: int,
                                                                 patients: int, rows: int) -> None:
    """The compiled loop that draws from a chunk's seed gives each resample's AUROC of the protocol's stored draws."""
    y = np.array([int(c[1]) for c in cases], dtype=np.int64)
    scores = np.array([c[0] for c in cases], dtype=np.float64)
    rng = np.random.default_rng(seed)
    clusters = None if patients == 0 else np.unique(rng.integers(0, patients, len(y)), return_inverse=True)[1]
    k = len(y) if clusters is None else int(clusters.max()) + 1
    child = np.random.SeedSequence(seed)
    draws = np.random.default_rng(child).integers(0, k, size=(rows, k), dtype=np.int32)
    expected = ScoreBins(scores, y, "numpy")(draws, clusters)
    got = ScoreBins(scores, y, "numba").of_seed(k, child, rows, clusters)
    assert got is not None
    assert np.array_equal(got, expected, equal_nan=True)


@VERIFIES
@pytest.mark.parametrize("clustered", [False, True])
def test_a_case_drawn_more_than_255_times_is_counted_exactly(clustered: bool) -> None:
    """A resample that draws one case (or patient) 256 times or more has the AUROC of the reference form: no count wraps."""
    rng = np.random.default_rng(4)
    n = 600
    y = rng.integers(0, 2, n)
    s = np.round(rng.normal(size=n) + y, 1)
    clusters = np.arange(n) // 2 if clustered else None
    k = n // 2 if clustered else n
    draws = rng.integers(0, k, size=(3, k), dtype=np.int32)
    draws[0, :300] = 5  # drawn 300 times
    draws[1, :] = np.where(np.arange(k) % 2 == 0, 7, 8)  # two draws, each about k / 2 times
    expected = ScoreBins(s, y, "numpy")(draws, clusters)
    assert np.array_equal(ScoreBins(s, y, "numba")(draws, clusters), expected, equal_nan=True)


def test_the_seeded_path_is_declined_where_another_engine_is_chosen() -> None:
    """Under the numpy or torch engines the seeded path declines, so the caller draws and those engines count."""
    s, y = np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])
    child = np.random.SeedSequence(1)
    assert ScoreBins(s, y, "numpy").of_seed(4, child, 2, None) is None
    assert ScoreBins(s, y, "numba").of_seed(4, child, 2, None) is not None
