"""DICOM files with synthetic PHI in every kind of free text: header elements, a deep SR tree, pixels.

Every value here is made up for these tests (no real person, number or address). The image
comes from the shared builder `qms.synthetic_dicom`; the burned-in text is drawn with the
pixel tests' helper (`tests.deid_pixels.burned`). `PHI` lists each planted value with its kind.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage

from qms.deid.options import DeidOptions
from qms.deid.private import SafePrivateList
from qms.synthetic_dicom import SyntheticPatient, SyntheticUids, synthetic_image, synthetic_meta
from tests.deid_pixels.burned import anatomy, text_mask

COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
PATIENT = SyntheticPatient("TQ5581204", "BRANNIGAN^ODESSA^M", "19330512", "F", "093Y")
ACCESSION = "ACX90117342"
STUDY_DATE = "20230314"
SSN = "512-38-7740"
STREET = "2741 Larkspur Lane"
CITY = "Dayton, OH 45409"
DOCTOR = "Imelda Carrow"  # the family doctor
SR_DOCTOR = "Piers Okonjo"
HOSPITAL = "Larkfield General Hospital"
PHONE = "(330) 555-0142"
PRIOR_DATE = "11/02/2019"
PRIVATE_CREATOR = "ACME NOTES 1.0"
# Each planted value and its PHI type (the detector's PhiType value).
PHI: dict[str, str] = {
    SSN: "SSN", STREET: "ADDRESS", "Dayton": "CITY", DOCTOR: "NAME", SR_DOCTOR: "NAME", HOSPITAL: "INSTITUTION",
    PHONE: "PHONE", PRIOR_DATE: "DATE", "Brannigan": "NAME", "Odessa": "NAME", PATIENT.patient_id: "MRN",
}
COMMENTS = f"SSN {SSN}. Family doctor: Dr. {DOCTOR}."
HISTORY = f"93 y/o female, lives at {STREET}, {CITY}. Fell at home."
SR_TEXT = (f"Patient Odessa Brannigan (MRN {PATIENT.patient_id}) was seen at {HOSPITAL}. Findings discussed with "
           f"Dr. {SR_DOCTOR} by phone at {PHONE}. Compared with the prior study of {PRIOR_DATE}.")
CLEAN_TEXT = "No acute intracranial abnormality."
SNOMED_CODE = "363698007"  # a code value: coded vocabulary, never de-identified as an id
# Free text in elements of every text VR, listed by Table E.1-1 (cleaned) or not listed (kept).
HEADER_TEXT: dict[str, tuple[str, str]] = {  # keyword -> (VR, value)
    "PatientComments": ("LT", COMMENTS),
    "AdditionalPatientHistory": ("LT", HISTORY),
    "StudyDescription": ("LO", "CT HEAD for BRANNIGAN"),
    "SeriesDescription": ("LO", f"Axial, ordered by Dr. {DOCTOR}"),
    "ImageComments": ("LT", CLEAN_TEXT),
    "DerivationDescription": ("ST", f"Reformatted for Dr. {SR_DOCTOR}, call {PHONE}"),
    "Occupation": ("SH", "BRANNIGAN farm"),
    "ReasonForVisit": ("UT", f"Fall on {PRIOR_DATE}; lives at {STREET}"),
    "PotentialReasonsForProcedure": ("UC", f"Follow-up requested by Dr. {DOCTOR}"),
    "ProtocolPlanningInformation": ("UT", f"Patient SSN {SSN} verified"),
    "ViewName": ("SH", PATIENT.patient_id),
    "EvaluatorName": ("PN", "CARROW^IMELDA"),
    "CalibrationNotes": ("LT", f"Phantom scanned at {HOSPITAL}"),
}


def safe_private_options() -> DeidOptions:
    """The default options with the planted private text element on the safe list (so it is kept)."""
    return DeidOptions(safe_private=SafePrivateList(extra={PRIVATE_CREATOR: ("0029,xx10",)}))


def phi_ct(*, burned: bool = True, instance: int = 1) -> Dataset:
    """An unflagged 12-bit CT with PHI in every free-text element, a private note and (if `burned`) the
    patient's name and MRN burned in at the maximum stored value."""
    image = np.clip(anatomy(128, 128, low=24, high=1100), 0, 4094)
    if burned:
        image[text_mask(128, 128, (4, 4), f"{PATIENT.name} {PATIENT.patient_id}", size=10)] = 4095
    ds = synthetic_image(
        image.astype(np.uint16), modality="CT", sop_class=CTImageStorage, bits_stored=12,
        uids=SyntheticUids.seeded("phi-ct", instance), patient=PATIENT,
        attributes={"RescaleIntercept": -1024, "RescaleSlope": 1, "WindowCenter": 40, "WindowWidth": 400,
                    "AccessionNumber": ACCESSION, "StudyDate": STUDY_DATE, "InstanceNumber": instance})
    for keyword, (vr, value) in HEADER_TEXT.items():
        ds.add_new(keyword, vr, value)
    ds.private_block(0x0029, PRIVATE_CREATOR, create=True).add_new(0x10, "LO", f"Tech note: SSN {SSN} on file")
    return ds


def _item(value_type: str, meaning: str, **values: object) -> Dataset:
    item = Dataset()
    item.RelationshipType = "CONTAINS"
    item.ValueType = value_type
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = SNOMED_CODE, "SCT", meaning
    item.ConceptNameCodeSequence = Sequence([code])
    for keyword, value in values.items():
        setattr(item, keyword, value)
    return item


def phi_sr(*, text: str = SR_TEXT, depth: int = 3) -> Dataset:
    """A Comprehensive SR whose TEXT item lies `depth` containers deep, beside a person-name item."""
    uids = SyntheticUids.seeded("phi-sr", depth)
    ds = Dataset()
    ds.file_meta = synthetic_meta(COMPREHENSIVE_SR, uids.sop_instance)
    ds.SOPClassUID, ds.SOPInstanceUID = COMPREHENSIVE_SR, uids.sop_instance
    ds.StudyInstanceUID, ds.SeriesInstanceUID = uids.study, uids.series
    PATIENT.apply(ds)
    ds.Modality, ds.AccessionNumber, ds.StudyDate, ds.ContentDate = "SR", ACCESSION, STUDY_DATE, STUDY_DATE
    ds.ValueType = "CONTAINER"
    leaf = _item("TEXT", "Finding", TextValue=text)
    tree = [_item("PNAME", "Person Observer Name", PersonName="OKONJO^PIERS"), leaf]
    for _ in range(depth):
        tree = [_item("CONTAINER", "Section", ContinuityOfContent="SEPARATE", ContentSequence=Sequence(tree))]
    ds.ContentSequence = Sequence(tree)
    return ds


def text_path(depth: int = 3) -> str:
    """The verify tag path of the TEXT item's TextValue in `phi_sr(depth=depth)`."""
    return "(0040,A730)[0]>" * depth + "(0040,A730)[1]>(0040,A160)"
