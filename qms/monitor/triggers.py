"""The post-market plan's triggers over one window: its metrics per group, with intervals, against its thresholds.

Each instance's groups come from what the service recorded at the door (`Manufacturer`,
`ManufacturerModelName`, `Modality`) and from the labels file's columns (site, sex, age, ...);
an attribute with bins (age) is banded as the bias protocol bands it, and every intersection
the protocol lists (`subgroups.intersections`) is crossed into cells ("F × >=65") as the bias
report crosses them, so a clause on "any group" or a monitored cell judges the cells too. A flag (the score of
the protocol's subgroup label at or above its threshold) needs no ground truth, so
`flag_rate` is watched on all traffic; every other metric only on instances whose truth
arrived. A group is judged only with `min_size` instances (and `min_positives` positives
for a metric that needs them), as the bias report judges it; smaller groups are reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qms.findings import Finding, Severity
from qms.monitor.performance import Truth
from qms.monitor.plan import MonitoringPlan
from qms.monitor.windows import Window
from qms.validation.criteria import CROSS, AttributeSpec, intersection_name
from qms.validation.metrics import LabelCases, Metric, interval
from qms.validation.post_market import Bound, Gap, Scope

__all__ = ["PLAN_TRIGGER", "Labelled", "check_triggers", "labelled_cases"]

PLAN_TRIGGER = "monitor.plan_trigger"
OVERALL = ("overall", "all")
UNKNOWN = "unknown"
Labelled = Mapping[tuple[str, int], tuple[int, Mapping[str, str]]]
"""(request id, instance) -> (truth of the plan's label, the labels file's subgroup columns)."""


def _band(spec: AttributeSpec, value: str) -> str:
    if not spec.bins:
        return value
    try:
        number = float(value.rstrip("Y"))
    except ValueError:
        return "unknown"
    edges = spec.bins
    index = int(np.searchsorted(np.array(edges), number, side="right"))
    return spec.bands[index]


def _groups(plan: MonitoringPlan, inputs: Mapping[str, Any], extra: Mapping[str, str]) -> dict[str, str]:
    """The instance's group for each attribute it has a value of, then its cell of every intersection the protocol
    lists, as the bias report crosses them (a missing part is "unknown" in the cell)."""
    out = {}
    for spec in plan.subgroups.attributes:
        value = extra.get(spec.name) or inputs.get(spec.name)
        if value is not None and str(value).strip():
            out[spec.name] = _band(spec, str(value).strip())
    for combo in plan.subgroups.intersections:
        if any(name in out for name in combo):
            out[intersection_name(combo)] = CROSS.join(out.get(name, UNKNOWN) for name in combo)
    return out


@dataclass(frozen=True)
class _Cases:
    score: np.ndarray
    truth: np.ndarray  # -1 where no truth arrived
    groups: list[dict[str, str]]

    def select(self, attribute: str, value: str, labelled: bool) -> LabelCases:
        mask = np.array([attribute == OVERALL[0] or g.get(attribute) == value for g in self.groups], dtype=bool)
        if labelled:
            mask &= self.truth >= 0
        n = int(mask.sum())
        return LabelCases(np.maximum(self.truth[mask], 0), self.score[mask], np.arange(n, dtype=np.int64))


def _cases(plan: MonitoringPlan, window: Window, labelled: Labelled) -> _Cases:
    scores = window.scores.get(plan.subgroups.label, [])
    truth, groups = [], []
    for case, inputs in zip(window.cases, window.inputs, strict=True):
        y, extra = labelled.get(case, (-1, {}))
        truth.append(y)
        groups.append(_groups(plan, inputs, extra))
    return _Cases(np.array(scores, dtype=np.float64), np.array(truth, dtype=np.int64), groups)


def _measure(plan: MonitoringPlan, metric: Metric, cases: LabelCases) -> dict[str, Any]:
    """n, positives, whether the group is judged, and the metric with its interval (None where undefined)."""
    labelled = metric is not Metric.FLAG_RATE
    n, positives = len(cases.y), int(cases.y.sum()) if labelled else 0
    enough = n >= plan.subgroups.min_size and (not labelled or positives >= plan.subgroups.min_positives)
    defined = n > 0 and (not labelled or metric is Metric.SPECIFICITY or positives > 0)
    if metric in (Metric.AUROC, Metric.SPECIFICITY, Metric.NPV):
        defined = defined and positives < n
    result = interval(metric, [cases], plan.subgroups.threshold, plan.subgroups.ci_for(metric)) if defined else None
    return {"n": n, "positives": positives, "judged": enough and result is not None,
            "interval": result.to_json() if result else None}


def _targets(plan: MonitoringPlan, scope: Scope, cases: _Cases) -> list[tuple[str, str]]:
    if scope is Scope.OVERALL:
        return [OVERALL]
    if scope is Scope.MONITORED:
        return [OVERALL, *plan.monitored]
    return [OVERALL, *sorted({(a, v) for g in cases.groups for a, v in g.items()})]


def _bound_rows(plan: MonitoringPlan, bound: Bound, cases: _Cases) -> list[dict[str, Any]]:
    rows = []
    for attribute, value in _targets(plan, bound.scope, cases):
        row = _measure(plan, bound.metric, cases.select(attribute, value, bound.metric is not Metric.FLAG_RATE))
        iv = row["interval"]
        breached = row["judged"] and bound.breached(iv["estimate"], iv["lower"], iv["upper"])
        rows.append({"trigger": bound.text, "metric": bound.metric.value, "group": f"{attribute}={value}",
                     "statistic": bound.side, **row, "breached": breached})
    return rows


def _gap_row(plan: MonitoringPlan, gap: Gap, cases: _Cases) -> dict[str, Any]:
    values = sorted({g[gap.attribute] for g in cases.groups if gap.attribute in g})
    measured = {v: _measure(plan, gap.metric, cases.select(gap.attribute, v, gap.metric is not Metric.FLAG_RATE))
                for v in values}
    judged = {v: m["interval"]["estimate"] for v, m in measured.items() if m["judged"]}
    spread = max(judged.values()) - min(judged.values()) if len(judged) >= 2 else None
    return {"trigger": gap.text, "metric": gap.metric.value, "group": gap.attribute, "statistic": "gap of estimates",
            "groups": {v: m["interval"] for v, m in measured.items()}, "gap": spread, "judged": spread is not None,
            "breached": spread is not None and spread > gap.value}


def _finding(row: dict[str, Any], window: Window) -> Finding:
    if "gap" in row:
        shown = ", ".join(f"{g} {iv['estimate']:.3f}" for g, iv in row["groups"].items() if iv)
        reason = f"{row['metric']} differs by {row['gap']:.3f} between {row['group']} groups ({shown})"
    else:
        iv = row["interval"]
        reason = (f"{row['metric']} of {row['group']} (n={row['n']}) is {iv['estimate']:.3f} "
                  f"[{iv['lower']:.3f}, {iv['upper']:.3f}]")
    return Finding(PLAN_TRIGGER, f"{row['trigger']}: {row['group']}@{window.name}",
                   f"{reason}: the post-market trigger '{row['trigger']}' is breached", where=f"window {window.name}",
                   hint="the post-market plan's owner evaluates it (bias report, post-market monitoring plan)",
                   severity=Severity.ERROR)


def check_triggers(plan: MonitoringPlan, window: Window, labelled: Labelled) -> tuple[list[dict[str, Any]], list[Finding]]:
    """The plan's metrics in every group (descriptive rows), then every trigger clause of the plan over the window:
    the rows (for the report) and a finding per breach."""
    cases = _cases(plan, window, labelled)
    rows = [{"trigger": "", "metric": metric.value, "group": f"{attribute}={value}", "statistic": "estimate",
             **_measure(plan, metric, cases.select(attribute, value, metric is not Metric.FLAG_RATE)), "breached": False}
            for metric in plan.metrics for attribute, value in _targets(plan, Scope.ANY, cases)]
    for trigger in plan.triggers:
        rows += _bound_rows(plan, trigger, cases) if isinstance(trigger, Bound) else [_gap_row(plan, trigger, cases)]
    return rows, [_finding(r, window) for r in rows if r["breached"]]


def labelled_cases(plan: MonitoringPlan, truths: Sequence[Truth]) -> dict[tuple[str, int], tuple[int, dict[str, str]]]:
    """The labels file's rows of the plan's label, by (request id, instance)."""
    return {(t.request_id, t.instance): (t.truth, dict(t.groups)) for t in truths if t.label == plan.subgroups.label}
