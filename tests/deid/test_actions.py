"""Every Annex E action code and combination, applied to the attributes Table E.1-1 gives it."""

from __future__ import annotations

from collections.abc import Callable

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage

from qms.deid.dataset import Deidentifier
from qms.deid.keying import DeidKey
from qms.deid.profile import Action, ActionTable, ProfileOption

EngineWith = Callable[..., Deidentifier]


def _ds(**elements: object) -> Dataset:
    ds = Dataset()
    ds.PatientID = "MRN1234567"
    for keyword, value in elements.items():
        setattr(ds, keyword, value)
    return ds


def test_x_removes(engine_with: EngineWith) -> None:
    """X (remove): Patient's Address (0010,1040) is absent afterwards."""
    ds = _ds(PatientAddress="12 Quellmark Road")
    engine_with().deidentify(ds)
    assert "PatientAddress" not in ds


def test_z_empties(engine_with: EngineWith) -> None:
    """Z (zero length): Accession Number (0008,0050) stays present and empty."""
    ds = _ds(AccessionNumber="ACC12345678")
    engine_with().deidentify(ds)
    assert "AccessionNumber" in ds and ds["AccessionNumber"].is_empty


def test_d_dummy_is_valid_for_the_vr(engine_with: EngineWith) -> None:
    """D (dummy): Person Name (0040,A123) gets a non-empty PN; Selector DA Value a valid DA."""
    ds = _ds(PersonName="Quellmark^Alda", SelectorDAValue="20240105")
    engine_with("no-retain_long_modified_dates").deidentify(ds)
    assert ds.PersonName and str(ds.PersonName) != "Quellmark^Alda"
    assert ds.SelectorDAValue == "19000101"


def test_k_keeps_under_an_option(engine_with: EngineWith) -> None:
    """K (keep): Patient's Sex under Retain Patient Characteristics; Z without the option."""
    kept, emptied = _ds(PatientSex="F"), _ds(PatientSex="F")
    engine_with().deidentify(kept)
    engine_with("no-retain_patient_characteristics").deidentify(emptied)
    assert kept.PatientSex == "F"
    assert emptied["PatientSex"].is_empty


def test_c_cleans_descriptors(engine_with: EngineWith) -> None:
    """C (clean): Study Description keeps its words but loses the patient's name, dates and long numbers."""
    ds = _ds(PatientName="Quellmark^Alda", StudyDescription="CT CHEST Quellmark 2024-01-05 ref 9876543")
    engine_with().deidentify(ds)
    assert ds.StudyDescription.startswith("CT CHEST")
    assert "Quellmark" not in ds.StudyDescription and "2024" not in ds.StudyDescription
    assert "9876543" not in ds.StudyDescription


def test_u_maps_uids_consistently(key: DeidKey, engine_with: EngineWith) -> None:
    """U: SOP Instance UID becomes a keyed 2.25 UID; a standard UID (SOP Class) is kept."""
    ds = _ds(SOPInstanceUID="1.2.3.4.5", SOPClassUID=CTImageStorage)
    engine = engine_with()
    engine.deidentify(ds)
    assert ds.SOPInstanceUID == key.uid("1.2.3.4.5")
    assert ds.SOPInstanceUID.startswith("2.25.") and len(ds.SOPInstanceUID) <= 64
    assert ds.SOPClassUID == CTImageStorage


def test_x_z_keeps_a_present_type_2_attribute_empty(engine_with: EngineWith) -> None:
    """X/Z on an attribute of a standard IOD (Acquisition Date, basic profile only): present, empty."""
    ds = _ds(AcquisitionDate="20240105")
    engine_with("no-retain_long_modified_dates").deidentify(ds)
    assert "AcquisitionDate" in ds and ds["AcquisitionDate"].is_empty


def test_x_d_and_x_z_d_give_dummies_to_present_values(engine_with: EngineWith) -> None:
    """X/D (Detector ID) and X/Z/D (Institution Name, Station Name): a dummy replaces a present value."""
    ds = _ds(DetectorID="DET-77", InstitutionName="Quellmark Memorial", StationName="CT42")
    engine_with().deidentify(ds)
    assert ds.DetectorID == "ANONYMIZED" and ds.InstitutionName == "ANONYMIZED" and ds.StationName == "ANONYMIZED"


