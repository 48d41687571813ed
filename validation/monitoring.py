"""The post-market monitoring plan for under-represented groups (VALIDATION.md, bias report: interpretation).

The protocol states what is watched after release (`post_market: {metrics, frequency,
trigger, owner}`); which groups it must watch is computed from the run: every group or
cell below the protocol's minimum size or positives (its estimate is descriptive only, so
real-world data has to supply what the test set could not), with how many cases and
positives it lacks, then every group the interpretation found failing or below the
performance goal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qms.validation import post_market
from qms.validation.criteria import Subgroups
from qms.validation.metrics import Metric
from qms.validation.protocolreader import ProtocolReader

if TYPE_CHECKING:
    from qms.validation.subgroups import GroupResult

__all__ = ["PostMarketSpec", "UNDER_REPRESENTED", "parse", "plan"]

UNDER_REPRESENTED = "under-represented"


@dataclass(frozen=True)
class PostMarketSpec:
    metrics: tuple[Metric, ...]
    frequency: str
    trigger: str
    owner: str


def parse(p: ProtocolReader, subgroups: Subgroups | None) -> PostMarketSpec | None:
    """`post_market`: the metrics watched (subgroup metrics), how often, what triggers action, who owns it."""
    path = ("post_market",)
    if not p.has(path):
        return None
    p.keys(path, {"metrics", "frequency", "trigger", "owner", "notes"})
    if subgroups is None:
        raise p.fail(path, "a post-market plan needs a subgroups section")
    names = p.get((*path, "metrics"), list)
    if not names:
        raise p.fail((*path, "metrics"), "post_market.metrics is empty", hint="name the subgroup metrics to monitor")
    metrics = []
    for i, _ in enumerate(names):
        metric = p.enum((*path, "metrics", i), Metric, ", ".join(m.value for m in subgroups.metrics))
        if metric not in subgroups.metrics:
            raise p.fail((*path, "metrics", i), f"{metric.value} is not among the subgroup metrics",
                         hint=f"subgroup metrics: {', '.join(m.value for m in subgroups.metrics)}")
        metrics.append(metric)
    frequency, trigger = p.text((*path, "frequency")), p.text((*path, "trigger"))
    # a plan `qms monitor` cannot execute is refused here, before it is locked (`qms.validation.post_market`)
    post_market.parse_frequency(frequency, p.doc.where((*path, "frequency")))
    post_market.parse_trigger(trigger, subgroups, p.doc.where((*path, "trigger")))
    return PostMarketSpec(tuple(metrics), frequency, trigger, p.text((*path, "owner")))


def plan(spec: PostMarketSpec | None, subgroups: Subgroups, rows: Sequence[GroupResult],
         flagged: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The stated plan (None parts where the protocol states none) and the groups it has to watch, with why."""
    groups = [{"attribute": r.attribute, "group": r.group, "n": r.n, "positives": r.positives,
               "reason": UNDER_REPRESENTED,
               "short_of": {"cases": max(0, subgroups.min_size - r.n),
                            "positives": max(0, subgroups.min_positives - r.positives)}}
              for r in rows if not r.sufficient]
    groups += [{"attribute": f["attribute"], "group": f["group"], "n": f["n"], "positives": f["positives"],
                "reason": "; ".join(f["reasons"]), "short_of": None} for f in flagged if f["sufficient"]]
    return {"stated": spec is not None, "metrics": [m.value for m in spec.metrics] if spec else [],
            "frequency": spec.frequency if spec else None, "trigger": spec.trigger if spec else None,
            "owner": spec.owner if spec else None, "groups": groups}
