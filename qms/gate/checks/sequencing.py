"""Permitted sequencing (21 CFR 11.10(f)): nothing approved before its verification is complete.

A protocol is locked before it is run; a release is authored only at a passing gate and
its reviews and approvals follow in order, all under the one release plan: a plan edited
after a step was signed (a protocol dropped, a signer added) would otherwise pass the gate
for a release its signers never saw.
"""

from __future__ import annotations

from collections.abc import Iterable

from qms.findings import Finding
from qms.gate.context import GateContext
from qms.gate.policy import Criterion
from qms.gate.protocols import protocol_facts
from qms.hashing import digest_of
from qms.release_steps import Step, steps

__all__ = ["Sequencing"]

_ORDER = [Step.AUTHORED, Step.REVIEWED, Step.APPROVED, Step.BUNDLED]


class Sequencing(Criterion[GateContext]):
    name = "sequencing"
    title = "permitted sequencing (21 CFR 11.10(f))"

    def run(self, ctx: GateContext) -> tuple[Iterable[Finding], int]:
        out: list[Finding] = []
        examined = 0
        for pid in ctx.plan.protocols:
            facts = protocol_facts(ctx.store, pid)
            for run in facts.runs:
                examined += 1
                if facts.locked_at is None or run.started_at < facts.locked_at:
                    out.append(self.finding(pid, f"run {run.id} started before the protocol was locked",
                                            "a protocol must be frozen before its run; lock and run again"))
        reached: set[Step] = set()
        plan_digest = digest_of(ctx.plan.to_json())
        for row in steps(ctx.store, ctx.plan.version):
            examined += 1
            if row.plan_digest != plan_digest:  # the step's plan digest is what its audit event vouches for
                out.append(self.finding(f"release:{row.version}", f"{row.step} by {row.actor} under another release plan "
                                        f"(digest {row.plan_digest[:12]}, now {plan_digest[:12]}): {ctx.plan.source} "
                                        "changed after the release was signed", "restore the plan the release was "
                                        "signed under, or release the change as a new version"))
            step = Step(row.step)
            missing = [s for s in _ORDER[:_ORDER.index(step)] if s not in reached]
            if missing:
                out.append(self.finding(f"release:{row.version}", f"{step.value} by {row.actor} before "
                                        f"{', '.join(s.value for s in missing)}", "signatures follow the order "
                                        "authored, reviewed, approved; start the release again"))
            reached.add(step)
        return out, examined
