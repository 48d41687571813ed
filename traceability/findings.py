"""Findings: what a check or the trace found, where, and what to do about it.

Checks return findings and never decide; the release gate decides what blocks (STYLE
habit 7). A finding names its check, the item or test it concerns, the file:line, the
reason and a hint, so a user can act on it without reading the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Check(str, Enum):
    """The checks of the design items and the gaps of the trace matrix."""

    PARSE = "parse"
    ENCODING = "encoding"
    MISSING_FIELD = "missing_field"
    BAD_FIELD = "bad_field"
    UNKNOWN_FIELD = "unknown_field"
    ID_PREFIX = "id_prefix"
    DUPLICATE_ID = "duplicate_id"
    DANGLING_LINK = "dangling_link"
    CYCLE = "cycle"
    LINK_TYPE = "link_type"
    RESIDUAL_RISK = "residual_risk"
    SUSPECT_LINK = "suspect_link"
    NO_TEST = "no_test"
    TEST_FAILED = "test_failed"
    TEST_SKIPPED = "test_skipped"
    NOT_AT_HEAD = "not_at_head"
    DIRTY_TREE = "dirty_tree"
    ORPHAN_TEST = "orphan_test"
    UNLINKED_TEST = "unlinked_test"
    NOT_TRACED = "not_traced"
    HAZARD_UNVERIFIED = "hazard_unverified"
    NOT_VERIFIED = "not_verified"


class Severity(str, Enum):
    """ERROR findings block a release; WARNING findings are shown but do not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem: which check, which item or test, where, why, and what to do."""

    check: Check
    item: str | None
    where: str | None
    reason: str
    hint: str
    severity: Severity = Severity.ERROR

    @property
    def blocking(self) -> bool:
        return self.severity is Severity.ERROR

    def text(self) -> str:
        head = f"{self.where}: " if self.where else ""
        item = f"{self.item}: " if self.item else ""
        return f"{head}{item}{self.reason} [{self.check.value}]\n  hint: {self.hint}"

    def to_json(self) -> dict[str, Any]:
        return {"check": self.check.value, "item": self.item, "where": self.where, "reason": self.reason,
                "hint": self.hint, "severity": self.severity.value}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        return cls(Check(data["check"]), data["item"], data["where"], data["reason"], data["hint"],
                   Severity(data["severity"]))
