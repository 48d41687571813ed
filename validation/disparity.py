"""Disparity metrics with intervals: the bias criteria, and each subgroup against a reference or its complement.

VALIDATION.md (the subgroup-bias report) asks for disparity metrics against the
reference or complement (difference and ratio of sensitivity, specificity, AUC;
equalized-odds gaps) with confidence intervals. A group is compared with its attribute's
named reference group where the protocol names one (the reference itself gets none),
else with its complement (every other case). Every value here is computed on one set
of patient-level cluster resamples (the subgroups' resamples and seed, drawn in chunks
with child seeds by `qms.validation.intervals`), so a criterion and every disparity share
their resamples and a locked protocol reproduces them exactly. Intervals are percentile
intervals; a resample where a value is undefined (a group not drawn, no positives) is
dropped for that value, and more than half dropped gives no interval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from qms.validation.auroc import SortedScores
from qms.validation.intervals import FloatArray, draws_to_weights, percentile_interval, resample_draws
from qms.validation.metrics import LabelCases, Metric, of_cells
from qms.validation.criteria import BiasCriterion, BiasKind

__all__ = ["Dimension", "DisparityResult", "disparities"]


@dataclass(frozen=True)
class Dimension:
    """One attribute or intersection: each case's group, and the groups a bias criterion may use."""

    name: str
    column: NDArray[np.str_]
    sufficient: tuple[str, ...]
    reference: str | None = None
    """The group every other group is compared with; None: each group with its complement."""


class _Layout:
    """Case -> (group, confusion cell) incidence of every dimension, so resampled counts are one sparse product."""

    def __init__(self, dims: Sequence[Dimension], cases: LabelCases, threshold: float) -> None:
        from scipy import sparse  # scipy loads when disparities are resampled, not when a protocol is read

        c, y = cases.calls(threshold), cases.y
        cell = np.where(c == 1, np.where(y == 1, 0, 1), np.where(y == 1, 2, 3))  # tp, fp, fn, tn
        self.groups: dict[str, list[str]] = {}
        cols, offset = [cell], 4
        for d in dims:
            names, codes = np.unique(d.column, return_inverse=True)
            self.groups[d.name] = [str(g) for g in names]
            cols.append(offset + 4 * codes + cell)
            offset += 4 * len(names)
        n = len(y)
        rows = np.tile(np.arange(n), len(cols))
        self.incidence = sparse.csr_matrix((np.ones(n * len(cols)), (rows, np.concatenate(cols))), shape=(n, offset))
        self.dims = list(dims)

    def counts(self, w: NDArray[np.int32]) -> tuple[FloatArray, dict[str, FloatArray]]:
        """(resamples x 4) overall cells and (resamples x groups x 4) cells per dimension."""
        flat = np.asarray((self.incidence.T @ w.T.astype(np.float64)).T)
        out, offset = {}, 4
        for d in self.dims:
            k = len(self.groups[d.name])
            out[d.name] = flat[:, offset:offset + 4 * k].reshape(len(w), k, 4)
            offset += 4 * k
        return flat[:, :4], out


def _rate(metric: Metric, cells: FloatArray) -> FloatArray:
    return of_cells(metric)(cells.reshape(-1, 4)).reshape(cells.shape[:-1])


def _auc(ss: SortedScores, w: NDArray[np.int32], mask: NDArray[np.bool_]) -> FloatArray:
    """AUROC of the masked cases under each row of weights; nan for an empty side."""
    return ss.auroc(w[:, mask]) if mask.any() else np.full(len(w), np.nan)


def _spread(values: FloatArray) -> FloatArray:
    """Largest minus smallest along the last axis; undefined when any value is."""
    return np.asarray(values.max(axis=-1) - values.min(axis=-1), dtype=np.float64)


