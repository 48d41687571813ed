"""The `report_generation` section of a protocol: how generated reports are validated, fixed before the run.

It names the text predictions (`qms.validation.textpredictions`), the finding vocabulary
(qmskit's CheXpert-style default, or a file locked by its sha256), how an uncertain finding
counts, the critical findings, a protocol's own `evaluate` modules (each locked by its
sha256), the endpoints with their acceptance criteria and the subgroup analysis. The
evaluation is `qms.validation.report_evaluation`. Syntax (every key: docs/reference/protocol.md):

    report_generation:
      predictions: data/generated.csv
      uncertain: excluded            # positive | negative | excluded
      critical: [pneumothorax]
      endpoints:
        - {id: RG-1, metric: sensitivity, finding: pleural_effusion, role: primary, acceptance: "lower >= 0.7"}
        - {id: RG-2, metric: rouge_l, role: secondary, acceptance: "estimate >= 0.3"}
        - {id: RG-3, metric: critical_omission, role: primary, acceptance: "upper <= 0.2"}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from qms.validation.criteria import Acceptance, AttributeSpec, BiasCriterion, BiasKind, Role, parse_acceptance
from qms.validation.metrics import ALLOWED_CI, BOOTSTRAP, CISpec, Metric
from qms.validation.protocolreader import ProtocolReader
from qms.validation.textmetrics import BUILTIN, ModuleSpec
from qms.validation.textsafety import SafetyCheck
from qms.validation.vocabulary import default_vocabulary
from qms.yamlfile import PathKey

__all__ = ["FINDING_LEVEL", "FindingBias", "ReportGenerationSpec", "TextEndpoint", "TextMetric", "UncertainAs", "parse", "schema"]

_HEX = re.compile(r"[0-9a-f]{64}")
_MIN_MODULE_RESAMPLES = 100


class UncertainAs(StrEnum):
    """How a finding labelled uncertain counts, in the reference and the generated report alike."""

    POSITIVE = "positive"
    NEGATIVE = "negative"
    EXCLUDED = "excluded"
    """The case takes no part in that finding's agreement when either report is uncertain about it."""


class TextMetric(StrEnum):
    SENSITIVITY = "sensitivity"
    SPECIFICITY = "specificity"
    F1 = "f1"
    ROUGE_L = "rouge_l"
    BLEU = "bleu"
    MODULE = "module"
    PHI = SafetyCheck.PHI.value
    LATERALITY = SafetyCheck.LATERALITY.value
    PRIOR = SafetyCheck.PRIOR.value
    CRITICAL = SafetyCheck.CRITICAL.value


FINDING_LEVEL = {TextMetric.SENSITIVITY: Metric.SENSITIVITY, TextMetric.SPECIFICITY: Metric.SPECIFICITY,
                 TextMetric.F1: Metric.F1}


@dataclass(frozen=True)
class TextEndpoint:
    id: str
    metric: TextMetric
    role: Role
    ci: CISpec
    acceptance: Acceptance | None
    finding: str | None = None
    module: str | None = None

    def interval_metric(self) -> Metric | None:
        """The endpoint metric whose intervals this one's are (a safety rate is a flag rate)."""
        if self.metric in FINDING_LEVEL:
            return FINDING_LEVEL[self.metric]
        return Metric.FLAG_RATE if self.metric.value in {c.value for c in SafetyCheck} else None


@dataclass(frozen=True)
class FindingBias:
    """A bias criterion (`qms.validation.criteria.BiasCriterion`) on one finding's agreement across its subgroups."""

    finding: str
    criterion: BiasCriterion


@dataclass(frozen=True)
class ReportGenerationSpec:
    predictions: str
    uncertain: UncertainAs
    findings: tuple[str, ...]
    critical: tuple[str, ...]
    endpoints: tuple[TextEndpoint, ...]
    modules: tuple[ModuleSpec, ...]
    ci: CISpec
    vocabulary: str | None = None
    vocabulary_sha256: str | None = None
    examples: int = 5
    attributes: tuple[AttributeSpec, ...] = ()
    subgroup_findings: tuple[str, ...] = ()
    min_size: int = 1
    min_positives: int = 0
    bias: tuple[FindingBias, ...] = ()
    where: dict[str, str] = field(default_factory=dict, compare=False)
    """file:line of the values checked only when the run reads the files they name (finding ids of a custom vocabulary)."""

    @property
    def has_primary(self) -> bool:
        return any(e.role is Role.PRIMARY for e in self.endpoints)


