"""What the gate returns: one outcome per criterion, each holding `qms.findings.Finding`s, and one verdict.

A criterion never decides; the gate reduces the findings of every criterion to one
verdict (STYLE habits 7 and 8). A gate finding's `check` is the criterion's name and its
`item` is always set, so every gap names what it concerns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qms.findings import Finding

__all__ = ["CheckOutcome", "NotApplicable", "Verdict", "finding_json", "finding_order"]


def finding_json(finding: Finding) -> dict[str, Any]:
    """A gate finding as `qms verify --json` writes it: check, item, reason, hint."""
    return {"check": str(finding.check), "item": finding.item, "reason": finding.reason, "hint": finding.hint}


def finding_order(finding: Finding) -> tuple[str, str, str, str]:
    """The order findings are reported in: by check, item, reason, hint."""
    return str(finding.check), finding.item or "", finding.reason, finding.hint


@dataclass(frozen=True)
class CheckOutcome:
    """The findings of one criterion and what it looked at (so a pass says what it covered)."""

    check: str
    title: str
    findings: tuple[Finding, ...] = ()
    examined: int = 0

    @property
    def passed(self) -> bool:
        return not self.findings

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "title": self.title, "passed": self.passed, "examined": self.examined,
                "findings": [finding_json(f) for f in self.findings]}


@dataclass(frozen=True)
class NotApplicable:
    """A criterion the gate was composed without, and why: a pass never reads as covering it."""

    check: str
    title: str
    reason: str

    def __post_init__(self) -> None:
        if not self.reason:
            raise ValueError(f"criterion {self.check!r} left out of the gate without a reason")

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "title": self.title, "reason": self.reason}


@dataclass(frozen=True)
class Verdict:
    """The gate's one answer: pass only when every criterion ran and found nothing."""

    outcomes: tuple[CheckOutcome, ...]
    subject: dict[str, Any] = field(default_factory=dict)
    not_applicable: tuple[NotApplicable, ...] = ()

    @property
    def passed(self) -> bool:
        return bool(self.outcomes) and all(o.passed for o in self.outcomes)

    @property
    def findings(self) -> list[Finding]:
        return [f for o in self.outcomes for f in o.findings]

    def to_json(self) -> dict[str, Any]:
        return {"verdict": "pass" if self.passed else "fail", "subject": self.subject,
                "checks": [o.to_json() for o in self.outcomes], "findings": [finding_json(f) for f in self.findings],
                "not_applicable": [n.to_json() for n in self.not_applicable]}
