"""One monitoring pass: every window of a model's production records against its validation run.

Each breached trigger opens (or finds already open) one anomaly in the register, which the
release gate reads; the anomaly's title names the check and the quantity, so a trigger
that stays breached over many windows is one open anomaly, not many.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from qms.anomalies import AnomalySeverity, open_anomaly
from qms.findings import Finding
from qms.monitor.checks import WindowResult, check_window
from qms.monitor.drift import FLOOR, MIN_CASES, PSI_THRESHOLD
from qms.monitor.reference import Reference
from qms.monitor.windows import records, windows
from qms.store import Store

__all__ = ["ANOMALY_PREFIX", "MonitoringReport", "open_anomalies", "run_monitoring"]

ANOMALY_PREFIX = "PMS"  # post-market surveillance


@dataclass
class MonitoringReport:
    """What one pass compared and found, and the anomalies it opened."""

    model_ref: str
    run_id: str
    window: timedelta
    windows: list[WindowResult]
    performance: list[dict[str, Any]] = field(default_factory=list)
    extra_findings: list[Finding] = field(default_factory=list)
    anomalies: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [f for w in self.windows for f in w.findings] + self.extra_findings

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model_ref, "validation_run": self.run_id, "window_hours": self.window.total_seconds() / 3600,
                "statistic": {"name": "PSI", "threshold": PSI_THRESHOLD, "floor": FLOOR, "min_cases": MIN_CASES,
                              "also_reported": "two-sample Kolmogorov-Smirnov D (numeric quantities)"},
                "windows": [w.to_json() for w in self.windows], "performance": self.performance,
                "findings": [f.to_json() for f in self.findings], "anomalies": self.anomalies}


def run_monitoring(store: Store, reference: Reference, length: timedelta) -> MonitoringReport:
    """Compare every window of the reference model's production records with the reference."""
    results = [check_window(reference, w) for w in windows(records(store, reference.model_ref), length)]
    return MonitoringReport(reference.model_ref, reference.run_id, length, results)


def open_anomalies(report: MonitoringReport, register: Path) -> list[str]:
    """One open anomaly per breached trigger (check and quantity), added to the register; returns their ids."""
    opened: list[str] = []
    for finding in report.findings:
        quantity = str(finding.item).split("@", 1)[0]
        title = f"Post-market trigger {finding.check} breached for {report.model_ref}: {quantity}"
        anomaly = open_anomaly(register, ANOMALY_PREFIX, title, AnomalySeverity.MAJOR,
                               f"Opened by `qms monitor` against validation run {report.run_id}: {finding.reason}. "
                               "To be evaluated by the post-market plan's owner.")
        if anomaly.id not in opened:
            opened.append(anomaly.id)
    report.anomalies = opened
    return opened
