"""Checks 1-3: design items well formed, requirements verified, hazards controlled (from the trace report).

The traceability capability computes the gaps; these checks sort them into the gate's
criteria so each finding names the check it fails.
"""

from __future__ import annotations

from collections.abc import Iterable

from qms.gate import adapters
from qms.gate.context import GateContext
from qms.gate.findings import Finding
from qms.gate.policy import Check


class _TraceCheck(Check[GateContext]):
    def run(self, ctx: GateContext) -> tuple[Iterable[Finding], int]:
        found = [self.finding(g.item, g.reason, g.hint) for g in adapters.trace_gaps(ctx.trace) if g.group == self.name]
        return found, adapters.trace_size(ctx.trace, self.name)


class DesignWellFormed(_TraceCheck):
    """Check 1: ids unique, links resolve, no cycles, no suspect links."""

    name = "design"
    title = "design items well formed, no suspect links"


class RequirementsVerified(_TraceCheck):
    """Check 2: every requirement and risk control verified by tests that passed at this commit, clean tree."""

    name = "verification"
    title = "requirements and risk controls verified at this commit"

    def run(self, ctx: GateContext) -> tuple[Iterable[Finding], int]:
        found, examined = super().run(ctx)
        if ctx.commit.dirty:
            found = [*found, self.finding(f"commit:{ctx.commit.sha[:12]}", "the working tree has uncommitted changes",
                                          "commit (or ignore) every change, then run the tests again")]
        return found, examined


class HazardsControlled(_TraceCheck):
    """Check 3: every hazard's risk controls verified and its residual risk accepted (ISO 14971 §7)."""

    name = "risk"
    title = "hazards controlled, residual risk accepted"
