"""`qms monitor run` compares the recorded traffic with a real validation run and exits 1 on a breached trigger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qms.store import open_store
from tests.monitor.plans import BIAS_PROTOCOL, OWNER
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
    out = qms("monitor", "run", "--run", str(result["run_id"]), "--window-hours", "24", "--no-anomalies", "--no-report", "--json")
    assert out.exit_code == 1, out.output
    data = json.loads(out.output)
    assert data["statistic"]["name"] == "PSI" and data["validation_run"] == result["run_id"]
    assert ("monitor.input_drift", "Manufacturer") in {(f["check"], f["item"].split("@")[0]) for f in data["findings"]}


def test_monitor_run_follows_the_post_market_plan(tmp_path: Path, sqlite_url: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --window-hours the bias protocol's plan sets the windows and triggers (a planted flag-rate gap exits 1
    naming the clause); with it, the report records the override."""
    root = tmp_path / "project"
    store = open_store(sqlite_url)
    result = lock_and_run(store, make_project(root, 120, protocol=BIAS_PROTOCOL), root)
    send(store, 300, seed=81, model=str(result["model"]["ref"]), shift=0.6, shifted_maker="Globex")
    qms = project_cli(root, sqlite_url, monkeypatch)
    out = qms("monitor", "run", "--run", str(result["run_id"]), "--no-anomalies", "--no-report", "--json")
    assert out.exit_code == 1, out.output
    data = json.loads(out.output)
    assert data["plan"]["owner"] == OWNER and data["window_hours"] == 7 * 24 and data["notes"] == []
    assert any(f["check"] == "monitor.plan_trigger" and "flag-rate gap" in f["item"] for f in data["findings"])
    again = json.loads(qms("monitor", "run", "--run", str(result["run_id"]), "--window-hours", "12", "--no-anomalies",
                           "--no-report", "--json").output)
    assert again["window_hours"] == 12 and "overrides the plan's frequency" in again["notes"][0]
