"""Subgroup analysis and bias criteria (VALIDATION.md, "the subgroup-bias report").

Per-group values come from fairlearn's MetricFrame; each group also gets its own
interval by the protocol's method (Bonferroni-adjusted when the multiplicity statement
says so). A group below the minimum size or number of positives is still reported,
flagged "insufficient, descriptive only", and takes no part in a bias criterion; a
missing attribute value is its own group, "unknown". A bias criterion that cannot be
evaluated (fewer than two sufficient groups) fails closed. Intersections cross two or more
attributes into cells reported like any group, and a criterion may be on an intersection's
sufficient cells. Every group and cell also gets its disparity to its attribute's named
reference group or else to its complement, and every criterion its interval
(`qms.validation.disparity`); `max` bounds the criterion's estimate or, with `on: upper`,
its upper bound. With `subgroups.calibration` each group also gets its calibration
(`qms.validation.calibration`), and each criterion names the groups that make its value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import reduce
from typing import Any, TypedDict

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, demographic_parity_difference, equalized_odds_difference
from numpy.typing import NDArray

from qms.errors import QmsError
from qms.validation import calibration
from qms.validation.auroc import auroc
from qms.validation.disparity import Dimension, disparities
from qms.validation.manifest import AttributeValue
from qms.validation.metrics import CISpec, LabelCases, Metric, interval
from qms.validation.criteria import (
    CROSS, AttributeSpec, BiasCriterion, BiasKind, Multiplicity, Subgroups, intersection_name,
)

__all__ = [
    "BiasResult", "GroupResult", "GroupValue", "INSUFFICIENT", "UNKNOWN", "analyse", "check_references",
    "dimensions", "evaluate_bias", "groups_of", "with_disparities",
]

UNKNOWN = "unknown"
INSUFFICIENT = "insufficient, descriptive only"


def dimensions(spec: Subgroups, attributes: Mapping[str, Sequence[AttributeValue]]) -> dict[str, NDArray[np.str_]]:
    """Each case's group for every attribute, then its cell for every intersection ("unknown" kept as a value)."""
    columns = {a.name: groups_of(attributes[a.name], a) for a in spec.attributes}
    for a in spec.attributes:
        _check_reference(a, columns[a.name])
    for combo in spec.intersections:
        columns[intersection_name(combo)] = reduce(lambda a, b: np.char.add(np.char.add(a, CROSS), b),
                                                   [columns[name] for name in combo])
    return columns


def check_references(spec: Subgroups, attributes: Mapping[str, Sequence[AttributeValue]]) -> None:
    """Refuse, before anything runs, a named reference group that no case of the dataset falls in."""
    for a in spec.attributes:
        if a.reference is not None:
            _check_reference(a, groups_of(attributes[a.name], a))


def _check_reference(a: AttributeSpec, column: NDArray[np.str_]) -> None:
    if a.reference is not None and not np.any(column == a.reference):
        observed = sorted(str(g) for g in np.unique(column))
        raise QmsError(f"reference group {a.reference!r} of {a.name} is not observed in the dataset",
                       where=a.reference_at or None, hint=f"observed groups: {', '.join(observed)}")


def groups_of(values: Sequence[AttributeValue], attribute: AttributeSpec) -> NDArray[np.str_]:
    """Each case's group: its band [lo, hi) when the attribute has bins, else the value; missing is "unknown"."""
    raw = np.empty(len(values), dtype=object)
    raw[:] = values
    missing = pd.isna(raw) | (raw == "")
    if not attribute.bins:
        return np.where(missing, UNKNOWN, raw.astype(str))
    numbers = np.full(len(raw), np.nan)
    for i, v in enumerate(raw):
        try:
            numbers[i] = float(v)
        except (TypeError, ValueError):
            pass
    names = np.array(attribute.bands)
    bands = names[np.digitize(np.nan_to_num(numbers, nan=0.0), attribute.bins)]
    return np.where(missing | np.isnan(numbers), UNKNOWN, bands)


def _weighted_metric(metric: Metric) -> Any:
    """A confusion-matrix metric on (y, call) rows with sample weights, nan where undefined."""
    def fn(y_true: Any, y_pred: Any, sample_weight: Any) -> float:
        y, c, w = (np.asarray(a, dtype=np.float64) for a in (y_true, y_pred, sample_weight))
        tp, fp = float(w @ (y * c)), float(w @ ((1 - y) * c))
        fn_, tn = float(w @ (y * (1 - c))), float(w @ ((1 - y) * (1 - c)))
        num, den = {
            Metric.SENSITIVITY: (tp, tp + fn_), Metric.SPECIFICITY: (tn, tn + fp), Metric.PPV: (tp, tp + fp),
            Metric.NPV: (tn, tn + fn_), Metric.F1: (2 * tp, 2 * tp + fp + fn_), Metric.FLAG_RATE: (tp + fp, w.sum()),
        }[metric]
        return num / den if den > 0 else float("nan")
    return fn


