"""Check 4: every protocol the release names is locked and passed for this model version, with no leakage,
and the version is staged for release (a development version would pass every check and then be refused
only at approval, after the author and reviewer had signed)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import col, select

from qms.errors import QmsError
from qms.findings import Finding
from qms.gate.context import GateContext
from qms.gate.grants import RESTORE_HINT, event_details
from qms.gate.policy import Criterion
from qms.gate.protocols import protocol_facts
from qms.models import registry
from qms.models.stages import Stage
from qms.store.records import AuditEvent

__all__ = ["ProtocolsPassed"]


def _stage(ctx: GateContext) -> Stage | None:
    """The release model's current stage; None when it is not registered."""
    try:
        return registry.show(ctx.store, ctx.plan.model_ref).stage
    except QmsError:
        return None


def _staged_by_trail(ctx: GateContext) -> str | None:
    """The stage the audit trail last moved the release model to (its registration: development); None if never.

    The stage rows' order (`supersedes`) is vouched for by no event, so the head of their chain must agree with it."""
    ref = registry.get(ctx.store, ctx.plan.model_ref).ref
    with ctx.store.reader() as session:
        last = session.exec(select(AuditEvent).where(col(AuditEvent.object) == f"model:{ref}",
                                                     col(AuditEvent.action).in_(("model.register", "model.stage")))
                            .order_by(col(AuditEvent.seq).desc()).limit(1)).first()
    if last is None:
        return None
    return Stage.DEVELOPMENT.value if last.action == "model.register" else str(event_details(last).get("to"))


class ProtocolsPassed(Criterion[GateContext]):
    name = "validation"
    title = "named protocols locked and passed for this model version"

    def run(self, ctx: GateContext) -> tuple[Iterable[Finding], int]:
        out: list[Finding] = []
        if not ctx.plan.protocols:
            out.append(self.finding(ctx.plan.source, "the release plan names no validation protocol",
                                    "list the locked protocols under `protocols` (ISO 13485 §7.3.7)"))
        stage = _stage(ctx)
        registered = stage is not None
        if stage is None:
            out.append(self.finding(f"model:{ctx.plan.model}", f"model {ctx.plan.model} is not registered",
                                    f"register it (`qms model register FOLDER --name {ctx.plan.model_name} "
                                    f"--version {ctx.plan.model_version}`) before its protocol runs, "
                                    "or fix `model` in the release plan"))
        elif (trail := _staged_by_trail(ctx)) not in (None, stage.value):
            out.append(self.finding(f"model:{ctx.plan.model}", f"model {ctx.plan.model}'s stage records end at "
                                    f"{stage.value}, but the audit trail last moved it to {trail}: a model_stage row "
                                    "was edited", RESTORE_HINT))
        elif stage is Stage.DEVELOPMENT:
            out.append(self.finding(f"model:{ctx.plan.model}", f"model {ctx.plan.model} is still in development: "
                                    "a release ships a version frozen for release (staging)",
                                    f"`qms model stage {ctx.plan.model} staging` once its validation passed, "
                                    "before anyone signs"))
        for pid in ctx.plan.protocols:
            facts = protocol_facts(ctx.store, pid)
            if not facts.locked:
                out.append(self.finding(pid, "the protocol is not locked", f"run `qms protocol lock` for {pid} before its run"))
                continue
            out.extend(self.finding(pid, problem, RESTORE_HINT) for problem in facts.problems)
            runs = [r for r in facts.runs if r.model == ctx.plan.model]
            if not runs:
                if not registered:
                    continue  # the unregistered model is the finding, not the missing run
                out.append(self.finding(pid, f"no run of the locked protocol for model {ctx.plan.model}",
                                        "run `qms validate run` on the locked protocol"))
                continue
            latest = runs[-1]
            if latest.leakage:
                out.append(self.finding(pid, f"run {latest.id}: {latest.leakage} patient(s) of the test set are in the "
                                        "model's training data", "rebuild the test set with sequestered patients"))
            if not latest.passed:
                failed = ", ".join(latest.failed_criteria) or "acceptance criteria"
                out.append(self.finding(pid, f"run {latest.id} failed: {failed}", "the model does not meet the protocol"))
        return out, len(ctx.plan.protocols)
