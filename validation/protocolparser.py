"""The protocol parser: a protocol YAML file to a `Protocol`, every error naming file:line.

The top level (model, dataset, labels, endpoints, subgroups, bias, multiplicity) is read
here; each further section by its own module's `parse(reader, ...)`. The identity is the
sha256 of the document text (line endings normalised).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from qms.errors import QmsError
from qms.hashing import normalised_text_digest
from qms.validation import (
    calibration, cohort, interpretation, latency, limitations, monitoring, neardup, readers, repeatability, robustness,
    report_generation, samplesize, worklist,
)
from qms.validation.criteria import (
    AttributeSpec, BiasCriterion, BiasKind, Endpoint, Multiplicity, Role, Subgroups, intersection_name, parse_acceptance,
)
from qms.validation.intervals import CIMethod
from qms.validation.metrics import ADJUSTABLE, BOOTSTRAP, THRESHOLDED, CISpec, Metric
from qms.validation.protocol import Protocol
from qms.validation.protocolreader import ProtocolReader
from qms.yamlfile import PathKey, parse, read_text

__all__ = ["read_protocol"]

_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*@[A-Za-z0-9][A-Za-z0-9._+-]*$")

_TOP = {"id", "version", "title", "intended_use", "model", "dataset", "training_manifests", "labels", "seed",
        "ci", "endpoints", "subgroups", "bias", "multiplicity", "notes",
        "independence", "sample_size", "reference_standard", "time_to_notification", "interpretation", "post_market",
        "data", "robustness", "repeatability", "limitations", "worklist", "report_generation"}


def read_protocol(path: Path) -> Protocol:
    """Parse and validate a protocol file; a `Protocol` that exists is valid (STYLE habit 3)."""
    text = read_text(path, QmsError)
    return _Parser(parse(text, str(path), QmsError)).protocol(normalised_text_digest(text))


class _Parser(ProtocolReader):
    """The top-level keys and the sections that define subgroups, endpoints and bias criteria."""

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
        acceptance = parse_acceptance(self, (*p, "acceptance"))
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
        generation = report_generation.parse(self, default_ci)
        listed = self.get(("endpoints",), list, required=generation is None, default=[])
        endpoints = tuple(self.endpoint(i, labels, default_ci) for i in range(len(listed)))
        if not any(e.role is Role.PRIMARY for e in endpoints) and not (generation and generation.has_primary):
            raise self.fail(("endpoints",), "no primary endpoint", hint="mark at least one endpoint role: primary")
        ids = [e.id for e in endpoints] + [e.id for e in (generation.endpoints if generation else ())]
        if len(set(ids)) != len(ids):
            raise self.fail(("endpoints",), "endpoint ids must be unique (report_generation's included)")
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
            limitations=limitations.parse(self), worklist=worklist.parse(self, labels), report_generation=generation,
            interpretation=interpretation.parse(self, subgroups), post_market=monitoring.parse(self, subgroups),
            source=self.doc.source, text_sha256=text_sha256, content=self.doc.data,
        )
