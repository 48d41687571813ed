"""Performance on production cases once their ground truth arrives, against the protocol's acceptance criteria.

A labels file (CSV) has one row per instance and label: `request_id`, `instance` (0-based,
optional), `label`, `truth` (0 or 1), and any subgroup columns (e.g. `sex`, `site`); the
scores are those the inference records hold. Each endpoint of the locked protocol with an
acceptance criterion is computed as the validation run computes it, with its own interval
method (`qms.validation.metrics.interval`), overall and per subgroup value: an aggregate over
several labels (mean AUROC) on the instances with truth for all of them, judged as a whole,
with each label's own AUROC and interval beside it (descriptive). A subgroup with fewer than
`MIN_CLASS` positives or negatives in any label is descriptive only, never judged.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qms.errors import QmsError
from qms.api.records import InferenceRecord
from qms.findings import Finding, Severity
from qms.monitor.windows import records
from qms.store import Store
from qms.validation.criteria import Endpoint
from qms.validation.metrics import LabelCases, Metric, interval

__all__ = ["MIN_CLASS", "PERFORMANCE", "Truth", "evaluate", "read_labels"]

PERFORMANCE = "monitor.performance"
MIN_CLASS = 10
_FIXED = ("request_id", "instance", "label", "truth")
PER_LABEL = {Metric.MEAN_AUROC: Metric.AUROC}
"""An aggregate endpoint's metric per label, reported beside the aggregate (as the validation report shows it)."""


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


def _judgeable(cases: Sequence[LabelCases]) -> bool:
    return all(min(int(c.y.sum()), len(c.y) - int(c.y.sum())) >= MIN_CLASS for c in cases)


def _row(endpoint: Endpoint, metric: Metric, labels: tuple[str, ...], group: str, cases: Sequence[LabelCases],
         *, judge: bool) -> dict[str, Any]:
    """One metric over `labels` (one LabelCases each, the same cases in the same order) in one group."""
    positives, n = sum(int(c.y.sum()) for c in cases), len(cases[0].y)
    defined = all(0 < c.y.sum() < len(c.y) for c in cases)
    result = interval(metric, cases, endpoint.threshold, endpoint.ci, endpoint.prevalence) if defined else None
    judged = judge and endpoint.acceptance is not None and _judgeable(cases)
    holds = bool(result and endpoint.acceptance and endpoint.acceptance.holds(result.estimate, result.lower, result.upper))
    return {"endpoint": endpoint.id, "metric": metric.value, "label": ", ".join(labels), "group": group,
            "n": n, "positives": positives, "interval": result.to_json() if result else None,
            "acceptance": str(endpoint.acceptance) if endpoint.acceptance and judge else None, "judged": judged,
            "met": holds if judged else None}


def _cases(endpoint: Endpoint, truths: Sequence[Truth], outputs: Mapping[str, list[dict[str, float]]],
           clusters: Mapping[str, str]) -> tuple[list[LabelCases], list[tuple[tuple[str, str], ...]]]:
    """Per label of the endpoint, the instances with truth for every one of its labels (aligned), and their groups.

    Cases cluster by patient pseudonym where the record has one, else by request, as the
    validation run's patient-level intervals do."""
    by_case: dict[tuple[str, int], dict[str, Truth]] = {}
    for t in truths:
        if t.request_id in outputs and t.instance < len(outputs[t.request_id]) and t.label in endpoint.labels:
            by_case.setdefault((t.request_id, t.instance), {})[t.label] = t
    keys = sorted(k for k, got in by_case.items() if len(got) == len(endpoint.labels))
    _, cluster = np.unique([clusters.get(r, r) for r, _ in keys] or [""], return_inverse=True)
    cases = [LabelCases(np.array([by_case[k][label].truth for k in keys], dtype=np.int64),
                        np.array([outputs[k[0]][k[1]][label] for k in keys], dtype=np.float64),
                        cluster[:len(keys)].astype(np.int64)) for label in endpoint.labels]
    groups = [tuple(sorted({g for label in endpoint.labels for g in by_case[k][label].groups})) for k in keys]
    return cases, groups


def _cluster(row: InferenceRecord) -> str:
    patients = json.loads(row.pseudonyms).get("patients") or []
    return str(patients[0]) if len(patients) == 1 else row.request_id


def evaluate(store: Store, model_ref: str, truths: Sequence[Truth], endpoints: Sequence[Endpoint]
             ) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Every endpoint with a criterion, as the protocol states it (an aggregate over its labels as a whole, with
    each label's own metric beside it, descriptive), overall and per subgroup value; a criterion not met is a finding."""
    rows_of = records(store, model_ref)
    outputs = {r.request_id: json.loads(r.output) for r in rows_of}
    clusters = {r.request_id: _cluster(r) for r in rows_of}
    rows: list[dict[str, Any]] = []
    for endpoint in (e for e in endpoints if e.acceptance is not None):
        cases, groups = _cases(endpoint, truths, outputs, clusters)
        if not len(cases[0].y):
            continue
        per_label = PER_LABEL.get(endpoint.metric) if len(endpoint.labels) > 1 else None
        for group, mask in [("overall", None), *((f"{a}={v}", np.array([(a, v) in g for g in groups]))
                                                  for a, v in sorted({g for gs in groups for g in gs}))]:
            chosen = cases if mask is None else [c.subset(mask) for c in cases]
            rows.append(_row(endpoint, endpoint.metric, endpoint.labels, group, chosen, judge=True))
            if per_label is not None:
                rows += [_row(endpoint, per_label, (label,), group, [c], judge=False)
                         for label, c in zip(endpoint.labels, chosen, strict=True)]
    findings = [Finding(PERFORMANCE, f"{r['endpoint']}:{r['group']}",
                        f"{r['metric']} of {r['label']} ({r['group']}, n={r['n']}) is {r['interval']['estimate']:.3f} "
                        f"[{r['interval']['lower']:.3f}, {r['interval']['upper']:.3f}]: the criterion {r['acceptance']} "
                        "is not met on production cases", hint="the protocol's acceptance criteria no longer hold",
                        where=r["group"], severity=Severity.ERROR)
                for r in rows if r["met"] is False]
    return rows, findings
