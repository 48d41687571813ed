"""Per-subgroup calibration: in-the-large and ECE with intervals, failed cases, the protocol key and its errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from qms.validation.calibration import CalibrationSpec, measures
from qms.validation.intervals import CIMethod
from qms.validation.metrics import CISpec, LabelCases
from qms.validation.protocol import Multiplicity
from qms.validation.protocolparser import read_protocol
from qms.validation.subgroups import analyse
from tests.validation.subgroup_cases import subgroup_cases, subgroup_spec
from tests.validation.synthetic import assert_refused_at, PROTOCOL, write_protocol

SPEC = CalibrationSpec(10, CISpec(CIMethod.BOOTSTRAP_PERCENTILE, 0.95, 300, 3))


def _ece(p: np.ndarray, y: np.ndarray, bins: int) -> float:
    """The textbook expected calibration error: bin-share-weighted |mean predicted - observed| over equal-width bins."""
    which = np.minimum((p * bins).astype(int), bins - 1)
    return float(sum((which == b).mean() * abs(p[which == b].mean() - y[which == b].mean())
                     for b in range(bins) if (which == b).any()))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(5, 300), bins=st.integers(2, 20))
def test_measures_equal_their_definitions(seed: int, n: int, bins: int) -> None:
    """For any scores and labels: in-the-large = mean(p) − mean(y), ECE equals its textbook form, and ECE >= |in-the-large|."""
    rng = np.random.default_rng(seed)
    p, y = rng.random(n), (rng.random(n) < 0.4).astype(np.int64)
    out = measures(LabelCases(y, p, np.arange(n)), CalibrationSpec(bins, SPEC.ci), 0.95)
    citl, ece = out["calibration_in_the_large"]["estimate"], out["ece"]["estimate"]
    assert np.isclose(citl, p.mean() - y.mean()) and np.isclose(out["mean_predicted"] - out["observed"], citl)
    assert np.isclose(ece, _ece(p, y, bins)) and ece >= abs(citl) - 1e-12


def test_intervals_find_miscalibration_and_cover_good_calibration() -> None:
    """A calibrated model's in-the-large interval holds 0; scores shifted up by 0.1 give an interval above 0."""
    rng = np.random.default_rng(4)
    p = rng.random(4000)
    y = (rng.random(4000) < p).astype(np.int64)
    good = measures(LabelCases(y, p, np.arange(4000)), SPEC, 0.95)["calibration_in_the_large"]
    shifted = measures(LabelCases(y, np.clip(p + 0.1, 0, 1), np.arange(4000)), SPEC, 0.95)["calibration_in_the_large"]
    assert good["lower"] <= 0 <= good["upper"] and shifted["lower"] > 0.05
    assert good["level"] == 0.95 and good["method"] == "bootstrap-percentile"


def test_failed_cases_are_left_out_and_counted() -> None:
    """A case the device failed on has no probability: calibration leaves it out and records how many."""
    score = np.array([0.2, np.nan, 0.8, 0.6, np.nan, 0.1])
    out = measures(LabelCases(np.array([0, 1, 1, 1, 0, 0]), score, np.arange(6)), SPEC, 0.95)
    assert (out["scored"], out["failed"]) == (4, 2)
    assert np.isclose(out["mean_predicted"], 0.425) and np.isclose(out["observed"], 0.5)
    none = measures(LabelCases(np.array([1]), np.array([np.nan]), np.array([0])), SPEC, 0.95)
    assert none["scored"] == 0 and none["ece"] is None


def test_each_group_gets_calibration_and_the_family_counts_it() -> None:
    """With calibration, every group records both measures, and the Bonferroni family counts two more intervals per group."""
    cases, attrs = subgroup_cases(31, 500)
    spec = subgroup_spec(200, calibration=SPEC)
    rows, columns = analyse(spec, cases, attrs, Multiplicity.BONFERRONI, {})
    family = sum(len(np.unique(c)) for c in columns.values()) * (3 + 2)
    for r in rows:
        assert r.calibration is not None and r.to_json()["calibration"]["scored"] == r.n
        assert np.isclose(r.calibration["ece"]["level"], 1 - 0.05 / family)
        assert np.isclose(r.values["auroc"]["level"], 1 - 0.05 / family)
    assert all(r.calibration is None for r in analyse(subgroup_spec(200), cases, attrs, Multiplicity.BONFERRONI, {})[0])


def test_calibration_key_parses_with_the_subgroups_interval(tmp_path: Path) -> None:
    """`subgroups.calibration` parses; its interval defaults to the subgroups' bootstrap."""
    text = PROTOCOL.replace("  min_size: 10\n", "  min_size: 10\n  calibration: {bins: 5}\n")
    p = read_protocol(write_protocol(tmp_path, text))
    assert p.subgroups is not None and p.subgroups.calibration == CalibrationSpec(5, p.subgroups.ci)


@pytest.mark.parametrize(("new", "needle", "message"), [
    ("  calibration: {bins: 1}\n", "calibration:", "bins = 1 is out of range"),
    ("  calibration: {bins: 10, ci: {method: wilson}}\n", "calibration:", "wilson is not an interval for calibration"),
    ("  calibration: {buckets: 10}\n", "calibration:", "unknown key 'buckets'"),
    ("  calibration: yes\n", "calibration:", "must be dict"),
])
def test_bad_calibration_names_its_line(tmp_path: Path, new: str, needle: str, message: str) -> None:
    """Out-of-range bins, a non-bootstrap interval or an unknown key under `calibration` is refused at its line."""
    text = PROTOCOL.replace("  min_size: 10\n", "  min_size: 10\n" + new)
    assert_refused_at(tmp_path, text, needle, message)
