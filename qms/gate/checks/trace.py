"""Checks 1-3: design items well formed, requirements verified, hazards controlled (from the trace report).

The traceability capability computes the gaps; these criteria sort them by the
traceability `Check` they come from, so each finding names the gate criterion it fails.
Every `Check` has its criterion in `CRITERION_OF`: a check added without one makes the
gate fail closed rather than file its gaps under the wrong criterion.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from qms.findings import Finding
from qms.gate.context import GateContext
from qms.gate.policy import Criterion
from qms.traceability import Check, ItemType, TraceReport

__all__ = ["CRITERION_OF", "DesignWellFormed", "HazardsControlled", "RequirementsVerified"]

DESIGN = "design"
VERIFICATION = "verification"
RISK = "risk"

CRITERION_OF: Mapping[Check, str] = MappingProxyType({
    Check.PARSE: DESIGN, Check.ENCODING: DESIGN, Check.MISSING_FIELD: DESIGN, Check.BAD_FIELD: DESIGN,
    Check.UNKNOWN_FIELD: DESIGN, Check.ID_PREFIX: DESIGN, Check.DUPLICATE_ID: DESIGN, Check.DANGLING_LINK: DESIGN,
    Check.CYCLE: DESIGN, Check.LINK_TYPE: DESIGN, Check.SUSPECT_LINK: DESIGN, Check.PLACEHOLDER: DESIGN,
    Check.RESIDUAL_RISK: RISK, Check.HAZARD_UNVERIFIED: RISK,
    Check.NO_TEST: VERIFICATION, Check.TEST_FAILED: VERIFICATION, Check.TEST_SKIPPED: VERIFICATION,
    Check.NOT_AT_HEAD: VERIFICATION, Check.DIRTY_TREE: VERIFICATION, Check.ORPHAN_TEST: VERIFICATION,
    Check.UNLINKED_TEST: VERIFICATION, Check.NOT_TRACED: VERIFICATION, Check.NOT_VERIFIED: VERIFICATION,
})

_EXAMINES: Mapping[str, frozenset[ItemType] | None] = MappingProxyType({
    DESIGN: None, RISK: frozenset({ItemType.HAZARD}),
    VERIFICATION: frozenset({ItemType.REQUIREMENT, ItemType.RISK_CONTROL, ItemType.ARCHITECTURE}),
})


def criterion_of(gap: Finding) -> str:
    """The gate criterion a traceability gap fails; a check with none raises (the criterion fails closed)."""
    try:
        return CRITERION_OF[Check(gap.check)]
    except (ValueError, KeyError):
        raise LookupError(f"the traceability check {str(gap.check)!r} belongs to no gate criterion") from None


class _TraceCheck(Criterion[GateContext]):
    def run(self, ctx: GateContext) -> tuple[Iterable[Finding], int]:
        report = ctx.trace
        found = [self.finding(g.item or g.where or str(g.check), f"{g.where}: {g.reason}" if g.where else g.reason,
                              g.hint) for g in report.blocking if criterion_of(g) == self.name]
        return found, _examined(report, self.name)


def _examined(report: TraceReport, criterion: str) -> int:
    """How many design items the criterion examined."""
    types = _EXAMINES[criterion]
    return sum(1 for r in report.rows.values() if types is None or r.item.type in types)


class DesignWellFormed(_TraceCheck):
    """Check 1: ids unique, links resolve, no cycles, no suspect links (a verifying test changed is one too),
    no item still holding `qms new`'s placeholder text.

    The trace report holds the suspect test links (`qms.traceability.matrix`) and the placeholders
    (`qms.traceability.checks`), so `qms trace` and this criterion show the same ones.
    """

    name = DESIGN
    title = "design items well formed, no suspect links"


class RequirementsVerified(_TraceCheck):
    """Check 2: every requirement and risk control verified by tests that passed at this commit, clean tree."""

    name = VERIFICATION
    title = "requirements and risk controls verified at this commit"

    def run(self, ctx: GateContext) -> tuple[Iterable[Finding], int]:
        found, examined = super().run(ctx)
        if ctx.commit.dirty:
            found = [*found, self.finding(f"commit:{ctx.commit.sha[:12]}", "the working tree has uncommitted changes",
                                          "commit (or ignore) every change, then run the tests again")]
        return found, examined


class HazardsControlled(_TraceCheck):
    """Check 3: every hazard's risk controls verified and its residual risk accepted (ISO 14971 §7)."""

    name = RISK
    title = "hazards controlled, residual risk accepted"
