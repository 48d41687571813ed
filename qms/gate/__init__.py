"""The release gate: may this commit and this model version ship? One verdict, every gap named."""

from __future__ import annotations

from pathlib import Path

from qms.config import Project, ProjectKind
from qms.errors import QmsError
from qms.gate.checks.anomalies import AnomaliesBelowThreshold
from qms.gate.checks.attribution import ActionsAttributed
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
from qms.gate.findings import CheckOutcome, NotApplicable, Verdict
from qms.gate.policy import AllOf, Criterion
from qms.release_plan import ReleasePlan, load_plan
from qms.release_steps import previous_release
from qms.store import Store

__all__ = [
    "AllOf", "CheckOutcome", "Criterion", "GateContext", "NotApplicable", "Verdict", "context_for", "evaluate",
    "release_gate", "verify",
]

_NOT_FOR_TOOLS = {
    ProtocolsPassed.name: "a tool project releases no model version, so no validation protocol is run for one "
                          "(qmskit's own operation is qualified by `qms selftest`, the tool-validation criterion)",
    EvidenceIntact.name: "a tool project registers no model files and locks no protocol or dataset, so there are "
                         "no model, protocol or dataset files to re-hash",
}
"""The criteria about a model version and its protocols, left out of a tool project's gate, each with its reason."""


def release_gate(kind: ProjectKind = ProjectKind.DEVICE) -> AllOf[GateContext]:
    """The seven criteria of DESIGN.md, class-aware completeness, sequencing, the audit trail and the evidence files they stand on.

    A tool project's gate is composed without the model and protocol criteria (`_NOT_FOR_TOOLS`),
    and its verdict names them as not applicable; every other criterion applies unchanged.
    """
    checks: list[Criterion[GateContext]] = [
        DesignWellFormed(), RequirementsVerified(), HazardsControlled(), ProtocolsPassed(), SoupCurrent(),
        AnomaliesBelowThreshold(), SignaturesValid(), SigningAuthority(), DeliverablesComplete(), Sequencing(),
        AuditTrailIntact(), ActionsAttributed(), EvidenceIntact(), ToolValidated()]
    if kind is ProjectKind.DEVICE:
        return AllOf(checks)
    left_out = [NotApplicable(c.name, c.title, _NOT_FOR_TOOLS[c.name]) for c in checks if c.name in _NOT_FOR_TOOLS]
    if len(left_out) != len(_NOT_FOR_TOOLS):  # a renamed criterion must not slip back in or out unnoticed
        raise ValueError(f"not-applicable criteria {sorted(_NOT_FOR_TOOLS)} do not all name a gate criterion")
    return AllOf([c for c in checks if c.name not in _NOT_FOR_TOOLS], left_out)


def context_for(project: Project, store: Store, identity_dir: Path | None, plan: ReleasePlan | None = None, *,
                stat_cache: bool = False) -> GateContext:
    """The gate's inputs; `stat_cache` lets evidence digests come from the keyed stat cache (never for a release)."""
    plan = plan or load_plan(project)
    prev = previous_release(store, plan.version)
    return GateContext(project, store, plan, None if prev is None else (prev.version, prev.soup_versions()), identity_dir,
                       stat_cache=stat_cache)


def evaluate(ctx: GateContext) -> Verdict:
    """Run the whole gate on a context; the verdict names the device, release, model and commit it judged."""
    subject: dict[str, object] = {"device": ctx.project.config.device, "release": ctx.plan.version,
                                  "model": ctx.plan.model, "safety_class": ctx.project.config.safety_class.value,
                                  "kind": ctx.project.config.kind.value}
    try:
        subject["commit"] = ctx.commit.sha
        subject["dirty"] = ctx.commit.dirty
    except QmsError as exc:  # the verification check names this failure too
        subject["commit"] = f"unknown ({exc.message})"
    return release_gate(ctx.project.config.kind).evaluate(ctx, subject)  # the configuration decides, never the plan


def verify(project: Project, store: Store, identity_dir: Path | None, plan: ReleasePlan | None = None, *,
           stat_cache: bool = False) -> Verdict:
    """`qms verify`: `identity_dir` is where signers' identities and trusted CAs live (QMS_HOME).

    With `stat_cache`, evidence files whose stat is unchanged are not read again (their digests
    come from a cache authenticated with a key in `identity_dir`); without it every file is re-hashed.
    """
    return evaluate(context_for(project, store, identity_dir, plan, stat_cache=stat_cache))
