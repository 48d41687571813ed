"""Worklist prioritisation (CADt): how much sooner positive cases are read when the device reorders the queue.

A computer-aided triage device (21 CFR 892.2080) flags cases and moves them up the
reading worklist; its benefit is time, not accuracy, and its cost is the delay of every
case it did not flag. The protocol's optional `worklist` section states how cases arrive
and how long a read takes, from the data (a manifest attribute per case) or from a
distribution, and how many readers read:

    worklist:
      id: WL-001
      role: secondary
      label: pneumothorax          # the device's flag: score of this label >= threshold
      threshold: 0.5
      readers: 1
      arrivals: {distribution: poisson, per_hour: 10}       # or {attribute: arrival_min}
      read_time: {distribution: lognormal, median_minutes: 5, sigma: 0.4}
      replicates: 400              # optional, default 400
      acceptance: "mean_saved >= 10 min"                    # optional; judged on the lower bound

The same cases are read twice by a simulated reading room: first in, first out, and with
flagged cases first (non-preemptive: a read under way is finished; first in, first out
within each class). A case's time to read is from its arrival to the end of its read.
Reported for positive cases (reference standard) is the mean and median time under each
policy and the time saved; for negative cases, the delay prioritisation costs them; both
overall and per subgroup of the protocol's `subgroups` attributes. Intervals are
percentiles over replicates, each one a patient-clustered bootstrap of the cases with
fresh draws of every stated distribution (observed arrival times are resampled as a
load profile; observed read times stay with their case), so they carry both the test
set's sampling error and the queue's own variability. The point estimates are the
replicates' mean over the unresampled cases.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qms.errors import QmsError
from qms.validation.criteria import Subgroups
from qms.validation.manifest import DatasetManifest
from qms.validation.predictions import Predictions
from qms.validation.protocolreader import ProtocolReader
from qms.validation.subgroups import dimensions
from qms.yamlfile import PathKey

__all__ = ["TimeSource", "WorklistSpec", "evaluate", "parse", "simulate"]

FloatArray = NDArray[np.float64]
_STATISTICS = ("mean_saved", "median_saved")
_ACCEPT = re.compile(r"^\s*(mean_saved|median_saved)\s*(>=|>)\s*([0-9]*\.?[0-9]+)\s*(min|minutes)?\s*$")
_DISTRIBUTIONS: Mapping[str, tuple[str, ...]] = {
    "poisson": ("per_hour",), "fixed": ("minutes",), "exponential": ("mean_minutes",),
    "lognormal": ("median_minutes", "sigma"),
}
_ARRIVAL_DISTRIBUTIONS = ("poisson",)
_READ_DISTRIBUTIONS = ("fixed", "exponential", "lognormal")
METHOD = ("discrete-event simulation of the reading room, first in first out against flagged-first "
          "(non-preemptive); time to read = arrival to end of read; intervals: percentiles over replicates, "
          "each a patient-clustered bootstrap of the cases with fresh draws of the stated distributions")


@dataclass(frozen=True)
class TimeSource:
    """Per-case times in minutes: a manifest attribute (`unit` minutes or seconds) or a distribution's parameters."""

    attribute: str | None = None
    unit: str = "minutes"
    distribution: str | None = None
    params: Mapping[str, float] | None = None

    def __str__(self) -> str:
        if self.attribute is not None:
            return f"observed ({self.attribute}, {self.unit})"
        shown = ", ".join(f"{k} {v:g}" for k, v in (self.params or {}).items())
        return f"{self.distribution} ({shown})"


@dataclass(frozen=True)
class WorklistSpec:
    id: str
    role: str
    label: str
    threshold: float
    readers: int
    arrivals: TimeSource
    read_time: TimeSource
    replicates: int
    statistic: str | None = None
    op: str | None = None
    minutes: float | None = None

    @property
    def criterion(self) -> str | None:
        return None if self.statistic is None else f"{self.statistic} {self.op} {self.minutes:g} min (lower bound)"

    def holds(self, lower: float) -> bool:
        assert self.minutes is not None
        return lower >= self.minutes if self.op == ">=" else lower > self.minutes


