"""Disparity metrics with intervals, bias criteria on the estimate or the upper bound, intersectional cells."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
from sklearn.metrics import recall_score, roc_auc_score

from qms.validation.metrics import CISpec, LabelCases, Metric
from qms.validation.intervals import CIMethod
from qms.validation.protocol import AttributeSpec, BiasCriterion, BiasKind, Multiplicity, Subgroups
from qms.validation.protocolparser import read_protocol
from qms.validation.subgroups import analyse, evaluate_bias, with_disparities
from tests.validation.subgroup_cases import subgroup_cases as _data, subgroup_spec as _spec
from tests.validation.synthetic import assert_refused_at, PROTOCOL, write_protocol


CRITERIA = (BiasCriterion("GAP", BiasKind.MAX_GAP, "sex", 0.5, Metric.AUROC),
            BiasCriterion("EOD", BiasKind.EQUALIZED_ODDS_DIFFERENCE, "sex", 0.5),
            BiasCriterion("FLAG", BiasKind.FLAG_RATE_PARITY, "age", 0.5, on="upper"))


def test_disparities_equal_sklearn_and_criteria_equal_fairlearn() -> None:
    """Each group's difference and ratio to its complement equal sklearn's values; criterion estimates equal fairlearn's."""
    cases, attrs = _data(1, 600)
    spec = _spec()
    rows, columns = analyse(spec, cases, attrs, Multiplicity.DESCRIPTIVE, {})
    rows, intervals = with_disparities(spec, cases, rows, columns, CRITERIA, Multiplicity.DESCRIPTIVE)
    calls = cases.calls(0.5)
    for r in rows:
        m = columns[r.attribute] == r.group
        if 0 < cases.y[m].sum() < m.sum():
            auc = roc_auc_score(cases.y[m], cases.score[m]) - roc_auc_score(cases.y[~m], cases.score[~m])
            assert np.isclose(r.disparity["auroc"]["difference"]["estimate"], auc)
        sens = recall_score(cases.y[m], calls[m], zero_division=np.nan)
        rest = recall_score(cases.y[~m], calls[~m], zero_division=np.nan)
        d = r.disparity["sensitivity"]
        assert np.isclose(d["ratio"]["estimate"], sens / rest, equal_nan=True)
        assert np.isclose(d["complement"]["estimate"], rest)
        if r.sufficient:
            assert d["difference"]["lower"] <= d["difference"]["estimate"] <= d["difference"]["upper"]
    keep = np.isin(columns["sex"], [r.group for r in rows if r.attribute == "sex" and r.sufficient])
    eod = equalized_odds_difference(cases.y[keep], calls[keep], sensitive_features=columns["sex"][keep])
    assert np.isclose(intervals["EOD"][0], eod)
    keep = np.isin(columns["age"], [r.group for r in rows if r.attribute == "age" and r.sufficient])
    dpd = demographic_parity_difference(cases.y[keep], calls[keep], sensitive_features=columns["age"][keep])
    assert np.isclose(intervals["FLAG"][0], dpd)
    overall = {Metric.AUROC: roc_auc_score(cases.y, cases.score)}
    bias = evaluate_bias(CRITERIA[:1], spec, cases, rows, columns, overall, intervals)
    assert np.isclose(bias[0].value, intervals["GAP"][0]) and bias[0].lower <= bias[0].value <= bias[0].upper


def test_criterion_on_upper_bound_fails_where_the_estimate_passes() -> None:
    """With `on: upper` a criterion whose estimate is within tolerance fails when its interval's upper bound is not."""
    cases, attrs = _data(2, 400)
    spec = _spec()
    rows, columns = analyse(spec, cases, attrs, Multiplicity.DESCRIPTIVE, {})
    rows, intervals = with_disparities(spec, cases, rows, columns, CRITERIA, Multiplicity.DESCRIPTIVE)
    est, lo, hi = intervals["EOD"]
    assert lo < est < hi
    tol = (est + hi) / 2
    on_estimate = BiasCriterion("EOD", BiasKind.EQUALIZED_ODDS_DIFFERENCE, "sex", tol)
    on_upper = BiasCriterion("EOD", BiasKind.EQUALIZED_ODDS_DIFFERENCE, "sex", tol, on="upper")
    a, b = evaluate_bias([on_estimate, on_upper], spec, cases, rows, columns, {}, intervals)
    assert a.passed and not b.passed and "upper" in b.detail


def test_disparity_intervals_are_reproducible_and_cluster_aware() -> None:
    """The same seed gives the same intervals; three images per patient widen them against treating images as independent."""
    cases, attrs = _data(3, 900, per_patient=3)
    spec = _spec(400)
    rows, columns = analyse(spec, cases, attrs, Multiplicity.DESCRIPTIVE, {})
    first = with_disparities(spec, cases, rows, columns, CRITERIA, Multiplicity.DESCRIPTIVE)
    again = with_disparities(spec, cases, rows, columns, CRITERIA, Multiplicity.DESCRIPTIVE)
    assert first[1] == again[1] and [r.disparity for r in first[0]] == [r.disparity for r in again[0]]
    naive = LabelCases(cases.y, cases.score, np.arange(len(cases.y)))
    independent = with_disparities(spec, naive, rows, columns, CRITERIA, Multiplicity.DESCRIPTIVE)

    def width(res: tuple[object, dict[str, tuple[float, float, float]]], key: str) -> float:
        return res[1][key][2] - res[1][key][1]

    assert width(first, "EOD") > 1.2 * width(independent, "EOD")


