"""The audit trail the evidence stands on: an intact chain, pinned by its signed checkpoints, matching the grant records.

A release is refused over a chain broken anywhere (21 CFR 11.10(e)), over a checkpoint
log that was altered, cut or deleted, over a signature, promotion or bundle that no signed
checkpoint covers (`qms.gate.coverage`, the bundles' own checkpoints included), and
over a record that grants power or decides a verdict (a user, role, certificate, revocation,
protocol lock or signature, a roster's approval included; a link review, model version or stage,
validation or test run, release step, training run, tool validation, API client, browser session)
that its audit event does not vouch for (`qms.gate.grants`); and over a test run the trace takes
results from whose results its event's digest does not vouch for, or whose event holds none
(`qms.gate.results`).
"""

from __future__ import annotations

from collections.abc import Iterable

from qms import checkpoint, checkpoint_log
from qms.errors import QmsError
from qms.findings import Finding
from qms.gate import coverage
from qms.gate.context import GateContext
from qms.gate.grants import grant_findings
from qms.gate.policy import Criterion
from qms.gate.results import results_findings
from qms.store.integrity import check_integrity

__all__ = ["AuditTrailIntact"]


class AuditTrailIntact(Criterion[GateContext]):
    name = "audit"
    title = "audit trail intact, pinned by its signed checkpoints, grant records match their events"

    def run(self, ctx: GateContext) -> tuple[Iterable[Finding], int]:
        key = None if ctx.identity_dir is None else checkpoint_log.trusted_key(ctx.identity_dir / checkpoint.KEY_FILE)
        covered = coverage.check(ctx.store, ctx.project.records_dir, key)
        report = covered.report
        out = [self.finding(f.item or self.name, f.reason, f.hint) for f in covered.findings]
        out.extend(self.finding(f.item or self.name, f.reason, f.hint) for f in check_integrity(ctx.store))
        if report.first_break is not None:
            brk = report.first_break
            out.append(self.finding(f"audit event {brk.seq}", f"the audit chain is broken: {brk.reason}",
                                    "run `qms audit verify`; restore the store from backup and investigate"))
        grants, rows = grant_findings(ctx.store)
        out.extend(self.finding(f.item or self.name, f.reason, f.hint) for f in grants)
        relied, results = results_findings(ctx.store, _relied_on(ctx))
        out.extend(self.finding(f.item or self.name, f.reason, f.hint) for f in relied)
        return out, covered.examined + rows + results


def _relied_on(ctx: GateContext) -> set[str]:
    """The test runs the trace takes a result from; none when it cannot load (the trace criterion fails then)."""
    try:
        return {t.run_id for t in ctx.trace.tests.values()}
    except QmsError:
        return set()
