"""The tool is validated where it runs: a current, passing, signed `qms selftest` record (ISO 13485 §4.1.6).

Only when the release plan says `tool_validation: required`. The record must be of this
environment's fingerprint (qmskit, Python, platform, every installed distribution's
version); a record of another environment is stale, and the finding says what changed.
"""

from __future__ import annotations

from collections.abc import Iterable

from qms.findings import Finding
from qms.gate.context import GateContext
from qms.gate.policy import Criterion
from qms.signing import SignatureRecord
from qms.tool_validation import Environment, ToolValidation, current_environment, latest_validations

__all__ = ["ToolValidated"]

_RERUN = "run `qms selftest --sign-as USER` in this environment (docs/selftest.md)"


class ToolValidated(Criterion[GateContext]):
    """The newest tool validation of this environment passed and its report's signature is on record."""

    name = "tool-validation"
    title = "qmskit validated (IQ/OQ, signed) in this environment"

    def __init__(self, environment: Environment | None = None) -> None:
        self.environment = environment

    def _signed(self, ctx: GateContext, rec: ToolValidation) -> bool:
        sig = ctx.store.all(SignatureRecord, SignatureRecord.id == rec.signature_id)
        return bool(sig) and (sig[0].output_sha256 or sig[0].sha256) == rec.report_sha256

    def run(self, ctx: GateContext) -> tuple[Iterable[Finding], int]:
        if not ctx.plan.tool_validation:
            return [], 0
        env = self.environment or current_environment()
        item = f"qmskit@{env.qmskit}"
        records = latest_validations(ctx.store)
        current = [r for r in records if r.fingerprint == env.fingerprint]
        if current:
            newest = current[0]
            if not newest.passed:
                return [self.finding(item, f"the newest tool validation in this environment ({newest.id}) failed",
                                     f"fix what its report names, then {_RERUN}")], 1
            if not self._signed(ctx, newest):
                return [self.finding(item, f"tool validation {newest.id} has no matching signature record", _RERUN)], 1
            return [], 1
        if not records:
            return [self.finding(item, "no tool validation record: qmskit was never qualified with this store", _RERUN)], 0
        newest = records[0]
        changes = env.changes_since(newest.environment_of)
        shown = ", ".join(changes[:6]) + (f" and {len(changes) - 6} more" if len(changes) > 6 else "")
        return [self.finding(item, f"the tool validation is stale: {newest.id} was made for qmskit "
                                   f"{newest.qmskit_version} in environment {newest.fingerprint[:16]}, this one is "
                                   f"{env.fingerprint[:16]} ({shown or 'fingerprint differs'})", _RERUN)], 1
