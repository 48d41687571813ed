"""Robustness strata of the primary endpoints, and repeatability: a second inference on a seeded subset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qms.errors import QmsError
from qms.store import Store, open_store
from qms.validation import repeatability, robustness
from qms.validation.analysis import label_cases
from qms.validation.dataset import create_manifest
from qms.validation.metrics import interval
from qms.validation.protocolparser import read_protocol
from qms.validation.inputs import inputs_for
from tests.validation.runs import lock_and_run
from tests.validation.synthetic import (
    PROTOCOL, DatasetMaker, ToyPredictions, assert_refused_at, line_of, make_project, repeatable_predictor, toy_identity, toy_predictor,
    write_protocol,
)

ROBUST = "robustness: {attributes: [Manufacturer, site], min_size: 10, min_positives: 2}\n"
REPEAT = "repeatability: {cases: 16, max_abs_difference: 1.0e-9}\n"


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Store:
    return open_store(sqlite_url)


def test_each_stratum_gets_the_endpoints_own_interval(dataset_maker: DatasetMaker, tmp_path: Path) -> None:
    """A stratum's estimate and interval are the endpoint's metric and method on that stratum's cases alone."""
    deid, labels = dataset_maker(40)
    m = create_manifest(deid, labels, split="test", name="t")
    p = read_protocol(write_protocol(tmp_path, PROTOCOL + ROBUST))
    preds = toy_predictor()(None, m, deid)
    cases = {label: label_cases(m, preds, label) for label in p.labels}
    out = robustness.stratify(p.robustness, m, p.endpoints, cases)
    assert out is not None
    assert [(s["attribute"], s["value"], s["cases"]) for s in out["strata"]][:3] == [
        ("Manufacturer", "ACME", 14), ("Manufacturer", "Globex", 13), ("Manufacturer", "Initech", 13)]
    acme = np.array([e.attributes["Manufacturer"] == "ACME" for e in m.entries])
    for e in p.endpoints[:2]:
        iv = interval(e.metric, [cases["pneumothorax"].subset(acme)], e.threshold, e.ci)
        got = out["strata"][0]["endpoints"][e.id]
        assert (got["estimate"], got["lower"], got["upper"], got["method"]) == (iv.estimate, iv.lower, iv.upper,
                                                                                 e.ci.method.value)
    assert set(out["strata"][0]["endpoints"]) == {"AUROC", "SENS"}  # primary endpoints only
    for s in out["strata"]:
        assert s["sufficient"] == (s["cases"] >= 10 and s["positives"] >= 2)
        assert all((r["meets"] is None) == (not s["sufficient"]) for r in s["endpoints"].values())


ROBUST_BAD = [
    ("attributes: [Manufacturer, site]", "attributes: []", "robustness:", "at least one attribute"),
    ("attributes: [Manufacturer, site]", "attributes: [site, site]", "robustness:", "appears twice"),
    ("min_size: 10", "min_size: 0", "robustness:", "at least one case"),
    ("min_positives: 2}", "min_positives: 2, by: [x]}", "robustness:", "unknown key 'by'"),
]
REPEAT_BAD = [
    ("cases: 16", "cases: 0", "repeatability:", "at least one case"),
    ("max_abs_difference: 1.0e-9", "max_abs_difference: 1.5", "repeatability:", "out of range"),
    ("cases: 16", "cases: many", "repeatability:", "must be int"),
]


@pytest.mark.parametrize(("section", "old", "new", "needle", "message"),
                         [(ROBUST, *b) for b in ROBUST_BAD] + [(REPEAT, *b) for b in REPEAT_BAD],
                         ids=[b[3] for b in ROBUST_BAD + REPEAT_BAD])
def test_bad_robustness_or_repeatability_names_the_line(tmp_path: Path, section: str, old: str, new: str, needle: str,
                                                         message: str) -> None:
    """An empty or repeated attribute list, a bad minimum, case count or limit is refused at its line."""
    assert_refused_at(tmp_path, PROTOCOL + section.replace(old, new, 1), needle, message)


