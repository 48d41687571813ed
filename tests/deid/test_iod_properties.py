"""Property: for random IODs, combined-action attributes (at their PS3.3 sequence paths or at the
top level), values and presence, the resolved action is never K, the element ends as its IOD
type says, and no original value survives anywhere in the output."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from qms.deid import _iod_types as table
from qms.deid.dataset import Deidentifier
from qms.deid.iod import iod_types, resolve
from qms.deid.keying import DeidKey
from qms.deid.options import DeidOptions
from qms.deid.profile import Action, ActionTable

KEY = DeidKey(b"iod-property-key-of-32-bytes!!!!")
BASIC = DeidOptions.from_config({"options": []})
_RULES = ActionTable(()).exact
_COMBINED = sorted(t for t, r in _RULES.items() if "/" in r.action.value)
_UNKNOWN = ("1.3.6.1.4.1.99999.3.1", "")  # a private SOP Class, and none
_REF_UID = 0x00081155  # Referenced SOP Instance UID: what a reference sequence holds
_PATIENT_ID = 0x00100020
_VALUES = {"DA": "20240105", "TM": "101112", "DT": "20240105101112", "PN": "Quellmark^Alda",
           "CS": "QUELLMARKCS", "SH": "QMK-0042", "LO": "Quellmark Memorial Unit 7", "ST": "Quellmark note",
           "LT": "Quellmark long note", "UT": "Quellmark text", "UC": "Quellmark chars", "AE": "QUELLMARKAE",
           "IS": "4242", "DS": "42.4242"}


@st.composite
def _case(draw: st.DrawFn) -> tuple[str, tuple[int, ...], bool, int]:
    """(SOP Class UID, sequence path + tag, valued, seed) for one combined-action attribute."""
    sop_class = draw(st.sampled_from(sorted(table.SOP_CLASSES) + list(_UNKNOWN)))
    types = iod_types(sop_class)
    listed: list[tuple[int, ...]] = sorted(types.types) if types is not None else []
    nested: bool = draw(st.booleans())
    key: tuple[int, ...] = draw(st.sampled_from(listed)) if listed and nested else (draw(st.sampled_from(_COMBINED)),)
    return sop_class, key, draw(st.booleans()), draw(st.integers(1, 10**6))


def _build(sop_class: str, key: tuple[int, ...], valued: bool, seed: int) -> tuple[Dataset, str]:
    ds = Dataset()
    if sop_class:
        ds.SOPClassUID = sop_class
    ds.PatientID = f"MRN{seed:07d}"
    holder = ds
    for tag in key[:-1]:
        item = Dataset()
        holder.add_new(tag, "SQ", Sequence([item]))
        holder = item
    tag, vr = key[-1], dictionary_VR(key[-1])
    original = f"1.2.826.0.1.3680043.10.{seed}" if vr in ("SQ", "UI") else _VALUES[vr]
    if tag == _PATIENT_ID:
        original = f"PID{seed:07d}"
    if vr == "SQ":
        ref = Dataset()
        ref.add_new(_REF_UID, "UI", original)
        holder.add_new(tag, "SQ", Sequence([ref] if valued else []))
    else:
        holder.add_new(tag, vr, original if valued else None)
    return ds, original


def _values(ds: Dataset) -> list[str]:
    out: list[str] = []
    for elem in ds:
        if elem.VR == "SQ":
            for item in elem.value:
                out += _values(item)
        elif elem.value not in (None, ""):
            out.append(str(elem.value))
    return out


def _find(ds: Dataset, key: tuple[int, ...]) -> tuple[Dataset | None, bool]:
    """The dataset holding the attribute after de-identification, or None where a sequence on its path went."""
    holder = ds
    for tag in key[:-1]:
        if tag not in holder or not holder[tag].value:
            return None, False
        holder = holder[tag].value[0]
    return holder, key[-1] in holder


@settings(max_examples=150, deadline=None)
@given(_case())
def test_combined_action_never_keeps_and_never_leaks(case: tuple[str, tuple[int, ...], bool, int]) -> None:
    """The resolved action is never K, the element ends as X, Z, D or U say, and no original value survives."""
    sop_class, key, valued, seed = case
    ds, original = _build(sop_class, key, valued, seed)
    types = iod_types(sop_class)
    kind = types.type_of(key[:-1], key[-1]) if types is not None else None
    code = _RULES[key[-1]].action
    expected = resolve(code, kind) if kind is not None else None
    assert expected is not Action.K
    Deidentifier(KEY, BASIC).deidentify(ds)
    assert all(original not in v for v in _values(ds)), (sop_class, key)
    holder, present = _find(ds, key)
    if holder is None or expected is None or key[-1] == _PATIENT_ID:
        return  # a sequence on the path was itself removed or emptied; or the input-judged rule
    elem = holder[key[-1]] if present else None
    if expected is Action.X:
        assert not present
    elif expected is Action.Z:
        assert elem is not None and (elem.is_empty or len(elem.value) == 0)
    elif elem is not None and elem.VR == "SQ":  # D or U on a sequence: items kept, their UIDs replaced
        assert len(elem.value) == (1 if valued else 0)
    else:
        assert elem is not None and not elem.is_empty
