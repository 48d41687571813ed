"""`qms monitor run` compares the recorded traffic with a real validation run and exits 1 on a breached trigger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qms.store import open_store
from tests.monitor.traffic import send
from tests.validation.runs import lock_and_run, project_cli
from tests.validation.synthetic import make_project


def test_monitor_run_reports_devices_unseen_in_validation(tmp_path: Path, sqlite_url: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Traffic from devices the validation data never had is an input-drift finding on Manufacturer; exit 1."""
    root = tmp_path / "project"
    store = open_store(sqlite_url)
    result = lock_and_run(store, make_project(root, 120), root)
    send(store, 100, seed=80, model=str(result["model"]["ref"]))
    qms = project_cli(root, sqlite_url, monkeypatch)
    out = qms("monitor", "run", "--run", str(result["run_id"]), "--no-anomalies", "--no-report", "--json")
    assert out.exit_code == 1, out.output
    data = json.loads(out.output)
    assert data["statistic"]["name"] == "PSI" and data["validation_run"] == result["run_id"]
    assert ("monitor.input_drift", "Manufacturer") in {(f["check"], f["item"].split("@")[0]) for f in data["findings"]}
