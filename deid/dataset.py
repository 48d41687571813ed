"""De-identify one dataset in place: every element, every sequence level, the file meta.

The combined actions (X/Z, X/D, Z/D, X/Z/D, X/Z/U*) depend on the attribute's type in the
file's IOD: `qms.deid.iod` resolves them from PS3.3's types for the SOP Class, at the
attribute's sequence path (Type 1 or 1C gives D, or U for X/Z/U*; Type 2 or 2C gives Z;
Type 3, or not in the IOD, gives X). Where the tables cannot tell (no, a private or an
unknown SOP Class UID; a sequence path the tables do not list), the type is judged from
the input: an attribute in no standard composite IOD is removed (X is always conformant);
one present with a value may be Type 1 and gets D; one present but empty may be Type 2 and
gets Z. Either way a conformant input stays conformant, and no original value survives.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable, MutableSequence
from dataclasses import dataclass, field
from typing import Any

from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag

from qms.deid.header_text import (CODED, DEVICE_DESCRIPTORS, FREE_TEXT_VRS, HINT_TAGS, FileHints, HeaderText,
                                  content_names)
from qms.deid.iod import IodTypes, iod_types, resolve
from qms.deid.keying import DeidKey, normalise_identifier
from qms.deid.options import DeidOptions
from qms.deid.peek import (TEXT_VRS, assign, dictionary_vr, element_at, element_vr, is_empty, mapped, mapped_text,
                          replaced, store, stored, text, uid_as_written, value_texts)
from qms.deid.private import PrivateAction, SafePrivateList, private_action
from qms.deid.profile import Action, ActionTable, ProfileOption, Rule
from qms.deid.values import cap_age, dummy, shift_date, shift_datetime

__all__ = ["CODED_IDENTITIES", "DICOM_UID_ROOT", "DatasetReport", "Deidentifier", "patient_key"]

DICOM_UID_ROOT = "1.2.840.10008."  # PS3.5 §9: UIDs the standard defines (SOP classes...) identify no one
_CODE_TEXT_VRS = TEXT_VRS | {"PN", "UR"}
# Code sequences whose codes name an institution or a person (Institution Code Sequence, Person
# Identification Code Sequence): see `_Run._dummy_codes`.
CODED_IDENTITIES = frozenset({0x00080082, 0x00401101})
# The VRs of an unlisted attribute that is kept (its free text cleaned): every VR but SQ, DA, DT, AS (whose
# items, dates and ages are still de-identified), UN and the ambiguous ones.
_KEPT_VRS = frozenset({"AE", "AT", "CS", "DS", "FD", "FL", "IS", "LO", "LT", "OB", "OD", "OF", "OL", "OV", "OW", "PN",
                       "SH", "SL", "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UR", "US", "UT", "UV"})
_PATIENT_ID, _PATIENT_NAME = 0x00100020, 0x00100010
_PSEUDONYMISED = frozenset({_PATIENT_ID, _PATIENT_NAME})
_SOP_CLASS_UID, _SOP_INSTANCE_UID, _STUDY_INSTANCE_UID = 0x00080016, 0x00080018, 0x0020000D
_MEDIA_STORAGE_SOP_INSTANCE_UID = 0x00020003
_CODES = {action: action.value for action in Action}  # an Enum's `.value` is a slow descriptor
_META_REMOVED = (0x00020016, 0x00020017, 0x00020018, 0x00020100, 0x00020102)  # AE titles, private info
def patient_key(patient_id: str, patient_name: str) -> str:
    """Who a file belongs to, for pseudonyms and date offsets: the PatientID, else the PatientName."""
    key: str = normalise_identifier(patient_id) or normalise_identifier(patient_name)
    return key


class _Kind(enum.Enum):
    """What an attribute's tag alone says is to be done with it (`_kind_of`)."""

    META = "file meta"  # (0002,xxxx): the file meta is handled apart
    GROUP_LENGTH = "group length"
    PRIVATE = "private"
    REMOVED = "removed"  # X, whatever the element: overlays, curves, and the attributes Table E.1-1 removes
    LISTED = "listed"  # another action of Table E.1-1
    UNLISTED = "unlisted"  # kept: its free text, items, dates and ages de-identified


_Step = tuple[_Kind, Rule | None, str | None]  # kind, its Table E.1-1 rule, its dictionary VR (unlisted ones)


@dataclass
class DatasetReport:
    """What was done to one dataset: pseudonymous ids and counts of actions (never original values)."""

    patient: str
    study: str | None
    sop_instance: str | None
    date_offset_days: int | None
    actions: Counter[str] = field(default_factory=Counter)
    hints: FileHints | None = None
    """The file's own identifying values as the detector's hints (for its output name: `qms.deid.names`)."""