class _Values:
    """Every disparity quantity of one batch of case weights, keyed by name."""

    def __init__(self, layout: _Layout, cases: LabelCases, metrics: Sequence[Metric],
                 criteria: Sequence[BiasCriterion]) -> None:
        self.layout, self.metrics, self.criteria = layout, metrics, criteria
        needs_auc = Metric.AUROC in metrics or any(c.metric is Metric.AUROC for c in criteria)
        self.auc: dict[str, dict[str, tuple[SortedScores, SortedScores | None, NDArray[np.bool_]]]] = {}
        if needs_auc:
            scores, y = cases.ranking_scores(), cases.y
            self.overall_auc = SortedScores(scores, y)
            for d in layout.dims:  # a complement's scores only where groups are compared with their complement
                self.auc[d.name] = {g: (SortedScores(scores[m], y[m]),
                                        SortedScores(scores[~m], y[~m]) if d.reference is None else None, m)
                                    for g in layout.groups[d.name] for m in [d.column == g]}

    def __call__(self, w: NDArray[np.int32]) -> dict[tuple[str, ...], FloatArray]:
        overall_cells, cells = self.layout.counts(w)
        out: dict[tuple[str, ...], FloatArray] = {}
        per_group: dict[tuple[str, Metric], FloatArray] = {}  # (dimension, metric) -> resamples x groups
        overall: dict[Metric, FloatArray] = {}
        with np.errstate(invalid="ignore", divide="ignore"):
            for d in self.layout.dims:
                names = self.layout.groups[d.name]
                ref = None if d.reference is None else names.index(d.reference)
                for metric in {*self.metrics, *(c.metric for c in self.criteria if c.metric)}:
                    if metric is Metric.AUROC:
                        if metric not in overall:
                            overall[metric] = self.overall_auc.auroc(w)
                        pairs = [self.auc[d.name][g] for g in names]
                        group = np.stack([_auc(s, w, m) for s, _, m in pairs], axis=1)
                        rest = group[:, [ref]] if ref is not None else \
                            np.stack([_auc(s, w, ~m) for _, s, m in pairs if s is not None], axis=1)
                    else:
                        overall[metric] = _rate(metric, overall_cells)
                        group = _rate(metric, cells[d.name])
                        rest = group[:, [ref]] if ref is not None else \
                            _rate(metric, overall_cells[:, None, :] - cells[d.name])
                    per_group[(d.name, metric)] = group
                    if metric in self.metrics:
                        rest = np.broadcast_to(rest, group.shape)
                        what = "complement" if ref is None else "reference"
                        for i, g in enumerate(names):
                            if i == ref:
                                continue
                            out[(d.name, g, metric.value, "difference")] = group[:, i] - rest[:, i]
                            out[(d.name, g, metric.value, "ratio")] = group[:, i] / rest[:, i]
                            out[(d.name, g, metric.value, what)] = rest[:, i]
            for c in self.criteria:
                out[("criterion", c.id)] = self._criterion(c, per_group, overall, cells)
        return out

    def _criterion(self, c: BiasCriterion, per_group: Mapping[tuple[str, Metric], FloatArray],
                   overall: Mapping[Metric, FloatArray], cells: Mapping[str, FloatArray]) -> FloatArray:
        dim = next(d for d in self.layout.dims if d.name == c.attribute)
        keep = [i for i, g in enumerate(self.layout.groups[dim.name]) if g in dim.sufficient]
        if len(keep) < 2:  # the criterion fails closed (qms.validation.subgroups.evaluate_bias)
            return np.full(len(cells[dim.name]), np.nan)
        if c.kind is BiasKind.MAX_GAP:
            assert c.metric is not None
            gaps = np.abs(per_group[(dim.name, c.metric)][:, keep] - overall[c.metric][:, None])
            return np.asarray(gaps.max(axis=1), dtype=np.float64)
        sub = cells[dim.name][:, keep]
        if c.kind is BiasKind.EQUALIZED_ODDS_DIFFERENCE:
            tpr = _rate(Metric.SENSITIVITY, sub)
            fpr = 1 - _rate(Metric.SPECIFICITY, sub)
            return np.maximum(_spread(tpr), _spread(fpr))
        return _spread(_rate(Metric.FLAG_RATE, sub))


@dataclass(frozen=True)
class DisparityResult:
    """Per (dimension, group, metric): difference and ratio to the reference or complement; per criterion: its interval."""

    groups: dict[tuple[str, str], dict[str, dict[str, dict[str, float]]]]
    criteria: dict[str, tuple[float, float, float]]  # id -> (estimate, lower, upper)
    level: float


def disparities(
    dims: Sequence[Dimension], cases: LabelCases, threshold: float, metrics: Sequence[Metric],
    criteria: Sequence[BiasCriterion], *, resamples: int, seed: int, level: float, group_levels: Mapping[Metric, float],
) -> DisparityResult:
    """Point values and percentile intervals of every disparity, on shared patient-level resamples.

    Criteria use `level`; a group's disparities use its metric's (possibly Bonferroni-adjusted) level.
    """
    layout = _Layout(dims, cases, threshold)
    values = _Values(layout, cases, metrics, [c for c in criteria if c.attribute in layout.groups])
    estimate = {k: float(v[0]) for k, v in values(np.ones((1, len(cases.y)), dtype=np.int32)).items()}
    batches: dict[tuple[str, ...], list[FloatArray]] = {k: [] for k in estimate}
    n_clusters = int(cases.clusters.max()) + 1
    for draws in resample_draws(n_clusters, resamples, seed):
        for k, v in values(draws_to_weights(draws, cases.clusters)).items():
            batches[k].append(v)
    bounds = {k: percentile_interval(np.concatenate(v), estimate[k], resamples,
                                     level if k[0] == "criterion" else group_levels[Metric(k[2])])
              for k, v in batches.items()}
    groups: dict[tuple[str, str], dict[str, dict[str, dict[str, float]]]] = {}
    for k, (lo, hi) in bounds.items():
        if k[0] != "criterion":
            dim, g, metric, what = k
            entry = groups.setdefault((dim, g), {}).setdefault(metric, {})
            entry[what] = {"estimate": estimate[k], "lower": lo, "upper": hi, "level": group_levels[Metric(metric)]}
    crit = {k[1]: (estimate[k], lo, hi) for k, (lo, hi) in bounds.items() if k[0] == "criterion"}
    return DisparityResult(groups, crit, level)