def parse(p: ProtocolReader, labels: Sequence[str]) -> WorklistSpec | None:
    """The `worklist` section (see the module docstring); every error names its file:line."""
    path = ("worklist",)
    if p.get(path, dict, required=False) is None:
        return None
    p.keys(path, {"id", "role", "label", "threshold", "readers", "arrivals", "read_time", "replicates", "acceptance",
                  "notes"})
    role = p.get((*path, "role"), str)
    if role not in ("primary", "secondary"):
        raise p.fail((*path, "role"), f"unknown value {role!r}", hint="allowed: primary, secondary")
    label = p.get((*path, "label"), str)
    if label not in labels:
        raise p.fail((*path, "label"), f"label {label!r} is not one of the protocol's labels",
                     hint=f"labels: {', '.join(labels)}")
    readers = int(p.get((*path, "readers"), int, required=False, default=1))
    replicates = int(p.get((*path, "replicates"), int, required=False, default=400))
    if readers < 1 or replicates < 20:
        raise p.fail(path, f"readers = {readers}, replicates = {replicates}",
                     hint="at least 1 reader and 20 replicates")
    statistic = op = None
    minutes: float | None = None
    raw = p.get((*path, "acceptance"), str, required=False)
    if raw is not None:
        m = _ACCEPT.match(raw)
        if m is None:
            raise p.fail((*path, "acceptance"), f"acceptance {raw!r} is not understood",
                         hint=f"e.g. 'mean_saved >= 10 min' (one of {', '.join(_STATISTICS)}; >= or >)")
        statistic, op, minutes = m.group(1), m.group(2), float(m.group(3))
    return WorklistSpec(
        p.get((*path, "id"), str), role, label, p.probability((*path, "threshold")), readers,
        _source(p, (*path, "arrivals"), _ARRIVAL_DISTRIBUTIONS), _source(p, (*path, "read_time"), _READ_DISTRIBUTIONS),
        replicates, statistic, op, minutes)


def _source(p: ProtocolReader, path: PathKey, allowed: tuple[str, ...]) -> TimeSource:
    p.get(path, dict)
    if p.has((*path, "attribute")):
        p.keys(path, {"attribute", "unit"})
        unit = p.get((*path, "unit"), str, required=False, default="minutes")
        if unit not in ("minutes", "seconds"):
            raise p.fail((*path, "unit"), f"unknown unit {unit!r}", hint="allowed: minutes, seconds")
        return TimeSource(attribute=p.get((*path, "attribute"), str), unit=unit)
    name = p.get((*path, "distribution"), str)
    if name not in allowed:
        raise p.fail((*path, "distribution"), f"unknown distribution {name!r}",
                     hint=f"allowed: {', '.join(allowed)}, or {{attribute: NAME}} for observed times")
    keys = _DISTRIBUTIONS[name]
    p.keys(path, {"distribution", *keys})
    params = {k: float(p.get((*path, k), (int, float))) for k in keys}
    for k, v in params.items():
        if not (v > 0 and math.isfinite(v)):
            raise p.fail((*path, k), f"{k} = {v:g} is out of range", hint="a positive number")
    return TimeSource(distribution=name, params=params)


def simulate(arrival: FloatArray, read: FloatArray, flagged: NDArray[np.bool_], readers: int,
             prioritise: bool) -> FloatArray:
    """Each case's time from arrival to the end of its read, in a room of `readers` (non-preemptive)."""
    order = np.argsort(arrival, kind="stable")
    free = [0.0] * readers
    high: deque[int] = deque()
    low: deque[int] = deque()
    done = np.empty(len(arrival), dtype=np.float64)
    i, n = 0, len(order)
    while i < n or high or low:
        t = free[0] if (high or low) else max(free[0], float(arrival[order[i]]))
        while i < n and arrival[order[i]] <= t:
            case = int(order[i])
            (high if prioritise and flagged[case] else low).append(case)
            i += 1
        case = high.popleft() if high else low.popleft()
        finish = max(heapq.heappop(free), float(arrival[case])) + float(read[case])
        heapq.heappush(free, finish)
        done[case] = finish - float(arrival[case])
    return done


@dataclass(frozen=True)
class _Cases:
    """The worklist's view of the test set: the flag, the reference, patients and observed times."""

    flagged: NDArray[np.bool_]
    positive: NDArray[np.bool_]
    negative: NDArray[np.bool_]
    clusters: NDArray[np.int64]
    observed_arrival: FloatArray | None
    observed_read: FloatArray | None


def _observed(manifest: DatasetManifest, source: TimeSource) -> FloatArray | None:
    if source.attribute is None:
        return None
    scale = 1 / 60 if source.unit == "seconds" else 1.0
    out = np.empty(len(manifest.entries), dtype=np.float64)
    for i, e in enumerate(manifest.entries):
        raw = e.attributes.get(source.attribute)
        try:
            value = float(raw) if raw is not None and raw != "" else math.nan
        except (TypeError, ValueError):
            value = math.nan
        if not (math.isfinite(value) and value >= 0):
            raise QmsError(f"worklist: case {e.file} has no usable {source.attribute!r} ({raw!r})",
                           hint=f"every case needs a number >= 0 in {source.unit}, or state a distribution")
        out[i] = value * scale
    return out