class Deidentifier:
    """Applies Table E.1-1, resolved for one set of options, with one key; reusable across files."""

    def __init__(self, key: DeidKey, options: DeidOptions) -> None:
        self.key = key
        self.options = options
        self.table = ActionTable(options.options)
        self._uids: dict[str, str] = {}
        self._shift_dates = options.has(ProfileOption.RETAIN_LONG_MODIFIED_DATES)
        self._keep_meta_ae = options.has(ProfileOption.RETAIN_DEVICE_IDENTITY)
        self.safe_private: SafePrivateList | None = (
            options.safe_private if options.has(ProfileOption.RETAIN_SAFE_PRIVATE) else None)
        self._steps: dict[int, _Step] = {}  # per tag, computed once: most tags recur in every file
        self._subjects: dict[str, tuple[str, int | None]] = {}  # patient key -> pseudonym, date offset
        self.header_text = HeaderText(key, options.date_shift)

    def step(self, tag: int) -> _Step:
        """What the tag says is to be done (`_kind_of`), looked up once per tag and process."""
        found = self._steps.get(tag)
        if found is None:
            found = self._steps[tag] = _kind_of(self.table, tag)
        return found

    def uid(self, value: str) -> str:
        """The keyed replacement of a UID; UIDs the standard itself defines are kept."""
        value = value.strip().rstrip("\x00")
        if not value or value.startswith(DICOM_UID_ROOT):
            return value
        mapped = self._uids.get(value)
        if mapped is None:
            mapped = self._uids[value] = self.key.uid(value)
        return mapped

    def deidentify(self, ds: Dataset) -> DatasetReport:
        """De-identify `ds` in place (its file meta too); the caller writes it."""
        subject = patient_key(text(ds, _PATIENT_ID), text(ds, _PATIENT_NAME))
        known = self._subjects.get(subject)
        if known is None:
            offset = self.key.date_offset_days(subject, self.options.date_shift) if self._shift_dates else None
            known = self._subjects[subject] = (self.key.pseudonym("patient", subject), offset)
        pseudonym, offset = known
        # A raw element cannot change: its values are read when first needed; a converted one's now.
        hints: dict[int, RawDataElement | list[str]] = {
            t: e if isinstance(e, RawDataElement) else value_texts(ds, e) for t in HINT_TAGS
            if (e := stored(ds, t)) is not None}
        run = _Run(self, (subject, pseudonym), offset, ds, (hints, content_names(ds)))
        run.types = iod_types(text(ds, _SOP_CLASS_UID))
        run.clean(ds)
        if getattr(ds, "preamble", None) is not None:
            ds.preamble = bytes(128)  # PS3.10 §7.1: free for any use, so it may hold anything (a TIFF header, text)
        meta = getattr(ds, "file_meta", None)
        if isinstance(meta, FileMetaDataset):
            if _SOP_INSTANCE_UID in ds._dict:  # PS3.10 §7.1: the file meta names the instance the file holds
                assign(meta, _MEDIA_STORAGE_SOP_INSTANCE_UID, uid_as_written(ds, _SOP_INSTANCE_UID))
            if not self._keep_meta_ae:
                for tag in _META_REMOVED:
                    if tag in meta._dict:
                        del meta[tag]
        return DatasetReport(pseudonym, text(ds, _STUDY_INSTANCE_UID) or None,
                             text(ds, _SOP_INSTANCE_UID) or None, offset, run.counts, run.file_hints())


