"""A locked report-generation protocol of a registered generator runs on the reports it wrote, not on its images."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from qms.models import registry
from qms.store import open_store
from qms.validation.manifest import DatasetManifest
from qms.validation.predictions import Predictions
from qms.validation.run import generates_text
from tests.models.kinds import generator
from tests.validation.runs import lock_and_run
from tests.validation.synthetic import PROTOCOL, make_project

SECTION = """\
multiplicity: {method: descriptive, statement: one primary endpoint}
report_generation:
  predictions: data/generated.csv
  uncertain: excluded
  findings: [pneumothorax]
  ci: {method: bootstrap-percentile, resamples: 200, seed: 11}
  endpoints:
    - {id: RG-PTX, metric: sensitivity, finding: pneumothorax, role: primary, acceptance: "lower >= 0.5"}
"""
GENERATOR_PROTOCOL = PROTOCOL[:PROTOCOL.index("endpoints:")].replace("[pneumothorax, effusion]", "[pneumothorax]") + SECTION


def _reports(root: Path, *, faithful: bool) -> list[str]:
    """The generated reports of every test case but the last (faithful: the reference's finding; else none)."""
    manifest = DatasetManifest.from_file(root / "data" / "manifests" / "test.json")
    with (root / "data" / "generated.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["case_id", "patient_id", "generated", "reference", "has_prior"])
        w.writeheader()
        for e in manifest.entries[:-1]:
            reference = "Right pneumothorax." if e.labels["pneumothorax"] else "No pneumothorax."
            w.writerow({"case_id": e.file, "patient_id": e.patient_id, "reference": reference, "has_prior": "false",
                        "generated": reference if faithful else "No acute findings. No pneumothorax."})
    return [e.file for e in manifest.entries]


def _never(lock: object, manifest: DatasetManifest, data_root: Path) -> Predictions:
    raise AssertionError("a report generator's run must not score images")


@pytest.mark.verifies("QMS-REQ-234")
def test_a_generator_run_judges_its_reports_without_scoring_images(sqlite_url: str, tmp_path: Path) -> None:
    """The run records each case's generated-report call as its prediction, fails a case with no report, and passes
    or fails on the report-generation endpoint alone."""
    store = open_store(sqlite_url)
    path = make_project(tmp_path, 30, protocol=GENERATOR_PROTOCOL)
    registry.register(store, generator(tmp_path / "models" / "toy"), name="toy", version="1.0.0", actor="test.engineer")
    assert generates_text(store, "toy@1.0.0") and not generates_text(store, "other@1.0.0")
    files = _reports(tmp_path, faithful=True)
    result = lock_and_run(store, path, tmp_path, predictor=_never)
    assert result["verdict"] == "pass", result["reasons"]
    assert [e["id"] for e in result["report_generation"]["endpoints"]] == ["RG-PTX"]
    frame = pd.read_parquet(tmp_path / "runs" / result["run_id"] / "predictions.parquet")
    truth = {e.file: e.labels["pneumothorax"] for e in DatasetManifest.from_file(tmp_path / "data/manifests/test.json").entries}
    calls = dict(zip(frame["file"], frame["prob_pneumothorax"], strict=True))
    assert {f: calls[f] for f in files[:-1]} == {f: float(truth[f]) for f in files[:-1]}
    assert pd.isna(calls[files[-1]]) and frame["failure"].notna().sum() == 1
    assert result["data"]["flow"]["device_failures"] == 1

    _reports(tmp_path, faithful=False)
    failing = tmp_path / "protocols" / "q.yaml"
    failing.write_text(GENERATOR_PROTOCOL.replace('version: "1.0"', 'version: "1.1"'))
    result = lock_and_run(store, failing, tmp_path, predictor=_never)
    assert result["verdict"] == "fail" and result["reasons"][0].startswith("report generation endpoint RG-PTX")
