"""The reference standard: how the truth was made, and how far its readers agreed (VALIDATION.md).

The protocol's `reference_standard` section states the definition, the readers (number
and qualifications), blinding, the adjudication rule, the annotation tool and the
reference-standard version; every field is required, so a report never goes out without
them. When the manifest carries each reader's read (labels-table columns
`<label>@<reader>`, see `qms.validation.dataset`), agreement is computed per label:
Cohen's kappa for two readers, Fleiss' kappa for more. An optional `agreement.min` makes
a kappa a criterion: then reads that are missing, or a reader count that differs from
the one stated, fail the run, since agreement that was not measured is not evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from qms.validation.manifest import DatasetManifest
from qms.validation.protocolreader import ProtocolReader

__all__ = ["ReferenceStandard", "agreement", "cohen_kappa", "evaluate", "fleiss_kappa", "parse", "reader_ids"]

_TEXT_FIELDS = ("definition", "blinding", "adjudication", "annotation_tool", "version")


@dataclass(frozen=True)
class ReferenceStandard:
    definition: str
    readers: int
    qualifications: str
    blinding: str
    adjudication: str
    annotation_tool: str
    version: str
    min_kappa: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"definition": self.definition, "readers": {"count": self.readers, "qualifications": self.qualifications},
                "blinding": self.blinding, "adjudication": self.adjudication, "annotation_tool": self.annotation_tool,
                "version": self.version, "min_kappa": self.min_kappa}


def parse(p: ProtocolReader) -> ReferenceStandard | None:
    """The `reference_standard` section; every statement is required once the section is there."""
    path = ("reference_standard",)
    if p.get(path, dict, required=False) is None:
        return None
    p.keys(path, {*_TEXT_FIELDS, "readers", "agreement"})
    p.keys((*path, "readers"), {"count", "qualifications"})
    text = {}
    for name in _TEXT_FIELDS:
        value = p.get((*path, name), (str, int, float))
        if not str(value).strip():
            raise p.fail((*path, name), f"reference_standard.{name} is empty")
        text[name] = str(value)
    count = int(p.get((*path, "readers", "count"), int))
    if count < 1:
        raise p.fail((*path, "readers", "count"), f"readers.count = {count}; at least one reader makes a reference")
    qualifications = str(p.get((*path, "readers", "qualifications"), str)).strip()
    if not qualifications:
        raise p.fail((*path, "readers", "qualifications"), "reference_standard.readers.qualifications is empty")
    min_kappa = None
    if p.has((*path, "agreement")):
        p.keys((*path, "agreement"), {"min"})
        min_kappa = float(p.get((*path, "agreement", "min"), (int, float)))
        if not -1 <= min_kappa <= 1:
            raise p.fail((*path, "agreement", "min"), f"agreement.min = {min_kappa} is out of range", hint="kappa is in [-1, 1]")
        if count < 2:
            raise p.fail((*path, "agreement"), "agreement needs at least two readers")
    return ReferenceStandard(text["definition"], count, qualifications, text["blinding"], text["adjudication"],
                             text["annotation_tool"], text["version"], min_kappa)


def cohen_kappa(a: NDArray[np.int64], b: NDArray[np.int64]) -> float:
    """Cohen (1960): (p_o - p_e) / (1 - p_e) over the categories either reader used; NaN when p_e = 1."""
    cats = np.union1d(a, b)
    p_o = float(np.mean(a == b))
    p_e = float(sum(np.mean(a == c) * np.mean(b == c) for c in cats))
    return float("nan") if p_e >= 1 else (p_o - p_e) / (1 - p_e)


def fleiss_kappa(counts: NDArray[np.int64]) -> float:
    """Fleiss (1971) from a subjects x categories table of how many raters chose each; equal raters per subject."""
    counts = np.asarray(counts, dtype=np.float64)
    n = counts.sum(axis=1)
    if len(n) == 0 or not np.all(n == n[0]) or n[0] < 2:
        raise ValueError("Fleiss' kappa needs the same number (>= 2) of raters for every subject")
    m = n[0]
    p_j = counts.sum(axis=0) / counts.sum()
    p_i = (np.sum(counts * counts, axis=1) - m) / (m * (m - 1))
    p_bar, p_e = float(p_i.mean()), float(np.sum(p_j * p_j))
    return float("nan") if p_e >= 1 else (p_bar - p_e) / (1 - p_e)


def reader_ids(manifest: DatasetManifest, label: str) -> tuple[str, ...]:
    return tuple(sorted({r for e in manifest.entries for r in e.readers.get(label, {})}))


def agreement(manifest: DatasetManifest, label: str) -> dict[str, Any] | None:
    """Kappa over the cases every reader read (Cohen for two readers, Fleiss for more); None without reads."""
    readers = reader_ids(manifest, label)
    if not readers:
        return None
    rows = [[e.readers.get(label, {}).get(r) for r in readers] for e in manifest.entries]
    complete = np.array([row for row in rows if all(v is not None for v in row)], dtype=np.int64).reshape(-1, len(readers))
    out: dict[str, Any] = {"label": label, "readers": list(readers), "cases": int(len(complete)),
                           "incomplete_cases": len(rows) - int(len(complete))}
    if len(readers) < 2 or len(complete) == 0:
        return {**out, "statistic": None, "kappa": None, "percent_agreement": None}
    if len(readers) == 2:
        kappa, statistic = cohen_kappa(complete[:, 0], complete[:, 1]), "cohen_kappa"
    else:
        ones = complete.sum(axis=1)
        kappa, statistic = fleiss_kappa(np.stack([len(readers) - ones, ones], axis=1)), "fleiss_kappa"
    agree = float(np.mean(np.all(complete == complete[:, :1], axis=1)))
    return {**out, "statistic": statistic, "kappa": None if kappa != kappa else kappa, "percent_agreement": agree}


def evaluate(spec: ReferenceStandard | None, manifest: DatasetManifest, labels: tuple[str, ...]) -> tuple[dict[str, Any], list[str]]:
    """The stated reference standard with each label's agreement, and the reasons it fails the run (if any)."""
    per_label = {label: agreement(manifest, label) for label in labels}
    reasons: list[str] = []
    if spec is not None and spec.min_kappa is not None:
        for label, a in per_label.items():
            if a is None:
                reasons.append(f"reference standard: no per-reader reads of {label!r} in the manifest, so agreement "
                               f"(kappa >= {spec.min_kappa:g}) cannot be shown")
            elif len(a["readers"]) != spec.readers:
                reasons.append(f"reference standard: {label!r} has reads of {len(a['readers'])} readers, "
                               f"the protocol states {spec.readers}")
            elif a["kappa"] is None or a["kappa"] < spec.min_kappa:
                reasons.append(f"reference standard: {label!r} inter-reader {a['statistic']} {a['kappa']} "
                               f"is below {spec.min_kappa:g}")
    return {"statement": spec.to_json() if spec else None, "agreement": per_label}, reasons
