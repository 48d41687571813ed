"""The elements of a dataset as far as they can be read: one bad element never stops a check (issue 19).

`for elem in ds` converts every raw element, and pydicom raises on the first it cannot
convert (an unknown VR, a value its VR cannot hold), so one malformed element of a source file
used to stop `qms deid verify --against` for every output. Here an element that cannot be
converted is given as VR UN with its raw bytes, which the checks search as text.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset

__all__ = ["elements"]

_PASS_THROUGH = (KeyboardInterrupt, SystemExit)


def elements(ds: Dataset) -> Iterator[DataElement]:
    """Every element of `ds` in tag order, converted where pydicom can, else its raw bytes as VR UN."""
    for tag in sorted(ds._dict):
        try:
            yield ds[tag]
        except _PASS_THROUGH:
            raise
        except BaseException:  # whatever a converter raises on malformed bytes
            raw = ds._dict[tag]
            value = raw.value if isinstance(raw, RawDataElement) else None
            yield DataElement(tag, "UN", value if isinstance(value, bytes) else b"")
