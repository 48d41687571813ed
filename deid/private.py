"""Retain Safe Private (PS3.15 §E.3.10): private elements kept only when known safe.

A private element is identified by its private creator, its group and the low byte of its
element number (the block byte `xx` varies from file to file). Every private element not on
the list is removed, and so is every private creator no kept element uses; without the
option every private element is removed (`private_action`).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

from qms.deid.peek import element_at, plain_text
from qms.errors import ConfigError

__all__ = ["BUILTIN_SAFE_PRIVATE", "PrivateAction", "SafePrivateList", "private_action"]

# A few entries of PS3.15 Table E.3.10-1 (Safe Private Attributes): mosaic layout (Number of Images in
# Mosaic 0019,xx0A; Slice Measurement Duration 0019,xx0B), which reading a Siemens mosaic needs, and
# diffusion parameters.
BUILTIN_SAFE_PRIVATE: dict[str, tuple[str, ...]] = {
    "SIEMENS MR HEADER": ("0019,xx0A", "0019,xx0B", "0019,xx0C", "0019,xx0D", "0019,xx0E", "0019,xx27"),
    "GEMS_PARM_01": ("0043,xx39",),
    "Philips Imaging DD 001": ("2001,xx03",),
}
_ENTRY = re.compile(r"^([0-9A-Fa-f]{4}),[xX]{2}([0-9A-Fa-f]{2})$")


@dataclass(frozen=True)
class SafePrivateList:
    """(creator, group, element byte) triples that may be kept; the builtin ones plus configured ones."""

    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    keys: frozenset[tuple[str, int, int]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys: set[tuple[str, int, int]] = set()
        for creator, entries in {**BUILTIN_SAFE_PRIVATE, **self.extra}.items():
            for entry in entries:
                match = _ENTRY.match(entry)
                if match is None or int(match.group(1), 16) % 2 == 0:
                    raise ConfigError(f"safe private entry {entry!r} of {creator!r} is not 'GGGG,xxEE' "
                                      "with an odd group", where="[tool.qms.deid] safe_private",
                                      hint='e.g. "SIEMENS MR HEADER" = ["0019,xx0C"]')
                keys.add((creator.strip(), int(match.group(1), 16), int(match.group(2), 16)))
        object.__setattr__(self, "keys", frozenset(keys))

    def is_safe(self, creator: str, group: int, element_byte: int) -> bool:
        return (creator.strip(), group, element_byte) in self.keys

    @classmethod
    def from_config(cls, value: Any, where: str) -> SafePrivateList:
        if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, list) and all(isinstance(e, str) for e in v)
                for k, v in value.items()):
            raise ConfigError(f"safe_private must map a private creator to a list of 'GGGG,xxEE', got {value!r}",
                              where=where, hint='e.g. safe_private = { "ACME 1.0" = ["0029,xx10"] }')
        return cls({k: tuple(v) for k, v in value.items()})

    def to_json(self) -> dict[str, list[str]]:
        return {k: sorted(v) for k, v in sorted(self.extra.items())}


class PrivateAction(enum.Enum):
    """What Retain Safe Private does with one private element."""

    REMOVE = "remove"
    KEEP_CREATOR = "keep creator"  # a private creator some kept element of its block uses
    KEEP = "keep"


def private_action(ds: Dataset, tag: int, safe: SafePrivateList | None) -> PrivateAction:
    """The action for private element `tag` of `ds`; `safe` is None when Retain Safe Private is not chosen."""
    element = tag & 0xFFFF
    if safe is None or element < 0x0010:
        return PrivateAction.REMOVE
    if element <= 0x00FF:  # a private creator: kept while an element of its block is kept
        used = any(t >> 16 == tag >> 16 and (t & 0xFFFF) >> 8 == element and _is_safe(ds, int(t), safe)
                   for t in ds.keys())
        return PrivateAction.KEEP_CREATOR if used else PrivateAction.REMOVE
    return PrivateAction.KEEP if _is_safe(ds, tag, safe) else PrivateAction.REMOVE


def _is_safe(ds: Dataset, tag: int, safe: SafePrivateList) -> bool:
    element = tag & 0xFFFF
    if element <= 0x00FF:
        return False
    creator_tag = (tag >> 16) << 16 | element >> 8
    if creator_tag not in ds._dict:
        return False
    creator = _creator(ds, creator_tag)
    return isinstance(creator, str) and safe.is_safe(creator, tag >> 16, element & 0xFF)


def _creator(ds: Dataset, tag: int) -> object:
    """A private creator's value, read from its bytes where they are plain, else converted (`ds[tag]`)."""
    raw = element_at(ds, tag)
    if type(raw) is RawDataElement and type(raw.value) is bytes and raw.VR == "LO":
        found = plain_text(raw.value, "LO")
        if found is not None:
            return found
    return ds[tag].value
