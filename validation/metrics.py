"""Endpoint metrics on per-case predictions, with the interval the protocol names.

Point estimates come from scikit-learn. Hugging Face `evaluate` is not used: it fetches
each metric module from the Hub at run time, which fails offline and on hospital
networks, and its AUROC and proportions are scikit-learn's anyway. Intervals come from
`qms.validation.intervals` and `qms.validation.auroc`, vectorised over resamples.

PPV and NPV may be stated at a prevalence other than the test set's (an enriched test set
has far more positives than the clinic): by Bayes' rule from the sensitivity and
specificity (`at_prevalence`), with a bootstrap interval over the same resamples, since
neither a score nor an exact binomial interval applies to the adjusted value.

A case the device failed on counts as an error, never an exclusion (VALIDATION.md,
"device failures counted as errors in ITT"): at a threshold it is a wrong call (a
positive missed, a negative flagged); for AUROC it ranks below every positive score if
positive and above every score if negative.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np
from numpy.typing import NDArray

from qms.validation.auroc import SortedScores, auroc, delong_se, jackknife as auroc_jackknife
from qms.validation.intervals import (
    CIMethod, DrawStatistic, FloatArray, Interval, Statistic, bootstrap, cell_bootstrap, clopper_pearson, wald, wilson,
)
from qms.validation.resampled_auroc import ScoreBins

__all__ = [
    "ADJUSTABLE", "ALLOWED_CI", "BOOTSTRAP", "CISpec", "LabelCases", "Metric", "PROPORTIONS", "THRESHOLDED",
    "at_prevalence", "interval", "of_cells", "point_estimate",
]


class Metric(str, Enum):
    """The endpoints a protocol may name."""

    AUROC = "auroc"
    MEAN_AUROC = "mean_auroc"
    SENSITIVITY = "sensitivity"
    SPECIFICITY = "specificity"
    PPV = "ppv"
    NPV = "npv"
    F1 = "f1"
    FLAG_RATE = "flag_rate"


THRESHOLDED = frozenset({Metric.SENSITIVITY, Metric.SPECIFICITY, Metric.PPV, Metric.NPV, Metric.F1, Metric.FLAG_RATE})
PROPORTIONS = frozenset({Metric.SENSITIVITY, Metric.SPECIFICITY, Metric.PPV, Metric.NPV, Metric.FLAG_RATE})
BOOTSTRAP = frozenset({CIMethod.BOOTSTRAP_PERCENTILE, CIMethod.BOOTSTRAP_BCA})
ALLOWED_CI: dict[Metric, frozenset[CIMethod]] = {
    Metric.AUROC: BOOTSTRAP | {CIMethod.DELONG},
    Metric.MEAN_AUROC: BOOTSTRAP,
    Metric.F1: BOOTSTRAP,
    **{m: BOOTSTRAP | {CIMethod.WILSON, CIMethod.CLOPPER_PEARSON} for m in PROPORTIONS},
}
"""Which interval each metric admits: DeLong is for AUROC; score and exact intervals for proportions."""


@dataclass(frozen=True)
class LabelCases:
    """One label's cases: reference standard, score (NaN: the device failed), patient cluster."""

    y: NDArray[np.int64]
    score: FloatArray
    clusters: NDArray[np.int64]

    @property
    def failed(self) -> NDArray[np.bool_]:
        return np.asarray(np.isnan(self.score), dtype=np.bool_)

    def ranking_scores(self) -> FloatArray:
        """Scores with failed cases placed where they count as errors."""
        ok = ~self.failed
        lo = float(self.score[ok].min()) - 1 if ok.any() else -1.0
        hi = float(self.score[ok].max()) + 1 if ok.any() else 2.0
        return np.where(ok, self.score, np.where(self.y == 1, lo, hi))

    def calls(self, threshold: float) -> NDArray[np.int64]:
        """Flagged (1) or not (0) at the threshold; a failed case gets the wrong call."""
        return np.where(self.failed, 1 - self.y, (self.score >= threshold).astype(np.int64))

    def subset(self, mask: NDArray[np.bool_] | NDArray[np.intp]) -> LabelCases:
        """The cases a mask (or ascending indices) selects, their clusters renumbered from 0."""
        picked = self.clusters[mask]
        if bool(np.all(picked[1:] > picked[:-1])):  # one case per cluster, in order (independent cases): no sort
            return LabelCases(self.y[mask], self.score[mask], np.arange(len(picked), dtype=np.int64))
        _, clusters = np.unique(picked, return_inverse=True)
        return LabelCases(self.y[mask], self.score[mask], clusters.astype(np.int64))

    @functools.cached_property
    def clustered(self) -> bool:
        if bool(np.all(self.clusters[1:] > self.clusters[:-1])):  # strictly increasing: every cluster one case
            return False
        return len(np.unique(self.clusters)) < len(self.clusters)


