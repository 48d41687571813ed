"""Outputs are valid DICOM to independent tools: dcmtk's dcmdump reads each, and dicom3tools'
dciodvfy reports no error that the input did not already have."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

from qms.deid.keying import DeidKey
from qms.deid.options import DeidOptions
from qms.deid.pipeline import run_batch
from qms.deid.synthetic import write_synthetic_tree

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
    for path in out.rglob("*.dcm"):
        rel = path.relative_to(out)
        new = _errors(path) - _errors(src / rel)
        assert not new, (str(rel), sorted(new))
