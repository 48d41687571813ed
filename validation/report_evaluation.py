"""Validating generated reports: finding-level agreement, text metrics and safety rates, each with its verdict.

Both reports of every case are labelled (`qms.validation.labeler`). Per finding, the
reference's label is the truth and the generated report's the call: sensitivity,
specificity and F1 with their intervals come from `qms.validation.metrics.interval`, the
same code as every other endpoint, over patient clusters (a patient's cases are resampled
together), and the subgroup table from `qms.validation.subgroups.analyse`. ROUGE-L is the
mean of the per-case scores of qmskit's local `evaluate` module, BLEU the corpus score of
the other, a protocol's own module its corpus score; each text metric has a patient-clustered
bootstrap interval, the score recomputed per resample (`qms.validation.textmetrics`). Each
safety check is a rate over its eligible cases, with its interval and the first flagged case ids (`qms.validation.textsafety`). A primary endpoint that fails, or
that cannot be evaluated, fails the run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qms.errors import CheckFailed, QmsError
from qms.hashing import sha256_file
from qms.validation import textmetrics, textsafety
from qms.validation.criteria import Multiplicity, Role, Subgroups
from qms.validation.intervals import CIMethod, FloatArray, Interval, bootstrap
from qms.validation.labeler import Labeler, ReportLabels, Status
from qms.validation.metrics import BOOTSTRAP, CISpec, LabelCases, Metric, interval, point_estimate
from qms.validation.report_generation import FINDING_LEVEL, ReportGenerationSpec, TextEndpoint, TextMetric, UncertainAs
from qms.validation.subgroups import analyse, evaluate_bias, with_disparities
from qms.validation.textpredictions import TextPredictions, read_text_predictions
from qms.validation.vocabulary import Vocabulary, default_vocabulary, read_vocabulary

__all__ = ["evaluate", "evaluate_files", "finding_cases", "read_vocabulary_of"]

_UNCERTAIN_STATEMENT = {
    UncertainAs.POSITIVE: "a finding labelled uncertain counts as positive, in the reference and the generated report",
    UncertainAs.NEGATIVE: "a finding labelled uncertain counts as negative, in the reference and the generated report",
    UncertainAs.EXCLUDED: "a case is left out of a finding's agreement when either report is uncertain about it",
}
_AGREEMENT = (Metric.SENSITIVITY, Metric.SPECIFICITY, Metric.F1)


def _binary(labels: Sequence[ReportLabels], finding: str, uncertain: UncertainAs) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """(1 positive / 0 otherwise, uncertain) per report."""
    status = [r.status[finding] for r in labels]
    unsure = np.array([s is Status.UNCERTAIN for s in status], dtype=np.bool_)
    pos = np.array([s is Status.POSITIVE for s in status], dtype=np.bool_)
    return (pos | unsure & (uncertain is UncertainAs.POSITIVE)).astype(np.int64), unsure


def finding_cases(reference: Sequence[ReportLabels], generated: Sequence[ReportLabels], finding: str,
                  uncertain: UncertainAs, clusters: NDArray[np.int64]) -> tuple[LabelCases, NDArray[np.bool_]]:
    """One finding's cases (reference label as truth, the generated report's as the call) and which cases are kept."""
    y, ref_unsure = _binary(reference, finding, uncertain)
    call, gen_unsure = _binary(generated, finding, uncertain)
    keep = ~(ref_unsure | gen_unsure) if uncertain is UncertainAs.EXCLUDED else np.ones(len(y), dtype=np.bool_)
    return LabelCases(y, call.astype(np.float64), clusters).subset(keep), keep


def _iv_json(iv: Interval) -> dict[str, Any]:
    return {"estimate": iv.estimate, "lower": iv.lower, "upper": iv.upper, "level": iv.level, "method": iv.method.value}


def _nan(ci: CISpec) -> Interval:
    return Interval(float("nan"), float("nan"), float("nan"), ci.level, ci.method)


def _check_ci(cases: LabelCases, ci: CISpec, what: str, where: str) -> None:
    if cases.clustered and ci.method in (CIMethod.WILSON, CIMethod.CLOPPER_PEARSON):
        raise QmsError(f"{what}: {ci.method.value} assumes independent cases, but some patients have several cases",
                       where=where, hint="use bootstrap-percentile or bootstrap-bca (a patient-level cluster bootstrap)")


def _rate(flags: textsafety.CheckFlags, clusters: NDArray[np.int64], ci: CISpec, where: str) -> Interval:
    """A safety check's rate over its eligible cases, as a flag rate with the protocol's interval."""
    flagged = flags.flagged.astype(np.int64)
    cases = LabelCases(flagged, flagged.astype(np.float64), clusters).subset(flags.eligible)
    if len(cases.y) == 0:
        return _nan(ci)
    _check_ci(cases, ci, flags.check.value, where)
    return interval(Metric.FLAG_RATE, [cases], 0.5, ci)


def _mean_interval(scores: FloatArray, clusters: NDArray[np.int64], ci: CISpec) -> Interval:
    """The mean of per-case scores with a patient-clustered bootstrap interval."""
    if len(scores) == 0:
        return _nan(ci)

    def mean(w: NDArray[np.int32]) -> FloatArray:
        wf = w.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray((wf @ scores) / wf.sum(axis=1), dtype=np.float64)

    return bootstrap(mean, float(scores.mean()), clusters, resamples=ci.resamples, seed=ci.seed, level=ci.level,
                     method=ci.method)


_TEXT_METHOD = {
    "rouge_l": "qmskit rouge_l (rouge_score.RougeScorer rougeL F-measure), the mean per case; interval: the weighted "
               "mean per resample",
    "bleu": "qmskit bleu (sacrebleu.corpus_bleu, defaults); interval: corpus BLEU of each resample's summed per-case "
            "sufficient statistics",
}
_MODULE_METHOD = ("the protocol's own module (sha256 {sha}), result {key!r}; interval: the module's compute on each "
                  "resample's pairs ({resamples} resamples)")


class _TextMetrics:
    """Each text metric's corpus score and its patient-clustered bootstrap interval, each computed once per CI."""

    def __init__(self, spec: ReportGenerationSpec, table: TextPredictions, modules: Mapping[str, Any], where: str) -> None:
        self.spec, self.table, self.modules, self.where = spec, table, modules, where
        self.keys = {m.id: m.key for m in spec.modules}
        self.keys.update(textmetrics.BUILTIN)
        self._estimates: dict[str, float] = {}
        self._intervals: dict[tuple[str, CISpec], Interval] = {}
        rouge = textmetrics.compute(textmetrics.builtin("rouge_l"), table.generated, table.reference,
                                    use_aggregator=False)["rouge_l"]
        self.rouge_scores = np.asarray(rouge, dtype=np.float64)

    def module(self, name: str) -> Any:
        return textmetrics.builtin(name) if name in textmetrics.BUILTIN else self.modules[name]

    def estimate(self, name: str) -> float:
        if name not in self._estimates:
            if name == "rouge_l":
                value: object = float(self.rouge_scores.mean()) if len(self.rouge_scores) else float("nan")
            else:
                value = textmetrics.compute(self.module(name), self.table.generated, self.table.reference).get(self.keys[name])
            if not isinstance(value, (int, float)):
                raise CheckFailed(f"metric module {name!r} gave no number under {self.keys[name]!r}", where=self.where)
            self._estimates[name] = float(value)
        return self._estimates[name]

    def interval(self, name: str, ci: CISpec) -> Interval:
        """The metric's score with a patient-clustered bootstrap interval (bootstrap-percentile where `ci` is exact)."""
        own = next((m.resamples for m in self.spec.modules if m.id == name and m.resamples), ci.resamples)
        ci = CISpec(ci.method if ci.method in BOOTSTRAP else CIMethod.BOOTSTRAP_PERCENTILE, ci.level, own, ci.seed)
        if (name, ci) not in self._intervals:
            clusters, gen, ref = self.table.clusters, self.table.generated, self.table.reference
            if len(gen) == 0:
                iv = _nan(ci)
            elif name == "rouge_l":
                iv = _mean_interval(self.rouge_scores, clusters, ci)
            else:
                statistic = textmetrics.bleu_statistic(gen, ref) if name == "bleu" else \
                    textmetrics.resampled_statistic(self.module(name), self.keys[name], gen, ref)
                iv = bootstrap(statistic, self.estimate(name), clusters, resamples=ci.resamples, seed=ci.seed,
                               level=ci.level, method=ci.method)
            self._intervals[(name, ci)] = iv
        return self._intervals[(name, ci)]

    def summary(self, endpoints: Sequence[TextEndpoint]) -> dict[str, Any]:
        """Every text metric (ROUGE-L, BLEU, each of the protocol's modules) with its interval: an endpoint's CI where
        one names the metric, else the section's."""
        out: dict[str, Any] = {}
        for name in ["rouge_l", "bleu", *(m.id for m in self.spec.modules)]:
            ci = next((e.ci for e in endpoints if (e.module or e.metric.value) == name), self.spec.ci)
            iv = self.interval(name, ci)
            spec = next((m for m in self.spec.modules if m.id == name), None)
            resamples = spec.resamples or ci.resamples if spec is not None else ci.resamples
            method = _TEXT_METHOD[name] if spec is None else _MODULE_METHOD.format(
                sha=spec.sha256[:16], key=spec.key, resamples=resamples)
            out[name] = {**_iv_json(iv), "resamples": resamples, "seed": ci.seed, "module": method,
                         "clusters": "patients (cluster bootstrap)"}
        return out