def _draw(source: TimeSource, rng: np.random.Generator, n: int) -> FloatArray:
    """n times (minutes) from a stated distribution: read times, or Poisson arrival times in order."""
    p = source.params or {}
    if source.distribution == "poisson":
        return np.cumsum(rng.exponential(60.0 / p["per_hour"], size=n))
    if source.distribution == "fixed":
        return np.full(n, p["minutes"])
    if source.distribution == "exponential":
        return rng.exponential(p["mean_minutes"], size=n)
    return p["median_minutes"] * np.exp(p["sigma"] * rng.standard_normal(n))


def _replicate(spec: WorklistSpec, cases: _Cases, idx: NDArray[np.intp],
               rng: np.random.Generator) -> tuple[FloatArray, FloatArray, NDArray[np.intp]]:
    """Times under both policies for the cases `idx` (a resample; repeats allowed); the cases they are."""
    n = len(idx)
    if cases.observed_arrival is None:
        arrival = rng.permutation(_draw(spec.arrivals, rng, n))
    elif n == len(cases.observed_arrival) and np.array_equal(idx, np.arange(n)):
        arrival = cases.observed_arrival
    else:
        arrival = rng.choice(cases.observed_arrival, size=n, replace=True)
    read = cases.observed_read[idx] if cases.observed_read is not None else _draw(spec.read_time, rng, n)
    flagged = cases.flagged[idx]
    return (simulate(arrival, read, flagged, spec.readers, prioritise=False),
            simulate(arrival, read, flagged, spec.readers, prioritise=True), idx)


def _cluster_resample(clusters: NDArray[np.int64], rng: np.random.Generator) -> NDArray[np.intp]:
    """Case indices of patients drawn with replacement (every case of a drawn patient, once per draw)."""
    k = int(clusters.max()) + 1
    members = np.argsort(clusters, kind="stable")
    starts = np.searchsorted(clusters[members], np.arange(k + 1))
    drawn = rng.integers(0, k, size=k)
    lengths = (starts[1:] - starts[:-1])[drawn]
    within = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    picked: NDArray[np.intp] = members[np.repeat(starts[drawn], lengths) + within].astype(np.intp)
    return picked


Summary = Callable[[FloatArray, FloatArray, NDArray[np.intp]], float]


def _mean_of(mask: NDArray[np.bool_], saved: bool) -> Summary:
    """The mean over the cases in `mask` of the time saved (fifo - prioritised), or of the delay (the reverse)."""
    def mean(fifo: FloatArray, prio: FloatArray, idx: NDArray[np.intp]) -> float:
        sel = mask[idx]
        return float(((fifo - prio) if saved else (prio - fifo))[sel].mean()) if sel.any() else math.nan
    return mean


def _positive_time(mask: NDArray[np.bool_], statistic: Callable[[FloatArray], Any], policy: str) -> Summary:
    """A statistic (mean, median) of the positives' times under one policy, or its fifo - prioritised difference."""
    def value(fifo: FloatArray, prio: FloatArray, idx: NDArray[np.intp]) -> float:
        sel = mask[idx]
        if not sel.any():
            return math.nan
        f, q = float(statistic(fifo[sel])), float(statistic(prio[sel]))
        return f if policy == "fifo" else q if policy == "prioritised" else f - q
    return value


def _quantities(cases: _Cases, columns: Mapping[str, NDArray[np.str_]]) -> dict[str, Summary]:
    """Every reported quantity of one replicate (fifo times, prioritised times, case indices) by name."""
    out: dict[str, Summary] = {
        f"positive.{policy}_{name}": _positive_time(cases.positive, fn, policy)
        for name, fn in (("mean", np.mean), ("median", np.median)) for policy in ("fifo", "prioritised")}
    out["positive.mean_saved"] = _mean_of(cases.positive, saved=True)
    out["positive.median_saved"] = _positive_time(cases.positive, np.median, "saved")
    out["negative.mean_delay"] = _mean_of(cases.negative, saved=False)
    for attribute, column in columns.items():
        for group in sorted(set(column.tolist())):
            in_group = column == group
            out[f"group.{attribute}.{group}.mean_saved"] = _mean_of(cases.positive & in_group, saved=True)
            out[f"group.{attribute}.{group}.mean_delay"] = _mean_of(cases.negative & in_group, saved=False)
    return out


def _interval(point: float, values: FloatArray, level: float) -> dict[str, float | None]:
    finite = values[np.isfinite(values)]
    if not math.isfinite(point) or len(finite) == 0:
        return {"estimate": None, "lower": None, "upper": None}
    lo, hi = np.quantile(finite, [(1 - level) / 2, (1 + level) / 2])
    return {"estimate": round(point, 4), "lower": round(float(lo), 4), "upper": round(float(hi), 4)}


