"""The combined actions (X/Z, X/D, Z/D, X/Z/D, X/Z/U*) resolved by the attribute's type in the
file's IOD, on pydicom's own CT, Segmentation, RT Plan and SR files, with the input-judged rule
where the SOP Class or the sequence path is unknown."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from qms.deid.dataset import Deidentifier
from qms.deid.iod import resolve
from qms.deid.keying import DeidKey
from qms.deid.options import DeidOptions
from qms.deid.pipeline import run_batch
from qms.deid.profile import Action

KEY = DeidKey(bytes(range(32)))
BASIC = DeidOptions.from_config({"options": []})  # the Basic Profile alone: dates too take the combined codes
A = Action


@pytest.mark.parametrize(("code", "kind", "expected"), [
    (A.X_Z, "1", A.Z), (A.X_Z, "1C", A.Z), (A.X_Z, "2", A.Z), (A.X_Z, "2C", A.Z), (A.X_Z, "3", A.X),
    (A.X_D, "1", A.D), (A.X_D, "1C", A.D), (A.X_D, "2", A.D), (A.X_D, "2C", A.D), (A.X_D, "3", A.X),
    (A.Z_D, "1", A.D), (A.Z_D, "1C", A.D), (A.Z_D, "2", A.Z), (A.Z_D, "2C", A.Z), (A.Z_D, "3", A.Z),
    (A.X_Z_D, "1", A.D), (A.X_Z_D, "1C", A.D), (A.X_Z_D, "2", A.Z), (A.X_Z_D, "2C", A.Z), (A.X_Z_D, "3", A.X),
    (A.X_Z_U, "1", A.U), (A.X_Z_U, "1C", A.U), (A.X_Z_U, "2", A.U), (A.X_Z_U, "2C", A.U), (A.X_Z_U, "3", A.U),
])
def test_each_code_resolves_by_type(code: Action, kind: str, expected: Action) -> None:
    """Each combined code gives one of its own letters for each PS3.3 type, never K (X/Z/U* keeps references: U)."""
    assert resolve(code, kind) is expected
    assert expected is not A.K


def _file(name: str) -> str:
    path = get_testdata_file(name, download=False)
    assert isinstance(path, str), name
    return path


def _clean(name: str, *, sop_class: str | None = "keep") -> Dataset:
    ds = dcmread(_file(name))
    if sop_class is None:
        del ds.SOPClassUID
    elif sop_class != "keep":
        ds.SOPClassUID = sop_class
    Deidentifier(KEY, BASIC).deidentify(ds)
    return ds


def test_ct_types_remove_type_3_and_empty_type_2() -> None:
    """CT Image: Type 3 Institution Name, Station Name, Series and Acquisition Date go (X); Type 2C
    Content Date and Type 2 Contrast/Bolus Agent stay, empty (Z)."""
    ds = _clean("CT_small.dcm")
    for keyword in ("InstitutionName", "StationName", "SeriesDate", "AcquisitionDate", "AcquisitionTime",
                    "InstanceCreationDate", "InstanceCreationTime"):
        assert keyword not in ds, keyword
    for keyword in ("ContentDate", "ContentTime", "ContrastBolusAgent"):
        assert keyword in ds and ds[keyword].is_empty, keyword
    assert ds.PatientID == KEY.pseudonym("patient", "1CT1")


@pytest.mark.parametrize("sop_class", [None, "1.3.6.1.4.1.99999.7.1"])
def test_unknown_sop_class_falls_back_to_the_input(sop_class: str | None) -> None:
    """Without a known SOP Class the input decides: a valued X/Z/D attribute gets a dummy (D), an
    X/Z one is emptied (Z); no original value is kept."""
    ds = _clean("CT_small.dcm", sop_class=sop_class)
    assert ds.InstitutionName == "ANONYMIZED" and ds.StationName == "ANONYMIZED"
    assert "AcquisitionDate" in ds and ds["AcquisitionDate"].is_empty
    assert ds.ContentDate == "19000101"


def test_segmentation_keeps_its_source_references_with_new_uids() -> None:
    """Segmentation: the Type 2 Source Image Sequence in each frame's Derivation Image Sequence keeps
    its items with keyed UIDs (U); Type 1 Content Date and Device Serial Number get dummies (D)."""
    original = dcmread(_file("liver_1frame.dcm"))
    ds = _clean("liver_1frame.dcm")
    for before, after in zip(original.PerFrameFunctionalGroupsSequence, ds.PerFrameFunctionalGroupsSequence):
        src, out = before.DerivationImageSequence[0].SourceImageSequence, after.DerivationImageSequence[0].SourceImageSequence
        assert len(out) == len(src) > 0
        assert out[0].ReferencedSOPInstanceUID == KEY.uid(src[0].ReferencedSOPInstanceUID)
    assert ds.ContentDate == "19000101" and ds.DeviceSerialNumber == "ANONYMIZED"
    assert "SeriesDate" not in ds  # Type 3 in the General Series Module


def test_rt_plan_nested_types_by_sequence_path() -> None:
    """RT Plan: Type 2 RT Plan Date under X/D gets a dummy; in each Beam Sequence item the Type 2
    Treatment Machine Name (X/Z) is emptied and the Type 3 Institution Name (X/Z/D) removed."""
    ds = _clean("rtplan.dcm")
    assert ds.RTPlanDate == "19000101" and ds.RTPlanTime == "000000"
    for beam in ds.BeamSequence:
        assert "TreatmentMachineName" in beam and beam["TreatmentMachineName"].is_empty
        assert "InstitutionName" not in beam and "DeviceSerialNumber" not in beam


def test_sr_unlisted_nested_path_falls_back() -> None:
    """Comprehensive SR: top-level Observation DateTime (Type 1C, present) gets a dummy; inside the
    Content Sequence, a path the tables do not list, the input-judged rule gives a dummy as well;
    the Type 2 Referenced Performed Procedure Step Sequence is emptied."""
    ds = _clean("test-SR.dcm")
    assert ds.ObservationDateTime == "19000101000000"
    nested = [item.ObservationDateTime for item in ds.ContentSequence if "ObservationDateTime" in item]
    assert nested and set(nested) == {"19000101000000"}
    assert "ReferencedPerformedProcedureStepSequence" in ds and len(ds.ReferencedPerformedProcedureStepSequence) == 0


def test_nested_type_3_is_removed_but_an_unlisted_path_keeps_a_dummy() -> None:
    """CT: Institution Name is removed inside Contributing Equipment Sequence (Type 3 there) but
    replaced by a dummy inside Anatomic Region Sequence, a path PS3.3 does not give it."""
    ds = dcmread(_file("CT_small.dcm"))
    listed, unlisted = Dataset(), Dataset()
    listed.Manufacturer = "Quellmark Devices"
    listed.InstitutionName = unlisted.InstitutionName = "Quellmark Memorial"
    ds.ContributingEquipmentSequence = Sequence([listed])
    ds.AnatomicRegionSequence = Sequence([unlisted])
    Deidentifier(KEY, BASIC).deidentify(ds)
    assert "InstitutionName" not in ds.ContributingEquipmentSequence[0]
    assert ds.AnatomicRegionSequence[0].InstitutionName == "ANONYMIZED"


_FILES = ("CT_small.dcm", "MR_small.dcm", "rtplan.dcm", "liver_1frame.dcm", "test-SR.dcm", "SC_rgb_small_odd.dcm",
          "rtdose.dcm", "MR_small_bigendian.dcm")


@pytest.mark.external
def test_iod_resolved_outputs_have_no_new_dciodvfy_error(tmp_path: Path) -> None:
    """With the Basic Profile alone (so every combined code is resolved), dciodvfy finds no error in
    an output that its input did not already have."""
    from tests.deid.test_external import _errors  # noqa: PLC0415 - the shared dciodvfy reader

    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for name in _FILES:
        shutil.copyfile(_file(name), src / name)
    report = run_batch(src, out, KEY, BASIC)
    assert report.quarantined == ()
    for name in _FILES:
        new = _errors(out / name) - _errors(src / name)
        assert not new, (name, sorted(new))
    assert subprocess.run(["dcmdump", "-q", str(out / "rtplan.dcm")], capture_output=True, check=False).returncode == 0
