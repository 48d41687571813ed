"""Synthetic files that reference each other: a prior study, a CT series, a derived image and a report on them."""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage, generate_uid

from qms.synthetic_dicom import SyntheticPatient, SyntheticUids, synthetic_image, synthetic_meta

__all__ = ["BASIC_TEXT_SR", "PATIENT", "STUDY_CLASS", "ct", "ref", "referencing_files", "report"]

BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"
STUDY_CLASS = "1.2.840.10008.3.1.2.3.1"  # Detached Study Management SOP Class: what a study reference names
PATIENT = SyntheticPatient("REF-7", "Quellmark^Alda", "19600101", "F")


def ref(sop_class: str, instance: str) -> Dataset:
    """One item of the SOP Instance Reference Macro."""
    item = Dataset()
    item.ReferencedSOPClassUID, item.ReferencedSOPInstanceUID = sop_class, instance
    return item


def ct(uids: SyntheticUids, number: int, attributes: dict[str, object] | None = None) -> Dataset:
    """A small smooth CT image (nothing text-like in it) of the synthetic patient."""
    pixels = np.tile(np.arange(16, dtype="<u2") * 40, (16, 1))
    return synthetic_image(pixels, modality="CT", sop_class=CTImageStorage, uids=uids, patient=PATIENT,
                           attributes={"Manufacturer": "SYNTHETIC", "InstanceNumber": number, "BurnedInAnnotation": "NO",
                                       **(attributes or {})})


def report(study: str, series: str, images: list[SyntheticUids]) -> Dataset:
    """A Basic Text SR citing the images in its evidence and in an IMAGE content item."""
    sr = Dataset()
    instance = generate_uid(entropy_srcs=["sr"])
    sr.file_meta = synthetic_meta(BASIC_TEXT_SR, instance)
    sr.SOPClassUID, sr.SOPInstanceUID, sr.StudyInstanceUID = BASIC_TEXT_SR, instance, study
    sr.SeriesInstanceUID, sr.Modality = generate_uid(entropy_srcs=["sr-series"]), "SR"
    PATIENT.apply(sr)
    series_item = Dataset()
    series_item.SeriesInstanceUID = series
    series_item.ReferencedSOPSequence = Sequence([ref(CTImageStorage, u.sop_instance) for u in images])
    evidence = Dataset()
    evidence.StudyInstanceUID = study
    evidence.ReferencedSeriesSequence = Sequence([series_item])
    sr.CurrentRequestedProcedureEvidenceSequence = Sequence([evidence])
    image = Dataset()
    image.RelationshipType, image.ValueType = "CONTAINS", "IMAGE"
    image.ReferencedSOPSequence = Sequence([ref(CTImageStorage, images[0].sop_instance)])
    sr.ValueType, sr.ContinuityOfContent = "CONTAINER", "SEPARATE"
    sr.ContentSequence = Sequence([image])
    return sr


def referencing_files() -> dict[str, Dataset]:
    """The prior study, two current CT images, an image derived from them and a report on them, by file name."""
    prior = SyntheticUids.seeded("prior", 1)
    current = [SyntheticUids.seeded("current", i) for i in range(2)]
    study, series = current[0].study, current[0].series
    assert study is not None and series is not None and prior.study is not None
    current = [SyntheticUids(u.sop_instance, study, series) for u in current]
    derived = SyntheticUids(SyntheticUids.seeded("derived").sop_instance, study, series)
    series_item = Dataset()
    series_item.SeriesInstanceUID = series
    series_item.ReferencedInstanceSequence = Sequence([ref(CTImageStorage, u.sop_instance) for u in current])
    return {
        "prior.dcm": ct(prior, 1),
        "ct0.dcm": ct(current[0], 1, {"ReferencedStudySequence": Sequence([ref(STUDY_CLASS, prior.study)])}),
        "ct1.dcm": ct(current[1], 2),
        "derived.dcm": ct(derived, 3, {
            "ImageType": ["DERIVED", "SECONDARY"],
            "SourceImageSequence": Sequence([ref(CTImageStorage, u.sop_instance) for u in current]),
            "ReferencedImageSequence": Sequence([ref(CTImageStorage, current[1].sop_instance)]),
            "ReferencedSeriesSequence": Sequence([series_item]),
        }),
        "report.dcm": report(study, series, current),
    }