def _cases(spec: WorklistSpec, manifest: DatasetManifest, predictions: Predictions) -> _Cases:
    if spec.label not in predictions.labels:
        raise QmsError(f"worklist {spec.id}: the model does not output label {spec.label!r}")
    score = np.asarray(predictions.probabilities, dtype=np.float64)[:, predictions.labels.index(spec.label)]
    truth = [e.labels.get(spec.label) for e in manifest.entries]
    _, clusters = np.unique([e.patient_id for e in manifest.entries], return_inverse=True)
    failed = np.zeros(len(score), dtype=bool)
    failed[list(predictions.failures)] = True
    return _Cases(flagged=(np.nan_to_num(score, nan=-1.0) >= spec.threshold) & ~failed,
                  positive=np.array([t == 1 for t in truth]), negative=np.array([t == 0 for t in truth]),
                  clusters=clusters.astype(np.int64), observed_arrival=_observed(manifest, spec.arrivals),
                  observed_read=_observed(manifest, spec.read_time))


def evaluate(spec: WorklistSpec | None, manifest: DatasetManifest, predictions: Predictions,
             subgroups: Subgroups | None, seed: int, level: float = 0.95) -> tuple[dict[str, Any] | None, list[str]]:
    """The simulated reading room's results and, with a criterion, its verdict; the reasons it fails the run."""
    if spec is None:
        return None, []
    cases = _cases(spec, manifest, predictions)
    columns = _columns(subgroups, manifest)
    quantities = _quantities(cases, columns)
    rng = np.random.default_rng([seed, 0xC0DA])
    whole = np.arange(len(manifest.entries), dtype=np.intp)
    point_runs = 1 if spec.arrivals.attribute and spec.read_time.attribute else min(spec.replicates, 50)
    points = [_replicate(spec, cases, whole, rng) for _ in range(point_runs)]
    boot = [_replicate(spec, cases, _cluster_resample(cases.clusters, rng), rng) for _ in range(spec.replicates)]
    result: dict[str, Any] = {}
    for name, fn in quantities.items():
        point = float(np.nanmean([fn(*r) for r in points])) if points else math.nan
        result[name] = _interval(point, np.array([fn(*r) for r in boot], dtype=np.float64), level)
    out = _report(spec, cases, result, level)
    reasons: list[str] = []
    if spec.statistic is not None:
        value = result[f"positive.{spec.statistic}"]
        ok = value["lower"] is not None and spec.holds(value["lower"])
        out["verdict"] = "pass" if ok else "fail"
        if not ok and spec.role == "primary":
            reasons.append(f"primary endpoint {spec.id}: positive cases' {spec.statistic} lower bound "
                           f"{value['lower']} min does not meet {spec.criterion}")
    return out, reasons


def _columns(subgroups: Subgroups | None, manifest: DatasetManifest) -> dict[str, NDArray[np.str_]]:
    """Each subgroup attribute's group per case (intersections left to the subgroup analysis)."""
    if subgroups is None:
        return {}
    attributes = {a.name: [e.attributes.get(a.name) for e in manifest.entries] for a in subgroups.attributes}
    columns = dimensions(subgroups, attributes)
    return {a.name: columns[a.name] for a in subgroups.attributes}


def _report(spec: WorklistSpec, cases: _Cases, result: Mapping[str, Any], level: float) -> dict[str, Any]:
    groups: list[dict[str, Any]] = []
    for name, value in result.items():
        if name.startswith("group.") and name.endswith(".mean_saved"):
            attribute, group = name[len("group."):-len(".mean_saved")].split(".", 1)
            groups.append({"attribute": attribute, "group": group, "mean_saved": value,
                           "mean_delay": result[f"group.{attribute}.{group}.mean_delay"]})
    return {
        "id": spec.id, "role": spec.role, "label": spec.label, "threshold": spec.threshold, "readers": spec.readers,
        "arrivals": str(spec.arrivals), "read_time": str(spec.read_time), "replicates": spec.replicates,
        "level": level, "unit": "minutes", "method": METHOD,
        "cases": int(len(cases.flagged)), "positives": int(cases.positive.sum()), "negatives": int(cases.negative.sum()),
        "flagged": int(cases.flagged.sum()),
        "positive": {k.split(".", 1)[1]: v for k, v in result.items() if k.startswith("positive.")},
        "negative": {k.split(".", 1)[1]: v for k, v in result.items() if k.startswith("negative.")},
        "subgroups": groups, "criterion": spec.criterion, "verdict": None,
    }