def read_vocabulary_of(spec: ReportGenerationSpec, root: Path) -> tuple[Vocabulary, str | None]:
    """The section's vocabulary (qmskit's default when it names none), refused when its hash is not the locked one."""
    if spec.vocabulary is None:
        return default_vocabulary(), None
    path = root / spec.vocabulary
    actual = sha256_file(path) if path.is_file() else None
    if actual != spec.vocabulary_sha256:
        raise CheckFailed(f"vocabulary {path} has sha256 {actual}, the protocol locks {spec.vocabulary_sha256}",
                          where=spec.where.get("vocabulary"), hint="lock a new protocol version to change the vocabulary")
    return read_vocabulary(path), actual


def _check_findings(spec: ReportGenerationSpec, vocabulary: Vocabulary) -> None:
    named = [*spec.findings, *spec.critical, *spec.subgroup_findings, *(e.finding for e in spec.endpoints if e.finding)]
    unknown = sorted(set(named) - set(vocabulary.ids))
    if unknown:
        raise QmsError(f"finding(s) {', '.join(unknown)} are not in the vocabulary {vocabulary.source}",
                       where=spec.where.get("section"), hint=", ".join(vocabulary.ids))


def evaluate_files(spec: ReportGenerationSpec, root: Path, multiplicity: Multiplicity) -> tuple[dict[str, Any], list[str]]:
    """Read what the section names under `root` (hash-checked), then `evaluate`."""
    vocabulary, vocabulary_sha = read_vocabulary_of(spec, root)
    _check_findings(spec, vocabulary)
    table = read_text_predictions(root / spec.predictions)
    modules = {m.id: textmetrics.load_module(root / m.path, m.sha256, where=m.where) for m in spec.modules}
    out, reasons = evaluate(spec, table, vocabulary, modules, multiplicity)
    out["predictions"]["sha256"] = sha256_file(root / spec.predictions)
    out["vocabulary"]["sha256"] = vocabulary_sha
    return out, reasons


