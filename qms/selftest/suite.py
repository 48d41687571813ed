"""The qualification suite: each IQ and OQ check, the qmskit requirement it verifies, and one run of them all.

Requirement ids are those of qmskit's own design items (design/ at the repository root).
Every check runs in a fresh temporary workspace that is removed afterwards.
"""

from __future__ import annotations

import importlib.metadata
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qms.selftest.checks import CheckResult, Phase, SelfCheck, Settings
from qms.selftest.iq_dependencies import check_dependencies
from qms.selftest.iq_files import check_installed_files
from qms.selftest.iq_tools import check_system_tools
from qms.selftest.oq_deid import check_deid_dicom, check_deid_text
from qms.selftest.oq_gate import check_gate
from qms.selftest.oq_records import check_records
from qms.selftest.oq_signing import check_signing
from qms.selftest.oq_statistics import check_statistics
from qms.tool_validation import DISTRIBUTION, Environment, current_environment

__all__ = ["Progress", "SUITE", "SelftestResult", "run_selftest"]

Progress = Callable[[int, int, str], None]
"""Called before each check with (index, total, check id) and once at the end with (total, total, "")."""

SUITE: tuple[SelfCheck, ...] = (
    SelfCheck("iq-files", Phase.IQ, "installed qmskit files match the wheel's RECORD hashes", ("QMS-REQ-008",),
              lambda s, w: check_installed_files(importlib.metadata.distribution(DISTRIBUTION), "iq-files")),
    SelfCheck("iq-dependencies", Phase.IQ, "dependencies installed at the versions of requirements.lock",
              ("QMS-REQ-008",), lambda s, w: check_dependencies("iq-dependencies")),
    SelfCheck("iq-system-tools", Phase.IQ, "system tools and fonts installed, with their versions", ("QMS-REQ-008",),
              lambda s, w: check_system_tools("iq-system-tools", s.path)),
    SelfCheck("oq-records", Phase.OQ, "records and audit trail round trip; the chain verifies; edits refused",
              ("QMS-REQ-002",), lambda s, w: check_records("oq-records", s.store_url, w)),
    SelfCheck("oq-signing", Phase.OQ, "a PDF/A is signed and verified offline; a changed copy fails",
              ("QMS-REQ-003",), lambda s, w: check_signing("oq-signing", s.store_url, w)),
    SelfCheck("oq-deid-dicom", Phase.OQ, "synthetic DICOM de-identified; verify and a byte search find nothing",
              ("QMS-REQ-004",), lambda s, w: check_deid_dicom("oq-deid-dicom", w)),
    SelfCheck("oq-deid-text", Phase.OQ, "a report text de-identified; no planted identifier left, findings kept",
              ("QMS-REQ-005",), lambda s, w: check_deid_text("oq-deid-text", w)),
    SelfCheck("oq-statistics", Phase.OQ, "AUROC and its standard error reproduce Hanley & McNeil (1982)",
              ("QMS-REQ-006",), lambda s, w: check_statistics("oq-statistics", w)),
    SelfCheck("oq-gate", Phase.OQ, "the release gate fails a project with planted gaps and names each",
              ("QMS-REQ-001",), lambda s, w: check_gate("oq-gate", s.store_url, w)),
)


@dataclass(frozen=True)
class SelftestResult:
    """Every check's outcome, the environment they ran in, and when."""

    results: tuple[CheckResult, ...]
    environment: Environment
    started_at: str
    finished_at: str

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)

    def checks_json(self) -> list[dict[str, Any]]:
        return [{"id": r.id, "phase": r.phase.value, "verifies": list(r.verifies), "passed": r.passed}
                for r in self.results]

    def to_json(self) -> dict[str, Any]:
        return {"verdict": "pass" if self.passed else "fail", "started_at": self.started_at,
                "finished_at": self.finished_at, "environment": self.environment.to_json(),
                "checks": [r.to_json() for r in self.results]}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_selftest(settings: Settings, checks: Sequence[SelfCheck] = SUITE, progress: Progress | None = None) -> SelftestResult:
    """Run `checks` in order, each in its own temporary workspace; a check's failure never stops the others."""
    started = _now()
    results = []
    for index, check in enumerate(checks):
        if progress:
            progress(index, len(checks), check.id)
        with tempfile.TemporaryDirectory(prefix=f"qms-selftest-{check.id}-") as workspace:
            results.append(check.evaluate(settings, Path(workspace)))
    if progress:
        progress(len(checks), len(checks), "")
    return SelftestResult(tuple(results), current_environment(), started, _now())
