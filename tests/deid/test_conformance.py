"""Conformance details: companions go with what they qualify, software-version UIDs by a stated rule, safe privates kept."""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import MRImageStorage

from qms.deid.dataset import Deidentifier
from qms.deid.keying import DeidKey
from qms.deid.options import DeidOptions
from qms.deid.profile import STATED_ROWS, Action, ActionTable
from qms.synthetic_dicom import SyntheticPatient, SyntheticUids, synthetic_image

KEY = DeidKey(bytes(range(32)))
VERSION_UID = "1.3.12.2.1107.5.2.43.166001"  # made up, shaped like a maker's root with a device serial


def _mr(**attributes: object) -> Dataset:
    return synthetic_image(np.zeros((4, 4), dtype="<u2"), modality="MR", sop_class=MRImageStorage,
                           uids=SyntheticUids.seeded("conformance", 1),
                           patient=SyntheticPatient("VET-3", "Rex^Wexholm", "20150101", "M"),
                           attributes={"Manufacturer": "SYNTHETIC", **attributes})


def test_responsible_person_role_goes_with_responsible_person() -> None:
    """ResponsiblePersonRole (Type 1C on ResponsiblePerson) is removed with ResponsiblePerson."""
    ds = _mr(ResponsiblePerson="Wexholm^Berit", ResponsiblePersonRole="OWNER", PatientSpeciesDescription="Canine")
    Deidentifier(KEY, DeidOptions()).deidentify(ds)
    assert "ResponsiblePerson" not in ds and "ResponsiblePersonRole" not in ds
    assert ds.PatientSpeciesDescription == "Canine"


def test_alternative_calendar_dates_and_issuer_qualifiers_go() -> None:
    """Birth and death dates in an alternative calendar, the calendar (their Type 1C companion) and the
    Issuer of Patient ID qualifiers are removed with what Table E.1-1 removes."""
    qualifiers = Dataset()
    qualifiers.UniversalEntityID = "urn:oid:1.2.3.4.5"
    ds = _mr(PatientBirthDateInAlternativeCalendar="1381/10/11", PatientDeathDateInAlternativeCalendar="1440/01/02",
             PatientAlternativeCalendar="I", IssuerOfPatientID="SYNTHVILLE GENERAL",
             IssuerOfPatientIDQualifiersSequence=[qualifiers])
    Deidentifier(KEY, DeidOptions()).deidentify(ds)
    for keyword in ("PatientBirthDateInAlternativeCalendar", "PatientDeathDateInAlternativeCalendar",
                    "PatientAlternativeCalendar", "IssuerOfPatientID", "IssuerOfPatientIDQualifiersSequence"):
        assert keyword not in ds, keyword


def test_creator_version_uid_is_mapped_unless_device_identity_is_retained() -> None:
    """CreatorVersionUID gets its keyed UID (the same for every file of that version); Retain Device Identity keeps it."""
    first, second = _mr(CreatorVersionUID=VERSION_UID), _mr(CreatorVersionUID=VERSION_UID)
    engine = Deidentifier(KEY, DeidOptions())
    engine.deidentify(first)
    Deidentifier(KEY, DeidOptions()).deidentify(second)
    assert first.CreatorVersionUID == second.CreatorVersionUID == KEY.uid(VERSION_UID) != VERSION_UID
    kept = _mr(CreatorVersionUID=VERSION_UID)
    Deidentifier(KEY, DeidOptions.from_config({}, ["retain_device_identity"])).deidentify(kept)
    assert kept.CreatorVersionUID == VERSION_UID


def test_stated_rows_are_listed_and_resolved() -> None:
    """Each stated rule is one row of the action table: Referenced Study Sequence X/Z/U*, the others as stated."""
    table = ActionTable(DeidOptions().options)
    assert {row[0] for row in STATED_ROWS} == {"00081110", "00102298", "00089123", "00100033", "00100034", "00100035",
                                                "00100024"}
    assert table.exact[0x00081110].action is Action.X_Z_U
    assert table.exact[0x00102298].action is Action.X
    assert table.exact[0x00089123].action is Action.U


def test_siemens_mosaic_private_elements_are_kept_and_others_removed() -> None:
    """SIEMENS MR HEADER (0019,xx0A) and (0019,xx0B), on the safe list, stay with their creator; an unlisted one goes."""
    ds = _mr()
    block = ds.private_block(0x0019, "SIEMENS MR HEADER", create=True)
    block.add_new(0x0A, "US", 36)
    block.add_new(0x0B, "DS", "2500")
    block.add_new(0x08, "CS", "IMAGE NUM 4")
    other = ds.private_block(0x0029, "SYNTHETIC PHI 1.0", create=True)
    other.add_new(0x01, "LO", "Rex^Wexholm")
    Deidentifier(KEY, DeidOptions()).deidentify(ds)
    kept = ds.private_block(0x0019, "SIEMENS MR HEADER")
    assert kept[0x0A].value == 36 and str(kept[0x0B].value) == "2500"
    assert (kept.get_tag(0x08) in ds) is False
    assert 0x00290010 not in ds and 0x00291001 not in ds
