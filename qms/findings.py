"""One finding type for every check in qmskit: the gate, traceability, protocols and de-identification verify.

A check never decides; it returns findings, and the gate (or a command) reduces them to a
verdict (STYLE habits 7 and 8). A finding names the check that raised it, the item it
concerns (design item id, file, model version...), where exactly (file:line, DICOM tag path),
why, and what to do. It never carries a PHI value: a de-identification finding names the
file, the tag path and the PHI type only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["Finding", "Severity"]


class Severity(StrEnum):
    """ERROR findings block (a release, a clean verdict); WARNING findings are shown but do not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem: which check, which item, where, why, and what to do.

    `check` is the raising area's check code (a `StrEnum` value such as traceability's
    `Check.SUSPECT_LINK`, or a plain string such as ``"model-files"``); it compares equal to
    its string value, so JSON round trips keep it.
    """

    check: str
    item: str | None
    reason: str
    hint: str = ""
    where: str | None = None
    severity: Severity = Severity.ERROR

    def __post_init__(self) -> None:
        if not str(self.check) or not self.reason:
            raise ValueError("a finding needs a check and a reason")

    @property
    def blocking(self) -> bool:
        return self.severity is Severity.ERROR

    def text(self) -> str:
        """The finding as one plain-text line and its hint (never markup: values are user text)."""
        head = f"{self.where}: " if self.where else ""
        item = f"{self.item}: " if self.item and self.item != self.where else ""  # a test's node id is both
        tail = f"\n  hint: {self.hint}" if self.hint else ""
        return f"{head}{item}{self.reason} [{self.check}]{tail}"

    def to_json(self) -> dict[str, Any]:
        return {"check": str(self.check), "item": self.item, "where": self.where, "reason": self.reason,
                "hint": self.hint, "severity": self.severity.value}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        return cls(check=data["check"], item=data.get("item"), reason=data["reason"], hint=data.get("hint", ""),
                   where=data.get("where"), severity=Severity(data.get("severity", "error")))