class GroupValue(TypedDict):
    """One metric of one group: the MetricFrame estimate and the group's own interval."""

    estimate: float
    lower: float
    upper: float
    level: float
    method: str


@dataclass(frozen=True)
class GroupResult:
    attribute: str
    group: str
    n: int
    positives: int
    sufficient: bool
    values: Mapping[str, GroupValue]
    flags: tuple[str, ...]
    intersection: tuple[str, ...] = ()
    disparity: Mapping[str, Mapping[str, Mapping[str, float]]] = field(default_factory=dict)
    """Per metric: `difference` and `ratio` to the comparator, and the comparator's value under its name:
    `complement` (all other cases) or `reference` (the attribute's named reference group, which has none itself)."""
    below_goal: Mapping[str, float] = field(default_factory=dict)
    """Metric -> the performance goal its interval's lower bound falls below."""
    calibration: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"attribute": self.attribute, "group": self.group, "n": self.n, "positives": self.positives,
                "negatives": self.n - self.positives, "prevalence": self.positives / self.n if self.n else None,
                "sufficient": self.sufficient, "metrics": {k: dict(v) for k, v in self.values.items()},
                "flags": list(self.flags), "below_goal": dict(self.below_goal),
                "intersection": list(self.intersection) or None,
                "disparity": {m: {k: dict(v) for k, v in d.items()} for m, d in self.disparity.items()},
                "calibration": self.calibration}


@dataclass(frozen=True)
class BiasResult:
    criterion: BiasCriterion
    value: float
    passed: bool
    detail: str
    lower: float = float("nan")
    upper: float = float("nan")
    level: float | None = None
    groups: tuple[str, ...] = ()
    """The groups that make the value: the one with the largest gap, or the highest and the lowest rate."""

    def to_json(self) -> dict[str, Any]:
        c = self.criterion

        def num(x: float) -> float | None:
            return None if x != x else x

        return {"id": c.id, "kind": c.kind.value, "attribute": c.attribute, "intersection": list(c.intersection) or None,
                "groups": list(self.groups), "metric": c.metric.value if c.metric else None,
                "max": c.max, "on": c.on, "value": num(self.value), "lower": num(self.lower), "upper": num(self.upper),
                "level": self.level, "ci_method": "bootstrap-percentile (patient-level cluster)",
                "verdict": "pass" if self.passed else "fail", "detail": self.detail}


def _group_level(ci: CISpec, family: int, multiplicity: Multiplicity) -> CISpec:
    """Bonferroni: each of `family` intervals at 1 - alpha/family, so together they hold at 1 - alpha."""
    if multiplicity is Multiplicity.BONFERRONI and family > 1:
        return CISpec(ci.method, 1 - (1 - ci.level) / family, ci.resamples, ci.seed)
    return ci


def analyse(
    spec: Subgroups, cases: LabelCases, attributes: Mapping[str, Sequence[AttributeValue]], multiplicity: Multiplicity,
    goals: Mapping[Metric, float],
) -> tuple[list[GroupResult], dict[str, NDArray[np.str_]]]:
    """Every group of every attribute with its n, prevalence, metrics and intervals, and each case's group."""
    calls = cases.calls(spec.threshold)
    columns = dimensions(spec, attributes)
    cis = _levels(spec, columns, multiplicity)
    cal = spec.calibration
    cal_level = _group_level(cal.ci, _family(spec, columns), multiplicity).level if cal else 0.0
    parts = {intersection_name(c): tuple(c) for c in spec.intersections}
    rows: list[GroupResult] = []
    for name, col in columns.items():
        members = _members(col)
        frames = _metric_frames(spec.metrics, cases, calls, col, members)
        for group, rows_of in members:
            sub = cases.subset(rows_of)
            n, pos = len(rows_of), int(sub.y.sum())
            sufficient = n >= spec.min_size and pos >= spec.min_positives
            values: dict[str, GroupValue] = {}
            flags = [] if sufficient else [INSUFFICIENT]
            below: dict[str, float] = {}
            for metric in spec.metrics:
                iv = interval(metric, [sub], spec.threshold, cis[metric])
                est = float(frames[metric].loc[group])
                values[metric.value] = {"estimate": est, "lower": iv.lower, "upper": iv.upper,
                                        "level": iv.level, "method": iv.method.value}
                goal = goals.get(metric)
                if goal is not None and not iv.lower >= goal:
                    flags.append(f"{metric.value} lower bound below the performance goal {goal:g}")
                    below[metric.value] = goal
            rows.append(GroupResult(name, str(group), n, pos, sufficient, values, tuple(flags), parts.get(name, ()),
                                    below_goal=below,
                                    calibration=calibration.measures(sub, cal, cal_level) if cal else None))
    return rows, columns


