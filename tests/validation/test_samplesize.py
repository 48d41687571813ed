"""Sample-size justification for the acceptance criterion's lower bound (VALIDATION.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qms.errors import QmsError
from qms.store import Store, open_store
from qms.validation.auroc import delong_se, hanley_mcneil_se
from qms.validation.intervals import CIMethod
from qms.validation.metrics import Metric
from qms.validation.protocolparser import read_protocol
from qms.validation.samplesize import SampleSizeSpec, auroc_positives, auroc_power, proportion_n, proportion_power
from tests.validation.runs import lock_and_run
from tests.validation.synthetic import PROTOCOL, make_project


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Store:
    return open_store(sqlite_url)


def _spec(metric: Metric, goal: float, expected: float, method: CIMethod = CIMethod.DELONG) -> SampleSizeSpec:
    return SampleSizeSpec("E", metric, "y", goal, expected, 0.8, 0.95, method)


def test_hanley_mcneil_variance_gives_the_published_standard_error() -> None:
    """The variance behind the AUROC size reproduces Hanley & McNeil's SE of 0.032 for A = 0.893, 51 abnormal, 58 normal."""
    assert hanley_mcneil_se(0.893, 51, 58) == pytest.approx(0.032, abs=0.0006)


def test_auroc_size_reaches_its_power_in_simulation() -> None:
    """At the computed size, DeLong lower bounds clear the goal in at least the stated share of simulated studies."""
    spec = _spec(Metric.AUROC, 0.75, 0.85)
    n = auroc_positives(spec, 1.0)
    assert auroc_power(0.85, 0.75, n, n, 0.95) >= 0.8 > auroc_power(0.85, 0.75, n - 1, n - 1, 0.95)
    rng = np.random.default_rng(11)
    rate = (1 - 0.85) / 0.85  # biexponential scores, for which the Hanley-McNeil variance is exact: AUROC = 1/(1+rate)
    y = np.r_[np.ones(n, dtype=np.int64), np.zeros(n, dtype=np.int64)]
    hits = 0
    for _ in range(400):
        scores = np.r_[rng.exponential(1 / rate, n), rng.exponential(1.0, n)]
        a, se = delong_se(scores, y)
        hits += a - 1.959964 * se >= 0.75
    assert 0.78 <= hits / 400 <= 0.95  # conservative, not wildly so


def test_proportion_size_matches_the_score_formula_and_its_exact_power() -> None:
    """Sensitivity 0.90 against a 0.80 goal needs 108 positives (score formula); the Wilson bound's exact power there is ~0.8."""
    spec = _spec(Metric.SENSITIVITY, 0.80, 0.90, CIMethod.WILSON)
    n = proportion_n(spec)
    assert n == 108
    assert proportion_power(spec, n) == pytest.approx(0.8, abs=0.06)
    assert proportion_power(spec, 30) < 0.4 < 0.95 < proportion_power(spec, 400)


def test_a_short_test_set_is_reported_and_fails_only_when_required(sqlite_store: Store, tmp_path: Path) -> None:
    """The run reports needed against actual counts; `required: true` turns a shortfall into a failure."""
    block = "sample_size: {endpoint: AUROC, expected: 0.65, power: 0.9, required: true}\n"
    path = make_project(tmp_path, 60, protocol=PROTOCOL + block)
    result = lock_and_run(sqlite_store, path, tmp_path)
    ss = result["sample_size"]
    assert ss["needed"]["positives"] > ss["actual"]["positives"] and not ss["adequate"]
    assert ss["actual"]["cases"] == 30 and "Hanley-McNeil" in ss["method"]
    assert result["verdict"] == "fail" and any(r.startswith("sample size: AUROC needs") for r in result["reasons"])


@pytest.mark.parametrize(("block", "message", "offset"), [
    ("sample_size: {endpoint: MEAN, expected: 0.9, power: 0.8}\n", "sample size is computed for", 1),
    ("sample_size:\n  endpoint: AUROC\n  expected: 0.55\n  power: 0.8\n", "must exceed the goal", 3),
    ("sample_size:\n  endpoint: AUROC\n  expected: 0.9\n  power: 0.8\n  alpha: 0.1\n", "does not match", 5),
    ("sample_size:\n  endpoint: NOPE\n  expected: 0.9\n  power: 0.8\n", "no endpoint 'NOPE'", 2),
])
def test_bad_sample_size_sections_name_the_line(tmp_path: Path, block: str, message: str, offset: int) -> None:
    """A sample-size section that cannot size its endpoint is refused with file:line."""
    path = tmp_path / "p.yaml"
    path.write_text(PROTOCOL + block)
    with pytest.raises(QmsError) as info:
        read_protocol(path)
    assert message in info.value.message and info.value.where == f"{path}:{len(PROTOCOL.splitlines()) + offset}"