def _ratio(numerator: NDArray[np.int64], denominator: NDArray[np.int64]) -> Statistic:
    num, den = numerator.astype(np.float64), denominator.astype(np.float64)

    def stat(w: NDArray[np.int32]) -> FloatArray:
        wf = w.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray((wf @ num) / (wf @ den), dtype=np.float64)

    return stat


def _proportion_parts(metric: Metric, y: NDArray[np.int64], c: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(numerator, denominator) indicator vectors of a proportion."""
    parts = {
        Metric.SENSITIVITY: (c * y, y), Metric.SPECIFICITY: ((1 - c) * (1 - y), 1 - y),
        Metric.PPV: (c * y, c), Metric.NPV: ((1 - c) * (1 - y), 1 - c), Metric.FLAG_RATE: (c, np.ones_like(c)),
    }
    return parts[metric]


ADJUSTABLE = frozenset({Metric.PPV, Metric.NPV})
"""The metrics a protocol may state at a prevalence of its own."""


def at_prevalence(metric: Metric, sensitivity: FloatArray, specificity: FloatArray, prevalence: float) -> FloatArray:
    """PPV or NPV at `prevalence` from sensitivity and specificity (Bayes' rule), elementwise."""
    hit, miss = sensitivity * prevalence, (1 - sensitivity) * prevalence
    clear, alarm = specificity * (1 - prevalence), (1 - specificity) * (1 - prevalence)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = hit / (hit + alarm) if metric is Metric.PPV else clear / (clear + miss)
    return np.asarray(out, dtype=np.float64)


def point_estimate(metric: Metric, cases: Sequence[LabelCases], threshold: float | None,
                   prevalence: float | None = None) -> float:
    """The metric on all cases (nan where undefined, e.g. no positives).

    AUROC as the exact Mann-Whitney value (`qms.validation.auroc.auroc`: integers and one
    division, the value scikit-learn's trapezoid sum approximates to the last bits); F1 by
    scikit-learn; a proportion by its two counts, the float scikit-learn gives (one correctly
    rounded division). Neither runs scikit-learn's input checks, which cost most of a
    subgroup analysis's time when repeated for every group.
    """
    first = cases[0]
    if prevalence is not None and metric in ADJUSTABLE:
        sens, spec = (point_estimate(m, cases, threshold) for m in (Metric.SENSITIVITY, Metric.SPECIFICITY))
        return float(at_prevalence(metric, np.array(sens), np.array(spec), prevalence))
    if metric in (Metric.AUROC, Metric.MEAN_AUROC):
        values = [auroc(c.ranking_scores(), c.y) for c in cases]
        return float(np.mean(values))
    assert threshold is not None
    y, calls = first.y, first.calls(threshold)
    if metric in (Metric.SENSITIVITY, Metric.SPECIFICITY, Metric.PPV, Metric.NPV):
        k, n = (int(part.sum()) for part in _proportion_parts(metric, y, calls))
        return k / n if n else float("nan")
    if metric is Metric.F1:
        from sklearn.metrics import f1_score  # sklearn (with pandas) costs every importer ~1 s: only for F1

        return float(f1_score(y, calls, zero_division=np.nan))
    return float(calls.mean())


@dataclass(frozen=True)
class CISpec:
    method: CIMethod
    level: float = 0.95
    resamples: int = 2000
    seed: int = 0


def interval(metric: Metric, cases: Sequence[LabelCases], threshold: float | None, ci: CISpec,
             prevalence: float | None = None) -> Interval:
    """Point estimate and interval of one metric; clustered cases use cluster-aware methods.

    `prevalence` (PPV and NPV only) states the metric at that prevalence (`at_prevalence`)."""
    if metric not in ADJUSTABLE:
        prevalence = None
    estimate = point_estimate(metric, cases, threshold, prevalence)
    first = cases[0]
    if ci.method not in ALLOWED_CI[metric] or prevalence is not None and ci.method not in BOOTSTRAP:
        raise ValueError(f"{ci.method.value} is not an interval for {metric.value}"
                         + (" at a stated prevalence" if prevalence is not None else ""))
    if ci.method is CIMethod.DELONG:
        if not 0 < first.y.sum() < len(first.y):
            return Interval(estimate, float("nan"), float("nan"), ci.level, ci.method)
        _, se = delong_se(first.ranking_scores(), first.y, first.clusters if first.clustered else None)
        return wald(estimate, se, ci.level, ci.method)
    if ci.method in (CIMethod.WILSON, CIMethod.CLOPPER_PEARSON):
        assert threshold is not None
        num, den = _proportion_parts(metric, first.y, first.calls(threshold))
        fn = wilson if ci.method is CIMethod.WILSON else clopper_pearson
        lo, hi = fn(int(num.sum()), int(den.sum()), ci.level)
        return Interval(estimate, float(lo), float(hi), ci.level, ci.method)
    if metric in THRESHOLDED and not first.clustered:
        assert threshold is not None
        return cell_bootstrap(of_cells(metric, prevalence), _cells(first, threshold), estimate, resamples=ci.resamples,
                              seed=ci.seed, level=ci.level, method=ci.method)
    statistic, on_draws = _weighted(metric, cases, threshold, prevalence)
    jack = None
    if metric is Metric.AUROC and ci.method is CIMethod.BOOTSTRAP_BCA and not first.clustered:
        jack = auroc_jackknife(first.ranking_scores(), first.y)
    return bootstrap(statistic, estimate, first.clusters, resamples=ci.resamples, seed=ci.seed, level=ci.level,
                     method=ci.method, on_draws=on_draws, jackknife_values=jack)


def _cells(cases: LabelCases, threshold: float) -> NDArray[np.int64]:
    """Confusion-matrix counts (tp, fp, fn, tn) at the threshold, failed cases counted as errors."""
    c, y = cases.calls(threshold), cases.y
    return np.array([np.sum(c * y), np.sum(c * (1 - y)), np.sum((1 - c) * y), np.sum((1 - c) * (1 - y))], dtype=np.int64)


def of_cells(metric: Metric, prevalence: float | None = None) -> Callable[[NDArray[np.int64] | FloatArray], FloatArray]:
    """The metric as a function of rows of (tp, fp, fn, tn), counted or weighted."""
    def stat(cells: NDArray[np.int64] | FloatArray) -> FloatArray:
        tp, fp, fn, tn = (cells[:, i].astype(np.float64) for i in range(4))
        if prevalence is not None:
            with np.errstate(invalid="ignore", divide="ignore"):
                return at_prevalence(metric, tp / (tp + fn), tn / (tn + fp), prevalence)
        num, den = {
            Metric.SENSITIVITY: (tp, tp + fn), Metric.SPECIFICITY: (tn, tn + fp), Metric.PPV: (tp, tp + fp),
            Metric.NPV: (tn, tn + fn), Metric.F1: (2 * tp, 2 * tp + fp + fn), Metric.FLAG_RATE: (tp + fp, tp + fp + fn + tn),
        }[metric]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(num / den, dtype=np.float64)
    return stat


def _weighted(metric: Metric, cases: Sequence[LabelCases], threshold: float | None,
              prevalence: float | None = None) -> tuple[Statistic, DrawStatistic | None]:
    """The metric as a function of case weights (for the bootstrap and the jackknife)."""
    if metric in (Metric.AUROC, Metric.MEAN_AUROC):
        sorted_ = [SortedScores(c.ranking_scores(), c.y) for c in cases]
        if len(sorted_) == 1:
            return sorted_[0].auroc, ScoreBins(cases[0].ranking_scores(), cases[0].y)

        def mean_auroc(w: NDArray[np.int32]) -> FloatArray:
            return np.asarray(np.mean([s.auroc(w) for s in sorted_], axis=0), dtype=np.float64)

        return mean_auroc, None
    assert threshold is not None
    y, calls = cases[0].y, cases[0].calls(threshold)
    if metric is Metric.F1:
        tp = calls * y
        return _ratio(2 * tp, tp + calls * (1 - y) + (1 - calls) * y + tp), None
    if prevalence is not None:
        sens, spec = (_ratio(*_proportion_parts(m, y, calls)) for m in (Metric.SENSITIVITY, Metric.SPECIFICITY))
        return (lambda w: at_prevalence(metric, sens(w), spec(w), prevalence)), None
    return _ratio(*_proportion_parts(metric, y, calls)), None