class _Run:
    """The state of de-identifying one dataset: its pseudonym, date offset and action counts."""

    def __init__(self, owner: Deidentifier, patient: tuple[str, str], offset: int | None, ds: Dataset,
                 hints: tuple[dict[int, RawDataElement | list[str]], list[str]]) -> None:
        self.o = owner
        self.table = owner.table
        self.subject, self.pseudonym = patient
        self.offset = offset
        self._ds = ds
        self._hint_elements = hints  # the hinted elements as they were before any change, the SR's names
        self._hints: FileHints | None = None  # prepared on first use: most files need none
        self.counts: Counter[str] = Counter()
        self.types: IodTypes | None = None  # the IOD's attribute types, where the SOP Class is known
        self.path: tuple[int, ...] = ()  # the tags of the sequences holding the item being cleaned

    def clean(self, ds: Dataset) -> None:
        step = self.o.step
        for tag, elem in list(ds._dict.items()):  # as stored: nothing is converted by listing it
            kind, rule, known_vr = step(int(tag))  # a plain int: BaseTag compares in Python
            if kind is _Kind.UNLISTED:
                vr = elem.VR if elem.VR is not None else known_vr
                if vr in _KEPT_VRS:  # kept as it is (what most elements of a file are), its free text cleaned
                    if vr in FREE_TEXT_VRS and int(tag) not in CODED:
                        self._free_text(ds, tag, vr)
                    continue
                self._unlisted(ds, tag, element_vr(ds, tag, elem))
            elif kind is _Kind.LISTED:
                assert rule is not None
                vr = element_vr(ds, tag, elem)
                self._apply(ds, tag, vr, _combined(rule, ds, tag, vr, self.types, self.path))
            elif kind is _Kind.REMOVED:
                del ds[tag]
                self.counts["X"] += 1
            elif kind is _Kind.PRIVATE:
                self._private(ds, tag)
            elif kind is _Kind.GROUP_LENGTH:
                del ds[tag]

    def _unlisted(self, ds: Dataset, tag: BaseTag, vr: str) -> None:
        """Attributes Table E.1-1 does not list are kept, but their sequences, dates and ages are not exempt."""
        if vr in FREE_TEXT_VRS and int(tag) not in CODED:
            self._free_text(ds, tag, vr)
        elif vr == "SQ":
            self._items(ds[tag].value, tag)
        elif vr in ("DA", "DT") and self.offset is not None:
            self._map(ds, tag, self._shifter(vr))
            self.counts["C"] += 1
        elif vr == "AS":
            self._map(ds, tag, cap_age)

    def _apply(self, ds: Dataset, tag: BaseTag, vr: str, action: Action) -> None:
        self.counts[_CODES[action]] += 1
        if action is Action.X:
            del ds[tag]
        elif vr == "SQ":
            if action is Action.Z:
                ds[tag].value = Sequence()
            else:  # D, K, C, U on a sequence: keep it, de-identify every item (PS3.15 §E.3.1)
                self._items(ds[tag].value, tag)
                if action is Action.D and int(tag) in CODED_IDENTITIES:
                    self._dummy_codes(ds[tag].value)
        elif int(tag) in _PSEUDONYMISED and action in (Action.Z, Action.D):
            store(ds, tag, replaced(ds, tag, vr, self.pseudonym))  # Z allows a dummy; a keyed pseudonym is one
        elif action is Action.Z:
            store(ds, tag, replaced(ds, tag, vr, None))
        elif action is Action.K:
            if vr == "AS":
                self._map(ds, tag, cap_age)
        elif vr == "UI":
            self._map(ds, tag, self.o.uid)
        elif action is Action.C:
            self._clean_value(ds, tag, vr)
        else:  # D, or U on what is not a UID
            store(ds, tag, replaced(ds, tag, vr, dummy(vr)))

    def _clean_value(self, ds: Dataset, tag: BaseTag, vr: str) -> None:
        if vr in ("DA", "DT") and self.offset is not None:
            self._map(ds, tag, self._shifter(vr))
        elif vr == "TM" and self.offset is not None:
            return  # a whole-day offset leaves the time of day, and so every interval, unchanged
        elif vr == "AS":
            self._map(ds, tag, cap_age)
        elif vr in TEXT_VRS:
            self._free_text(ds, tag, vr)
        else:
            store(ds, tag, replaced(ds, tag, vr, dummy(vr)))

    def file_hints(self) -> FileHints:
        """The hints from the file's identifying values as they were before any change (prepared once)."""
        if self._hints is None:
            elements, names = self._hint_elements
            values = {t: e if isinstance(e, list) else value_texts(self._ds, e) for t, e in elements.items()}
            self._hints = FileHints.of(self.subject, values, names)
        return self._hints

    def _free_text(self, ds: Dataset, tag: BaseTag, vr: str) -> None:
        """Every identifier the detector finds in the text becomes the patient's surrogate (`qms.deid.header_text`).

        An element with nothing to replace stays as it was read, its bytes untouched.
        """
        hints, clean, device = self.file_hints(), self.o.header_text.clean, int(tag) in DEVICE_DESCRIPTORS
        done: dict[str, tuple[str, int]] = {}
        for value in value_texts(ds, stored(ds, tag)):
            done[value] = clean(value, vr, self.subject, hints, device)
        if all(new == value for value, (new, _) in done.items()):
            return
        self.counts["text-phi"] += sum(n for _, n in done.values())
        self._map(ds, tag, lambda v: done[v][0] if v in done else clean(v, vr, self.subject, hints, device)[0])

    def _shifter(self, vr: str) -> Callable[[str], str]:
        days = self.offset or 0
        return (lambda v: shift_date(v, days)) if vr == "DA" else (lambda v: shift_datetime(v, days))

    def _map(self, ds: Dataset, tag: BaseTag, fn: Callable[[str], str]) -> None:
        raw = element_at(ds, tag)
        if type(raw) is RawDataElement and raw.value is not None:  # as read (`get_item` gives it as it is)
            vr = element_vr(ds, tag, raw)
            new: DataElement | RawDataElement | None = mapped(raw, vr, fn)
            if new is None:
                new = mapped_text(ds, tag, raw, vr, fn)
            if new is not None:  # mapped from its bytes: no conversion, no validation, no encoding on writing
                if new is not raw:
                    store(ds, tag, new)
                return
        elem = ds[tag]
        value = elem.value
        if value is None or value == "":
            return
        if isinstance(value, (bytes, bytearray)):  # an undecoded value (VR UN): not safely mappable
            ds[tag] = DataElement(tag, elem.VR, dummy(elem.VR))
        elif isinstance(value, (MultiValue, list)):
            elem.value = [fn(str(v)) for v in value]
        else:
            elem.value = fn(str(value))

    def _dummy_codes(self, items: MutableSequence[Any]) -> None:
        """A code that names a person or an institution is itself identifying: D gives each item's text a dummy.

        The items stay (the IOD may require the sequence and its code triplet), but Table E.1-1
        lists none of Code Value, Coding Scheme Designator or Code Meaning, so without this the
        original institution or person code would survive a D.
        """
        for item in items:
            for tag, elem in list(item.items()):
                vr = element_vr(item, tag, elem)
                if vr in _CODE_TEXT_VRS and not is_empty(item, tag):
                    item[tag] = replaced(item, tag, vr, dummy(vr))
                    self.counts["D"] += 1

    def _items(self, items: MutableSequence[Any], tag: int) -> None:
        outer = self.path
        self.path = outer + (int(tag),)
        try:
            for item in items:
                self.clean(item)
        finally:
            self.path = outer

    def _private(self, ds: Dataset, tag: BaseTag) -> None:
        """Retain Safe Private (PS3.15 §E.3.10): `qms.deid.private` decides, the walk does it."""
        action = private_action(ds, int(tag), self.o.safe_private)
        if action is PrivateAction.REMOVE:
            self._drop_private(ds, tag)
        elif action is PrivateAction.KEEP_CREATOR:
            ds[tag]  # noqa: B018 - converted, as reading its creator name always did: written the same
        else:
            self.counts["private-kept"] += 1
            vr = element_vr(ds, tag)
            if vr == "SQ":
                self._items(ds[tag].value, tag)
            elif vr in FREE_TEXT_VRS:  # private text the safe list keeps is free text like any other
                self._free_text(ds, tag, vr)

    def _drop_private(self, ds: Dataset, tag: BaseTag) -> None:
        if tag in ds:
            del ds[tag]
            self.counts["private-removed"] += 1


