"""Class-aware completeness: every IEC 62304 deliverable the safety class requires is generated or referenced."""

from __future__ import annotations

from collections.abc import Iterable

from qms.findings import Finding
from qms.gate.context import GateContext
from qms.gate.deliverables import required
from qms.gate.policy import Criterion

__all__ = ["DeliverablesComplete"]


class DeliverablesComplete(Criterion[GateContext]):
    name = "completeness"
    title = "IEC 62304 deliverables for the safety class"

    def run(self, ctx: GateContext) -> tuple[Iterable[Finding], int]:
        cls = ctx.project.config.safety_class
        refs = ctx.plan.references
        out = []
        needed = required(cls)
        for d in needed:
            if d.generated_by:
                continue
            ref = refs.get(d.number)
            if ref is None:
                out.append(self.finding(f"IEC 62304 {d.clauses}", f"class {cls.value} needs deliverable {d.number} "
                                        f"({d.name}), which qmskit does not generate and the plan does not reference",
                                        f"add `references: {{'{d.number}': PATH}}` to {ctx.plan.source}"))
            elif not ctx.project.path(ref).is_file():
                out.append(self.finding(f"IEC 62304 {d.clauses}", f"deliverable {d.number} ({d.name}) is referenced as "
                                        f"{ref}, which does not exist", f"write {ref} or fix {ctx.plan.source}"))
        return out, len(needed)
