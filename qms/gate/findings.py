"""What a gate check returns: findings, each naming the check, the item, the reason and a hint.

A check never decides; the gate reduces the findings of every check to one verdict
(STYLE habits 7 and 8).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, order=True)
class Finding:
    """One reason the release may not ship, with the item it concerns and what to do."""

    check: str
    item: str
    reason: str
    hint: str = ""

    def __post_init__(self) -> None:
        if not self.check or not self.item or not self.reason:
            raise ValueError("a finding needs a check, an item and a reason")

    def to_json(self) -> dict[str, str]:
        return {"check": self.check, "item": self.item, "reason": self.reason, "hint": self.hint}


@dataclass(frozen=True)
class CheckOutcome:
    """The findings of one check and what it looked at (so a pass says what it covered)."""

    check: str
    title: str
    findings: tuple[Finding, ...] = ()
    examined: int = 0

    @property
    def passed(self) -> bool:
        return not self.findings

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check, "title": self.title, "passed": self.passed, "examined": self.examined,
                "findings": [f.to_json() for f in self.findings]}


@dataclass(frozen=True)
class Verdict:
    """The gate's one answer: pass only when every check ran and found nothing."""

    outcomes: tuple[CheckOutcome, ...]
    subject: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return bool(self.outcomes) and all(o.passed for o in self.outcomes)

    @property
    def findings(self) -> list[Finding]:
        return [f for o in self.outcomes for f in o.findings]

    def to_json(self) -> dict[str, Any]:
        return {"verdict": "pass" if self.passed else "fail", "subject": self.subject,
                "checks": [o.to_json() for o in self.outcomes], "findings": [f.to_json() for f in self.findings]}
