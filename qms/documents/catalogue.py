"""The evidence documents qmskit renders: id, title and template of each (DESIGN: the release gate)."""

from __future__ import annotations

from enum import Enum

__all__ = ["DocumentKind"]


class DocumentKind(str, Enum):
    """Each evidence document, by its short id (used in document ids, file names and the DHF index)."""

    DHF_INDEX = "dhf-index"
    SDP = "sdp"
    SRS = "srs"
    ARCHITECTURE = "architecture"
    TRACE = "trace-matrix"
    TEST_REPORT = "test-report"
    VALIDATION = "validation-report"
    BIAS = "bias-report"
    RISK = "risk-summary"
    SOUP = "soup-list"
    ANOMALIES = "anomaly-list"
    RELEASE_NOTES = "release-notes"
    MODEL_CARD = "model-card"

    @property
    def heading(self) -> str:
        return _TITLES[self]

    @property
    def template(self) -> str:
        return f"{self.value}.html.j2"


_TITLES = {
    DocumentKind.DHF_INDEX: "Design History File (Design and Development File) Index",
    DocumentKind.SDP: "Software Development Plan Summary",
    DocumentKind.SRS: "Software Requirements Specification",
    DocumentKind.ARCHITECTURE: "Software Architecture Summary",
    DocumentKind.TRACE: "Traceability Matrix",
    DocumentKind.TEST_REPORT: "Software Test Report",
    DocumentKind.VALIDATION: "Validation Report",
    DocumentKind.BIAS: "Subgroup Bias Report",
    DocumentKind.RISK: "Risk Management Summary",
    DocumentKind.SOUP: "SOUP List and SBOM",
    DocumentKind.ANOMALIES: "Known Anomalies List",
    DocumentKind.RELEASE_NOTES: "Release Notes",
    DocumentKind.MODEL_CARD: "Model Card",
}
