"""The Annex E action codes, the profile options, and the action table they resolve to.

PS3.15 §E.3 defines the Basic Profile actions and the options that change them; the table
itself is generated from Table E.1-1 (`qms.deid._annex_e`), with qmskit's stated rules on top
(`STATED_ROWS`) where the table is silent or a reference would be lost. Resolving a table for
one set of options once lets the per-element work be a dictionary look-up.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from qms.deid._annex_e import EDITION, ROWS

__all__ = ["Action", "ActionTable", "BASIC_PROFILE_CODE", "EDITION", "ProfileOption", "Rule", "STATED_ROWS"]


class Action(enum.Enum):
    """Table E.1-1 action codes (PS3.15 §E.3.1, Table E.1-1 legend)."""

    D = "D"            # replace with a non-zero length dummy value consistent with the VR
    Z = "Z"            # replace with a zero length value (or a dummy consistent with the VR)
    X = "X"            # remove
    K = "K"            # keep (sequences: de-identify every item)
    C = "C"            # clean: replace with values of similar meaning known not to identify
    U = "U"            # replace UIDs with consistent, internally-generated UIDs
    X_Z = "X/Z"        # X unless Z is required for IOD conformance (Type 2)
    X_D = "X/D"        # X unless D is required for IOD conformance (Type 1)
    Z_D = "Z/D"        # Z unless D is required (Type 1)
    X_Z_D = "X/Z/D"    # X unless Z (Type 2) or D (Type 1) is required
    X_Z_U = "X/Z/U*"   # X unless Z or U of the contained UID references is required


class ProfileOption(enum.Enum):
    """The options of PS3.15 Table E.1-1, with their CID 7050 code (PS3.16) and config name."""

    RETAIN_SAFE_PRIVATE = ("retain_safe_private", "rtnSafePrivOpt", "113111", "Retain Safe Private Option")
    RETAIN_UIDS = ("retain_uids", "rtnUIDsOpt", "113110", "Retain UIDs Option")
    RETAIN_DEVICE_IDENTITY = ("retain_device_identity", "rtnDevIdOpt", "113109", "Retain Device Identity Option")
    RETAIN_INSTITUTION_IDENTITY = ("retain_institution_identity", "rtnInstIdOpt", "113112",
                                   "Retain Institution Identity Option")
    RETAIN_PATIENT_CHARACTERISTICS = ("retain_patient_characteristics", "rtnPatCharsOpt", "113108",
                                      "Retain Patient Characteristics Option")
    RETAIN_LONG_FULL_DATES = ("retain_long_full_dates", "rtnLongFullDatesOpt", "113106",
                              "Retain Longitudinal Temporal Information Full Dates Option")
    RETAIN_LONG_MODIFIED_DATES = ("retain_long_modified_dates", "rtnLongModifDatesOpt", "113107",
                                  "Retain Longitudinal Temporal Information Modified Dates Option")
    CLEAN_DESCRIPTORS = ("clean_descriptors", "cleanDescOpt", "113105", "Clean Descriptors Option")
    CLEAN_STRUCTURED_CONTENT = ("clean_structured_content", "cleanStructContOpt", "113104",
                                "Clean Structured Content Option")
    CLEAN_GRAPHICS = ("clean_graphics", "cleanGraphOpt", "113103", "Clean Graphics Option")
    CLEAN_PIXEL_DATA = ("clean_pixel_data", "", "113101", "Clean Pixel Data Option")

    def __init__(self, config_name: str, table_key: str, code: str, meaning: str) -> None:
        self.config_name = config_name
        self.table_key = table_key
        self.code = code
        self.meaning = meaning

    @classmethod
    def from_name(cls, name: str) -> ProfileOption:
        for option in cls:
            if option.config_name == name.replace("-", "_"):
                return option
        raise KeyError(name)


BASIC_PROFILE_CODE = ("113100", "Basic Application Confidentiality Profile")

STATED_ROWS: tuple[tuple[str, str, bool, str, tuple[tuple[str, str], ...]], ...] = (
    # A reference sequence like Referenced Image Sequence (X/Z/U*): kept with its UIDs mapped (qms.deid.iod),
    # where Table E.1-1's X/Z would cut a prior study off from the instances that cite it.
    ("00081110", "Referenced Study Sequence", True, "X/Z/U*", (("rtnUIDsOpt", "K"),)),
    # A companion goes with the attribute it qualifies: Responsible Person Role is Type 1C on Responsible
    # Person (X), so left alone it would be a dciodvfy error and a hint at who was responsible.
    ("00102298", "Responsible Person Role", True, "X", ()),
    # Values the table does not list though they identify as much as what it removes: the birth and death
    # dates written in another calendar (LO, so an unlisted one would be kept), the calendar itself (Type 1C on
    # them), and the qualifiers of Issuer of Patient ID (X), which name the assigning institution.
    ("00100033", "Patient's Birth Date in Alternative Calendar", True, "X", ()),
    ("00100034", "Patient's Death Date in Alternative Calendar", True, "X", ()),
    ("00100035", "Patient's Alternative Calendar", True, "X", ()),
    ("00100024", "Issuer of Patient ID Qualifiers Sequence", True, "X", ()),
    # A software-version UID is built under its maker's root and may carry the device's serial number
    # (device identity): its keyed UID (U) keeps "same version" comparable; Retain Device Identity keeps it.
    ("00089123", "Creator-Version UID", True, "U", (("rtnDevIdOpt", "K"),)),
)
"""qmskit's rules beside Table E.1-1's rows, in its shape (tag, name, in a standard IOD, action, options)."""


@dataclass(frozen=True)
class Rule:
    """The resolved action for one attribute, and whether it occurs in a standard composite IOD."""

    action: Action
    in_standard_iod: bool
    name: str


def _resolve(basic: str, option_actions: Iterable[tuple[str, str]], enabled: frozenset[str]) -> Action:
    """An enabled option overrides the Basic Profile; of two enabled options, C (clean) wins over K."""
    chosen = [a for key, a in option_actions if key in enabled]
    if not chosen:
        return Action(basic)
    return Action.C if "C" in chosen else Action.K


class ActionTable:
    """Table E.1-1 resolved for one set of options, by exact tag.

    The table's repeating rows (private elements, curves 50xx, overlays 60xx) are not resolved
    here: `qms.deid.dataset` decides those by the tag alone (private policy; whole curve and
    overlay groups removed).
    """

    def __init__(self, options: Iterable[ProfileOption]) -> None:
        enabled = frozenset(o.table_key for o in options)
        self.exact: dict[int, Rule] = {}
        for pattern, name, in_iod, basic, opts in (*ROWS, *STATED_ROWS):
            if all(c in "0123456789ABCDEF" for c in pattern):
                self.exact[int(pattern, 16)] = Rule(_resolve(basic, opts, enabled), in_iod, name)