def evaluate(spec: ReportGenerationSpec, table: TextPredictions, vocabulary: Vocabulary, modules: Mapping[str, Any],
             multiplicity: Multiplicity) -> tuple[dict[str, Any], list[str]]:
    """Every agreement, text metric and safety rate, each endpoint's verdict, and the reasons the run fails."""
    labeler = Labeler(vocabulary)
    reference, generated = labeler.label_many(table.reference), labeler.label_many(table.generated)
    clusters = table.clusters
    where = spec.where.get("section", "")
    findings = spec.findings or vocabulary.ids
    agreement = {f: finding_cases(reference, generated, f, spec.uncertain, clusters) for f in
                 dict.fromkeys([*findings, *(e.finding for e in spec.endpoints if e.finding), *spec.subgroup_findings])}
    flags = textsafety.flags(table.generated, generated, reference, table.has_prior, vocabulary, spec.critical)
    texts = _TextMetrics(spec, table, modules, where)

    def endpoint_interval(e: TextEndpoint) -> Interval:
        if e.metric in FINDING_LEVEL:
            assert e.finding is not None
            cases = agreement[e.finding][0]
            _check_ci(cases, e.ci, e.id, where)
            return interval(FINDING_LEVEL[e.metric], [cases], 0.5, e.ci) if len(cases.y) else _nan(e.ci)
        if e.metric in (TextMetric.ROUGE_L, TextMetric.BLEU, TextMetric.MODULE):
            return texts.interval(e.module or e.metric.value, e.ci)
        return _rate(flags[textsafety.SafetyCheck(e.metric.value)], clusters, e.ci, where)

    subgroups, bias_reasons = _subgroups(spec, table, agreement, multiplicity)
    endpoints, reasons = [], []
    for e in spec.endpoints:
        iv = endpoint_interval(e)
        verdict = None if e.acceptance is None else "pass" if e.acceptance.holds(iv.estimate, iv.lower, iv.upper) else "fail"
        endpoints.append({"id": e.id, "metric": e.metric.value, "finding": e.finding, "module": e.module,
                          "role": e.role.value, "ci": {"method": e.ci.method.value, "level": e.ci.level,
                                                       "resamples": e.ci.resamples, "seed": e.ci.seed},
                          **_iv_json(iv), "acceptance": str(e.acceptance) if e.acceptance else None, "verdict": verdict})
        if e.role is Role.PRIMARY and verdict != "pass":
            reasons.append(f"report generation endpoint {e.id}: {e.metric.value}"
                           + (f" of {e.finding}" if e.finding else "")
                           + f" {iv.estimate:.4f} [{iv.lower:.4f}, {iv.upper:.4f}] does not meet {e.acceptance}")
    return {
        "predictions": {"path": spec.predictions, "cases": len(table), "patients": len(set(table.patient_ids)),
                        "with_prior": int(table.has_prior.sum())},
        "vocabulary": {"source": "qmskit default (CheXpert-style, 14 observations)" if spec.vocabulary is None
                       else spec.vocabulary, "findings": [{"id": f.id, "name": f.name} for f in vocabulary.findings]},
        "uncertain": spec.uncertain.value, "uncertain_statement": _UNCERTAIN_STATEMENT[spec.uncertain],
        "findings": [_finding_json(f, vocabulary, reference, generated, agreement[f], spec.ci, where) for f in findings],
        "text_metrics": texts.summary(spec.endpoints),
        "safety": [_safety_json(f, clusters, spec, table.case_ids, where) for f in flags.values()],
        "critical": list(spec.critical),
        "endpoints": endpoints,
        "subgroups": subgroups,
    }, [*reasons, *bias_reasons]


