"""Disparities against a named reference group: values, intervals, the protocol key and its errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sklearn.metrics import recall_score, roc_auc_score

from qms.errors import QmsError
from qms.store import open_store
from qms.validation.protocol import AttributeSpec, Multiplicity
from qms.validation.protocolparser import read_protocol
from qms.validation.records import ProtocolLock
from qms.validation.inputs import inputs_for
from qms.validation.subgroups import analyse, with_disparities
from tests.validation.subgroup_cases import subgroup_cases, subgroup_spec
from tests.validation.synthetic import assert_refused_at, PROTOCOL, line_of, make_project, toy_identity, write_protocol

REFERENCED = (AttributeSpec("sex", reference="F"), AttributeSpec("age", (40.0, 65.0), reference="[40, 65)"))


def test_disparities_are_against_the_named_reference_and_equal_sklearn() -> None:
    """Each group's difference and ratio are against its attribute's reference group (sklearn's values); the reference has none."""
    cases, attrs = subgroup_cases(11, 600)
    spec = subgroup_spec(attributes=REFERENCED)
    rows, columns = analyse(spec, cases, attrs, Multiplicity.DESCRIPTIVE, {})
    rows, _ = with_disparities(spec, cases, rows, columns, (), Multiplicity.DESCRIPTIVE)
    calls = cases.calls(0.5)
    for r in rows:
        ref_group = {"sex": "F", "age": "[40, 65)"}[r.attribute]
        if r.group == ref_group:
            assert r.disparity == {}
            continue
        m, ref = columns[r.attribute] == r.group, columns[r.attribute] == ref_group
        sens = recall_score(cases.y[m], calls[m], zero_division=np.nan)
        sens_ref = recall_score(cases.y[ref], calls[ref])
        d = r.disparity["sensitivity"]
        assert set(d) == {"difference", "ratio", "reference"}
        assert np.isclose(d["reference"]["estimate"], sens_ref)
        assert np.isclose(d["difference"]["estimate"], sens - sens_ref, equal_nan=True)
        assert np.isclose(d["ratio"]["estimate"], sens / sens_ref, equal_nan=True)
        if 0 < cases.y[m].sum() < m.sum():
            auc = roc_auc_score(cases.y[m], cases.score[m]) - roc_auc_score(cases.y[ref], cases.score[ref])
            assert np.isclose(r.disparity["auroc"]["difference"]["estimate"], auc)
        if r.sufficient:
            assert d["difference"]["lower"] <= d["difference"]["estimate"] <= d["difference"]["upper"]


def test_attribute_without_reference_keeps_the_complement() -> None:
    """Naming a reference on one attribute leaves every other attribute compared with each group's complement."""
    cases, attrs = subgroup_cases(12, 400)
    spec = subgroup_spec(attributes=(AttributeSpec("sex", reference="M"), AttributeSpec("age", (40.0, 65.0))))
    rows, columns = analyse(spec, cases, attrs, Multiplicity.DESCRIPTIVE, {})
    rows, _ = with_disparities(spec, cases, rows, columns, (), Multiplicity.DESCRIPTIVE)
    assert all("complement" in r.disparity["auroc"] for r in rows if r.attribute == "age")
    assert all("reference" in r.disparity["auroc"] for r in rows if r.attribute == "sex" and r.group != "M")


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), reference=st.sampled_from(["F", "M"]))
def test_difference_is_group_minus_reference_for_any_data(seed: int, reference: str) -> None:
    """For any data and any observed reference group, difference = group − reference and ratio = group / reference."""
    cases, attrs = subgroup_cases(seed, 300)
    spec = subgroup_spec(100, attributes=(AttributeSpec("sex", reference=reference),))
    rows, columns = analyse(spec, cases, attrs, Multiplicity.DESCRIPTIVE, {})
    rows, _ = with_disparities(spec, cases, rows, columns, (), Multiplicity.DESCRIPTIVE)
    ref = next(r for r in rows if r.group == reference)
    for r in rows:
        if r is ref:
            continue
        for metric, d in r.disparity.items():
            g, b = r.values[metric]["estimate"], ref.values[metric]["estimate"]
            assert np.isclose(d["reference"]["estimate"], b, equal_nan=True)
            assert np.isclose(d["difference"]["estimate"], g - b, equal_nan=True)


def test_unobserved_reference_is_refused_naming_the_protocol_line() -> None:
    """A reference group no case falls in is an error naming the protocol line of `reference`."""
    cases, attrs = subgroup_cases(13, 200)
    spec = subgroup_spec(attributes=(AttributeSpec("sex", reference="X", reference_at="p.yaml:9"),))
    with pytest.raises(QmsError, match="reference group 'X' of sex is not observed") as err:
        analyse(spec, cases, attrs, Multiplicity.DESCRIPTIVE, {})
    assert err.value.where == "p.yaml:9" and "F, M, unknown" in (err.value.hint or "")


WITH_REFERENCE = PROTOCOL.replace("    - attribute: PatientSex\n", "    - attribute: PatientSex\n      reference: F\n")


def test_reference_parses_and_an_unobserved_one_is_refused_before_the_lock(tmp_path: Path, sqlite_url: str) -> None:
    """`reference` parses; one the dataset lacks is refused when the protocol is locked, naming file:line, and nothing is locked."""
    p = read_protocol(write_protocol(tmp_path, WITH_REFERENCE))
    assert p.subgroups is not None and p.subgroups.attributes[0].reference == "F"
    text = WITH_REFERENCE.replace("reference: F", "reference: X")
    path = make_project(tmp_path / "project", 20, protocol=text)
    store = open_store(sqlite_url)
    with pytest.raises(QmsError, match="reference group 'X' of PatientSex is not observed") as err:
        inputs_for(read_protocol(path), tmp_path / "project", toy_identity(tmp_path / "project"))
    assert err.value.where == f"{path}:{line_of(text, 'reference: X')}"
    assert store.all(ProtocolLock) == []


@pytest.mark.parametrize(("new", "needle", "message"), [
    ('      bins: [18, 50]\n      reference: "[18, 40)"\n', "reference:", r"reference '\[18, 40\)' is not a band"),
    ("      bins: [18, 50]\n      reference: 50\n", "reference:", "must be str"),
    ("      bins: [18, 50]\n      reference: [F]\n", "reference:", "must be str"),
])
def test_bad_reference_names_its_line(tmp_path: Path, new: str, needle: str, message: str) -> None:
    """A reference that is not a band of the attribute's bins, or not text, is refused at its line."""
    assert_refused_at(tmp_path, PROTOCOL.replace("      bins: [18, 50]\n", new), needle, message)


def test_band_reference_parses(tmp_path: Path) -> None:
    """A band of the bins, quoted, is a valid reference of a binned attribute."""
    text = PROTOCOL.replace("      bins: [18, 50]\n", '      bins: [18, 50]\n      reference: "[18, 50)"\n')
    p = read_protocol(write_protocol(tmp_path, text))
    assert p.subgroups is not None and p.subgroups.attributes[1].reference == "[18, 50)"
    assert p.subgroups.attributes[1].bands == ("<18", "[18, 50)", ">=50")
