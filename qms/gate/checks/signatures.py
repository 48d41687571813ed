"""Check 7: the required signatures are present and valid, and every named signer can sign (§11.50, §11.100)."""

from __future__ import annotations

from collections.abc import Iterable

from qms.findings import Finding
from qms.gate.context import GateContext
from qms.gate.policy import Criterion
from qms.gate.protocols import protocol_facts
from qms.gate.signers import signer_problem
from qms.release_plan import ROLE_ORDER, ROLES

__all__ = ["SignaturesValid"]


class SignaturesValid(Criterion[GateContext]):
    name = "signatures"
    title = "required signatures present and valid"

    def run(self, ctx: GateContext) -> tuple[Iterable[Finding], int]:
        out: list[Finding] = []
        examined = 0
        for pid in ctx.plan.protocols:
            facts = protocol_facts(ctx.store, pid)
            examined += 1
            if facts.locked and not facts.lock_signed:
                out.append(self.finding(pid, "the protocol lock carries no valid signature",
                                        "lock it again with a signature (ISO 13485 §7.3.7: approved before the run)"))
        for meaning in ROLE_ORDER:
            role = ROLES[meaning]
            usable = []
            problems = []
            for user in ctx.plan.allowed(meaning):
                examined += 1
                problem = signer_problem(ctx.store, ctx.identity_dir, user)
                if problem is None:
                    usable.append(user)
                else:
                    problems.append(f"{user}: {problem}")
            if not usable:
                out.append(self.finding(f"role:{role}", f"no one named for {role} can sign ({'; '.join(problems)})",
                                        "register the signer with `qms user add` and a valid certificate"))
        tsa = ctx.project.config.signing.get("tsa")
        if tsa:  # release signatures then require trusted time: the TSA must answer with a token the CA vouches for
            examined += 1
            problem = _tsa_problem(ctx, tsa)
            if problem is not None:
                out.append(self.finding("signing.tsa", f"the configured time-stamping authority cannot give trusted time: "
                                        f"{problem}", "issue it with `qms ca issue-tsa`, or start `qms tsa serve`"))
        return out, examined


def _tsa_problem(ctx: GateContext, setting: object) -> str | None:
    from qms.signing import Trust
    from qms.signing.timestamp import tsa_problem  # loads pyHanko: only when a TSA is configured

    if ctx.identity_dir is None:
        return "no identity directory configured"
    return tsa_problem(setting, ctx.identity_dir, Trust.from_store(ctx.store, ctx.identity_dir))
