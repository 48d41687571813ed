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
from typing import TYPE_CHECKING, Any, TypedDict, cast

import numpy as np
from numpy.typing import NDArray

from qms.errors import QmsError
from qms.validation import calibration
from qms.validation.disparity import Dimension, disparities
from qms.validation.manifest import AttributeValue
from qms.validation.metrics import CISpec, LabelCases, Metric, interval
from qms.validation.criteria import (
    CROSS, AttributeSpec, BiasCriterion, BiasKind, Multiplicity, Subgroups, intersection_name,
)

if TYPE_CHECKING:  # pandas and fairlearn load when an analysis runs, not when a protocol is read
    import pandas as pd

__all__ = [
    "BiasResult", "GroupResult", "GroupValue", "INSUFFICIENT", "UNKNOWN", "analyse", "check_references",
    "dimensions", "evaluate_bias", "groups_of", "with_disparities",
]

UNKNOWN = "unknown"
INSUFFICIENT = "insufficient, descriptive only"


def dimensions(spec: Subgroups, attributes: Mapping[str, Sequence[AttributeValue]]) -> dict[str, NDArray[np.str_]]:
    """Each case's group for every attribute, then its cell for every intersection ("unknown" kept as a value)."""
    return {name: names[codes] for name, (names, codes) in _coded_dimensions(spec, attributes).items()}


Coded = tuple[NDArray[np.str_], NDArray[np.intp]]
"""A dimension factorized: its groups (sorted, each observed) and each case's index into them."""


def _coded_dimensions(spec: Subgroups, attributes: Mapping[str, Sequence[AttributeValue]]) -> dict[str, Coded]:
    """`dimensions` as codes: each attribute hashed once, intersections crossed on the codes, not on the strings."""
    coded = {a.name: _coded(attributes[a.name], a) for a in spec.attributes}
    for a in spec.attributes:
        if a.reference is not None:
            _check_reference(a, coded[a.name][0])
    for combo in spec.intersections:
        coded[intersection_name(combo)] = _crossed([coded[name] for name in combo])
    return coded


def _coded(values: Sequence[AttributeValue], attribute: AttributeSpec) -> Coded:
    """`groups_of` factorized. Plain strings (the usual case) are hashed once in a dict and never turned into a
    per-case string array; anything else (bins, numbers, missing markers) goes through `groups_of`."""
    if not attribute.bins and len(values) and set(map(type, values)) <= {str, np.str_}:
        index: dict[str, int] = {}
        put = index.setdefault
        first = np.array([put(v, len(index)) for v in cast(Sequence[str], values)], dtype=np.intp)
        width = max(len(UNKNOWN), *(len(k) for k in index))  # groups_of's dtype: max(value width, "unknown")
        named = np.array([UNKNOWN if k == "" else str(k) for k in index], dtype=f"<U{width}")
        names, remap = np.unique(named, return_inverse=True)  # "" and "unknown" are one group
        return names, remap.reshape(-1)[first]
    return _factorized(groups_of(values, attribute))


def _factorized(col: NDArray[np.str_]) -> Coded:
    """A column's sorted groups and each case's index into them: one hashing pass, not a string compare per group."""
    import pandas as pd

    codes, names = pd.factorize(col, sort=True)
    return np.asarray(names, dtype=col.dtype), np.asarray(codes, dtype=np.intp)


def _crossed(parts: Sequence[Coded]) -> Coded:
    """The intersection of coded dimensions: its observed cells named as `dimensions` names them, sorted."""
    sizes = [len(names) for names, _ in parts]
    if float(np.prod(sizes, dtype=np.float64)) > 2 ** 62:  # mixed-radix key would overflow: cross the strings
        return _factorized(reduce(lambda a, b: np.char.add(np.char.add(a, CROSS), b), [n[c] for n, c in parts]))
    key = np.zeros(len(parts[0][1]), dtype=np.int64)
    for size, (_, codes) in zip(sizes, parts, strict=True):
        key = key * size + codes
    span = int(np.prod(sizes, dtype=np.int64))
    if span <= 4 * len(key) + 4096:  # few possible cells: count them in one pass instead of sorting the keys
        present = np.flatnonzero(np.bincount(key, minlength=span))
        lookup = np.zeros(span, dtype=np.intp)
        lookup[present] = np.arange(len(present))
        inverse = lookup[key]
    else:
        present, inverse = np.unique(key, return_inverse=True)
    digits, rest = [], present
    for size in reversed(sizes):
        rest, digit = np.divmod(rest, size)
        digits.append(digit)
    cells = reduce(lambda a, b: np.char.add(np.char.add(a, CROSS), b),
                   [names[d] for (names, _), d in zip(parts, reversed(digits), strict=True)])
    names, remap = np.unique(cells, return_inverse=True)  # a cell name made twice (CROSS in a value) is one group
    return names, remap.reshape(-1)[inverse.reshape(-1)]


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
    import pandas as pd

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

    def failure_reason(self) -> str:
        """Why the criterion failed, as a run's verdict lists it: the bounded statistic against its tolerance, or why
        it could not be evaluated (the scoring and the report-generation analyses word it alike)."""
        c = self.criterion
        x, what = (self.upper, f"upper {self.level:.0%} bound") if c.on == "upper" else (self.value, "value")
        if x != x:
            return f"bias criterion {c.id}: {self.detail}" + ("; its upper bound is undefined" if c.on == "upper" else "")
        return f"bias criterion {c.id}: {self.detail}; {what} {x:.4f} exceeds {c.max:g}"

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
    coded = _coded_dimensions(spec, attributes)
    family = _family(spec, [len(names) for names, _ in coded.values()])
    cis = {m: _group_level(spec.ci_for(m), family, multiplicity) for m in spec.metrics}
    cal = spec.calibration
    cal_level = _group_level(cal.ci, family, multiplicity).level if cal else 0.0
    parts = {intersection_name(c): tuple(c) for c in spec.intersections}
    rows: list[GroupResult] = []
    for name, (names, codes) in coded.items():
        members = _members(names, codes)
        frames = _metric_frames(spec.metrics, cases, calls, names, codes)
        for group, rows_of in members:
            sub = cases.subset(rows_of)
            n, pos = len(rows_of), int(sub.y.sum())
            sufficient = n >= spec.min_size and pos >= spec.min_positives
            values: dict[str, GroupValue] = {}
            flags = [] if sufficient else [INSUFFICIENT]
            below: dict[str, float] = {}
            for metric in spec.metrics:
                iv = interval(metric, [sub], spec.threshold, cis[metric])
                # AUROC: the interval's own point value, the exact Mann-Whitney statistic `_metric_frames` documents
                est = iv.estimate if metric is Metric.AUROC else float(frames[metric].loc[group])
                values[metric.value] = {"estimate": est, "lower": iv.lower, "upper": iv.upper,
                                        "level": iv.level, "method": iv.method.value}
                goal = goals.get(metric)
                if goal is not None and not iv.lower >= goal:
                    flags.append(f"{metric.value} lower bound below the performance goal {goal:g}")
                    below[metric.value] = goal
            rows.append(GroupResult(name, str(group), n, pos, sufficient, values, tuple(flags), parts.get(name, ()),
                                    below_goal=below,
                                    calibration=calibration.measures(sub, cal, cal_level) if cal else None))
    return rows, {name: names[codes] for name, (names, codes) in coded.items()}