def _kind_of(table: ActionTable, tag: int) -> _Step:
    group = tag >> 16
    if group == 0x0002:
        return _Kind.META, None, None
    if tag & 0xFFFF == 0:  # group lengths (retired, PS3.5 §7.2) would be wrong after any change
        return _Kind.GROUP_LENGTH, None, None
    if group & 1:
        return _Kind.PRIVATE, None, None
    if group & 0xFF00 in (0x5000, 0x6000):
        # Curve (50xx) and overlay (60xx) groups: a bitmap or curve cannot be cleaned (Clean
        # Graphics, C), so the whole group goes, as Table E.1-1 removes its data (X).
        return _Kind.REMOVED, None, None
    rule = table.exact.get(tag)
    if rule is None:
        return _Kind.UNLISTED, None, dictionary_vr(tag)
    return (_Kind.REMOVED if rule.action is Action.X else _Kind.LISTED), rule, None


def _combined(rule: Rule, ds: Dataset, tag: BaseTag, vr: str, types: IodTypes | None,
              path: tuple[int, ...]) -> Action:
    """Resolve X/Z, X/D, Z/D, X/Z/D and X/Z/U* by the attribute's IOD type (module docstring)."""
    action = rule.action
    if action in (Action.X, Action.Z, Action.D, Action.K, Action.C, Action.U):
        return action
    kind = types.type_of(path, int(tag)) if types is not None else None
    if kind is not None:
        return resolve(action, kind)
    if not rule.in_standard_iod and action is not Action.Z_D:
        return Action.X
    if action is Action.X_Z_U:
        return Action.U if vr == "SQ" else Action.Z
    if action is Action.X_Z:
        return Action.Z
    if action is Action.X_D:
        return Action.D
    return Action.Z if is_empty(ds, tag) else Action.D
