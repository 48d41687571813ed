"""References survive: prior studies, derived images and reports still point at their (de-identified) images."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import CTImageStorage

from qms.deid.keying import DeidKey
from qms.deid.options import DeidOptions
from qms.deid.pipeline import run_batch
from qms.synthetic_dicom import SyntheticUids
from tests.deid.referencing import STUDY_CLASS, ct, ref, referencing_files

KEY = DeidKey(bytes(range(32)))


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Dataset], dict[str, Dataset]]:
    """A prior study, a current CT series, an image derived from it and a report on it; inputs and outputs by name."""
    root = tmp_path_factory.mktemp("references")
    files = referencing_files()
    src, out = root / "in", root / "out"
    src.mkdir()
    for name, ds in files.items():
        ds.save_as(src / name, enforce_file_format=True)
    report = run_batch(src, out, KEY, DeidOptions())
    assert report.quarantined == ()
    return ({name: dcmread(src / name) for name in files}, {name: dcmread(out / name) for name in files})


def test_source_and_referenced_images_point_at_the_deidentified_images(
        batch: tuple[dict[str, Dataset], dict[str, Dataset]]) -> None:
    """SourceImageSequence, ReferencedImageSequence and ReferencedSeriesSequence are kept, each UID the one its image now has."""
    _, out = batch
    derived = out["derived.dcm"]
    current = [out["ct0.dcm"].SOPInstanceUID, out["ct1.dcm"].SOPInstanceUID]
    assert [i.ReferencedSOPInstanceUID for i in derived.SourceImageSequence] == current
    assert [i.ReferencedSOPInstanceUID for i in derived.ReferencedImageSequence] == current[1:]
    [series] = derived.ReferencedSeriesSequence
    assert series.SeriesInstanceUID == out["ct0.dcm"].SeriesInstanceUID
    assert [i.ReferencedSOPInstanceUID for i in series.ReferencedInstanceSequence] == current


def test_a_prior_study_reference_points_at_the_deidentified_prior(
        batch: tuple[dict[str, Dataset], dict[str, Dataset]]) -> None:
    """ReferencedStudySequence is kept: its study UID is the prior study's de-identified StudyInstanceUID."""
    src, out = batch
    [item] = out["ct0.dcm"].ReferencedStudySequence
    assert item.ReferencedSOPInstanceUID == out["prior.dcm"].StudyInstanceUID
    assert item.ReferencedSOPInstanceUID != src["prior.dcm"].StudyInstanceUID
    assert item.ReferencedSOPClassUID == STUDY_CLASS


def test_a_report_still_points_at_its_images(batch: tuple[dict[str, Dataset], dict[str, Dataset]]) -> None:
    """SR evidence and IMAGE content items name the de-identified study, series and instances, never the originals."""
    src, out = batch
    report = out["report.dcm"]
    [evidence] = report.CurrentRequestedProcedureEvidenceSequence
    assert evidence.StudyInstanceUID == out["ct0.dcm"].StudyInstanceUID == report.StudyInstanceUID
    [series] = evidence.ReferencedSeriesSequence
    assert series.SeriesInstanceUID == out["ct0.dcm"].SeriesInstanceUID
    cited = [i.ReferencedSOPInstanceUID for i in series.ReferencedSOPSequence]
    assert cited == [out["ct0.dcm"].SOPInstanceUID, out["ct1.dcm"].SOPInstanceUID]
    assert report.ContentSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID == cited[0]
    assert src["ct0.dcm"].SOPInstanceUID not in cited


def test_references_are_kept_unchanged_under_retain_uids(tmp_path: Path) -> None:
    """With Retain UIDs, a reference sequence keeps its original UIDs (K)."""
    uids = SyntheticUids.seeded("retain", 1)
    ds = ct(uids, 1, {"SourceImageSequence": Sequence([ref(CTImageStorage, "1.2.3.4.5")]),
                       "ReferencedStudySequence": Sequence([ref(STUDY_CLASS, "1.2.3.4.6")])})
    (tmp_path / "in").mkdir()
    ds.save_as(tmp_path / "in" / "a.dcm", enforce_file_format=True)
    run_batch(tmp_path / "in", tmp_path / "out", KEY, DeidOptions.from_config({}, ["retain_uids"]))
    out = dcmread(tmp_path / "out" / "a.dcm")
    assert out.SourceImageSequence[0].ReferencedSOPInstanceUID == "1.2.3.4.5"
    assert out.ReferencedStudySequence[0].ReferencedSOPInstanceUID == "1.2.3.4.6"
