"""The combined Annex E actions resolved by the attribute's type in the file's IOD.

PS3.15 Table E.1-1: X/Z is X unless Z is required to keep the IOD conformant (Type 2), X/D
is X unless D is (Type 1), Z/D is Z unless D is, X/Z/D is X unless Z or D is, and X/Z/U* is
X unless Z or the replacement of the contained UIDs (U) is. The types are PS3.3's, per SOP
Class, from the table that scripts/gen_iod_types.py generates (`qms.deid._iod_types`).

Only attributes present in the input are resolved, so a conditional type (1C, 2C) is taken
as required: what is present stays present (D for 1C, Z for 2C), and a conformant input
stays conformant whether or not its condition holds. Where one attribute has several types
in one IOD (two modules, or a module used optionally), the strictest wins. A code whose
letters lack the required action keeps the nearest it has: X/Z on a Type 1 attribute gives
Z, X/D on a Type 2 gives D, Z/D on a Type 3 gives Z. D and Z replace the value (a sequence
under D or U keeps its items, each de-identified by its own rules).

X/Z/U* (Referenced Image, Source Image Sequence, and Referenced Study Sequence, which
`qms.deid.profile` treats as one of them) gives U whatever the type: the reference is kept,
each item de-identified by its own rules and every instance UID in it replaced by its keyed
UID, the same one the referenced file's own UID maps to (issue 19). So a prior study, a
segmentation or a report still points at its images. The letters allow U, and U discloses
nothing X would hide: a reference item holds a SOP Class UID (the standard's) and instance
UIDs (each U). An emptied reference would also break the IOD's other conditions on it (the
Common Instance Reference Module must list exactly what the instance references; a
Segmentation's Derivation Image Sequence names its source images).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from qms.deid.profile import Action

__all__ = ["IodTypes", "iod_types", "resolve"]

_RANK = {"1": 0, "1C": 1, "2": 2, "2C": 3, "3": 4}  # strictest first
_REQUIRES = {"1": "D", "1C": "D", "2": "Z", "2C": "Z", "3": "X"}
_RESOLVED: dict[Action, dict[str, Action]] = {  # required action -> what the combined code gives
    Action.X_Z: {"X": Action.X, "Z": Action.Z, "D": Action.Z},
    Action.X_D: {"X": Action.X, "Z": Action.D, "D": Action.D},
    Action.Z_D: {"X": Action.Z, "Z": Action.Z, "D": Action.D},
    Action.X_Z_D: {"X": Action.X, "Z": Action.Z, "D": Action.D},
    Action.X_Z_U: {"X": Action.U, "Z": Action.U, "D": Action.U},  # references are kept: the module docstring
}


class IodTypes:
    """The types of one IOD's combined-action attributes, keyed by (sequence tags..., tag)."""

    def __init__(self, iod: str, types: Mapping[tuple[int, ...], str], complete: bool) -> None:
        self.iod = iod
        self.types = types
        self.complete = complete  # every module of the IOD was described by the source

    def type_of(self, path: tuple[int, ...], tag: int) -> str | None:
        """The attribute's type at this sequence path; "3" for a top-level attribute the IOD
        lacks (removing it is conformant); None where the table cannot tell (nested, or a
        partial IOD): the caller then judges from the input."""
        found = self.types.get(path + (tag,))
        if found is None and not path and self.complete:
            return "3"
        return found


def iod_types(sop_class_uid: str) -> IodTypes | None:
    """The IOD's types for a SOP Class UID, or None for one the standard's tables lack (private,
    retired, newer); the table is imported on first use and each IOD merged once per process."""
    from qms.deid._iod_types import SOP_CLASSES

    iod = SOP_CLASSES.get(sop_class_uid.strip().rstrip("\x00"))
    return None if iod is None else _merged(iod)


@lru_cache(maxsize=None)
def _merged(iod: str) -> IodTypes:
    """One IOD's modules merged: where an attribute has several types, the strictest."""
    from qms.deid._iod_types import IODS, MODULES, PARTIAL_IODS

    merged: dict[tuple[int, ...], str] = {}
    for module in IODS[iod]:
        for key, kind in MODULES[module]:
            if key not in merged or _RANK[kind] < _RANK[merged[key]]:
                merged[key] = kind
    return IodTypes(iod, MappingProxyType(merged), iod not in PARTIAL_IODS)


def resolve(action: Action, attribute_type: str) -> Action:
    """The single action a combined code means for an attribute of `attribute_type`."""
    return _RESOLVED[action][_REQUIRES[attribute_type]]
