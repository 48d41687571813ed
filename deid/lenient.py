"""A dataset read as far as it can be: one malformed element never stops a check (issue 19).

pydicom converts an element when it is first used and raises on one it cannot convert (an
unknown VR, a value its VR cannot hold), so one malformed element of a source file used to
stop `qms deid verify --against` for every output. `settle` converts every element at once,
at every sequence level, and puts each one that cannot be converted back as VR UN holding its
raw bytes, which the checks still search as text.
"""

from __future__ import annotations

from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset

__all__ = ["settle"]

_PASS_THROUGH = (KeyboardInterrupt, SystemExit)


def settle(ds: Dataset) -> Dataset:
    """Convert every element of `ds` in place, each unconvertible one becoming UN with its bytes; `ds` itself."""
    for tag in list(ds._dict):
        try:
            elem = ds[tag]
        except _PASS_THROUGH:
            raise
        except BaseException:  # whatever a converter raises on malformed bytes
            raw = ds._dict[tag]
            value = raw.value if isinstance(raw, RawDataElement) else None
            ds._dict[tag] = DataElement(tag, "UN", value if isinstance(value, bytes) else b"")
            continue
        if elem.VR == "SQ":
            for item in elem.value:
                settle(item)
    return ds