def test_unknown_robustness_attribute_is_refused_before_the_run(tmp_path: Path) -> None:
    """A robustness attribute the manifest does not record is refused before locking, at the protocol's line."""
    text = PROTOCOL + "robustness:\n  attributes:\n    - Manufacturer\n    - BodyPartExamined\n"
    path = make_project(tmp_path, 10, protocol=text)
    with pytest.raises(QmsError, match="'BodyPartExamined' is not in the dataset manifest") as info:
        inputs_for(read_protocol(path), tmp_path, toy_identity(tmp_path))
    assert info.value.where == f"{path}:{line_of(text, '- BodyPartExamined')}"


def test_repeatable_model_passes_and_the_difference_is_recorded(sqlite_store: Store, tmp_path: Path) -> None:
    """A model whose scores depend on each case alone repeats exactly on the seeded subset: verdict pass, difference 0."""
    path = make_project(tmp_path, 60, protocol=PROTOCOL + REPEAT)
    r = lock_and_run(sqlite_store, path, tmp_path, predictor=repeatable_predictor())["repeatability"]
    assert r["verdict"] == "pass" and r["max_abs_difference"] == 0.0 and r["cases"] == r["requested"] == 16
    assert r["failure_mismatches"] == 0 and set(r["per_label"]) == {"pneumothorax", "effusion"}


def test_unrepeatable_model_fails_the_run(sqlite_store: Store, tmp_path: Path) -> None:
    """Scores that change when the model runs again on a subset exceed the limit and fail the run, saying so."""
    path = make_project(tmp_path, 60, protocol=PROTOCOL + REPEAT)
    result = lock_and_run(sqlite_store, path, tmp_path, predictor=toy_predictor())
    assert result["verdict"] == "fail" and result["repeatability"]["verdict"] == "fail"
    assert any(r.startswith("repeatability: largest score difference") for r in result["reasons"])


def test_fewer_cases_than_stated_is_a_deviation(dataset_maker: DatasetMaker, tmp_path: Path) -> None:
    """A test set smaller than the stated repeatability cases is used whole, and that is a deviation."""
    deid, labels = dataset_maker(5)
    m = create_manifest(deid, labels, split="test", name="t")
    spec = repeatability.RepeatabilitySpec(cases=64, max_abs_difference=0.0, seed=1)
    picked = repeatability.sample(spec, len(m.entries))
    first = repeatable_predictor()(None, m, deid)
    out, reasons, deviations = repeatability.compare(spec, m, m.label_names, first,
                                                     repeatable_predictor()(None, m.select(picked.tolist()), deid), picked)
    assert out["cases"] == 5 and reasons == [] and deviations == [
        "repeatability: 5 cases run again, fewer than the 64 stated (the whole test set)"]


def test_a_case_failing_in_one_run_only_fails_repeatability(dataset_maker: DatasetMaker, tmp_path: Path) -> None:
    """A case the device failed on in the second run but not the first is a mismatch, whatever the scores."""
    deid, labels = dataset_maker(6)
    m = create_manifest(deid, labels, split="test", name="t")
    spec = repeatability.RepeatabilitySpec(cases=6, max_abs_difference=0.5, seed=1)
    picked = repeatability.sample(spec, 6)
    first = repeatable_predictor()(None, m, deid)
    again = first.probabilities.copy()
    again[2] = np.nan
    out, reasons, _ = repeatability.compare(spec, m, m.label_names, first,
                                            ToyPredictions(first.labels, again, {2: "unreadable"}, {}), picked)
    assert out["failure_mismatches"] == 1 and out["verdict"] == "fail" and "failed in one run only" in reasons[0]


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 500), cases=st.integers(1, 600), seed=st.integers(0, 2**32 - 1))
def test_the_subset_is_seeded_distinct_and_in_manifest_order(n: int, cases: int, seed: int) -> None:
    """The subset run again is min(cases, n) distinct cases in manifest order, the same for the same seed."""
    spec = repeatability.RepeatabilitySpec(cases, 0.0, seed)
    picked = repeatability.sample(spec, n)
    assert len(picked) == min(cases, n) and np.all(np.diff(picked) > 0) and 0 <= picked.min() and picked.max() < n
    assert np.array_equal(picked, repeatability.sample(spec, n))
