"""The validation protocol: what will be measured, how, and what counts as a pass, fixed before the run.

A protocol is YAML (see examples/cxr-triage/protocols/). Parsing validates everything and
each error names file:line; a `Protocol` that exists is valid (STYLE habit 3). Its
identity is the sha256 of the document text (line endings normalised) and the digest of
its parsed content, which the lock freezes (VALIDATION.md, "frozen-protocol identity").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

from qms.errors import QmsError
from qms.hashing import digest_of, normalised_text_digest
from qms.validation import (
    calibration, cohort, interpretation, latency, limitations, monitoring, neardup, readers, repeatability, robustness,
    samplesize,
)
from qms.validation.calibration import CalibrationSpec
from qms.validation.cohort import DataSpec
from qms.validation.interpretation import InterpretationSpec
from qms.validation.monitoring import PostMarketSpec
from qms.validation.repeatability import RepeatabilitySpec
from qms.validation.robustness import RobustnessSpec
from qms.validation.intervals import CIMethod
from qms.validation.metrics import ADJUSTABLE, ALLOWED_CI, BOOTSTRAP, THRESHOLDED, CISpec, Metric
from qms.validation.yamlmap import Located, PathKey, load

T = TypeVar("T")
_ACCEPT = re.compile(r"^\s*(lower|estimate|upper)\s*(>=|>|<=|<)\s*(-?[0-9]*\.?[0-9]+)\s*$")
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*@[A-Za-z0-9][A-Za-z0-9._+-]*$")


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
    near_duplicates: neardup.NearDupSpec = field(default_factory=neardup.NearDupSpec)
    sample_size: samplesize.SampleSizeSpec | None = None
    reference_standard: readers.ReferenceStandard | None = None
    time_to_notification: latency.LatencySpec | None = None
    interpretation: InterpretationSpec | None = None
    post_market: PostMarketSpec | None = None
    data: DataSpec | None = None
    robustness: RobustnessSpec | None = None
    repeatability: RepeatabilitySpec | None = None
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

    @classmethod
    def from_file(cls, path: Path) -> Protocol:
        text, doc = load(path)
        return _Parser(doc).protocol(normalised_text_digest(text))


_TOP = {"id", "version", "title", "intended_use", "model", "dataset", "training_manifests", "labels", "seed",
        "ci", "endpoints", "subgroups", "bias", "multiplicity", "notes",
        "independence", "sample_size", "reference_standard", "time_to_notification", "interpretation", "post_market",
        "data", "robustness", "repeatability", "limitations"}


class _Parser:
    def __init__(self, doc: Located) -> None:
        self.doc = doc

    def fail(self, path: PathKey, message: str, hint: str | None = None) -> QmsError:
        return QmsError(message, where=self.doc.where(path), hint=hint)

    def get(self, path: PathKey, kind: type[T] | tuple[type, ...], *, required: bool = True, default: Any = None) -> Any:
        node: Any = self.doc.data
        for part in path:
            if isinstance(node, dict) and isinstance(part, str) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            else:
                if required:
                    raise self.fail(path[:-1], f"missing required key {'.'.join(map(str, path))}")
                return default
        if node is None and not required:
            return default
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(node, bool) and bool not in kinds and object not in kinds or not isinstance(node, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise self.fail(path, f"{'.'.join(map(str, path))} must be {names}, not {node!r}")
        return node

    def keys(self, path: PathKey, allowed: set[str]) -> None:
        mapping = self.get(path, dict)
        for key in mapping:
            if key not in allowed:
                raise self.fail((*path, key), f"unknown key {key!r}", hint=f"allowed: {', '.join(sorted(allowed))}")

    def enum(self, path: PathKey, kind: Callable[[str], T], allowed: str) -> T:
        raw = self.get(path, str)
        try:
            return kind(raw)
        except ValueError:
            raise self.fail(path, f"unknown value {raw!r}", hint=f"allowed: {allowed}") from None

    def probability(self, path: PathKey, *, open_interval: bool = False) -> float:
        x = float(self.get(path, (int, float)))
        if not (0 < x < 1 if open_interval else 0 <= x <= 1):
            raise self.fail(path, f"{'.'.join(map(str, path))} = {x} is out of range",
                            hint="between 0 and 1" + (" (exclusive)" if open_interval else ""))
        return x

    def has(self, path: PathKey) -> bool:
        return self.get(path, object, required=False) is not None

    def text(self, path: PathKey) -> str:
        """A required statement: a string that is not blank."""
        value = str(self.get(path, str)).strip()
        if not value:
            raise self.fail(path, f"{'.'.join(map(str, path))} is empty", hint="state it in the protocol")
        return value

    def strings(self, path: PathKey) -> tuple[str, ...]:
        """A required list of strings; an item that is not one is named by its index."""
        return tuple(self.get((*path, i), str) for i in range(len(self.get(path, list))))

    def texts(self, path: PathKey, *, required: bool = True, empty: bool = False) -> tuple[str, ...]:
        """A list of statements, none blank; `empty` allows a list with none, `required=False` a missing one."""
        items = self.get(path, list, required=required, default=[])
        if not items and not empty:
            raise self.fail(path, f"{'.'.join(map(str, path))} needs at least one statement")
        out = []
        for i, _ in enumerate(items):
            text = str(self.get((*path, i), str)).strip()
            if not text:
                raise self.fail((*path, i), f"{'.'.join(map(str, path))}[{i}] is empty")
            out.append(text)
        return tuple(out)

    def reference(self, path: PathKey, bands: tuple[str, ...]) -> str | None:
        """`reference`: the group an attribute's disparities compare with; of a binned attribute, one of its bands."""
        if not self.has(path):
            return None
        value = self.get(path, str)
        if bands and value not in bands:
            raise self.fail(path, f"reference {value!r} is not a band of the bins",
                            hint=f"bands: {', '.join(bands)} (quote it: reference: \"{bands[0]}\")")
        return str(value)

    def bias_attribute(self, path: PathKey, subgroups: Subgroups) -> tuple[str, tuple[str, ...]]:
        """A bias criterion's dimension: a subgroup attribute, or a listed intersection (its list or its name)."""
        names = {a.name for a in subgroups.attributes}
        listed = {intersection_name(c): c for c in subgroups.intersections}
        raw = self.get(path, (str, list))
        if isinstance(raw, list):
            cell = tuple(str(x) for x in raw)
            if cell in subgroups.intersections:
                return intersection_name(cell), cell
        elif raw in names:
            return str(raw), ()
        elif raw in listed:
            return str(raw), listed[raw]
        raise self.fail(path, f"attribute {raw!r} is not a subgroup attribute or a listed intersection",
                        hint=f"subgroup attributes: {', '.join(sorted(names))}; intersections: "
                             + ("; ".join(f"[{', '.join(c)}]" for c in subgroups.intersections) or "none listed"))

    def ci(self, path: PathKey, default: CISpec) -> CISpec:
        """An interval spec; keys left out take the protocol-wide default."""
        if not self.has(path):
            return default
        self.keys(path, {"method", "level", "resamples", "seed"})
        method = self.enum((*path, "method"), CIMethod, ", ".join(m.value for m in CIMethod)) \
            if self.has((*path, "method")) else default.method
        level = self.probability((*path, "level"), open_interval=True) if self.has((*path, "level")) else default.level
        resamples = int(self.get((*path, "resamples"), int, required=False, default=default.resamples))
        if not 100 <= resamples <= 1_000_000:
            raise self.fail((*path, "resamples"), f"resamples = {resamples} is out of range", hint="100 to 1,000,000")
        seed = int(self.get((*path, "seed"), int, required=False, default=default.seed))
        return CISpec(method, level, resamples, seed)

    def metric_ci(self, path: PathKey, metric: Metric, ci: CISpec) -> None:
        if ci.method not in ALLOWED_CI[metric]:
            raise self.fail(path, f"{ci.method.value} is not an interval for {metric.value}",
                            hint=f"for {metric.value}: {', '.join(sorted(m.value for m in ALLOWED_CI[metric]))}")

    def endpoint(self, i: int, labels: tuple[str, ...], default_ci: CISpec) -> Endpoint:
        p: PathKey = ("endpoints", i)
        self.keys(p, {"id", "metric", "label", "labels", "threshold", "role", "ci", "acceptance", "prevalence", "notes"})
        metric = self.enum((*p, "metric"), Metric, ", ".join(m.value for m in Metric))
        if metric is Metric.MEAN_AUROC:
            names = tuple(self.get((*p, "labels"), list, required=False, default=list(labels)))
        else:
            names = (self.get((*p, "label"), str),)
        for name in names:
            if name not in labels:
                raise self.fail((*p, "label"), f"label {name!r} is not one of the protocol's labels {list(labels)}")
        threshold = None
        if metric in THRESHOLDED:
            threshold = self.probability((*p, "threshold"))
        elif self.get((*p, "threshold"), (int, float), required=False) is not None:
            raise self.fail((*p, "threshold"), f"{metric.value} takes no threshold")
        ci = self.ci((*p, "ci"), default_ci)
        self.metric_ci((*p, "ci"), metric, ci)
        prevalence = self.stated_prevalence(p, metric, ci)
        raw = self.get((*p, "acceptance"), str, required=False)
        acceptance = None
        if raw is not None:
            m = _ACCEPT.match(raw)
            if m is None:
                raise self.fail((*p, "acceptance"), f"acceptance {raw!r} is not understood",
                                hint="e.g. 'lower >= 0.85' (lower, estimate or upper; >=, >, <=, <; a number)")
            acceptance = Acceptance(m.group(1), m.group(2), float(m.group(3)))
        role = self.enum((*p, "role"), Role, "primary, secondary")
        if role is Role.PRIMARY and acceptance is None:
            raise self.fail(p, "a primary endpoint needs an acceptance criterion", hint="e.g. acceptance: lower >= 0.85")
        return Endpoint(self.get((*p, "id"), str), metric, names, role, ci, acceptance, threshold, prevalence)

    def stated_prevalence(self, p: PathKey, metric: Metric, ci: CISpec) -> float | None:
        """`prevalence` of a PPV or NPV endpoint; its interval must be a bootstrap (no exact one applies)."""
        if not self.has((*p, "prevalence")):
            return None
        if metric not in ADJUSTABLE:
            raise self.fail((*p, "prevalence"), f"{metric.value} is not stated at a prevalence",
                            hint="prevalence applies to ppv and npv")
        if ci.method not in BOOTSTRAP:
            raise self.fail((*p, "prevalence"), f"{ci.method.value} has no interval for {metric.value} at a stated prevalence",
                            hint="use ci: {method: bootstrap-percentile} or bootstrap-bca")
        return self.probability((*p, "prevalence"), open_interval=True)

    def subgroups(self, labels: tuple[str, ...], default_ci: CISpec) -> Subgroups | None:
        p: PathKey = ("subgroups",)
        if self.get(p, dict, required=False) is None:
            return None
        self.keys(p, {"label", "threshold", "metrics", "ci", "ci_by_metric", "attributes", "min_size", "min_positives",
                      "intersections", "calibration"})
        label = self.get((*p, "label"), str)
        if label not in labels:
            raise self.fail((*p, "label"), f"label {label!r} is not one of the protocol's labels {list(labels)}")
        metrics = tuple(self.enum((*p, "metrics", i), Metric, ", ".join(m.value for m in Metric))
                        for i in range(len(self.get((*p, "metrics"), list))))
        ci = self.ci((*p, "ci"), default_ci)
        by_metric: dict[Metric, CISpec] = {}
        for name in self.get((*p, "ci_by_metric"), dict, required=False, default={}):
            metric = next((m for m in metrics if m.value == name), None)
            if metric is None:
                raise self.fail((*p, "ci_by_metric", name), f"{name} is not among the subgroup metrics")
            by_metric[metric] = self.ci((*p, "ci_by_metric", name), ci)
        for i, metric in enumerate(metrics):
            if metric is Metric.MEAN_AUROC:
                raise self.fail((*p, "metrics", i), "mean_auroc is an overall endpoint, not a subgroup metric")
            self.metric_ci((*p, "ci_by_metric", metric.value) if metric in by_metric else (*p, "ci"), metric,
                           by_metric.get(metric, ci))
        attrs = []
        for i, _ in enumerate(self.get((*p, "attributes"), list)):
            a: PathKey = (*p, "attributes", i)
            self.keys(a, {"attribute", "bins", "definition", "reference"})
            bins = tuple(float(b) for b in self.get((*a, "bins"), list, required=False, default=[]))
            if list(bins) != sorted(set(bins)):
                raise self.fail((*a, "bins"), f"bins {list(bins)} must be strictly increasing cut-points")
            spec = AttributeSpec(self.get((*a, "attribute"), str), bins,
                                 self.get((*a, "definition"), str, required=False, default=""))
            ref = self.reference((*a, "reference"), spec.bands)
            attrs.append(spec if ref is None else replace(spec, reference=ref, reference_at=self.doc.where((*a, "reference"))))
        if not attrs:
            raise self.fail((*p, "attributes"), "no subgroup attributes")
        min_size = int(self.get((*p, "min_size"), int))
        min_pos = int(self.get((*p, "min_positives"), int, required=False, default=0))
        if min_size < 1 or min_pos < 0:
            raise self.fail((*p, "min_size"), "min_size must be >= 1 and min_positives >= 0")
        return Subgroups(label, self.probability((*p, "threshold")), metrics, ci, tuple(attrs), min_size, min_pos,
                         by_metric, self.intersections({a.name for a in attrs}), calibration.parse(self, ci))

    def intersections(self, names: set[str]) -> tuple[tuple[str, ...], ...]:
        """`subgroups.intersections`: lists of two or more distinct subgroup attributes, each list once."""
        p: PathKey = ("subgroups", "intersections")
        out: list[tuple[str, ...]] = []
        for i, _ in enumerate(self.get(p, list, required=False, default=[])):
            cell = self.strings((*p, i))
            if len(cell) < 2 or len(set(cell)) != len(cell):
                raise self.fail((*p, i), f"intersection {list(cell)} must name two or more different attributes")
            for j, name in enumerate(cell):
                if name not in names:
                    raise self.fail((*p, i, j), f"intersection attribute {name!r} is not a subgroup attribute",
                                    hint=f"subgroup attributes: {', '.join(sorted(names))}")
            if cell in out:
                raise self.fail((*p, i), f"intersection {list(cell)} appears twice")
            out.append(cell)
        return tuple(out)

    def bias(self, subgroups: Subgroups | None) -> tuple[BiasCriterion, ...]:
        out = []
        for i, _ in enumerate(self.get(("bias",), list, required=False, default=[])):
            p: PathKey = ("bias", i)
            self.keys(p, {"id", "kind", "metric", "attribute", "max", "on", "notes"})
            if subgroups is None:
                raise self.fail(p, "bias criteria need a subgroups section")
            kind = self.enum((*p, "kind"), BiasKind, ", ".join(k.value for k in BiasKind))
            attribute, crossed = self.bias_attribute((*p, "attribute"), subgroups)
            metric = None
            if kind is BiasKind.MAX_GAP:
                metric = self.enum((*p, "metric"), Metric, ", ".join(m.value for m in subgroups.metrics))
                if metric not in subgroups.metrics:
                    raise self.fail((*p, "metric"), f"{metric.value} is not among the subgroup metrics")
            on = self.get((*p, "on"), str, required=False, default="estimate")
            if on not in ("estimate", "upper"):
                raise self.fail((*p, "on"), f"unknown value {on!r}",
                                hint="estimate (the criterion's value) or upper (its interval's upper bound)")
            out.append(BiasCriterion(self.get((*p, "id"), str), kind, attribute,
                                     self.probability((*p, "max")), metric, on, crossed))
        return tuple(out)

    def protocol(self, text_sha256: str) -> Protocol:
        if not isinstance(self.doc.data, dict):
            raise self.fail((), "a protocol is a YAML mapping")
        self.keys((), _TOP)
        self.keys(("model",), {"ref", "sha256"})
        self.keys(("dataset",), {"manifest", "root", "sha256"})
        ref = self.get(("model", "ref"), str)
        if not _REF.match(ref):
            raise self.fail(("model", "ref"), f"model ref {ref!r} is not name@version")
        labels = tuple(self.get(("labels",), list))
        if not labels or not all(isinstance(x, str) for x in labels):
            raise self.fail(("labels",), "labels must be a non-empty list of label names")
        seed = int(self.get(("seed",), int))
        default_ci = self.ci(("ci",), CISpec(CIMethod.BOOTSTRAP_PERCENTILE, 0.95, 2000, seed))
        endpoints = tuple(self.endpoint(i, labels, default_ci) for i in range(len(self.get(("endpoints",), list))))
        if not any(e.role is Role.PRIMARY for e in endpoints):
            raise self.fail(("endpoints",), "no primary endpoint", hint="mark at least one endpoint role: primary")
        ids = [e.id for e in endpoints]
        if len(set(ids)) != len(ids):
            raise self.fail(("endpoints",), "endpoint ids must be unique")
        subgroups = self.subgroups(labels, default_ci)
        self.keys(("multiplicity",), {"method", "family", "statement"})
        multiplicity = self.enum(("multiplicity", "method"), Multiplicity, "bonferroni, descriptive")
        statement = self.get(("multiplicity", "statement"), str)
        for key in ("model", "dataset"):
            digest = self.get((key, "sha256"), str, required=False)
            if digest is not None and not re.fullmatch(r"[0-9a-f]{64}", digest):
                raise self.fail((key, "sha256"), f"{key}.sha256 is not 64 lowercase hex digits")
        return Protocol(
            id=self.get(("id",), str), version=self.get(("version",), str),
            title=self.get(("title",), str), model_ref=ref, model_sha256=self.get(("model", "sha256"), str, required=False),
            manifest=self.get(("dataset", "manifest"), str), data_root=self.get(("dataset", "root"), str),
            manifest_sha256=self.get(("dataset", "sha256"), str, required=False), labels=labels, seed=seed,
            endpoints=endpoints, multiplicity=multiplicity, multiplicity_statement=statement,
            subgroups=subgroups, bias=self.bias(subgroups),
            training_manifests=tuple(self.get(("training_manifests",), list, required=False, default=[])),
            near_duplicates=neardup.parse(self), sample_size=samplesize.parse(self, endpoints),
            reference_standard=readers.parse(self), time_to_notification=latency.parse(self),
            data=cohort.parse(self), robustness=robustness.parse(self), repeatability=repeatability.parse(self, seed),
            limitations=limitations.parse(self),
            interpretation=interpretation.parse(self, subgroups), post_market=monitoring.parse(self, subgroups),
            source=self.doc.source, text_sha256=text_sha256, content=self.doc.data,
        )
