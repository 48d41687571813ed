"""Proportions' point estimates by their counts: the very floats scikit-learn gives."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import precision_score, recall_score

from qms.validation.metrics import LabelCases, Metric, point_estimate

pytestmark = pytest.mark.verifies("QMS-REQ-006")

SKLEARN = {
    Metric.SENSITIVITY: lambda y, c: recall_score(y, c, zero_division=np.nan),
    Metric.SPECIFICITY: lambda y, c: recall_score(y, c, pos_label=0, zero_division=np.nan),
    Metric.PPV: lambda y, c: precision_score(y, c, zero_division=np.nan),
    Metric.NPV: lambda y, c: precision_score(y, c, pos_label=0, zero_division=np.nan),
}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.floats(0, 1) | st.just(math.nan)), min_size=1, max_size=300),
       st.sampled_from(sorted(SKLEARN, key=lambda m: m.value)))
def test_proportion_estimates_equal_sklearn_bit_for_bit(cases: list[tuple[bool, float]], metric: Metric) -> None:
    """Sensitivity, specificity, PPV and NPV from counts equal scikit-learn's value exactly, failed cases and nan included."""
    y = np.array([int(c[0]) for c in cases], dtype=np.int64)
    cases_ = LabelCases(y, np.array([c[1] for c in cases]), np.arange(len(y), dtype=np.int64))
    ours = point_estimate(metric, [cases_], 0.5)
    theirs = float(SKLEARN[metric](y, cases_.calls(0.5)))
    assert ours == theirs or (math.isnan(ours) and math.isnan(theirs))
