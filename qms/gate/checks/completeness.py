"""Class-aware completeness: every IEC 62304 deliverable the safety class requires is generated or referenced."""

from __future__ import annotations

from collections.abc import Iterable

from qms.findings import Finding
from qms.gate.context import GateContext
from qms.gate.deliverables import DELIVERABLES, required
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
        out += self._entries(ctx)
        for d in needed:
            if d.generated_by:
                continue
            ref = refs.get(d.number)
            if ref is None:
                out.append(self.finding(f"IEC 62304 {d.clauses}", f"class {cls.value} needs deliverable {d.number} "
                                        f"({d.name}), which qmskit does not generate and the plan does not reference",
                                        f"add `references: {{'{d.number}': PATH}}` to {ctx.plan.source}"))
        return out, len(needed)

    def _entries(self, ctx: GateContext) -> list[Finding]:
        """Every `references` entry names a deliverable of the checklist and an existing file (never a folder)."""
        known = {d.number: d for d in DELIVERABLES}
        out = []
        for number, ref in sorted(ctx.plan.references.items()):
            where = ctx.plan.reference_where.get(number, ctx.plan.source)
            item = f"references: {number!r}"
            path = ctx.project.path(ref)
            if number not in known:
                out.append(self.finding(item, f"{where}: {number!r} is not an IEC 62304 deliverable number",
                                        f"use a deliverable number of docs/reference/deliverables.md "
                                        f"({', '.join(known)}), or remove the entry"))
            elif path.is_dir():
                out.append(self.finding(item, f"{where}: deliverable {number} ({known[number].name}) is referenced as "
                                        f"{ref}, which is a folder, not a document",
                                        f"name the file that is the deliverable in {ctx.plan.source}"))
            elif not path.is_file():
                out.append(self.finding(item, f"{where}: deliverable {number} ({known[number].name}) is referenced as "
                                        f"{ref}, which does not exist", f"write {ref} or fix {ctx.plan.source}"))
        return out
