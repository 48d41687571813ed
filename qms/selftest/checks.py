"""One qualification check: what it verifies, and its outcome as findings (it never decides).

Each check names the qmskit requirement it verifies (design/ at the repository root), so
the tool validation report traces every result to a requirement. A check that cannot run
is a finding, never a silent pass (the gate's fail-closed rule, QMS-RC-001).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from qms.errors import QmsError
from qms.findings import Finding

__all__ = ["CheckResult", "Evidence", "Phase", "SelfCheck", "Settings"]

Evidence = dict[str, str]
"""What a check observed, in words (versions, counts, digests): the report prints it."""


class Phase(StrEnum):
    """Installation qualification (what is installed) and operational qualification (what it does)."""

    IQ = "IQ"
    OQ = "OQ"


@dataclass(frozen=True)
class Settings:
    """The user's environment the checks run against: their store and the PATH of their tools.

    `store_url` is the user's record store: OQ checks open a scratch store on the same
    backend (a SQLite file in the workspace, or a scratch database on the same PostgreSQL
    server), never writing test records into the user's own. `path` is the PATH the
    system tools are searched on (None: the process's).
    """

    store_url: str | None = None
    path: str | None = None


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: its findings (blocking or not) and what it observed."""

    id: str
    phase: Phase
    title: str
    verifies: tuple[str, ...]
    findings: tuple[Finding, ...]
    evidence: Evidence = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not any(f.blocking for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "phase": self.phase.value, "title": self.title, "verifies": list(self.verifies),
                "passed": self.passed, "findings": [f.to_json() for f in self.findings],
                "evidence": dict(sorted(self.evidence.items())), "seconds": round(self.seconds, 3)}


@dataclass(frozen=True)
class SelfCheck:
    """A check: its id, phase, title, the requirement(s) it verifies, and the function that runs it."""

    id: str
    phase: Phase
    title: str
    verifies: tuple[str, ...]
    run: Callable[[Settings, Path], tuple[list[Finding], Evidence]]

    def finding(self, reason: str, hint: str = "", item: str | None = None, where: str | None = None) -> Finding:
        return Finding(self.id, item, reason, hint, where)

    def evaluate(self, settings: Settings, workspace: Path) -> CheckResult:
        """Run in `workspace` (a fresh temporary folder); an exception is a failed check naming it."""
        started = time.perf_counter()
        try:
            findings, evidence = self.run(settings, workspace)
        except QmsError as exc:
            findings, evidence = [self.finding(f"the check could not run: {exc.message}", exc.hint or "", where=exc.where)], {}
        except Exception as exc:  # noqa: BLE001 - fail closed on anything unexpected (QMS-RC-001)
            findings = [self.finding(f"the check could not run: {type(exc).__name__}: {exc}",
                                     "this is a fault in qmskit or its environment; report it")]
            evidence = {}
        return CheckResult(self.id, self.phase, self.title, self.verifies, tuple(findings), evidence,
                           time.perf_counter() - started)
