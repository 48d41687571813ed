"""Time-to-notification: per-batch latency measured in the run, its distribution and criterion (VALIDATION.md, CADt)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from qms.errors import QmsError
from qms.store import Store, open_store
from qms.validation.latency import timed
from qms.validation.manifest import DatasetManifest
from qms.validation.protocolparser import read_protocol
from tests.validation.runs import lock_and_run
from tests.validation.synthetic import PROTOCOL, make_project, toy_predictor

TTN = "time_to_notification:\n  id: TTN\n  role: {role}\n  acceptance: {acceptance}\n"


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Store:
    return open_store(sqlite_url)


def _timed_toy(seconds_per_case: float) -> Any:
    """The toy predictor, batch by batch, on a clock that advances `seconds_per_case` per case predicted."""
    now = [0.0]

    def predict(lock: object, manifest: DatasetManifest, data_root: Path) -> Any:
        toy = toy_predictor()

        def batch(chunk: DatasetManifest) -> Any:
            now[0] += seconds_per_case * len(chunk.entries)
            return toy(lock, chunk, data_root)
        return timed(batch, manifest, 8, clock=lambda: now[0])
    return predict


def test_each_case_gets_its_batch_time_in_manifest_order(tmp_path: Path) -> None:
    """Batches are timed from their first read to their scores; rows and failures keep the manifest's order."""
    make_project(tmp_path, 42)
    manifest = DatasetManifest.from_file(tmp_path / "data/manifests/test.json")
    whole = toy_predictor(fail=[3])(None, manifest, tmp_path)
    times = iter([0.0, 1.0, 1.0, 3.0, 3.0, 3.5])

    def batch(chunk: DatasetManifest) -> Any:
        rows = [manifest.entries.index(e) for e in chunk.entries]
        return type(whole)(whole.labels, whole.probabilities[rows], {rows.index(3): "bad"} if 3 in rows else {}, {})
    result = timed(batch, manifest, 8, clock=lambda: next(times))
    assert np.array_equal(result.latency, [1.0] * 8 + [2.0] * 8 + [0.5] * 5)
    assert np.array_equal(result.probabilities, whole.probabilities, equal_nan=True) and result.failures == {3: "bad"}
    assert result.environment["manifest_sha256"] == manifest.sha256


def test_the_run_stores_the_distribution_and_judges_the_criterion(sqlite_store: Store, tmp_path: Path) -> None:
    """The run stores median, p90, p95 and max (each case's time in the parquet); a primary p95 over its limit fails."""
    path = make_project(tmp_path, 60, protocol=PROTOCOL + TTN.format(role="primary", acceptance="p95 <= 1.0"))
    result = lock_and_run(sqlite_store, path, tmp_path, predictor=_timed_toy(0.2))
    ttn = result["time_to_notification"]
    assert ttn["cases"] == 30 and ttn["unit"] == "seconds" and "per batch" in ttn["method"]
    assert ttn["distribution"]["median"] == pytest.approx(1.6) and ttn["distribution"]["max"] == pytest.approx(1.6)
    assert ttn["verdict"] == "fail" and result["verdict"] == "fail"
    per_case = pd.read_parquet(tmp_path / "runs" / str(result["run_id"]) / "predictions.parquet")["latency_s"]
    assert sorted(set(per_case.round(6))) == [1.2, 1.6]
    assert any("time-to-notification p95 1.600 s does not meet p95 <= 1 s" in r for r in result["reasons"])


def test_a_secondary_criterion_is_judged_without_deciding_the_run(sqlite_store: Store, tmp_path: Path) -> None:
    """A secondary time-to-notification criterion gets its verdict but does not fail the run."""
    path = make_project(tmp_path, 60, protocol=PROTOCOL + TTN.format(role="secondary", acceptance="max < 1"))
    result = lock_and_run(sqlite_store, path, tmp_path, predictor=_timed_toy(0.2))
    assert result["time_to_notification"]["verdict"] == "fail"
    assert not any("time-to-notification" in r for r in result["reasons"])


def test_a_primary_criterion_on_unmeasured_latency_fails_closed(sqlite_store: Store, tmp_path: Path) -> None:
    """A predictor that measures no latency cannot pass a primary time-to-notification endpoint."""
    path = make_project(tmp_path, 60, protocol=PROTOCOL + TTN.format(role="primary", acceptance="p95 <= 5.0"))
    result = lock_and_run(sqlite_store, path, tmp_path)
    assert result["time_to_notification"]["verdict"] == "not measured" and result["verdict"] == "fail"
    assert any("was not measured" in r for r in result["reasons"])


@pytest.mark.parametrize(("acceptance", "message"), [
    ("p99 <= 5", "is not understood"), ("p95 >= 5", "is not understood"), ("p95 <= 0", "out of range"),
])
def test_bad_latency_criteria_name_the_line(tmp_path: Path, acceptance: str, message: str) -> None:
    """A latency criterion on an unknown statistic, the wrong direction or a zero limit is refused with file:line."""
    path = tmp_path / "p.yaml"
    path.write_text(PROTOCOL + TTN.format(role="secondary", acceptance=acceptance))
    with pytest.raises(QmsError) as info:
        read_protocol(path)
    assert message in info.value.message and info.value.where == f"{path}:{len(PROTOCOL.splitlines()) + 4}"
