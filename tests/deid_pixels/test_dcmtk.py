"""Rewritten pixels are valid DICOM to an independent reader: dcmtk parses and renders every layout."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from pydicom.uid import JPEG2000Lossless, JPEGLSLossless

from qms.deid.pixels import OcrMode, PixelOptions, RegionLibrary, clean_pixels
from tests.deid_pixels.synthetic import shipped

pytestmark = [
    pytest.mark.external,
    pytest.mark.skipif(shutil.which("dcmj2pnm") is None, reason="dcmtk is not installed"),
]
EVERYTHING = PixelOptions(region_library=RegionLibrary.from_text("All\n{ true. }\n(1,2,5,4)\n", "all"), ocr=OcrMode.OFF)


@pytest.mark.parametrize(
    "name",
    [
        "MR_small_RLE.dcm",
        "SC_rgb_rle_16bit_2frame.dcm",
        "SC_rgb_dcmtk_+eb+cy+np.dcm",
        "JPEG2000.dcm",
        "JPEGLSNearLossless_16.dcm",
        "SC_rgb_small_odd_big_endian.dcm",
        "liver_1frame.dcm",
        "examples_palette.dcm",
        "SC_ybr_full_422_uncompressed.dcm",
        "rtdose.dcm",
    ],
)
def test_dcmtk_reads_and_renders_the_output(tmp_path: Path, name: str) -> None:
    """dcmdump parses the masked file and dcmj2pnm decodes and renders its pixels without an error (JPEG-LS
    through dcmdjpls first; dcmtk has no JPEG 2000 decoder, so a JPEG 2000 original's output is parsed only)."""
    ds = shipped(name)
    clean_pixels(ds, EVERYTHING)
    out = tmp_path / "out.dcm"
    ds.save_as(out, enforce_file_format=True)
    dump = subprocess.run(["dcmdump", "-q", str(out)], capture_output=True, text=True, check=False)
    assert dump.returncode == 0 and not dump.stderr, dump.stderr
    syntax = ds.file_meta.TransferSyntaxUID
    if syntax == JPEG2000Lossless:
        return
    if syntax == JPEGLSLossless:
        native = subprocess.run(["dcmdjpls", str(out), str(out)], capture_output=True, text=True, check=False)
        assert native.returncode == 0 and "E:" not in native.stderr, native.stderr
    render = subprocess.run(
        ["dcmj2pnm", "--write-png", str(out), str(tmp_path / "out.png")], capture_output=True, text=True, check=False
    )
    assert render.returncode == 0 and "E:" not in render.stderr and "W:" not in render.stderr, render.stderr
    assert (tmp_path / "out.png").stat().st_size > 0
