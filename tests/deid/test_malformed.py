"""Malformed input never stops a batch or a check: bad files end in quarantine with a reason, verify answers."""

from __future__ import annotations

import json
import random
import shutil
import struct
import tempfile
import warnings
from functools import cache
from io import BytesIO
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom import dcmread
from pydicom.encaps import encapsulate
from pydicom.uid import CTImageStorage, RLELossless
from typer.testing import CliRunner

from qms.cli.main import app
from qms.deid.keying import DeidKey
from qms.deid.manifest import MANIFEST
from qms.deid.options import DeidOptions
from qms.deid.pipeline import run_batch
from qms.deid.pixels import OcrMode, PixelOptions
from qms.deid.synthetic import synthetic_ct
from qms.deid.verify import verify
from qms.synthetic_dicom import SyntheticPatient, synthetic_image

KEY = DeidKey(bytes(range(32)))
NO_OCR = PixelOptions(ocr=OcrMode.OFF)  # the shape search still decodes every image


def _bytes(ds: object) -> bytes:
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)  # type: ignore[attr-defined]
    return buffer.getvalue()


def panicking_rle() -> bytes:
    """An RLE image whose segment runs past its end: pylibjpeg-rle panics on it (pyo3 PanicException)."""
    ds = synthetic_image(np.zeros((8, 8), dtype=np.uint16), modality="CT", sop_class=CTImageStorage,
                         transfer_syntax=RLELossless, patient=SyntheticPatient("PANIC-1", "Tovesdal^Ivo"),
                         attributes={"Manufacturer": "SYNTHETIC"})
    segment = bytes([63]) + bytes(64) + bytes([254, 7])  # 64 literal bytes, then a run of 3 more
    frame = struct.pack("<16L", 2, 64, 64 + len(segment), *([0] * 13)) + segment + segment
    ds.PixelData = encapsulate([frame])
    return _bytes(ds)


def test_a_decoder_panic_quarantines_the_file_and_the_batch_goes_on(tmp_path: Path, tree: Path) -> None:
    """A file whose RLE decoder raises PanicException (a BaseException) is quarantined with the reason; the rest is done."""
    src = tmp_path / "src"
    shutil.copytree(tree, src)
    (src / "panic.dcm").write_bytes(panicking_rle())
    report = run_batch(src, tmp_path / "out", KEY, DeidOptions(), pixels=NO_OCR)
    assert report.processed == 12
    [entry] = report.quarantined
    assert entry.quarantine == "panic.dcm" and "PanicException" in entry.reason
    assert (report.quarantine_dir / "panic.dcm.reason.txt").is_file()


def _unknown_vr(data: bytes) -> bytes:
    """The file with the explicit VR of its Institution Name (0008,0080) replaced by the unknown 'QQ'."""
    header = struct.pack("<HH", 0x0008, 0x0080) + b"LO"
    at = data.index(header)
    return data[:at + 4] + b"QQ" + data[at + 6:]


def test_verify_answers_for_every_output_when_a_source_has_an_unknown_vr(tmp_path: Path, tree: Path,
                                                                         project: Path) -> None:
    """`deid verify --against` answers in JSON for every output, and still finds the leaks, when a source has an unknown VR."""
    src, copy = tmp_path / "src", tmp_path / "copy"
    shutil.copytree(tree, src)
    for path in src.rglob("*.dcm"):
        path.write_bytes(_unknown_vr(path.read_bytes()))
    shutil.copytree(src, copy)  # an unchanged copy: every identifier is still there
    result = CliRunner().invoke(app, ["-C", str(project), "deid", "verify", str(copy), "--against", str(src), "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["files_checked"] == 12 and report["unpaired"] == []
    leaking = {leak["item"] for leak in report["leaks"] if leak["where"] == "(0010,0010)"}
    assert len(leaking) == 12


@cache
def _good(syntax: str = "native") -> bytes:
    """A synthetic CT file, its pixels native or RLE Lossless (so that damage reaches a decoder too)."""
    ds = synthetic_ct(random.Random(5), patient=3, study=1, instance=2)
    if syntax == "rle":
        ds.compress(RLELossless, generate_instance_uid=False)
    return _bytes(ds)


@st.composite
def _malformed(draw: st.DrawFn) -> bytes:
    """A synthetic CT file cut short, with flipped bytes, a huge length written somewhere, or a garbage tail."""
    good = _good(draw(st.sampled_from(["native", "rle"])))
    kind = draw(st.sampled_from(["truncate", "flip", "huge", "tail"]))
    if kind == "truncate":
        return good[:draw(st.integers(0, len(good) - 1))]
    if kind == "tail":
        return good + draw(st.binary(min_size=1, max_size=64))
    at = draw(st.integers(128, len(good) - 4))  # anywhere after the preamble: file meta, dataset, pixel data
    if kind == "huge":
        return good[:at] + struct.pack("<L", draw(st.sampled_from([0xFFFFFFF0, 0x7FFFFFFF, 0x00FFFFFF]))) + good[at + 4:]
    flipped = bytearray(good)
    for offset in draw(st.lists(st.integers(0, 15), min_size=1, max_size=4)):
        flipped[min(at + offset, len(good) - 1)] ^= draw(st.integers(1, 255))
    return bytes(flipped)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_malformed(), min_size=1, max_size=3))
def test_fuzzed_inputs_never_stop_the_batch_or_verify(files: list[bytes]) -> None:
    """Whatever the damage, the batch ends: each input is de-identified (and reads back) or quarantined with a reason,
    OUT holds only outputs and the manifest, and verify answers."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        src, out = root / "in", root / "out"
        src.mkdir()
        names = [f"f{i}.dcm" for i in range(len(files))]
        for name, data in zip(names, files, strict=True):
            (src / name).write_bytes(data)
        (src / "good.dcm").write_bytes(_good())
        report = run_batch(src, out, KEY, DeidOptions(), pixels=NO_OCR)
        quarantined = {q.quarantine: q.reason for q in report.quarantined}
        assert report.processed + len(quarantined) == len(names) + 1 and "good.dcm" not in quarantined
        assert all(reason.strip() for reason in quarantined.values())
        for name in quarantined:
            assert (report.quarantine_dir / name).read_bytes() == (src / name).read_bytes()
        outputs = {p.name for p in out.iterdir()}
        assert outputs == {MANIFEST} | (set(names) - set(quarantined)) | {"good.dcm"}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name in outputs - {MANIFEST}:
                dcmread(out / name)
        checked = verify(out, src)
        assert checked.files_checked + len(checked.unpaired) == len(outputs) - 1
