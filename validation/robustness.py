"""Robustness: the primary endpoints within each acquisition stratum the protocol names (VALIDATION.md).

`robustness: {attributes: [Manufacturer, ViewPosition], min_size: 10, min_positives: 1}`
stratifies the test set by each named manifest attribute (a missing value is its own
stratum, "unknown") and gives every primary endpoint its estimate and interval in every
stratum, by the endpoint's own metric and interval method (`qms.validation.metrics`),
so a stratum reads exactly like the overall endpoint. A stratum below the minimum size
or positives is reported and marked descriptive; a sufficient stratum whose interval
misses the endpoint's acceptance is named. Robustness is evidence for review and for the
labeling limitations: it does not by itself fail the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qms.errors import QmsError
from qms.validation.acquisition import value_name
from qms.validation.criteria import Endpoint
from qms.validation.manifest import DatasetManifest
from qms.validation.metrics import LabelCases, interval
from qms.validation.protocolreader import ProtocolReader

__all__ = ["DEFAULT_MIN_SIZE", "RobustnessSpec", "check", "parse", "stratify"]

DEFAULT_MIN_SIZE = 10


@dataclass(frozen=True)
class RobustnessSpec:
    attributes: tuple[str, ...]
    min_size: int = DEFAULT_MIN_SIZE
    min_positives: int = 0
    where: Mapping[str, str] | None = field(default=None, compare=False)
    """Each attribute's `file:line` in the protocol, for the error when the manifest lacks it."""


def parse(p: ProtocolReader) -> RobustnessSpec | None:
    """The `robustness` section: attribute names (each once), optional minimum stratum size and positives."""
    path = ("robustness",)
    if p.get(path, dict, required=False) is None:
        return None
    p.keys(path, {"attributes", "min_size", "min_positives", "notes"})
    names = p.strings((*path, "attributes"))
    for i, name in enumerate(names):
        if name in names[:i]:
            raise p.fail((*path, "attributes", i), f"robustness attribute {name!r} appears twice")
    where = {name: p.doc.where((*path, "attributes", i)) for i, name in enumerate(names)}
    if not names:
        raise p.fail((*path, "attributes"), "robustness needs at least one attribute")
    min_size = int(p.get((*path, "min_size"), int, required=False, default=DEFAULT_MIN_SIZE))
    min_pos = int(p.get((*path, "min_positives"), int, required=False, default=0))
    if min_size < 1:
        raise p.fail((*path, "min_size"), f"min_size = {min_size}; a stratum needs at least one case")
    if min_pos < 0:
        raise p.fail((*path, "min_positives"), f"min_positives = {min_pos} is negative")
    return RobustnessSpec(names, min_size, min_pos, where)


def check(spec: RobustnessSpec | None, manifest: DatasetManifest, source: str) -> None:
    """Refused before inference: a robustness attribute the manifest does not record."""
    if spec is None:
        return
    for name in spec.attributes:
        if name not in manifest.attribute_names:
            raise QmsError(f"robustness attribute {name!r} is not in the dataset manifest "
                           f"(attributes: {', '.join(manifest.attribute_names)})",
                           where=(spec.where or {}).get(name, source))


def stratify(spec: RobustnessSpec | None, manifest: DatasetManifest, endpoints: tuple[Endpoint, ...],
             cases: Mapping[str, LabelCases]) -> dict[str, Any] | None:
    """Every stratum of every attribute with each primary endpoint's estimate, interval and criterion."""
    if spec is None:
        return None
    primary = [e for e in endpoints if e.role.value == "primary"]
    first = cases[primary[0].labels[0]]
    strata = []
    for name in spec.attributes:
        values = np.array([value_name(e.attributes[name]) for e in manifest.entries])
        for value in sorted(set(values.tolist())):
            mask = values == value
            n = int(mask.sum())
            positives = int(first.y[mask].sum())
            sufficient = n >= spec.min_size and positives >= spec.min_positives
            results = {}
            for e in primary:
                iv = interval(e.metric, [cases[label].subset(mask) for label in e.labels], e.threshold, e.ci,
                              e.prevalence)
                meets = e.acceptance.holds(iv.estimate, iv.lower, iv.upper) if e.acceptance and sufficient else None
                results[e.id] = {"metric": e.metric.value, "estimate": iv.estimate, "lower": iv.lower, "upper": iv.upper,
                                 "level": iv.level, "method": iv.method.value,
                                 "acceptance": str(e.acceptance) if e.acceptance else None, "meets": meets}
            strata.append({"attribute": name, "value": value, "cases": n, "positives": positives,
                           "patients": len({manifest.entries[i].patient_id for i in np.flatnonzero(mask)}),
                           "sufficient": sufficient, "endpoints": results})
    return {"attributes": list(spec.attributes), "min_size": spec.min_size, "min_positives": spec.min_positives,
            "positives_of": primary[0].labels[0], "strata": strata,
            "statement": "each primary endpoint within each stratum, by its own metric and interval method; "
                         "descriptive (no multiplicity adjustment), strata below the minimum not judged"}
