"""Performance on production cases once their ground truth arrives, against the protocol's acceptance criteria.

A labels file (CSV) has one row per instance and label: `request_id`, `instance` (0-based,
optional), `label`, `truth` (0 or 1), and any subgroup columns (e.g. `sex`, `site`); the
scores are those the inference records hold. Each endpoint of the locked protocol with an
acceptance criterion on one label is computed with its own interval method
(`qms.validation.metrics.interval`), overall and per subgroup value; a subgroup with fewer
than `MIN_CLASS` positives or negatives is descriptive only, never judged.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qms.errors import QmsError
from qms.findings import Finding, Severity
from qms.monitor.windows import records
from qms.store import Store
from qms.validation.criteria import Endpoint
from qms.validation.metrics import LabelCases, interval

__all__ = ["MIN_CLASS", "PERFORMANCE", "Truth", "evaluate", "read_labels"]

PERFORMANCE = "monitor.performance"
MIN_CLASS = 10
_FIXED = ("request_id", "instance", "label", "truth")


@dataclass(frozen=True)
class Truth:
    """The ground truth of one instance for one label, and the subgroups it belongs to."""

    request_id: str
    instance: int
    label: str
    truth: int
    groups: tuple[tuple[str, str], ...]


def read_labels(path: Path) -> list[Truth]:
    """The labels file, every row checked; a bad row is named by its line."""
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = {"request_id", "label", "truth"} - set(reader.fieldnames or ())
            if missing:
                raise QmsError(f"the labels file lacks column(s) {', '.join(sorted(missing))}", where=f"{path}:1")
            out = []
            for line, row in enumerate(reader, start=2):
                if row["truth"] not in ("0", "1"):
                    raise QmsError(f"truth must be 0 or 1, not {row['truth']!r}", where=f"{path}:{line}")
                groups = tuple(sorted((k, v) for k, v in row.items() if k not in _FIXED and v))
                out.append(Truth(row["request_id"], int(row.get("instance") or 0), row["label"], int(row["truth"]), groups))
    except OSError as exc:
        raise QmsError(f"cannot read the labels file: {exc.strerror}", where=str(path)) from exc
    except ValueError as exc:
        raise QmsError(f"the labels file is not valid CSV: {exc}", where=str(path)) from exc
    return out


def _row(endpoint: Endpoint, group: str, cases: LabelCases) -> dict[str, Any]:
    positives, n = int(cases.y.sum()), len(cases.y)
    judged = endpoint.acceptance is not None and min(positives, n - positives) >= MIN_CLASS
    result = interval(endpoint.metric, [cases], endpoint.threshold, endpoint.ci) if 0 < positives < n else None
    holds = bool(result and endpoint.acceptance and endpoint.acceptance.holds(result.estimate, result.lower, result.upper))
    return {"endpoint": endpoint.id, "metric": endpoint.metric.value, "label": endpoint.labels[0], "group": group,
            "n": n, "positives": positives, "interval": result.to_json() if result else None,
            "acceptance": str(endpoint.acceptance) if endpoint.acceptance else None, "judged": judged,
            "met": holds if judged else None}


def evaluate(store: Store, model_ref: str, truths: Sequence[Truth], endpoints: Sequence[Endpoint]
             ) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Every single-label endpoint with a criterion, overall and per subgroup value; a criterion not met is a finding."""
    outputs = {r.request_id: json.loads(r.output) for r in records(store, model_ref)}
    rows: list[dict[str, Any]] = []
    for endpoint in (e for e in endpoints if len(e.labels) == 1 and e.acceptance is not None):
        label = endpoint.labels[0]
        matched = [(t, outputs[t.request_id][t.instance][label]) for t in truths
                   if t.label == label and t.request_id in outputs and t.instance < len(outputs[t.request_id])]
        if not matched:
            continue
        y = np.array([t.truth for t, _ in matched], dtype=np.int64)
        score = np.array([s for _, s in matched], dtype=np.float64)
        everyone = LabelCases(y, score, np.arange(len(y), dtype=np.int64))
        rows.append(_row(endpoint, "overall", everyone))
        for attribute, value in sorted({g for t, _ in matched for g in t.groups}):
            mask = np.array([(attribute, value) in t.groups for t, _ in matched])
            rows.append(_row(endpoint, f"{attribute}={value}", everyone.subset(mask)))
    findings = [Finding(PERFORMANCE, f"{r['endpoint']}:{r['group']}",
                        f"{r['metric']} of {r['label']} ({r['group']}, n={r['n']}) is {r['interval']['estimate']:.3f} "
                        f"[{r['interval']['lower']:.3f}, {r['interval']['upper']:.3f}]: the criterion {r['acceptance']} "
                        "is not met on production cases", hint="the protocol's acceptance criteria no longer hold",
                        where=r["group"], severity=Severity.ERROR)
                for r in rows if r["met"] is False]
    return rows, findings
