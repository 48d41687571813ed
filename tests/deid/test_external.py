"""Outputs are valid DICOM to independent tools: dcmtk's dcmdump reads each, and dicom3tools'
dciodvfy reports no error that the input did not already have."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import MRImageStorage

from qms.deid.keying import DeidKey
from qms.deid.manifest import MANIFEST
from qms.deid.options import DeidOptions
from qms.deid.pipeline import run_batch
from qms.deid.pixels import OcrMode, PixelOptions
from qms.deid.synthetic import write_synthetic_tree
from qms.hashing import sha256_file
from qms.synthetic_dicom import SyntheticPatient, SyntheticUids, synthetic_image
from tests.deid.referencing import referencing_files
from tests.deid.manifests import manifest_of

pytestmark = pytest.mark.external

# Files shipped inside the installed pydicom package (never downloaded).
_PYDICOM_FILES = ("CT_small.dcm", "MR_small.dcm", "MR_small_bigendian.dcm", "SC_rgb_small_odd.dcm", "rtplan.dcm",
                  "rtdose.dcm", "test-SR.dcm", "liver_1frame.dcm", "MR_small_RLE.dcm", "JPEG2000.dcm",
                  "waveform_ecg.dcm", "ExplVR_BigEnd.dcm", "image_dfl.dcm")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run `make` or scripts/system-deps.sh")
    return path


def _errors(path: Path) -> set[str]:
    """dciodvfy's errors with values and UIDs blanked, so input and output messages compare."""
    result = subprocess.run([_tool("dciodvfy"), str(path)], capture_output=True, text=True, errors="replace", check=False)
    lines = (result.stdout + result.stderr).splitlines()
    return {re.sub(r"[0-9][0-9.]{6,}", "UID", re.sub(r"<[^>]*>|=.*", "", line))
            for line in lines if line.startswith("Error")}


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("external")
    src, out = root / "in", root / "out"
    write_synthetic_tree(src / "synthetic", 6, patients=2)
    for name in _PYDICOM_FILES:
        path = get_testdata_file(name, download=False)
        assert isinstance(path, str), name
        shutil.copyfile(path, src / name)
    report = run_batch(src, out, DeidKey(b"e" * 32), DeidOptions())
    assert report.quarantined == ()
    return src, out


def test_dcmdump_reads_every_output(batch: tuple[Path, Path]) -> None:
    """dcmdump reads every de-identified file without an error."""
    _, out = batch
    outputs = [p for p in out.rglob("*.dcm")]
    assert len(outputs) == 6 + len(_PYDICOM_FILES)
    for path in outputs:
        result = subprocess.run([_tool("dcmdump"), "-q", str(path)], capture_output=True, text=True, errors="replace", check=False)
        assert result.returncode == 0 and "E:" not in result.stderr, (path.name, result.stderr)


def test_dciodvfy_finds_no_new_error(batch: tuple[Path, Path]) -> None:
    """dciodvfy reports no error in an output that its input did not already have."""
    src, out = batch
    by_sha = {sha256_file(p): p for p in src.rglob("*") if p.is_file()}
    for entry in manifest_of(out)["files"]:  # outputs are paired with inputs by content
        new = _errors(out / entry["output"]) - _errors(by_sha[entry["input_sha256"]])
        assert not new, (entry["output"], sorted(new))


# Compressed files shipped inside pydicom: lossless with and without an encoder for their syntax, and lossy.
_COMPRESSED = ("MR_small_RLE.dcm", "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm", "JPEG2000.dcm",
               "SC_rgb_jpeg_dcmtk.dcm", "SC_rgb_jpeg_gdcm.dcm", "JPEGLSNearLossless_16.dcm")


def _conformance_inputs(src: Path) -> None:
    """Files exercising issue 19's rules: references, companions, a version UID, safe privates, compressed pixels."""
    for name, ds in referencing_files().items():
        ds.save_as(src / name, enforce_file_format=True)
    mr = synthetic_image(np.zeros((8, 8), dtype="<u2"), modality="MR", sop_class=MRImageStorage,
                         uids=SyntheticUids.seeded("external", "mr"), patient=SyntheticPatient("VET-9", "Rex^Wexholm"),
                         attributes={"Manufacturer": "SYNTHETIC", "ResponsiblePerson": "Wexholm^Berit",
                                     "ResponsiblePersonRole": "OWNER", "CreatorVersionUID": "1.3.12.2.1107.5.2.43.1",
                                     "PatientBirthDateInAlternativeCalendar": "1381/10/11",
                                     "PatientAlternativeCalendar": "I"})
    block = mr.private_block(0x0019, "SIEMENS MR HEADER", create=True)
    block.add_new(0x0A, "US", 36)
    block.add_new(0x0B, "DS", "2500")
    mr.save_as(src / "mr-owner.dcm", enforce_file_format=True)
    for name in _COMPRESSED:
        path = get_testdata_file(name, download=False)
        assert isinstance(path, str), name
        shutil.copyfile(path, src / name)


def test_dciodvfy_finds_no_new_error_after_issue_19_rules(tmp_path: Path) -> None:
    """References kept, companions removed, version UIDs mapped, safe privates kept, pixels masked and re-encoded or
    unmasked: dciodvfy reports no error in any output that its input did not already have."""
    src = tmp_path / "in"
    src.mkdir()
    _conformance_inputs(src)
    library = tmp_path / "every-image.script"
    library.write_text('{ Rows.isGreaterThan("0") }\n(0,0,6,5)\n')
    for out, pixels in ((tmp_path / "plain", PixelOptions(ocr=OcrMode.OFF)),
                        (tmp_path / "masked", PixelOptions(ocr=OcrMode.OFF, region_library=library))):
        report = run_batch(src, out, DeidKey(b"e" * 32), DeidOptions(), pixels=pixels)
        assert report.quarantined == ()
        for path in sorted(out.rglob("*.dcm")):
            new = _errors(path) - _errors(src / path.relative_to(out))
            assert not new, (out.name, path.name, sorted(new))
