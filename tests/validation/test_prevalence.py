"""PPV and NPV stated at a prevalence other than the test set's (VALIDATION.md: "PPV/NPV at stated prevalence")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qms.validation.intervals import CIMethod
from qms.validation.metrics import CISpec, LabelCases, Metric, at_prevalence, interval, point_estimate
from qms.validation.protocolparser import read_protocol
from tests.validation.synthetic import PROTOCOL, assert_refused_at, write_protocol

ENDPOINT = """\
  - id: PPV-CLINIC
    metric: ppv
    label: pneumothorax
    threshold: 0.5
    prevalence: 0.03
    role: secondary
"""
WITH_PPV = PROTOCOL.replace("  - id: MEAN\n", ENDPOINT + "  - id: MEAN\n", 1)


def _cases(seed: int, n: int, per_patient: int = 1) -> LabelCases:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(np.int64)
    score = np.clip(0.3 * y + rng.random(n) * 0.7, 0, 1)
    return LabelCases(y, score, np.arange(n) // per_patient)


def test_bayes_rule_gives_the_published_form() -> None:
    """Sensitivity 0.9 and specificity 0.8 at 3 % prevalence give PPV 0.1222 and NPV 0.9962 (Bayes' rule)."""
    sens, spec = np.array(0.9), np.array(0.8)
    assert float(at_prevalence(Metric.PPV, sens, spec, 0.03)) == pytest.approx(0.027 / (0.027 + 0.194))
    assert float(at_prevalence(Metric.NPV, sens, spec, 0.03)) == pytest.approx(0.776 / (0.776 + 0.003))
    assert float(at_prevalence(Metric.PPV, sens, spec, 0.03)) == pytest.approx(0.12217, abs=1e-5)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(20, 300), threshold=st.floats(0.2, 0.8))
def test_at_the_test_sets_own_prevalence_it_is_plain_ppv_and_npv(seed: int, n: int, threshold: float) -> None:
    """Stated at the test set's own prevalence, PPV and NPV equal the plain proportions."""
    cases = _cases(seed, n)
    own = float(cases.y.mean())
    for metric in (Metric.PPV, Metric.NPV):
        plain = point_estimate(metric, [cases], threshold)
        adjusted = point_estimate(metric, [cases], threshold, own)
        assert adjusted == pytest.approx(plain, abs=1e-12) or (np.isnan(plain) and np.isnan(adjusted))


@pytest.mark.parametrize("per_patient", [1, 3])
@pytest.mark.parametrize("method", [CIMethod.BOOTSTRAP_PERCENTILE, CIMethod.BOOTSTRAP_BCA])
def test_interval_holds_the_estimate_and_moves_with_prevalence(per_patient: int, method: CIMethod) -> None:
    """The bootstrap interval (independent or patient-clustered) holds the estimate; a lower prevalence lowers PPV."""
    cases = _cases(3, 300, per_patient)
    spec = CISpec(method, 0.95, 500, 11)
    low = interval(Metric.PPV, [cases], 0.5, spec, 0.03)
    high = interval(Metric.PPV, [cases], 0.5, spec, 0.3)
    for iv in (low, high):
        assert iv.lower <= iv.estimate <= iv.upper and iv.method is method
    assert low.upper < high.lower
    npv = interval(Metric.NPV, [cases], 0.5, spec, 0.03)
    assert npv.estimate > point_estimate(Metric.NPV, [cases], 0.5)  # fewer positives: fewer missed among negatives


def test_exact_intervals_do_not_apply_at_a_stated_prevalence() -> None:
    """A Wilson or Clopper-Pearson interval of an adjusted PPV is refused rather than computed on the wrong counts."""
    with pytest.raises(ValueError, match="at a stated prevalence"):
        interval(Metric.PPV, [_cases(1, 50)], 0.5, CISpec(CIMethod.WILSON), 0.03)


def test_protocol_states_the_prevalence(tmp_path: Path) -> None:
    """The endpoint carries its stated prevalence; others carry none."""
    p = read_protocol(write_protocol(tmp_path, WITH_PPV))
    by_id = {e.id: e for e in p.endpoints}
    assert by_id["PPV-CLINIC"].prevalence == 0.03 and by_id["SENS"].prevalence is None


@pytest.mark.parametrize(("old", "new", "needle", "message"), [
    ("    metric: ppv\n", "    metric: sensitivity\n", "prevalence:", "sensitivity is not stated at a prevalence"),
    ("    prevalence: 0.03\n", "    prevalence: 0.03\n    ci: {method: wilson}\n", "prevalence:",
     "wilson has no interval for ppv at a stated prevalence"),
    ("    prevalence: 0.03\n", "    prevalence: 1.5\n", "prevalence:", "out of range"),
    ("    prevalence: 0.03\n", "    prevalence: 0\n", "prevalence:", "out of range"),
])
def test_bad_prevalence_names_its_line(tmp_path: Path, old: str, new: str, needle: str, message: str) -> None:
    """A prevalence on a metric other than PPV/NPV, with an exact interval, or outside (0, 1) is refused at its line."""
    assert_refused_at(tmp_path, WITH_PPV.replace(ENDPOINT, ENDPOINT.replace(old, new, 1), 1), needle, message)
