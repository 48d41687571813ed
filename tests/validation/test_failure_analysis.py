"""The acquisition table and the failure analysis: equipment and views counted, FN/FP cases listed and located."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qms.validation import acquisition, failures
from qms.validation.analysis import _confusion, label_cases
from qms.validation.dataset import create_manifest
from qms.validation.protocolparser import read_protocol
from tests.validation.synthetic import PROTOCOL, DatasetMaker, toy_predictor, write_protocol
from tests.validation.test_exclusions import set_header


def test_acquisition_table_counts_each_value_with_its_share(dataset_maker: DatasetMaker) -> None:
    """Each acquisition attribute's values have their counts and percentages; equipment rows and ranges are given."""
    deid, labels = dataset_maker(6)
    for f in ("P00000/0.dcm", "P00001/0.dcm"):
        set_header(deid / f, ViewPosition="AP", PixelSpacing=[0.2, 0.2])
    m = create_manifest(deid, labels, split="test", name="t")
    t = acquisition.table(m)
    views = next(a for a in t["attributes"] if a["attribute"] == "ViewPosition")["values"]
    assert views == [{"value": "PA", "cases": 4, "percent": 100 * 4 / 6}, {"value": "AP", "cases": 2, "percent": 100 * 2 / 6}]
    spacing = next(a for a in t["attributes"] if a["attribute"] == "PixelSpacing")["values"]
    assert {v["value"]: v["cases"] for v in spacing} == {"unknown": 4, "0.2": 2}
    assert {(q["manufacturer"], q["modality"], q["cases"]) for q in t["equipment"]} == {
        ("ACME", "DX", 2), ("Globex", "DX", 2), ("Initech", "DX", 2)}
    assert t["ranges"]["PixelSpacing"] == {"min": 0.2, "max": 0.2, "known": 2, "unknown": 4}
    assert all(sum(v["cases"] for v in a["values"]) == 6 for a in t["attributes"])


def test_failure_analysis_lists_the_most_confident_errors_and_counts_all(dataset_maker: DatasetMaker, tmp_path: Path) -> None:
    """FN and FP at the locked threshold are counted as the confusion matrix does, the most confident listed first."""
    deid, labels = dataset_maker(120)
    m = create_manifest(deid, labels, split="test", name="t")
    p = read_protocol(write_protocol(tmp_path, PROTOCOL))
    preds = toy_predictor(separation=0.0, fail=[3, 7])(None, m, deid)
    cases = {label: label_cases(m, preds, label) for label in p.labels}
    out = failures.analyse(p, m, cases, preds.failures)
    (op,) = out["operating_points"]
    assert (op["label"], op["threshold"], op["endpoints"]) == ("pneumothorax", 0.5, ["SENS"])
    cm = _confusion(cases["pneumothorax"], 0.5)
    assert (op["fn"]["count"], op["fp"]["count"]) == (cm["fn"], cm["fp"]) and op["fn"]["count"] > failures.LISTED
    assert op["fn"]["device_failures"] + op["fp"]["device_failures"] == 2
    fn_scores, fp_scores = [x["score"] for x in op["fn"]["cases"]], [x["score"] for x in op["fp"]["cases"]]
    assert len(fn_scores) == failures.LISTED and fn_scores == sorted(fn_scores) and max(fn_scores) < 0.5
    assert fp_scores == sorted(fp_scores, reverse=True) and min(fp_scores) >= 0.5
    by_file = {e.file: e for e in m.entries}
    assert all(by_file[x["file"]].patient_id == x["patient_id"] for x in op["fn"]["cases"] + op["fp"]["cases"])
    for a in op["by_attribute"]:
        assert sum(v["fn"] for v in a["values"]) == cm["fn"] and sum(v["fp"] for v in a["values"]) == cm["fp"]
    assert out["device_failures"]["count"] == 2
    assert [x["file"] for x in out["device_failures"]["cases"]] == [m.entries[3].file, m.entries[7].file]


def test_no_thresholded_primary_endpoint_has_no_operating_point(dataset_maker: DatasetMaker, tmp_path: Path) -> None:
    """A protocol whose primary endpoints take no threshold lists no FN/FP review, only device failures."""
    deid, labels = dataset_maker(10)
    m = create_manifest(deid, labels, split="test", name="t")
    text = PROTOCOL.replace("    threshold: 0.5\n    role: primary\n    acceptance: lower >= 0.5",
                            "    threshold: 0.5\n    role: secondary", 1)
    p = read_protocol(write_protocol(tmp_path, text))
    preds = toy_predictor()(None, m, deid)
    out = failures.analyse(p, m, {label: label_cases(m, preds, label) for label in p.labels}, {})
    assert out["operating_points"] == [] and out["device_failures"] == {"count": 0, "cases": []}
    assert np.isfinite(preds.probabilities).all()