def _counts(labels: Sequence[ReportLabels], finding: str) -> dict[str, int]:
    return {s.value: sum(1 for r in labels if r.status[finding] is s) for s in Status}


def _finding_json(finding: str, vocabulary: Vocabulary, reference: Sequence[ReportLabels],
                  generated: Sequence[ReportLabels], agreement: tuple[LabelCases, NDArray[np.bool_]], ci: CISpec,
                  where: str) -> dict[str, Any]:
    cases, keep = agreement
    y, c = cases.y, cases.calls(0.5)
    metrics: dict[str, Any] = {}
    for m in _AGREEMENT:
        if len(y):
            _check_ci(cases, ci, f"finding {finding}", where)
        metrics[m.value] = _iv_json(interval(m, [cases], 0.5, ci) if len(y) else _nan(ci))
    return {"finding": finding, "name": next(f.name for f in vocabulary.findings if f.id == finding),
            "reference": _counts(reference, finding), "generated": _counts(generated, finding),
            "tp": int(np.sum(c * y)), "fp": int(np.sum(c * (1 - y))), "fn": int(np.sum((1 - c) * y)),
            "tn": int(np.sum((1 - c) * (1 - y))), "excluded": int((~keep).sum()), **metrics}


def _safety_json(flags: textsafety.CheckFlags, clusters: NDArray[np.int64], spec: ReportGenerationSpec,
                 case_ids: Sequence[str], where: str) -> dict[str, Any]:
    iv = _rate(flags, clusters, spec.ci, where)
    examples = [case_ids[i] for i in np.flatnonzero(flags.flagged)[:spec.examples]]
    return {"check": flags.check.value, "eligible": int(flags.eligible.sum()), "flagged": int(flags.flagged.sum()),
            **_iv_json(iv), "examples": examples}


