"""Traceability's check vocabulary; the finding itself is qmskit's one `qms.findings.Finding`.

Checks return findings and never decide; the release gate decides what blocks (STYLE
habit 7). A traceability finding names its check (a `Check` member), the item or test it
concerns, the file:line, the reason and a hint, so a user can act on it without reading
the code.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from qms.findings import Finding, Severity

__all__ = ["Check", "finding_from_json"]


class Check(StrEnum):
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
    PLACEHOLDER = "placeholder"
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


def finding_from_json(data: dict[str, Any]) -> Finding:
    """A traceability finding read back (the parse cache), its check again a `Check` member."""
    return Finding(Check(data["check"]), data["item"], data["reason"], data["hint"], where=data["where"],
                   severity=Severity(data["severity"]))
