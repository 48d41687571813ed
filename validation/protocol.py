"""The validation protocol: what will be measured, how, and what counts as a pass, fixed before the run.

A protocol is YAML (see examples/cxr-triage/protocols/), read by
`qms.validation.protocolparser.read_protocol`: parsing validates everything and each error
names file:line; a `Protocol` that exists is valid (STYLE habit 3). Its identity is the
sha256 of the document text (line endings normalised) and the digest of its parsed
content, which the lock freezes (VALIDATION.md, "frozen-protocol identity").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qms.hashing import digest_of
from qms.validation.cohort import DataSpec
from qms.validation.criteria import (
    CROSS, Acceptance, AttributeSpec, BiasCriterion, BiasKind, Endpoint, Multiplicity, Role, Subgroups,
    intersection_name,
)
from qms.validation.interpretation import InterpretationSpec
from qms.validation.latency import LatencySpec
from qms.validation.monitoring import PostMarketSpec
from qms.validation.neardup import NearDupSpec
from qms.validation.readers import ReferenceStandard
from qms.validation.report_generation import ReportGenerationSpec
from qms.validation.repeatability import RepeatabilitySpec
from qms.validation.robustness import RobustnessSpec
from qms.validation.samplesize import SampleSizeSpec
from qms.validation.worklist import WorklistSpec

__all__ = [
    "CROSS", "Acceptance", "AttributeSpec", "BiasCriterion", "BiasKind", "Endpoint", "Multiplicity", "Protocol", "Role",
    "Subgroups", "intersection_name",
]


@dataclass(frozen=True)
class Protocol:
    id: str
    version: str
    title: str
    model_ref: str
    model_sha256: str | None
    manifest: str
    data_root: str
    manifest_sha256: str | None
    labels: tuple[str, ...]
    seed: int
    endpoints: tuple[Endpoint, ...]
    multiplicity: Multiplicity
    multiplicity_statement: str
    subgroups: Subgroups | None = None
    bias: tuple[BiasCriterion, ...] = ()
    training_manifests: tuple[str, ...] = ()
    near_duplicates: NearDupSpec = field(default_factory=NearDupSpec)
    sample_size: SampleSizeSpec | None = None
    reference_standard: ReferenceStandard | None = None
    time_to_notification: LatencySpec | None = None
    interpretation: InterpretationSpec | None = None
    post_market: PostMarketSpec | None = None
    data: DataSpec | None = None
    robustness: RobustnessSpec | None = None
    repeatability: RepeatabilitySpec | None = None
    report_generation: ReportGenerationSpec | None = None
    worklist: WorklistSpec | None = None
    limitations: tuple[str, ...] = ()
    source: str = ""
    text_sha256: str = ""
    content: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"

    @property
    def content_sha256(self) -> str:
        return digest_of(self.content)
