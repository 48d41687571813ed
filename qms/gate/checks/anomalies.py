"""Check 6: no residual anomaly above the release's threshold; every residual one evaluated (IEC 62304 §5.8.3)."""

from __future__ import annotations

from collections.abc import Iterable

from qms.anomalies import AnomalySeverity, blocking
from qms.findings import Finding
from qms.gate.context import GateContext
from qms.gate.policy import Criterion

__all__ = ["AnomaliesBelowThreshold"]


class AnomaliesBelowThreshold(Criterion[GateContext]):
    name = "anomalies"
    title = "no open anomaly above the threshold"

    def run(self, ctx: GateContext) -> tuple[Iterable[Finding], int]:
        threshold = AnomalySeverity(ctx.plan.anomaly_threshold)
        out = [self.finding(a.id, f"{a.status.value} {a.severity.value} anomaly above the release threshold "
                                  f"({threshold.value}): {a.title}", f"resolve it or re-plan the release ({a.where})")
               for a in blocking(ctx.anomalies, threshold)]
        out += [self.finding(a.id, "residual anomaly without an evaluation of its effect on safety",
                             f"write its `evaluation` ({a.where}); IEC 62304 §5.8.3")
                for a in ctx.anomalies if a.residual and not a.evaluation]
        return out, len(ctx.anomalies)
