"""`qms selftest` as one call: run the suite, render the report, sign it, and record the tool validation.

A report is written whether the checks pass or not (a failed qualification is a record
too); it is signed and stored as a `ToolValidation` only when a signer is given, and only
a passing one satisfies a release plan's `tool_validation: required`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qms import atomic
from qms.errors import QmsError
from qms.selftest.checks import SelfCheck, Settings
from qms.selftest.report import render_report, sign_report
from qms.selftest.suite import SUITE, Progress, SelftestResult, run_selftest
from qms.signing import Signatory
from qms.store import Store
from qms.tool_validation import ToolValidation, record_validation

__all__ = ["Outcome", "Signer", "qualify", "select"]


@dataclass(frozen=True)
class Signer:
    """Who signs the report, in which store and identity directory (the user's own), with which TSA."""

    store: Store
    identity_dir: Path
    signatory: Signatory
    tsa: str | None = None


@dataclass(frozen=True)
class Outcome:
    result: SelftestResult
    report: Path | None
    record: ToolValidation | None

    @property
    def passed(self) -> bool:
        return self.result.passed

    def to_json(self) -> dict[str, Any]:
        return {**self.result.to_json(), "report": None if self.report is None else str(self.report),
                "record": None if self.record is None else self.record.id}


def select(ids: Sequence[str]) -> tuple[SelfCheck, ...]:
    """The checks named by id (all of them when none is named); an unknown id is a usage error."""
    known = {c.id: c for c in SUITE}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise QmsError(f"no selftest check {', '.join(unknown)}", hint=f"checks: {', '.join(known)}")
    return tuple(c for c in SUITE if c.id in ids) if ids else SUITE


def qualify(settings: Settings, *, report_to: Path | None, organisation: str, run_by: str, signer: Signer | None = None,
            checks: Sequence[SelfCheck] = SUITE, progress: Progress | None = None) -> Outcome:
    """Run the checks (IQ and OQ); write the report to `report_to` (a PDF path); sign and record it when `signer` is given.

    Only a run of the whole suite is recorded as a tool validation: a partial run is a report only.
    """
    if signer is not None and tuple(checks) != SUITE:
        raise QmsError("a tool validation record needs the whole suite: leave out --check to sign it")
    result = run_selftest(settings, checks, progress)
    if report_to is None:
        return Outcome(result, None, None)
    backend = "none" if settings.store_url is None else settings.store_url.split(":", 1)[0].split("+", 1)[0]
    pdf = render_report(result, organisation, run_by, backend)
    record = None
    if signer is not None:
        pdf, signature = sign_report(signer.store, signer.identity_dir, signer.signatory, pdf, result, signer.tsa)
        record = record_validation(signer.store, result.environment, result.passed, result.checks_json(),
                                   signature.output_sha256 or signature.sha256, signature.id, signer.signatory.run_by)
    atomic.write_bytes(report_to, pdf)
    return Outcome(result, report_to, record)
