"""Drift monitors: a planted shift in production traffic triggers, the same distribution does not."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from qms.anomalies import AnomalySeverity, blocking, load_register
from qms.monitor.checks import INPUT_DRIFT, OUTPUT_DRIFT
from qms.monitor.drift import MIN_CASES
from qms.monitor.service import open_anomalies, run_monitoring
from qms.store import Store
from tests.monitor.traffic import LABELS, reference, send

DAY = timedelta(days=1)


def _breached(store: Store) -> set[tuple[str, str]]:
    report = run_monitoring(store, reference(), None, window=DAY)
    return {(f.check, str(f.item).split("@")[0]) for f in report.findings}


def test_traffic_like_validation_triggers_nothing(store: Store) -> None:
    """Three days of traffic drawn as the validation run was: no input or output trigger in any window."""
    for day in range(3):
        send(store, 300, seed=10 + day, day=day)
    report = run_monitoring(store, reference(), None, window=DAY)
    assert len(report.windows) == 3 and report.findings == []


def test_output_shift_triggers_on_that_label_only(store: Store) -> None:
    """Scores of one label moved upwards on day 2: an output-drift finding for that label in that window only."""
    send(store, 300, seed=20, day=0)
    send(store, 300, seed=21, day=1, shift=0.6)
    report = run_monitoring(store, reference(), None, window=DAY)
    per_window = [{(f.check, str(f.item).split("@")[0]) for f in w.findings} for w in report.windows]
    assert per_window == [set(), {(OUTPUT_DRIFT, f"score:{LABELS[0]}")}]


def test_input_shift_triggers_on_the_moved_attributes(store: Store) -> None:
    """An unseen manufacturer on half the images and a coarser pixel spacing are input-drift findings naming them."""
    send(store, 300, seed=30, unseen_share=0.5, spacing=0.2)
    assert {q for c, q in _breached(store) if c == INPUT_DRIFT} == {"Manufacturer", "ManufacturerModelName",
                                                                     "pixel_spacing"}


def test_a_window_too_small_is_not_judged(store: Store) -> None:
    """A window with fewer instances than the minimum is reported but never triggers, however shifted."""
    send(store, MIN_CASES - 1, seed=40, shift=0.9, unseen_share=1.0)
    report = run_monitoring(store, reference(), None, window=DAY)
    assert report.findings == [] and not any(s.evaluable for s in report.windows[0].outputs)


def test_breached_trigger_opens_one_blocking_anomaly(store: Store, tmp_path: Path) -> None:
    """A breached trigger opens one anomaly in the register, not again on the next pass, and the gate's rule blocks it."""
    register = tmp_path / "anomalies.yaml"
    register.write_text("anomalies:\n  - id: ANOM-001\n    title: Existing\n    severity: minor\n    status: open\n")
    send(store, 300, seed=50, shift=0.6)
    first = open_anomalies(run_monitoring(store, reference(), None, window=DAY), register)
    again = open_anomalies(run_monitoring(store, reference(), None, window=DAY), register)
    anomalies = load_register(register)
    assert first == again == ["PMS-001"] and [a.id for a in anomalies] == ["ANOM-001", "PMS-001"]
    assert [a.id for a in blocking(anomalies, AnomalySeverity.MINOR)] == ["PMS-001"]