def _family(spec: Subgroups, columns: Mapping[str, NDArray[np.str_]]) -> int:
    """The multiplicity family: every group and cell of every attribute and intersection, times each interval it gets."""
    per_group = len(spec.metrics) + (2 if spec.calibration else 0)  # calibration: in-the-large and ECE
    return sum(len(np.unique(c)) for c in columns.values()) * per_group


def _levels(spec: Subgroups, columns: Mapping[str, NDArray[np.str_]], multiplicity: Multiplicity) -> dict[Metric, CISpec]:
    """Each metric's per-group interval, Bonferroni-adjusted over the family (`_family`) when the protocol says so."""
    family = _family(spec, columns)
    return {m: _group_level(spec.ci_for(m), family, multiplicity) for m in spec.metrics}


def with_disparities(
    spec: Subgroups, cases: LabelCases, rows: Sequence[GroupResult], columns: Mapping[str, NDArray[np.str_]],
    criteria: Sequence[BiasCriterion], multiplicity: Multiplicity,
) -> tuple[list[GroupResult], dict[str, tuple[float, float, float]]]:
    """Rows with their disparities to the reference group or the complement, and each criterion's (estimate, lower,
    upper), on shared resamples."""
    dims = [Dimension(name, col, tuple(r.group for r in rows if r.attribute == name and r.sufficient),
                      spec.reference_of(name)) for name, col in columns.items()]
    levels = {m: ci.level for m, ci in _levels(spec, columns, multiplicity).items()}
    result = disparities(dims, cases, spec.threshold, spec.metrics, criteria, resamples=spec.ci.resamples,
                         seed=spec.ci.seed, level=spec.ci.level, group_levels=levels)
    return [replace(r, disparity=result.groups.get((r.attribute, r.group), {})) for r in rows], result.criteria


def _members(col: NDArray[np.str_]) -> list[tuple[str, NDArray[np.intp]]]:
    """Each group (sorted) with its cases' indices in ascending order: one hashing pass, not a string compare per group."""
    codes, names = pd.factorize(col, sort=True)
    order = np.argsort(codes, kind="stable")
    return list(zip((str(g) for g in names), np.split(order, np.cumsum(np.bincount(codes, minlength=len(names)))[:-1]),
                    strict=True))


def _metric_frames(metrics: Sequence[Metric], cases: LabelCases, calls: NDArray[np.int64], col: NDArray[np.str_],
                   members: Sequence[tuple[str, NDArray[np.intp]]]) -> dict[Metric, pd.Series]:
    """Per-group values: confusion-matrix metrics by fairlearn's MetricFrame, AUROC by the rank statistic.

    MetricFrame runs on the distinct (group, reference, call) cells with their counts as
    sample weights, which gives exactly the per-case values at a cost independent of the
    number of cases. Per-group AUROC is the Mann-Whitney statistic of
    `qms.validation.auroc`, equal to sklearn's roc_auc_score (tests/validation/test_auroc.py).
    """
    frames: dict[Metric, pd.Series] = {}
    thresholded = [m for m in metrics if m is not Metric.AUROC]
    if thresholded:
        cells = pd.DataFrame({"g": col, "y": cases.y, "c": calls}).value_counts().reset_index(name="w")
        mf = MetricFrame(metrics={m.value: _weighted_metric(m) for m in thresholded}, y_true=cells["y"].to_numpy(),
                         y_pred=cells["c"].to_numpy(), sensitive_features=cells["g"].to_numpy(),
                         sample_params={m.value: {"sample_weight": cells["w"].to_numpy()} for m in thresholded})
        for m in thresholded:
            frames[m] = mf.by_group[m.value]
    if Metric.AUROC in metrics:
        scores = cases.ranking_scores()
        frames[Metric.AUROC] = pd.Series({g: _auroc_or_nan(scores[i], cases.y[i]) for g, i in members})
    return frames


def _auroc_or_nan(scores: NDArray[np.float64], y: NDArray[np.int64]) -> float:
    return auroc(scores, y) if 0 < y.sum() < len(y) else float("nan")


