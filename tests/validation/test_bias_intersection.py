"""Bias criteria on an intersection: the protocol forms, the values over sufficient cells, the errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference

from qms.validation.metrics import Metric
from qms.validation.protocol import BiasCriterion, BiasKind, Multiplicity
from qms.validation.protocolparser import read_protocol
from qms.validation.subgroups import analyse, evaluate_bias, with_disparities
from tests.validation.subgroup_cases import subgroup_cases, subgroup_spec
from tests.validation.synthetic import assert_refused_at, PROTOCOL, write_protocol

CELLS = "sex × age"
CROSSED = (("sex", "age"),)
ON_CELLS = (BiasCriterion("EOD", BiasKind.EQUALIZED_ODDS_DIFFERENCE, CELLS, 0.9, intersection=("sex", "age")),
            BiasCriterion("FLAG", BiasKind.FLAG_RATE_PARITY, CELLS, 0.9, on="upper", intersection=("sex", "age")),
            BiasCriterion("GAP", BiasKind.MAX_GAP, CELLS, 0.9, Metric.SENSITIVITY, intersection=("sex", "age")))


def test_criteria_on_an_intersection_equal_fairlearn_over_its_sufficient_cells() -> None:
    """EOD and flag-rate parity on an intersection equal fairlearn's over the sufficient cells; each names the cells that make it."""
    cases, attrs = subgroup_cases(21, 900)
    spec = subgroup_spec(200, CROSSED)
    rows, columns = analyse(spec, cases, attrs, Multiplicity.DESCRIPTIVE, {})
    rows, intervals = with_disparities(spec, cases, rows, columns, ON_CELLS, Multiplicity.DESCRIPTIVE)
    sufficient = [r.group for r in rows if r.attribute == CELLS and r.sufficient]
    assert 2 <= len(sufficient) < len({r.group for r in rows if r.attribute == CELLS})
    keep = np.isin(columns[CELLS], sufficient)
    calls = cases.calls(0.5)
    overall = {Metric.SENSITIVITY: float(calls[cases.y == 1].mean())}
    eod, flag, gap = evaluate_bias(ON_CELLS, spec, cases, rows, columns, overall, intervals)
    assert np.isclose(eod.value, equalized_odds_difference(cases.y[keep], calls[keep],
                                                           sensitive_features=columns[CELLS][keep]))
    assert np.isclose(flag.value, demographic_parity_difference(cases.y[keep], calls[keep],
                                                                sensitive_features=columns[CELLS][keep]))
    for b in (eod, flag, gap):
        assert b.lower <= b.value <= b.upper and set(b.groups) <= set(sufficient) and b.groups
        assert b.to_json()["intersection"] == ["sex", "age"]
    rates = {g: calls[columns[CELLS] == g].mean() for g in sufficient}
    assert flag.groups == (max(rates, key=rates.__getitem__), min(rates, key=rates.__getitem__))


def test_criterion_on_an_intersection_without_two_sufficient_cells_fails_closed() -> None:
    """With fewer than two cells at the minimum size, a criterion on the intersection fails, saying why."""
    cases, attrs = subgroup_cases(22, 90)
    spec = subgroup_spec(100, CROSSED)
    rows, columns = analyse(spec, cases, attrs, Multiplicity.DESCRIPTIVE, {})
    rows, intervals = with_disparities(spec, cases, rows, columns, ON_CELLS[:1], Multiplicity.DESCRIPTIVE)
    [b] = evaluate_bias(ON_CELLS[:1], spec, cases, rows, columns, {}, intervals)
    assert not b.passed and "fewer than two groups of sex × age" in b.detail


CROSSING = PROTOCOL.replace("    - attribute: site\n", "    - attribute: site\n  intersections:\n"
                                                        "    - [PatientSex, PatientAge]\n")


@pytest.mark.parametrize("form", ["[PatientSex, PatientAge]", "PatientSex × PatientAge"])
def test_intersection_attribute_parses_as_its_list_or_its_name(tmp_path: Path, form: str) -> None:
    """`attribute:` names a listed intersection by its list or by its name; both give the same criterion."""
    text = CROSSING.replace("    attribute: PatientSex\n    max: 0.9\n", f"    attribute: {form}\n    max: 0.9\n")
    p = read_protocol(write_protocol(tmp_path, text))
    assert p.bias[1].attribute == "PatientSex × PatientAge" and p.bias[1].intersection == ("PatientSex", "PatientAge")
    assert p.bias[0].intersection == ()


@pytest.mark.parametrize(("form", "message"), [
    ("[PatientSex, site]", r"attribute \['PatientSex', 'site'\] is not a subgroup attribute or a listed intersection"),
    ("[PatientAge, PatientSex]", "is not a subgroup attribute or a listed intersection"),
    ("PatientSex × site", "'PatientSex × site' is not a subgroup attribute or a listed intersection"),
    ("{a: 1}", "must be str or list"),
])
def test_unlisted_intersection_names_its_line(tmp_path: Path, form: str, message: str) -> None:
    """An attribute that is neither a subgroup attribute nor a listed intersection is refused at its line, listing both."""
    text = CROSSING.replace("    attribute: PatientSex\n    max: 0.9\n", f"    attribute: {form}\n    max: 0.9\n")
    err = assert_refused_at(tmp_path, text, f"attribute: {form}", message)
    if "listed" in message:
        assert "[PatientSex, PatientAge]" in (err.hint or "")