def test_z_d_patient_id_becomes_the_keyed_pseudonym(key: DeidKey, engine_with: EngineWith) -> None:
    """Z/D Patient ID and Z Patient's Name become the patient's keyed pseudonym."""
    ds = _ds(PatientName="Quellmark^Alda")
    report = engine_with().deidentify(ds)
    assert ds.PatientID == report.patient == key.pseudonym("patient", "MRN1234567")
    assert ds.PatientName == report.patient


def test_x_z_u_sequences_keep_items_with_mapped_uids(key: DeidKey, engine_with: EngineWith) -> None:
    """X/Z/U* Referenced Image Sequence: kept, its Referenced SOP Instance UID replaced (U)."""
    item = Dataset()
    item.ReferencedSOPClassUID = CTImageStorage
    item.ReferencedSOPInstanceUID = "1.2.3.99"
    ds = _ds(ReferencedImageSequence=Sequence([item]))
    engine_with().deidentify(ds)
    assert ds.ReferencedImageSequence[0].ReferencedSOPInstanceUID == key.uid("1.2.3.99")


def test_z_d_is_z_when_empty_and_d_when_valued(engine_with: EngineWith) -> None:
    """Z/D Content Creator's Name: an empty one (Type 2) stays empty, a valued one (Type 1) gets a dummy."""
    empty, valued = _ds(ContentCreatorName=""), _ds(ContentCreatorName="Quellmark^Alda")
    engine_with().deidentify(empty)
    engine_with().deidentify(valued)
    assert empty["ContentCreatorName"].is_empty
    assert str(valued.ContentCreatorName) == "ANONYMIZED"


def test_every_nested_level_is_visited(engine_with: EngineWith) -> None:
    """A Patient's Name three sequence levels down is replaced like one at the top."""
    inner = Dataset()
    inner.PatientName = "Quellmark^Alda"
    inner.PatientAddress = "12 Quellmark Road"
    middle = Dataset()
    middle.ContentSequence = Sequence([inner])
    outer = Dataset()
    outer.AnatomicRegionSequence = Sequence([middle])
    ds = _ds(ReferencedSeriesSequence=Sequence([outer]))
    engine_with().deidentify(ds)
    deepest = ds.ReferencedSeriesSequence[0].AnatomicRegionSequence[0].ContentSequence[0]
    assert "Quellmark" not in str(deepest.PatientName)
    assert "PatientAddress" not in deepest


def test_repeating_groups_go(engine_with: EngineWith) -> None:
    """Curve (50xx) and overlay (60xx) groups are removed, data and comments alike."""
    ds = _ds()
    ds.add_new(0x50000010, "US", 2)
    ds.add_new(0x60023000, "OW", b"\x01\x02" * 8)
    ds.add_new(0x60024000, "LT", "Quellmark")
    ds.add_new(0x60020010, "US", 4)
    engine_with().deidentify(ds)
    assert not [t for t in ds.keys() if t >> 24 in (0x50, 0x60)]


def test_private_elements_go_unless_safe(engine_with: EngineWith) -> None:
    """Private elements are removed, except a safe-listed one with its creator (Retain Safe Private)."""
    ds = _ds()
    ds.private_block(0x0019, "SIEMENS MR HEADER", create=True).add_new(0x0C, "IS", "1000")
    ds.private_block(0x0019, "SIEMENS MR HEADER").add_new(0x10, "LO", "Quellmark")
    ds.private_block(0x0029, "ACME 1.0", create=True).add_new(0x01, "LO", "Quellmark")
    safe = ds.copy()
    engine_with().deidentify(safe)
    assert safe.private_block(0x0019, "SIEMENS MR HEADER")[0x0C].value == "1000"
    assert [t for t in safe.keys() if t.is_private] == [0x00190010, 0x0019100C]
    engine_with("no-retain_safe_private").deidentify(ds)
    assert not [t for t in ds.keys() if t.is_private]


def test_file_meta_follows_the_new_sop_instance_uid(engine: Deidentifier, ct: Dataset) -> None:
    """MediaStorageSOPInstanceUID equals the new SOPInstanceUID; source AE titles leave the meta."""
    ds = ct
    ds.file_meta.SourceApplicationEntityTitle = "QUELLMARK_CT"
    engine.deidentify(ds)
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert "SourceApplicationEntityTitle" not in ds.file_meta


def test_options_override_the_basic_profile() -> None:
    """An enabled option replaces the Basic Profile action: Retain UIDs keeps SOP Instance UID (K)."""
    assert ActionTable(()).exact[0x00080018].action is Action.U
    assert ActionTable([ProfileOption.RETAIN_UIDS]).exact[0x00080018].action is Action.K
