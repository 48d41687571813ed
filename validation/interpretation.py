"""Interpretation of the subgroup results (VALIDATION.md, bias report: relevance, confounding, labeling limitation).

The protocol states the clinical relevance and the mitigation (`interpretation`); the
rest is computed from the run for every group that is flagged (below the minimum size, a
lower bound below the performance goal) or that a failed bias criterion names:

- confounding by prevalence: the group's prevalence against the label's overall; more
  than PREVALENCE_FACTOR apart either way is reported as differing (PPV, NPV and the
  flag rate move with prevalence, so a gap in them may be case mix, not performance);
- confounding by site, manufacturer or severity: the group's make-up over each
  confounder attribute against the whole test set, as the total variation distance and
  the most over-represented value; MAKE_UP_DISTANCE or more is reported as differing;
- precision: whether the group is simply too small (below the minimum), or its interval
  is wide (every estimate meets its goal and only the lower bounds miss: "wide interval"),
  or an estimate is itself below its goal ("below goal");

and a proposed labeling limitation for each such group. Confounders are the protocol's
`interpretation.confounders`, else the subgroup attributes named like a site or a
manufacturer (SITE_LIKE).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from qms.validation.criteria import Subgroups
from qms.validation.protocolreader import ProtocolReader

if TYPE_CHECKING:
    from qms.validation.subgroups import BiasResult, GroupResult

__all__ = [
    "InterpretationSpec", "MAKE_UP_DISTANCE", "PREVALENCE_FACTOR", "SITE_LIKE", "confounders", "interpret",
    "minimum", "parse",
]

PREVALENCE_FACTOR = 1.5
MAKE_UP_DISTANCE = 0.2
SITE_LIKE = frozenset({"site", "institutionname", "stationname", "manufacturer", "manufacturermodelname"})
"""Attribute names (lower case) taken as confounders when the protocol names none: DICOM keywords and `site`."""


@dataclass(frozen=True)
class InterpretationSpec:
    clinical_relevance: str
    mitigation: str
    confounders: tuple[str, ...] | None = None
    """Attributes whose make-up is reported for each flagged group; None: those in SITE_LIKE."""


def parse(p: ProtocolReader, subgroups: Subgroups | None) -> InterpretationSpec | None:
    """`interpretation: {clinical_relevance, mitigation, confounders}`: the protocol-stated parts."""
    path = ("interpretation",)
    if not p.has(path):
        return None
    p.keys(path, {"clinical_relevance", "mitigation", "confounders", "notes"})
    if subgroups is None:
        raise p.fail(path, "an interpretation needs a subgroups section")
    names = {a.name for a in subgroups.attributes}
    confounders = None
    if p.has((*path, "confounders")):
        confounders = p.strings((*path, "confounders"))
        for i, name in enumerate(confounders):
            if name not in names:
                raise p.fail((*path, "confounders", i), f"confounder {name!r} is not a subgroup attribute",
                             hint=f"subgroup attributes: {', '.join(sorted(names))}")
    return InterpretationSpec(p.text((*path, "clinical_relevance")), p.text((*path, "mitigation")), confounders)


def confounders(spec: InterpretationSpec | None, subgroups: Subgroups) -> tuple[str, ...]:
    if spec is not None and spec.confounders is not None:
        return spec.confounders
    return tuple(a.name for a in subgroups.attributes if a.name.lower() in SITE_LIKE)


def _shares(column: NDArray[np.str_]) -> dict[str, float]:
    values, counts = np.unique(column, return_counts=True)
    return {str(v): float(c) / len(column) for v, c in zip(values, counts, strict=True)} if len(column) else {}


def _num(x: float) -> str:
    return "undefined" if x != x else f"{x:.3f}"


def _make_up(row: GroupResult, mask: NDArray[np.bool_], columns: Mapping[str, NDArray[np.str_]],
             overall: Mapping[str, dict[str, float]]) -> list[dict[str, Any]]:
    """The group's share of each confounder value against the test set's (a confounder it is defined by is skipped)."""
    out = []
    for name, base in overall.items():
        if name == row.attribute or name in row.intersection:
            continue
        own = _shares(columns[name][mask])
        distance = 0.5 * sum(abs(own.get(v, 0.0) - q) for v, q in base.items())
        top = max(base, key=lambda v: own.get(v, 0.0) - base[v])
        out.append({"attribute": name, "value": top, "share": own.get(top, 0.0), "overall_share": base[top],
                    "distance": float(distance), "differs": bool(distance >= MAKE_UP_DISTANCE)})
    return out


def minimum(subgroups: Subgroups) -> str:
    """The pre-specified minimum in words: "30 cases and 10 positives" (or cases alone)."""
    return f"{subgroups.min_size} cases" + (f" and {subgroups.min_positives} positives" if subgroups.min_positives else "")


def _reasons(row: GroupResult, subgroups: Subgroups, failing: Mapping[tuple[str, str], list[str]]) -> list[str]:
    reasons = [] if row.sufficient else [
        f"insufficient: {row.n} cases, {row.positives} positives (minimum {minimum(subgroups)})"]
    for metric, goal in row.below_goal.items():
        v = row.values[metric]
        reasons.append(f"{metric} lower {v['level'] * 100:.4g} % bound {_num(v['lower'])} below the performance goal {goal:g}")
    return reasons + failing.get((row.attribute, row.group), [])


def _findings(row: GroupResult, prevalence: Mapping[str, Any], make_up: Sequence[Mapping[str, Any]],
              precision: str | None) -> list[str]:
    out = [f"prevalence {prevalence['group']:.1%} against {prevalence['overall']:.1%} overall: "
           + ("differs by more than a factor " f"{PREVALENCE_FACTOR:g}, so gaps in PPV, NPV and flag rate may reflect "
              "case mix rather than performance" if prevalence["differs"] else "similar")]
    for m in make_up:
        out.append(f"{m['attribute']}: {m['value']} is {m['share']:.0%} of the group against {m['overall_share']:.0%} "
                   f"overall (distance {m['distance']:.2f})" + (f"; confounding by {m['attribute']} possible"
                                                               if m["differs"] else ""))
    if precision == "insufficient":
        out.append(f"too few cases ({row.n}, {row.positives} positives) for an estimate: descriptive only")
    for metric, goal in row.below_goal.items():
        v = row.values[metric]
        out.append(f"{metric}: the estimate {_num(v['estimate'])} " + (
            f"meets the goal {goal:g}, only the interval's lower bound misses it (n = {row.n}): imprecision, "
            "not shown poor performance" if v["estimate"] >= goal else f"is itself below the goal {goal:g}"))
    return out


def _limitation(row: GroupResult, reasons: Sequence[str], subgroups: Subgroups) -> str:
    who = f"{row.attribute} = {row.group}"
    if not row.sufficient:
        return (f"Performance for {who} has not been established: the test set held {row.n} cases and "
                f"{row.positives} positives, fewer than the pre-specified {minimum(subgroups)}; its results are "
                "descriptive only.")
    return f"For {who}: {'; '.join(reasons)}. Performance in this group is not shown to meet the overall claim."


def interpret(spec: InterpretationSpec | None, subgroups: Subgroups, rows: Sequence[GroupResult],
              bias: Sequence[BiasResult], columns: Mapping[str, NDArray[np.str_]], prevalence: float) -> dict[str, Any]:
    """The interpretation section: protocol text, and per flagged or failing group its confounding, precision, limitation."""
    failing: dict[tuple[str, str], list[str]] = {}
    for b in bias:
        if not b.passed:
            for g in b.groups:
                failing.setdefault((b.criterion.attribute, g), []).append(f"named by failed bias criterion {b.criterion.id}")
    names = confounders(spec, subgroups)
    overall = {name: _shares(columns[name]) for name in names}
    groups = []
    for row in rows:
        reasons = _reasons(row, subgroups, failing)
        if not reasons:
            continue
        mask = columns[row.attribute] == row.group
        own = row.positives / row.n
        ratio = own / prevalence if prevalence > 0 else float("nan")
        prev = {"group": own, "overall": prevalence, "ratio": ratio,
                "differs": bool(not 1 / PREVALENCE_FACTOR <= ratio <= PREVALENCE_FACTOR)}
        make_up = _make_up(row, mask, columns, overall)
        short = [row.values[m]["estimate"] >= goal for m, goal in row.below_goal.items()]
        precision = "insufficient" if not row.sufficient else None if not short else \
            "wide interval" if all(short) else "below goal"
        groups.append({"attribute": row.attribute, "group": row.group, "intersection": list(row.intersection) or None,
                       "n": row.n, "positives": row.positives, "sufficient": row.sufficient, "reasons": reasons,
                       "prevalence": prev, "make_up": make_up, "precision": precision,
                       "findings": _findings(row, prev, make_up, precision),
                       "labeling_limitation": _limitation(row, reasons, subgroups)})
    criteria = [{"id": b.criterion.id, "finding": f"estimate {b.value:.4f} is within the tolerance {b.criterion.max:g}; "
                 f"only its upper bound {b.upper:.4f} exceeds it: the comparison is imprecise (wide interval)"}
                for b in bias if not b.passed and b.criterion.on == "upper" and b.value <= b.criterion.max < b.upper]
    return {"stated": spec is not None, "clinical_relevance": spec.clinical_relevance if spec else None,
            "mitigation": spec.mitigation if spec else None, "confounders": list(names),
            "thresholds": {"prevalence_factor": PREVALENCE_FACTOR, "make_up_distance": MAKE_UP_DISTANCE},
            "overall_prevalence": prevalence, "groups": groups, "criteria": criteria}