def evaluate_bias(
    criteria: Sequence[BiasCriterion], spec: Subgroups, cases: LabelCases, rows: Sequence[GroupResult],
    columns: Mapping[str, NDArray[np.str_]], overall: Mapping[Metric, float],
    intervals: Mapping[str, tuple[float, float, float]] | None = None,
) -> list[BiasResult]:
    """Each criterion on the sufficient groups only; fewer than two such groups fails closed.

    `max` bounds the criterion's estimate, or with `on: upper` its interval's upper bound
    (`intervals`: id -> (estimate, lower, upper) from `with_disparities`); an undefined bound fails.

    fairlearn's differences run on the distinct (group, reference, call) cells weighted by
    their counts: the same values as on the cases, at a cost independent of their number.
    """
    calls = cases.calls(spec.threshold)
    out = []
    for c in criteria:
        groups = [r for r in rows if r.attribute == c.attribute and r.sufficient]
        if len(groups) < 2:
            out.append(BiasResult(c, float("nan"), False, f"fewer than two groups of {c.attribute} meet the minimum size"))
            continue
        keep = np.isin(columns[c.attribute], [g.group for g in groups])
        cells = pd.DataFrame({"g": columns[c.attribute][keep], "y": cases.y[keep], "c": calls[keep]}).value_counts()
        cells = cells.reset_index(name="w")
        args = (cells["y"].to_numpy(), cells["c"].to_numpy())
        kw = {"sensitive_features": cells["g"].to_numpy(), "sample_weight": cells["w"].to_numpy()}
        if c.kind is BiasKind.MAX_GAP:
            assert c.metric is not None
            ref = overall[c.metric]
            name = c.metric.value
            if any(g.values[name]["estimate"] != g.values[name]["estimate"] for g in groups) or ref != ref:
                out.append(BiasResult(c, float("nan"), False, f"{name} is undefined in a group or overall"))
                continue
            worst = max(groups, key=lambda g: abs(g.values[name]["estimate"] - ref))
            value = abs(worst.values[name]["estimate"] - ref)
            detail = f"largest gap to overall {c.metric.value} {ref:.4f}: group {worst.group}"
            extremes: tuple[str, ...] = (worst.group,)
        elif c.kind is BiasKind.EQUALIZED_ODDS_DIFFERENCE:
            value = float(equalized_odds_difference(*args, **kw))
            rate, extremes = _extremes(cells, c.kind)
            detail = "fairlearn equalized_odds_difference (larger of the TPR and FPR gaps between groups)" + (
                f"; widest: {rate}, {' vs '.join(extremes)}" if extremes else "")
        else:
            value = float(demographic_parity_difference(*args, **kw))
            _, extremes = _extremes(cells, c.kind)
            detail = "flag-rate parity: largest difference in the share of cases flagged between groups" + (
                f" ({' vs '.join(extremes)})" if extremes else "")
        lo, hi = (intervals or {}).get(c.id, (value, float("nan"), float("nan")))[1:]
        bounded = hi if c.on == "upper" else value
        if c.on == "upper":
            detail += f"; max applies to the upper {spec.ci.level:.0%} bound"
        out.append(BiasResult(c, value, bool(bounded <= c.max), detail, lo, hi, spec.ci.level if intervals else None,
                              extremes))
    return out


def _extremes(cells: pd.DataFrame, kind: BiasKind) -> tuple[str, tuple[str, ...]]:
    """The rate whose spread is the criterion's value, and the groups with its highest and its lowest value."""
    w, y, c = (cells[k].to_numpy(dtype=np.float64) for k in ("w", "y", "c"))
    sums = pd.DataFrame({"g": cells["g"], "tp": w * y * c, "pos": w * y, "fp": w * (1 - y) * c, "neg": w * (1 - y),
                         "flag": w * c, "n": w}).groupby("g").sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind is BiasKind.EQUALIZED_ODDS_DIFFERENCE:
            tpr, fpr = (sums["tp"] / sums["pos"]).dropna(), (sums["fp"] / sums["neg"]).dropna()
            spread = [float(r.max() - r.min()) if len(r) else -1.0 for r in (tpr, fpr)]
            name, rates = ("true-positive rate", tpr) if spread[0] >= spread[1] else ("false-positive rate", fpr)
        else:
            name, rates = "flag rate", (sums["flag"] / sums["n"]).dropna()
    top, bottom = (str(rates.idxmax()), str(rates.idxmin())) if len(rates) else ("", "")
    return name, (top, bottom) if top != bottom else ()

