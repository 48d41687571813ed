"""One monitoring pass: every window of a model's production records against its validation run.

The bias report's post-market plan (`qms.monitor.plan`) drives it: its frequency cuts the
windows, its triggers are checked in each (`qms.monitor.triggers`) beside the drift
statistics, and its owner is named in every anomaly opened. A window length given by hand
overrides the plan's frequency, and the report says so. Each breached trigger opens (or
finds already open) one anomaly in the register, which the release gate reads; the anomaly's title names the check and the quantity, so a trigger
that stays breached over many windows is one open anomaly, not many.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from qms.anomalies import AnomalySeverity, open_anomaly
from qms.errors import QmsError
from qms.findings import Finding
from qms.monitor.checks import WindowResult, check_window
from qms.monitor.drift import FLOOR, MIN_CASES, PSI_THRESHOLD
from qms.monitor.performance import Truth, evaluate, read_labels
from qms.monitor.plan import MonitoringPlan, find_plan
from qms.monitor.reference import Reference, from_run
from qms.monitor.triggers import check_triggers, labelled_cases
from qms.monitor.windows import FlagRule, records, windows
from qms.store import Store

__all__ = ["ANOMALY_PREFIX", "MonitoringReport", "monitor_run", "open_anomalies", "run_monitoring"]

ANOMALY_PREFIX = "PMS"  # post-market surveillance


@dataclass
class MonitoringReport:
    """What one pass compared and found, and the anomalies it opened."""

    model_ref: str
    run_id: str
    window: timedelta
    windows: list[WindowResult]
    plan: MonitoringPlan | None = None
    notes: list[str] = field(default_factory=list)
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
                "plan": self.plan.to_json() if self.plan else None, "notes": self.notes,
                "windows": [w.to_json() for w in self.windows], "performance": self.performance,
                "findings": [f.to_json() for f in self.findings], "anomalies": self.anomalies}


def _cutting(reference: Reference, plan: MonitoringPlan | None, window: timedelta | None
             ) -> tuple[timedelta, FlagRule | None, list[str]]:
    """The window length, the flagged-studies rule, and the notes saying where they came from."""
    if plan is None:
        if window is None:
            raise QmsError(f"no locked bias protocol with a post-market plan was run on {reference.model_ref}",
                           where=f"model:{reference.model_ref}", hint="run the bias protocol, or give a window by hand")
        return window, None, [f"no post-market plan is recorded for {reference.model_ref}: drift only, in windows "
                              f"of {window.total_seconds() / 3600:g} h given by hand"]
    if window is not None:
        return window, None, [f"a window of {window.total_seconds() / 3600:g} h given by hand overrides the plan's "
                              f"frequency ({plan.frequency.text!r})"]
    flagged = plan.frequency.flagged
    return (plan.frequency.period,
            FlagRule(flagged, plan.subgroups.label, plan.subgroups.threshold) if flagged else None, [])


def run_monitoring(store: Store, reference: Reference, plan: MonitoringPlan | None, *, window: timedelta | None = None,
                   truths: Sequence[Truth] = ()) -> MonitoringReport:
    """Compare every window of the reference model's production records with the reference, and check the plan's
    triggers in each; `window` (given by hand) overrides the plan's frequency, with a note saying so."""
    length, flagged, notes = _cutting(reference, plan, window)
    labelled = labelled_cases(plan, truths) if plan else {}
    results = []
    for w in windows(records(store, reference.model_ref), length, flagged):
        result = check_window(reference, w)
        if plan is not None:
            rows, findings = check_triggers(plan, w, labelled)
            result = replace(result, triggers=tuple(rows), findings=result.findings + tuple(findings))
        results.append(result)
    return MonitoringReport(reference.model_ref, reference.run_id, length, results, plan, notes)


def monitor_run(store: Store, run_id: str, root: Path, *, window: timedelta | None = None,
                labels: Path | None = None) -> MonitoringReport:
    """One pass for the model of validation run `run_id`: its plan from the locked bias protocol run on that model,
    and, with a labels file, performance against the run's protocol and the plan's triggers on the labelled cases."""
    from qms.validation.protocolparser import read_protocol

    reference = from_run(store, run_id, root)
    truths = read_labels(labels) if labels is not None else []
    report = run_monitoring(store, reference, find_plan(store, reference.model_ref, root), window=window, truths=truths)
    if labels is not None:
        assert reference.protocol_path is not None
        report.performance, report.extra_findings = evaluate(store, reference.model_ref, truths,
                                                             read_protocol(reference.protocol_path).endpoints)
    return report


def open_anomalies(report: MonitoringReport, register: Path) -> list[str]:
    """One open anomaly per breached trigger (check and quantity), added to the register; returns their ids."""
    opened: list[str] = []
    for finding in report.findings:
        quantity = str(finding.item).split("@", 1)[0]
        title = f"Post-market trigger {finding.check} breached for {report.model_ref}: {quantity}"
        owner = (f"{report.plan.owner}, the owner of the post-market plan of {report.plan.protocol}"
                 if report.plan else "the post-market plan's owner")
        anomaly = open_anomaly(register, ANOMALY_PREFIX, title, AnomalySeverity.MAJOR,
                               f"Opened by `qms monitor` against validation run {report.run_id}: {finding.reason}. "
                               f"To be evaluated by {owner}.")
        if anomaly.id not in opened:
            opened.append(anomaly.id)
    report.anomalies = opened
    return opened
