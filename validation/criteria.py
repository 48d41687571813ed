"""What a protocol measures and what counts as a pass: endpoints, subgroups, bias criteria.

The parts of a `Protocol` that the section modules and the analysis read; the parser
(`qms.validation.protocolparser`) builds them, so a value that exists is valid.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

from qms.validation.calibration import CalibrationSpec
from qms.validation.metrics import CISpec, Metric
from qms.validation.protocolreader import ProtocolReader
from qms.yamlfile import PathKey

__all__ = [
    "CROSS", "Acceptance", "AttributeSpec", "BiasCriterion", "BiasKind", "Endpoint", "Multiplicity", "Role", "Subgroups",
    "intersection_name", "parse_acceptance",
]

_ACCEPT = re.compile(r"^\s*(lower|estimate|upper)\s*(>=|>|<=|<)\s*(-?[0-9]*\.?[0-9]+)\s*$")


class Role(str, Enum):
    PRIMARY = "primary"
    SECONDARY = "secondary"


class BiasKind(str, Enum):
    """The bias criteria: a metric's largest gap to overall, fairlearn's equalized odds difference, flag-rate parity."""

    MAX_GAP = "max_gap"
    EQUALIZED_ODDS_DIFFERENCE = "equalized_odds_difference"
    FLAG_RATE_PARITY = "flag_rate_parity"


class Multiplicity(str, Enum):
    """How many simultaneous subgroup intervals are handled (VALIDATION.md, bias report: multiplicity)."""

    BONFERRONI = "bonferroni"
    DESCRIPTIVE = "descriptive"


@dataclass(frozen=True)
class Acceptance:
    """A criterion on one statistic of the interval, e.g. `lower >= 0.85`."""

    statistic: str
    op: str
    value: float

    def holds(self, estimate: float, lower: float, upper: float) -> bool:
        """Fails closed: an undefined statistic never passes."""
        x = {"lower": lower, "estimate": estimate, "upper": upper}[self.statistic]
        if x != x:
            return False
        return {">=": x >= self.value, ">": x > self.value, "<=": x <= self.value, "<": x < self.value}[self.op]

    def __str__(self) -> str:
        return f"{self.statistic} {self.op} {self.value:g}"


def parse_acceptance(p: ProtocolReader, path: PathKey) -> Acceptance | None:
    """An acceptance criterion on one statistic of an interval, e.g. `lower >= 0.85`; None where not stated."""
    raw = p.get(path, str, required=False)
    if raw is None:
        return None
    m = _ACCEPT.match(raw)
    if m is None:
        raise p.fail(path, f"acceptance {raw!r} is not understood",
                     hint="e.g. 'lower >= 0.85' (lower, estimate or upper; >=, >, <=, <; a number)")
    return Acceptance(m.group(1), m.group(2), float(m.group(3)))


@dataclass(frozen=True)
class Endpoint:
    id: str
    metric: Metric
    labels: tuple[str, ...]
    role: Role
    ci: CISpec
    acceptance: Acceptance | None
    threshold: float | None = None
    prevalence: float | None = None
    """PPV/NPV only: the prevalence they are stated at (e.g. the clinic's); None: the test set's own."""


@dataclass(frozen=True)
class AttributeSpec:
    """A subgroup attribute; `bins` are cut-points for a numeric one (age bands: [lo, hi))."""

    name: str
    bins: tuple[float, ...] = ()
    definition: str = ""
    reference: str | None = None
    """The group disparities compare with; None: each group's complement (every other case)."""
    reference_at: str = field(default="", compare=False)
    """file:line of `reference`, for the error when the dataset lacks that group."""

    @property
    def bands(self) -> tuple[str, ...]:
        """The band names of the bins, [lo, hi) (empty without bins); a case outside every bin is "unknown"."""
        b = self.bins
        if not b:
            return ()
        return (f"<{b[0]:g}", *(f"[{lo:g}, {hi:g})" for lo, hi in zip(b, b[1:], strict=False)), f">={b[-1]:g}")


CROSS = " × "
"""Joins the attributes of an intersection ("PatientSex × PatientAge") and their groups ("F × [40, 65)")."""


def intersection_name(attributes: Sequence[str]) -> str:
    return CROSS.join(attributes)


@dataclass(frozen=True)
class Subgroups:
    label: str
    threshold: float
    metrics: tuple[Metric, ...]
    ci: CISpec
    attributes: tuple[AttributeSpec, ...]
    min_size: int
    min_positives: int
    ci_by_metric: Mapping[Metric, CISpec] = field(default_factory=dict)
    intersections: tuple[tuple[str, ...], ...] = ()
    """Intersectional cells: each a tuple of two or more attribute names, crossed (VALIDATION.md)."""
    calibration: CalibrationSpec | None = None

    def ci_for(self, metric: Metric) -> CISpec:
        """The metric's own interval (`ci_by_metric`), else the subgroups' `ci`."""
        return self.ci_by_metric.get(metric, self.ci)

    def reference_of(self, dimension: str) -> str | None:
        """The named reference group of an attribute; None (the complement) for one without, and for an intersection."""
        return next((a.reference for a in self.attributes if a.name == dimension), None)


@dataclass(frozen=True)
class BiasCriterion:
    id: str
    kind: BiasKind
    attribute: str
    max: float
    metric: Metric | None = None
    on: str = "estimate"
    """What `max` bounds: the criterion's `estimate` (default) or the `upper` bound of its interval."""
    intersection: tuple[str, ...] = ()
    """The attributes crossed when `attribute` names an intersection (`intersection_name` of them)."""
