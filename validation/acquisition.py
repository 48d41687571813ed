"""The acquisition table: on what equipment, with what views and pixel spacing, the test images were made.

Counted from the DICOM attributes the manifest read from the de-identified headers
(`qms.validation.dataset.DICOM_ATTRIBUTES`; pixel spacings are row spacings in mm), each
value with its count and share of the included cases, and the equipment as
manufacturer, model and modality together (VALIDATION.md, "acquisition"). A missing value
is counted as "unknown", never dropped.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from qms.validation.manifest import AttributeValue, DatasetManifest

__all__ = ["ATTRIBUTES", "EQUIPMENT", "UNKNOWN", "present", "table", "value_name"]

ATTRIBUTES = ("Manufacturer", "ManufacturerModelName", "Modality", "ViewPosition", "PixelSpacing",
              "ImagerPixelSpacing")
"""The acquisition attributes, in the table's order (DICOM keywords)."""
EQUIPMENT = ("Manufacturer", "ManufacturerModelName", "Modality")
UNKNOWN = "unknown"


def present(manifest: DatasetManifest) -> tuple[str, ...]:
    """The acquisition attributes this manifest records (older manifests lack the spacings)."""
    return tuple(a for a in ATTRIBUTES if a in manifest.attribute_names)


def value_name(value: AttributeValue) -> str:
    """An attribute value as the table shows it: text as is, a number in its shortest form, missing as unknown."""
    if value is None or value == "":
        return UNKNOWN
    return f"{value:g}" if isinstance(value, float) else str(value)


def _counts(keys: list[tuple[str, ...]], total: int) -> list[dict[str, Any]]:
    return [{"value": list(k), "cases": n, "percent": 100.0 * n / total}
            for k, n in sorted(Counter(keys).items(), key=lambda kv: (-kv[1], kv[0]))]


def table(manifest: DatasetManifest) -> dict[str, Any]:
    """Per attribute, each value's cases and percent; the equipment rows; numeric ranges (min, max)."""
    n = len(manifest.entries)
    attributes = []
    for name in present(manifest):
        rows = _counts([(value_name(e.attributes[name]),) for e in manifest.entries], n)
        attributes.append({"attribute": name, "values": [{**r, "value": r["value"][0]} for r in rows]})
    equipment = []
    if all(a in manifest.attribute_names for a in EQUIPMENT):
        for r in _counts([tuple(value_name(e.attributes[a]) for a in EQUIPMENT) for e in manifest.entries], n):
            equipment.append({**dict(zip(("manufacturer", "model", "modality"), r["value"], strict=True)),
                              "cases": r["cases"], "percent": r["percent"]})
    ranges = {}
    for name in ("PatientAge", *present(manifest)):
        numbers = [float(v) for e in manifest.entries if isinstance(v := e.attributes.get(name), (int, float))]
        if numbers:
            ranges[name] = {"min": min(numbers), "max": max(numbers), "known": len(numbers), "unknown": n - len(numbers)}
    return {"cases": n, "attributes": attributes, "equipment": equipment, "ranges": ranges}