def _subgroups(spec: ReportGenerationSpec, table: TextPredictions,
               agreement: Mapping[str, tuple[LabelCases, NDArray[np.bool_]]],
               multiplicity: Multiplicity) -> tuple[dict[str, Any] | None, list[str]]:
    """Each subgroup finding's agreement by group, as the scoring endpoints' subgroup and bias analysis does it.

    The same machinery (`qms.validation.subgroups`, `qms.validation.disparity`): every group's
    sensitivity, specificity and F1 with intervals, flagged where its lower bound falls below the
    goal of a primary endpoint on that finding (`lower >= x`), its disparity to its complement,
    and the section's bias criteria with their intervals; a criterion that fails, or cannot be
    evaluated, is a reason the run fails.
    """
    if not spec.attributes:
        return None, []
    missing = [a.name for a in spec.attributes if a.name not in table.attributes]
    if missing:
        raise QmsError(f"subgroup attribute(s) {', '.join(missing)} are not columns of {table.source}",
                       where=spec.where.get("section"), hint=f"columns: {', '.join(table.attributes) or 'none'}")
    out: dict[str, Any] = {}
    reasons: list[str] = []
    for finding in spec.subgroup_findings:
        cases, keep = agreement[finding]
        sg = Subgroups(finding, 0.5, _AGREEMENT, spec.ci, spec.attributes, spec.min_size, spec.min_positives)
        attributes = {a.name: [v for v, k in zip(table.attributes[a.name], keep, strict=True) if k] for a in spec.attributes}
        goals = {FINDING_LEVEL[e.metric]: e.acceptance.value for e in spec.endpoints
                 if e.finding == finding and e.role is Role.PRIMARY and e.acceptance is not None
                 and e.acceptance.statistic == "lower"}
        criteria = [b.criterion for b in spec.bias if b.finding == finding]
        rows, columns = analyse(sg, cases, attributes, multiplicity, goals)
        rows, bounds = with_disparities(sg, cases, rows, columns, criteria, multiplicity)
        overall = {m: point_estimate(m, [cases], 0.5) for m in _AGREEMENT}
        bias = evaluate_bias(criteria, sg, cases, rows, columns, overall, bounds)
        reasons += [f"report generation, {finding}: {b.failure_reason()}" for b in bias if not b.passed]
        out[finding] = {"groups": [r.to_json() for r in rows], "overall": {m.value: v for m, v in overall.items()},
                        "goals": {m.value: g for m, g in goals.items()},
                        "bias": [{**b.to_json(), "finding": finding} for b in bias]}
    return {"attributes": [{"attribute": a.name, "bins": list(a.bins), "bands": list(a.bands),
                            "definition": a.definition} for a in spec.attributes],
            "min_size": spec.min_size, "min_positives": spec.min_positives, "metrics": [m.value for m in _AGREEMENT],
            "disparity": {"reference": "the complement (every other case of the finding)", "measures":
                          ["difference", "ratio"], "ci": "bootstrap-percentile", "resamples": spec.ci.resamples,
                          "seed": spec.ci.seed, "clusters": "patients (cluster bootstrap)"},
            "findings": out}, reasons
