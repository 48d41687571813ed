"""Check 7, authority: signers come from the approved signing roster, and author, reviewer and approver are distinct people.

21 CFR 11.10(g) (authority checks) and the plan's separation of duties: the roster must be
approved by a quality person (`qms.signing.authority`); every role must have a signer the
roster allows; where the plan's rule for the safety class is "distinct", the plan must let
three different people sign, and no recorded step of the release may repeat a person.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import product

from qms.errors import QmsError
from qms.findings import Finding
from qms.gate.context import GateContext
from qms.gate.policy import Criterion
from qms.release_plan import ROLE_ORDER, ROLES, shared_duties
from qms.release_steps import steps
from qms.signing.authority import approved_roster
from qms.signing.meaning import SignatureMeaning
from qms.signing.roster import Duty, Roster, load_roster

__all__ = ["SigningAuthority"]

_HINT_DUTIES = "name different people for author, reviewer and approver, or state the rule in the plan's separation_of_duties"


class SigningAuthority(Criterion[GateContext]):
    name = "authority"
    title = "approved signing roster, distinct people in distinct roles"

    def _roster(self, ctx: GateContext, out: list[Finding]) -> Roster | None:
        if ctx.identity_dir is None:
            out.append(self.finding("roster", "no identity directory configured: the roster's approval cannot be checked"))
            return None
        try:
            roster = load_roster(ctx.project.path(ctx.plan.roster_file))
            approved_roster(ctx.store, ctx.identity_dir, roster)
        except QmsError as exc:
            out.append(Finding(self.name, "roster", exc.message, exc.hint or "", where=exc.where))
            return None
        return roster

    def run(self, ctx: GateContext) -> tuple[Iterable[Finding], int]:
        out: list[Finding] = []
        plan = ctx.plan
        roster = self._roster(ctx, out)
        candidates = {ROLES[m]: list(plan.allowed(m)) for m in ROLE_ORDER}
        if roster is not None:
            for role, users in candidates.items():
                refused = [p for u in users if (p := roster.problem(u, Duty(role))) is not None]
                candidates[role] = [u for u in users if roster.problem(u, Duty(role)) is None]
                if not candidates[role]:
                    out.append(self.finding(f"role:{role}", f"no one the plan names for {role} is allowed by the approved "
                                            f"roster ({'; '.join(refused)})", "add the duty to the roster and approve it"))
        examined = 1 + sum(len(v) for v in candidates.values())
        if plan.distinct_people and all(candidates.values()) and not any(
                len(set(pick)) == len(pick) for pick in product(*candidates.values())):
            out.append(self.finding("plan:signatures", f"the plan cannot have author, reviewer and approver signed by "
                                    f"distinct people (safety class {plan.safety_class})", _HINT_DUTIES))
        held: dict[str, set[str]] = {}
        for row in steps(ctx.store, plan.version):
            if row.step in {m.value for m in ROLE_ORDER}:
                examined += 1
                held.setdefault(ROLES[SignatureMeaning(row.step)], set()).add(row.actor)
        if plan.distinct_people:
            for user, roles in shared_duties(held).items():
                out.append(self.finding(f"release:{plan.version}", f"{user} signed as {' and '.join(roles)}: author, "
                                        "reviewer and approver must be distinct people", _HINT_DUTIES))
        return out, examined
