"""Time-to-notification of a triage device: per-case latency measured in the run (VALIDATION.md, CADt).

What is measured, per batch: the run hands the model one batch of files at a time and
times it from the first file read to the batch's scores (decode, pre-processing, the
forward pass and the hash check included; the first batch includes warm-up). Every case
of a batch gets its batch's time, since its score exists only when the batch is done: an
upper bound on the per-case time, and the per-case time itself at batch size 1. The
distribution (median, p90, p95, max) is stored, and the protocol's optional
`time_to_notification` section makes one of its statistics a criterion, e.g.
`acceptance: p95 <= 5.0` (seconds). A criterion on latency that was not measured fails
closed when the endpoint is primary.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qms.validation.manifest import DatasetManifest
from qms.validation.predictions import Predictions
from qms.validation.protocolreader import ProtocolReader

__all__ = ["LatencySpec", "METHOD", "STATISTICS", "TimedPredictions", "evaluate", "parse", "summary", "timed"]

STATISTICS = ("median", "p90", "p95", "max", "mean")
_ACCEPT = re.compile(r"^\s*(median|p90|p95|max|mean)\s*(<=|<)\s*([0-9]*\.?[0-9]+)\s*(s|seconds)?\s*$")
METHOD = ("per batch: wall time from the batch's first file read to its scores (decode, pre-processing, "
          "forward pass, hash check), given to each case of the batch; first batch includes warm-up")


@dataclass(frozen=True)
class LatencySpec:
    id: str
    role: str
    statistic: str
    op: str
    seconds: float

    def holds(self, value: float) -> bool:
        return value <= self.seconds if self.op == "<=" else value < self.seconds

    def __str__(self) -> str:
        return f"{self.statistic} {self.op} {self.seconds:g} s"


def parse(p: ProtocolReader) -> LatencySpec | None:
    """The `time_to_notification` section: an id, a role and a criterion on one statistic, in seconds."""
    path = ("time_to_notification",)
    if p.get(path, dict, required=False) is None:
        return None
    p.keys(path, {"id", "role", "acceptance", "notes"})
    role = p.get((*path, "role"), str)
    if role not in ("primary", "secondary"):
        raise p.fail((*path, "role"), f"unknown value {role!r}", hint="allowed: primary, secondary")
    raw = p.get((*path, "acceptance"), str)
    m = _ACCEPT.match(raw)
    if m is None:
        raise p.fail((*path, "acceptance"), f"acceptance {raw!r} is not understood",
                     hint=f"e.g. 'p95 <= 5.0' (seconds; statistic one of {', '.join(STATISTICS)}; <= or <)")
    seconds = float(m.group(3))
    if seconds <= 0:
        raise p.fail((*path, "acceptance"), f"a time limit of {seconds:g} s is out of range", hint="more than 0 seconds")
    return LatencySpec(p.get((*path, "id"), str), role, m.group(1), m.group(2), seconds)


@dataclass(frozen=True)
class TimedPredictions:
    """Predictions (the shape `qms.validation.predictions.Predictions` asks for) with each case's latency."""

    labels: tuple[str, ...]
    probabilities: NDArray[np.float64]
    failures: dict[int, str]
    environment: dict[str, Any] = field(default_factory=dict)
    latency: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    latency_method: str = METHOD


def timed(predict: Callable[[DatasetManifest], Predictions], manifest: DatasetManifest, batch_size: int,
          clock: Callable[[], float] = time.perf_counter) -> TimedPredictions:
    """Run `predict` batch by batch over the manifest (rows in manifest order), timing each batch."""
    n = len(manifest.entries)
    latency = np.zeros(n, dtype=np.float64)
    parts: list[NDArray[np.float64]] = []
    failures: dict[int, str] = {}
    env: dict[str, Any] = {}
    labels: tuple[str, ...] = ()
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        chunk = manifest.select(range(start, stop))
        t0 = clock()
        result = predict(chunk)
        latency[start:stop] = clock() - t0
        parts.append(np.asarray(result.probabilities, dtype=np.float64))
        failures.update({start + i: reason for i, reason in result.failures.items()})
        labels, env = tuple(result.labels), env or dict(getattr(result, "environment", {}) or {})
    env = {**env, "manifest_sha256": manifest.sha256, "latency_batch_size": batch_size}
    return TimedPredictions(labels, np.concatenate(parts), dict(sorted(failures.items())), env, latency)


def summary(seconds: NDArray[np.float64]) -> dict[str, float]:
    q = np.quantile(seconds, [0.5, 0.9, 0.95])
    return {"median": float(q[0]), "p90": float(q[1]), "p95": float(q[2]), "max": float(seconds.max()),
            "mean": float(seconds.mean())}


def evaluate(spec: LatencySpec | None, predictions: Any) -> tuple[dict[str, Any] | None, list[str]]:
    """The latency distribution and, with a criterion, its verdict; the reasons it fails the run (if any)."""
    raw = getattr(predictions, "latency", None)
    seconds = np.asarray(raw if raw is not None else [], dtype=np.float64)
    measured = 0 < len(seconds) == len(predictions.probabilities)
    if not measured and spec is None:
        return None, []
    out: dict[str, Any] = {"unit": "seconds", "method": getattr(predictions, "latency_method", METHOD) if measured else None,
                           "cases": int(len(seconds)) if measured else 0,
                           "distribution": summary(seconds) if measured else None,
                           "criterion": None, "verdict": None}
    reasons: list[str] = []
    if spec is not None:
        out.update(id=spec.id, role=spec.role, criterion=str(spec))
        if not measured:
            out["verdict"] = "not measured"
            if spec.role == "primary":
                reasons.append(f"primary endpoint {spec.id}: time-to-notification was not measured by this run")
        else:
            value = out["distribution"][spec.statistic]
            out["verdict"] = "pass" if spec.holds(value) else "fail"
            if spec.role == "primary" and out["verdict"] == "fail":
                reasons.append(f"primary endpoint {spec.id}: time-to-notification {spec.statistic} "
                               f"{value:.3f} s does not meet {spec}")
    return out, reasons
