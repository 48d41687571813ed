"""Failure analysis: which cases the device got wrong at each locked operating point, and where they gather.

For every (label, threshold) of a thresholded primary endpoint: the false negatives and
false positives, counted, and the most confident of each listed (a false negative's score
furthest below the threshold, a false positive's furthest above) by pseudonymous patient
id, file and score, for case review (VALIDATION.md, "failure analysis (FN/FP case
review)"). Device failures are wrong calls there too (ITT) and are listed on their own.
Where the errors concentrate: per value of each acquisition attribute, the cases, the
false negatives among the positives and the false positives among the negatives. Only
manifest pseudonyms and paths appear; no header is read again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qms.validation import acquisition
from qms.validation.manifest import DatasetManifest
from qms.validation.metrics import THRESHOLDED, LabelCases
from qms.validation.protocol import Protocol, Role

__all__ = ["LISTED", "analyse", "operating_points"]

LISTED = 20
"""Cases of each error kind listed by name: the most confident; all are counted and all are in the predictions."""


def operating_points(protocol: Protocol) -> dict[tuple[str, float], list[str]]:
    """(label, threshold) -> the thresholded primary endpoints at it, in protocol order."""
    points: dict[tuple[str, float], list[str]] = {}
    for e in protocol.endpoints:
        if e.role is Role.PRIMARY and e.metric in THRESHOLDED and e.threshold is not None:
            points.setdefault((e.labels[0], e.threshold), []).append(e.id)
    return points


def _listed(manifest: DatasetManifest, cases: LabelCases, mask: NDArray[np.bool_], descending: bool) -> list[dict[str, Any]]:
    scored = np.flatnonzero(mask & ~cases.failed)
    order = scored[np.argsort(-cases.score[scored] if descending else cases.score[scored], kind="stable")]
    return [{"patient_id": manifest.entries[i].patient_id, "file": manifest.entries[i].file,
             "score": float(cases.score[i])} for i in order[:LISTED]]


def _by_attribute(manifest: DatasetManifest, y: NDArray[np.int64], fn: NDArray[np.bool_],
                  fp: NDArray[np.bool_]) -> list[dict[str, Any]]:
    out = []
    for name in acquisition.present(manifest):
        values = np.array([acquisition.value_name(e.attributes[name]) for e in manifest.entries])
        rows = []
        for value in sorted(set(values.tolist())):
            m = values == value
            pos, neg = int(y[m].sum()), int(m.sum() - y[m].sum())
            n_fn, n_fp = int(fn[m].sum()), int(fp[m].sum())
            rows.append({"value": value, "cases": int(m.sum()), "positives": pos, "negatives": neg,
                         "fn": n_fn, "fp": n_fp, "fn_rate": n_fn / pos if pos else None,
                         "fp_rate": n_fp / neg if neg else None})
        out.append({"attribute": name, "values": rows})
    return out


def analyse(protocol: Protocol, manifest: DatasetManifest, cases: Mapping[str, LabelCases],
            failures: Mapping[int, str]) -> dict[str, Any]:
    """The error cases at each locked threshold, where they concentrate, and the device failures."""
    points = []
    for (label, threshold), ids in operating_points(protocol).items():
        c = cases[label]
        calls = c.calls(threshold).astype(bool)
        fn, fp = (c.y == 1) & ~calls, (c.y == 0) & calls
        points.append({
            "label": label, "threshold": threshold, "endpoints": ids,
            "fn": {"count": int(fn.sum()), "device_failures": int((fn & c.failed).sum()),
                   "cases": _listed(manifest, c, fn, descending=False)},
            "fp": {"count": int(fp.sum()), "device_failures": int((fp & c.failed).sum()),
                   "cases": _listed(manifest, c, fp, descending=True)},
            "by_attribute": _by_attribute(manifest, c.y, fn, fp),
        })
    failed = sorted(failures)
    return {"listed": LISTED, "operating_points": points,
            "device_failures": {"count": len(failed),
                                "cases": [{"patient_id": manifest.entries[i].patient_id, "file": manifest.entries[i].file,
                                           "reason": failures[i]} for i in failed[:LISTED]]}}