def _sha256(p: ProtocolReader, path: PathKey) -> str:
    digest = str(p.get(path, str))
    if not _HEX.fullmatch(digest):
        raise p.fail(path, f"{'.'.join(map(str, path))} is not 64 lowercase hex digits")
    return digest


def _modules(p: ProtocolReader, base: PathKey) -> tuple[ModuleSpec, ...]:
    out: list[ModuleSpec] = []
    for i, _ in enumerate(p.get((*base, "text_metrics"), list, required=False, default=[])):
        m: PathKey = (*base, "text_metrics", i)
        p.keys(m, {"id", "module", "sha256", "key", "resamples"})
        path = p.text((*m, "module"))
        if not path.endswith(".py"):
            raise p.fail((*m, "module"), f"module {path!r} is not a Python file", hint="the path of the module's .py file")
        mid = p.text((*m, "id"))
        if mid in BUILTIN:
            raise p.fail((*m, "id"), f"text metric id {mid!r} names one of qmskit's own metrics", hint="choose another id")
        if mid in {x.id for x in out}:
            raise p.fail((*m, "id"), f"text metric id {mid!r} appears twice")
        resamples = p.get((*m, "resamples"), int, required=False)
        if resamples is not None and resamples < _MIN_MODULE_RESAMPLES:
            raise p.fail((*m, "resamples"), f"resamples = {resamples} is too few for a percentile interval",
                         hint=f"at least {_MIN_MODULE_RESAMPLES}; each resample runs the module once")
        out.append(ModuleSpec(mid, path, _sha256(p, (*m, "sha256")), p.text((*m, "key")), p.doc.where((*m, "sha256")),
                              resamples))
    return tuple(out)


def _endpoint(p: ProtocolReader, path: PathKey, ci: CISpec, known: set[str], modules: set[str]) -> TextEndpoint:
    p.keys(path, {"id", "metric", "finding", "module", "role", "ci", "acceptance", "notes"})
    metric = p.enum((*path, "metric"), TextMetric, ", ".join(m.value for m in TextMetric))
    finding = p.get((*path, "finding"), str, required=metric in FINDING_LEVEL)
    if metric not in FINDING_LEVEL and finding is not None:
        raise p.fail((*path, "finding"), f"{metric.value} is not a per-finding metric")
    if finding is not None and known and finding not in known:
        raise p.fail((*path, "finding"), f"finding {finding!r} is not in the vocabulary", hint=", ".join(sorted(known)))
    module = p.get((*path, "module"), str, required=metric is TextMetric.MODULE)
    if module is not None and module not in modules:
        raise p.fail((*path, "module"), f"module {module!r} is not a text_metrics id",
                     hint=", ".join(sorted(modules)) or "declare it under report_generation.text_metrics")
    own = p.ci((*path, "ci"), ci)
    endpoint = TextEndpoint(p.text((*path, "id")), metric, p.enum((*path, "role"), Role, "primary, secondary"), own,
                            parse_acceptance(p, (*path, "acceptance")), finding, module)
    base = endpoint.interval_metric()
    allowed = ALLOWED_CI[base] if base is not None else BOOTSTRAP
    if own.method not in allowed:
        raise p.fail((*path, "ci"), f"{own.method.value} is not an interval for {metric.value}",
                     hint=", ".join(sorted(m.value for m in allowed)))
    a = endpoint.acceptance
    if endpoint.role is Role.PRIMARY and a is None:
        raise p.fail(path, "a primary endpoint needs an acceptance criterion", hint="e.g. acceptance: lower >= 0.7")
    return endpoint


def _subgroups(p: ProtocolReader, base: PathKey, known: set[str]) -> tuple[tuple[AttributeSpec, ...], tuple[str, ...], int, int]:
    s: PathKey = (*base, "subgroups")
    if not p.has(s):
        return (), (), 1, 0
    p.keys(s, {"attributes", "findings", "min_size", "min_positives", "bias"})
    attrs = []
    for i, _ in enumerate(p.get((*s, "attributes"), list)):
        a: PathKey = (*s, "attributes", i)
        p.keys(a, {"attribute", "bins", "definition"})
        bins = tuple(float(b) for b in p.get((*a, "bins"), list, required=False, default=[]))
        if list(bins) != sorted(set(bins)):
            raise p.fail((*a, "bins"), f"bins {list(bins)} must be strictly increasing cut-points")
        attrs.append(AttributeSpec(p.text((*a, "attribute")), bins, str(p.get((*a, "definition"), str, required=False,
                                                                              default=""))))
    if not attrs:
        raise p.fail((*s, "attributes"), "no subgroup attributes")
    findings = p.strings((*s, "findings"))
    for i, f in enumerate(findings):
        if known and f not in known:
            raise p.fail((*s, "findings", i), f"finding {f!r} is not in the vocabulary", hint=", ".join(sorted(known)))
    min_size = int(p.get((*s, "min_size"), int))
    min_pos = int(p.get((*s, "min_positives"), int, required=False, default=0))
    if min_size < 1 or min_pos < 0:
        raise p.fail((*s, "min_size"), "min_size must be >= 1 and min_positives >= 0")
    return tuple(attrs), findings, min_size, min_pos


