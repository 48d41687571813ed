"""The release gate: may this commit and this model version ship? One verdict, every gap named."""

from __future__ import annotations

from pathlib import Path

from qms.config import Project
from qms.errors import QmsError
from qms.gate.checks.anomalies import AnomaliesBelowThreshold
from qms.gate.checks.audit import AuditTrailIntact
from qms.gate.checks.authority import SigningAuthority
from qms.gate.checks.completeness import DeliverablesComplete
from qms.gate.checks.evidence import EvidenceIntact
from qms.gate.checks.sequencing import Sequencing
from qms.gate.checks.signatures import SignaturesValid
from qms.gate.checks.soup import SoupCurrent
from qms.gate.checks.trace import DesignWellFormed, HazardsControlled, RequirementsVerified
from qms.gate.checks.tool_validation import ToolValidated
from qms.gate.checks.validation import ProtocolsPassed
from qms.gate.context import GateContext
from qms.gate.findings import CheckOutcome, Verdict
from qms.gate.policy import AllOf, Criterion
from qms.release_plan import ReleasePlan, load_plan
from qms.release_steps import previous_release
from qms.store import Store

__all__ = [
    "AllOf", "CheckOutcome", "Criterion", "GateContext", "Verdict", "context_for", "evaluate", "release_gate", "verify",
]


def release_gate() -> AllOf[GateContext]:
    """The seven criteria of DESIGN.md, class-aware completeness, sequencing, the audit trail and the evidence files they stand on."""
    return AllOf([DesignWellFormed(), RequirementsVerified(), HazardsControlled(), ProtocolsPassed(), SoupCurrent(),
                  AnomaliesBelowThreshold(), SignaturesValid(), SigningAuthority(), DeliverablesComplete(), Sequencing(),
                  AuditTrailIntact(), EvidenceIntact(), ToolValidated()])


def context_for(project: Project, store: Store, identity_dir: Path | None, plan: ReleasePlan | None = None) -> GateContext:
    plan = plan or load_plan(project)
    prev = previous_release(store, plan.version)
    return GateContext(project, store, plan, None if prev is None else (prev.version, prev.soup_versions()), identity_dir)


def evaluate(ctx: GateContext) -> Verdict:
    """Run the whole gate on a context; the verdict names the device, release, model and commit it judged."""
    subject: dict[str, object] = {"device": ctx.project.config.device, "release": ctx.plan.version,
                                  "model": ctx.plan.model, "safety_class": ctx.project.config.safety_class.value}
    try:
        subject["commit"] = ctx.commit.sha
        subject["dirty"] = ctx.commit.dirty
    except QmsError as exc:  # the verification check names this failure too
        subject["commit"] = f"unknown ({exc.message})"
    return release_gate().evaluate(ctx, subject)


def verify(project: Project, store: Store, identity_dir: Path | None, plan: ReleasePlan | None = None) -> Verdict:
    """`qms verify`: `identity_dir` is where signers' identities and trusted CAs live (QMS_HOME)."""
    return evaluate(context_for(project, store, identity_dir, plan))
