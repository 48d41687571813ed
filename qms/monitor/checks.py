"""Input and output drift of each production window against the reference, as findings.

Inputs: the acquisition attributes (`qms.api.features.ATTRIBUTES`) as categories; pixel
spacing and the image mean and spread as numbers. Outputs: each label's score. A window
with fewer than `MIN_CASES` instances is reported, never judged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qms.api.features import ATTRIBUTES
from qms.findings import Finding, Severity
from qms.monitor.drift import PSI_THRESHOLD, Shift, categorical_shift, numeric_shift
from qms.monitor.reference import Reference
from qms.monitor.windows import Window

__all__ = ["INPUT_DRIFT", "OUTPUT_DRIFT", "WindowResult", "check_window"]

INPUT_DRIFT = "monitor.input_drift"
OUTPUT_DRIFT = "monitor.output_drift"
NUMERIC = ("pixel_spacing", "mean", "std")


@dataclass(frozen=True)
class WindowResult:
    """One window's comparisons and the findings of those that breached the threshold."""

    window: Window
    inputs: tuple[Shift, ...]
    outputs: tuple[Shift, ...]
    findings: tuple[Finding, ...]
    triggers: tuple[dict[str, Any], ...] = ()
    """The post-market plan's trigger rows for this window (`qms.monitor.triggers`); empty without a plan."""

    def to_json(self) -> dict[str, Any]:
        def rows(shifts: tuple[Shift, ...]) -> list[dict[str, Any]]:
            return [{"quantity": s.quantity, "psi": s.psi, "ks": s.ks, "reference_n": s.reference_n,
                     "window_n": s.window_n, "evaluable": s.evaluable, "breached": s.breached} for s in shifts]
        return {"window": self.window.name, "requests": self.window.requests, "instances": len(self.window.inputs),
                "inputs": rows(self.inputs), "outputs": rows(self.outputs), "triggers": list(self.triggers),
                "findings": [f.to_json() for f in self.findings]}


def _finding(check: str, shift: Shift, window: Window, what: str) -> Finding:
    return Finding(check, f"{shift.quantity}@{window.name}",
                   f"{what} {shift.quantity} shifted: PSI {shift.psi:.3f} > {PSI_THRESHOLD} over {shift.window_n} "
                   f"production instances against {shift.reference_n} in the validation run",
                   hint="investigate the sites and devices sending data; the model may be outside its validated inputs",
                   where=f"window {window.name}", severity=Severity.ERROR)


def check_window(reference: Reference, window: Window) -> WindowResult:
    """Compare one window with the reference (statistic: PSI, threshold `PSI_THRESHOLD`)."""
    inputs = [categorical_shift(a, [r.get(a) for r in reference.inputs], [r.get(a) for r in window.inputs])
              for a in ATTRIBUTES]
    inputs += [numeric_shift(a, [r.get(a) for r in reference.inputs], [r.get(a) for r in window.inputs]) for a in NUMERIC]
    outputs = [numeric_shift(f"score:{label}", list(reference.scores[label]), window.scores.get(label, []))
               for label in reference.labels]
    findings = [_finding(INPUT_DRIFT, s, window, "input") for s in inputs if s.breached]
    findings += [_finding(OUTPUT_DRIFT, s, window, "output") for s in outputs if s.breached]
    return WindowResult(window, tuple(inputs), tuple(outputs), tuple(findings))