def _bias(p: ProtocolReader, s: PathKey, attributes: set[str], findings: tuple[str, ...],
          taken: set[str]) -> tuple[FindingBias, ...]:
    """`subgroups.bias`: the scoring endpoints' bias criteria, each on one subgroup finding's agreement."""
    out: list[FindingBias] = []
    for i, _ in enumerate(p.get((*s, "bias"), list, required=False, default=[])):
        c: PathKey = (*s, "bias", i)
        p.keys(c, {"id", "kind", "finding", "metric", "attribute", "max", "on", "notes"})
        cid, kind = p.text((*c, "id")), p.enum((*c, "kind"), BiasKind, ", ".join(k.value for k in BiasKind))
        if cid in taken:
            raise p.fail((*c, "id"), f"criterion id {cid!r} is already an endpoint or criterion id")
        taken.add(cid)
        finding = str(p.get((*c, "finding"), str, required=len(findings) != 1, default=findings[0] if findings else ""))
        if finding not in findings:
            raise p.fail((*c, "finding"), f"finding {finding!r} is not a subgroup finding", hint=", ".join(findings))
        attribute = p.text((*c, "attribute"))
        if attribute not in attributes:
            raise p.fail((*c, "attribute"), f"attribute {attribute!r} is not a subgroup attribute",
                         hint=", ".join(sorted(attributes)))
        metric = None
        if kind is BiasKind.MAX_GAP:
            metric = FINDING_LEVEL[p.enum((*c, "metric"), _agreement_metric, ", ".join(m.value for m in FINDING_LEVEL))]
        elif p.has((*c, "metric")):
            raise p.fail((*c, "metric"), f"{kind.value} takes no metric")
        on = str(p.get((*c, "on"), str, required=False, default="estimate"))
        if on not in ("estimate", "upper"):
            raise p.fail((*c, "on"), f"unknown value {on!r}", hint="estimate or upper (the interval's upper bound)")
        out.append(FindingBias(finding, BiasCriterion(cid, kind, attribute, p.probability((*c, "max")), metric, on)))
    return tuple(out)


def _agreement_metric(value: str) -> TextMetric:
    metric = TextMetric(value)
    if metric not in FINDING_LEVEL:
        raise ValueError(value)
    return metric