def _family(spec: Subgroups, groups: Sequence[int]) -> int:
    """The multiplicity family: every group and cell of every attribute and intersection (`groups`: how many each
    has), times each interval it gets."""
    per_group = len(spec.metrics) + (2 if spec.calibration else 0)  # calibration: in-the-large and ECE
    return sum(groups) * per_group


def _levels(spec: Subgroups, columns: Mapping[str, NDArray[np.str_]], multiplicity: Multiplicity) -> dict[Metric, CISpec]:
    """Each metric's per-group interval, Bonferroni-adjusted over the family (`_family`) when the protocol says so."""
    family = _family(spec, [len(np.unique(c)) for c in columns.values()])
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


def _members(names: NDArray[np.str_], codes: NDArray[np.intp]) -> list[tuple[str, NDArray[np.intp]]]:
    """Each group (sorted) with its cases' indices in ascending order: one stable sort of the codes for all groups
    (a radix sort when they fit 16 bits), not a mask per group."""
    small = codes.astype(np.uint16) if len(names) <= 1 << 16 else codes
    order = np.argsort(small, kind="stable")
    return list(zip((str(g) for g in names), np.split(order, np.cumsum(np.bincount(codes, minlength=len(names)))[:-1]),
                    strict=True))


def _metric_frames(metrics: Sequence[Metric], cases: LabelCases, calls: NDArray[np.int64], names: NDArray[np.str_],
                   codes: NDArray[np.intp]) -> dict[Metric, pd.Series]:
    """Per-group values: confusion-matrix metrics by fairlearn's MetricFrame (AUROC: `interval`'s estimate).

    MetricFrame runs on the distinct (group, reference, call) cells with their counts as
    sample weights, which gives exactly the per-case values at a cost independent of the
    number of cases. Per-group AUROC is the Mann-Whitney statistic of `qms.validation.auroc`
    (equal to sklearn's roc_auc_score, tests/validation/test_auroc.py) that `interval` computes as its
    estimate anyway: taken from there rather than ranked twice.
    """
    import pandas as pd
    from fairlearn.metrics import MetricFrame

    frames: dict[Metric, pd.Series] = {}
    thresholded = [m for m in metrics if m is not Metric.AUROC]
    if thresholded:
        cells = _cells(names, codes, cases.y, calls)
        mf = MetricFrame(metrics={m.value: _weighted_metric(m) for m in thresholded}, y_true=cells["y"].to_numpy(),
                         y_pred=cells["c"].to_numpy(), sensitive_features=cells["g"].to_numpy(),
                         sample_params={m.value: {"sample_weight": cells["w"].to_numpy()} for m in thresholded})
        for m in thresholded:
            frames[m] = mf.by_group[m.value]
    return frames


def _cells(names: NDArray[np.str_], codes: NDArray[np.intp], y: NDArray[np.int64], calls: NDArray[np.int64]) -> pd.DataFrame:
    """The distinct (group, reference, call) cells with their counts `w`: one bincount over all groups."""
    import pandas as pd

    binary = bool(np.all((y == 0) | (y == 1)))
    if not binary:  # not a 0/1 label: count the cells as they come
        cells = pd.DataFrame({"g": names[codes], "y": y, "c": calls}).value_counts().reset_index(name="w")
    else:
        counts = np.bincount(codes * 4 + y * 2 + calls, minlength=4 * len(names))
        cell = np.flatnonzero(counts)
        cells = pd.DataFrame({"g": names[cell // 4], "y": (cell // 2) % 2, "c": cell % 2, "w": counts[cell]})
    if len(cells) == 1:  # MetricFrame squeezes a one-row feature array to 0-d and refuses it: add a weightless copy
        cells = pd.concat([cells, cells.assign(w=0)], ignore_index=True)
    return cells


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
    import pandas as pd
    from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference

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
    import pandas as pd

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