def test_difference_interval_reaches_nominal_coverage() -> None:
    """95 % intervals of the sensitivity difference between two groups cover the true difference in 95 % +- 6 % of 150 studies."""
    spec = Subgroups(label="x", threshold=0.5, metrics=(Metric.SENSITIVITY,), ci=CISpec(CIMethod.BOOTSTRAP_PERCENTILE,
                     0.95, 300, 0), attributes=(AttributeSpec("g"),), min_size=1, min_positives=0)
    hits = 0
    for study in range(150):
        rng = np.random.default_rng(1000 + study)
        g = rng.integers(0, 2, 400)
        y = np.ones(400, dtype=np.int64)  # all positive: sensitivity is the share flagged, 0.8 vs 0.65
        score = (rng.random(400) < np.where(g == 1, 0.8, 0.65)).astype(np.float64)
        cases = LabelCases(y, score, np.arange(400))
        attrs = {"g": [f"g{v}" for v in g]}
        rows, columns = analyse(spec, cases, attrs, Multiplicity.DESCRIPTIVE, {})
        rows, _ = with_disparities(spec, cases, rows, columns, (), Multiplicity.DESCRIPTIVE)
        d = next(r for r in rows if r.group == "g1").disparity["sensitivity"]["difference"]
        hits += d["lower"] <= 0.15 <= d["upper"]
    assert abs(hits / 150 - 0.95) <= 0.06


def test_intersection_cells_are_reported_with_unknown_and_flags() -> None:
    """An intersection gives one row per cell with n, positives, intervals and disparities; unknown stays a category; small cells are flagged."""
    cases, attrs = _data(4, 500)
    spec = _spec(200, (("sex", "age"),))
    rows, columns = analyse(spec, cases, attrs, Multiplicity.BONFERRONI, {})
    rows, _ = with_disparities(spec, cases, rows, columns, (), Multiplicity.BONFERRONI)
    cells = [r for r in rows if r.attribute == "sex × age"]
    assert {r.intersection for r in cells} == {("sex", "age")}
    assert sum(r.n for r in cells) == 500
    groups = {r.group for r in cells}
    assert "F × [40, 65)" in groups and any(g.startswith("unknown × ") for g in groups)
    assert any(g.endswith(" × unknown") for g in groups)
    small = [r for r in cells if r.n < 20]
    assert small and all(not r.sufficient and "insufficient, descriptive only" in r.flags for r in small)
    big = next(r for r in cells if r.sufficient)
    assert big.values["sensitivity"]["lower"] <= big.values["sensitivity"]["estimate"]
    assert "difference" in big.disparity["auroc"] and big.to_json()["intersection"] == ["sex", "age"]
    # the Bonferroni family counts the cells too
    family = sum(len(np.unique(c)) for c in columns.values()) * 3
    assert np.isclose(big.values["sensitivity"]["level"], 1 - 0.05 / family)




WITH_INTERSECTIONS = PROTOCOL.replace("    - attribute: site\n", "    - attribute: site\n  intersections:\n"
                                      "    - [PatientSex, PatientAge]\n    - [PatientSex, site]\n")


def test_protocol_parses_intersections_and_the_bounded_statistic(tmp_path: Path) -> None:
    """`intersections` and a bias criterion's `on` parse; `on` defaults to the estimate."""
    text = WITH_INTERSECTIONS.replace("    max: 0.9\n", "    max: 0.9\n    on: upper\n")
    p = read_protocol(write_protocol(tmp_path, text))
    assert p.subgroups is not None and p.subgroups.intersections == (("PatientSex", "PatientAge"), ("PatientSex", "site"))
    assert [b.on for b in p.bias] == ["estimate", "upper"]


@pytest.mark.parametrize(("old", "new", "needle", "offset", "message"), [
    ("[PatientSex, site]", "[PatientSex, Race]", "[PatientSex, Race]", 0, "'Race' is not a subgroup attribute"),
    ("[PatientSex, site]", "[PatientSex]", "- [PatientSex]", 0, "two or more different attributes"),
    ("[PatientSex, site]", "[site, site]", "[site, site]", 0, "two or more different attributes"),
    ("[PatientSex, site]", "[PatientSex, PatientAge]", "[PatientSex, PatientAge]", 1, "appears twice"),
    ("    max: 0.9\n", "    max: 0.9\n    on: lower\n", "on: lower", 0, "unknown value 'lower'"),
])
def test_bad_intersections_and_bounds_name_their_line(tmp_path: Path, old: str, new: str, needle: str, offset: int,
                                                      message: str) -> None:
    """An unknown or repeated intersection attribute, a one-attribute intersection, or an unknown `on` names file:line."""
    text = WITH_INTERSECTIONS.replace(old, new)
    assert_refused_at(tmp_path, text, needle, message, offset)


def test_failed_criterion_reason_names_the_bounded_statistic() -> None:
    """A failed criterion's reason names the statistic `max` bounds: the value, or the upper bound with its level."""
    from qms.validation.subgroups import BiasResult

    upper = BiasResult(BiasCriterion("EOD", BiasKind.EQUALIZED_ODDS_DIFFERENCE, "sex", 0.2, on="upper"), 0.1, False,
                       "fairlearn equalized_odds_difference", 0.05, 0.31, 0.95)
    assert upper.failure_reason().endswith("upper 95% bound 0.3100 exceeds 0.2")
    plain = BiasResult(BiasCriterion("EOD", BiasKind.EQUALIZED_ODDS_DIFFERENCE, "sex", 0.2), 0.25, False, "d", 0.1, 0.4, 0.95)
    assert plain.failure_reason().endswith("value 0.2500 exceeds 0.2")
    undefined = BiasResult(BiasCriterion("EOD", BiasKind.EQUALIZED_ODDS_DIFFERENCE, "sex", 0.2, on="upper"), 0.1, False,
                           "d", float("nan"), float("nan"), 0.95)
    assert "upper bound is undefined" in undefined.failure_reason()