def schema(ci: dict[str, Any], acceptance: dict[str, Any]) -> dict[str, Any]:
    """The section's JSON Schema (`qms schema protocol`), from the same enums the parser reads."""
    text, strings = {"type": "string"}, {"type": "array", "items": {"type": "string"}}
    digest = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
    endpoint = {"type": "object", "additionalProperties": False, "required": ["id", "metric", "role"], "properties": {
        "id": text, "metric": {"enum": [m.value for m in TextMetric]},
        "finding": {**text, "description": "a finding id of the vocabulary (sensitivity, specificity, f1)"},
        "module": {**text, "description": "a text_metrics id (metric: module)"},
        "role": {"enum": [r.value for r in Role]}, "ci": ci, "acceptance": acceptance, "notes": text}}
    bias = {"type": "object", "additionalProperties": False, "required": ["id", "kind", "attribute", "max"],
            "description": "a bias criterion on one subgroup finding's agreement, as the protocol's top-level bias",
            "properties": {"id": text, "kind": {"enum": [k.value for k in BiasKind]},
                           "finding": {**text, "description": "a subgroup finding (needed when there are several)"},
                           "metric": {"enum": [m.value for m in FINDING_LEVEL], "description": "max_gap only"},
                           "attribute": text, "max": {"type": "number", "minimum": 0, "maximum": 1},
                           "on": {"enum": ["estimate", "upper"]}, "notes": text}}
    return {"type": "object", "additionalProperties": False, "required": ["predictions", "uncertain", "endpoints"],
            "description": "generated-report endpoints: finding agreement, text metrics, safety rates", "properties": {
                "predictions": {**text, "description": "CSV or Parquet: case_id, patient_id, generated, reference, "
                                                       "has_prior, then subgroup columns"},
                "vocabulary": {"type": "object", "additionalProperties": False, "required": ["path", "sha256"],
                               "properties": {"path": text, "sha256": digest}},
                "uncertain": {"enum": [u.value for u in UncertainAs]},
                "findings": strings, "critical": strings, "ci": ci, "notes": text,
                "examples": {"type": "integer", "minimum": 0, "maximum": 100},
                "text_metrics": {"type": "array", "items": {
                    "type": "object", "additionalProperties": False, "required": ["id", "module", "sha256", "key"],
                    "properties": {"id": text, "module": text, "sha256": digest, "key": text,
                                   "resamples": {"type": "integer", "minimum": _MIN_MODULE_RESAMPLES,
                                                 "description": "resamples of the module's interval, each one compute "
                                                                "(default: the interval's ci.resamples)"}}}},
                "endpoints": {"type": "array", "items": endpoint},
                "subgroups": {"type": "object", "additionalProperties": False,
                              "required": ["attributes", "findings", "min_size"], "properties": {
                                  "attributes": {"type": "array", "items": {
                                      "type": "object", "additionalProperties": False, "required": ["attribute"],
                                      "properties": {"attribute": text, "bins": {"type": "array", "items": {"type": "number"}},
                                                     "definition": text}}},
                                  "findings": strings, "min_size": {"type": "integer", "minimum": 1},
                                  "min_positives": {"type": "integer", "minimum": 0},
                                  "bias": {"type": "array", "items": bias}}}}}


def parse(p: ProtocolReader, default_ci: CISpec) -> ReportGenerationSpec | None:
    """The `report_generation` section, validated; finding ids against the shipped vocabulary unless one is named."""
    base: PathKey = ("report_generation",)
    if p.get(base, dict, required=False) is None:
        return None
    p.keys(base, {"predictions", "vocabulary", "uncertain", "findings", "critical", "text_metrics", "endpoints", "ci",
                  "examples", "subgroups", "notes"})
    vocabulary = p.get((*base, "vocabulary"), dict, required=False)
    path = digest = None
    if vocabulary is not None:
        p.keys((*base, "vocabulary"), {"path", "sha256"})
        path, digest = p.text((*base, "vocabulary", "path")), _sha256(p, (*base, "vocabulary", "sha256"))
    known = set() if path is not None else set(default_vocabulary().ids)
    findings = p.strings((*base, "findings")) if p.has((*base, "findings")) else ()
    critical = p.strings((*base, "critical")) if p.has((*base, "critical")) else ()
    for key, names in (("findings", findings), ("critical", critical)):
        for i, name in enumerate(names):
            if known and name not in known:
                raise p.fail((*base, key, i), f"finding {name!r} is not in the vocabulary", hint=", ".join(sorted(known)))
    ci = p.ci((*base, "ci"), default_ci)
    modules = _modules(p, base)
    endpoints = tuple(_endpoint(p, (*base, "endpoints", i), ci, known, {m.id for m in modules})
                      for i in range(len(p.get((*base, "endpoints"), list))))
    ids = [e.id for e in endpoints]
    if len(set(ids)) != len(ids):
        raise p.fail((*base, "endpoints"), "endpoint ids must be unique")
    examples = int(p.get((*base, "examples"), int, required=False, default=5))
    if not 0 <= examples <= 100:
        raise p.fail((*base, "examples"), f"examples = {examples} is out of range", hint="0 to 100 case ids per check")
    attrs, sub_findings, min_size, min_pos = _subgroups(p, base, known)
    bias = _bias(p, (*base, "subgroups"), {a.name for a in attrs}, sub_findings, set(ids)) if attrs else ()
    return ReportGenerationSpec(
        predictions=p.text((*base, "predictions")),
        uncertain=p.enum((*base, "uncertain"), UncertainAs, ", ".join(u.value for u in UncertainAs)),
        findings=findings, critical=critical, endpoints=endpoints, modules=modules, ci=ci, vocabulary=path,
        vocabulary_sha256=digest, examples=examples, attributes=attrs, subgroup_findings=sub_findings,
        min_size=min_size, min_positives=min_pos, bias=bias, where={"section": p.doc.where(base), "vocabulary": p.doc.where(
            (*base, "vocabulary"))})
