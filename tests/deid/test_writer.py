"""`qms.deid.writer.write_file` writes what `pydicom.dcmwrite` writes, and kept elements keep their bytes."""

from __future__ import annotations

import random
import warnings
from io import BytesIO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom import dcmread
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from qms.deid.dataset import Deidentifier
from qms.deid.keying import DeidKey
from qms.deid.options import DeidOptions
from qms.deid.peek import mapped, replaced
from qms.deid.pixels import PixelOptions
from qms.deid.reader import MalformedInput, deidentify_bytes
from qms.deid.synthetic import synthetic_ct
from qms.deid.writer import write_file

from tests.deid.test_pipeline import _loadable_pydicom_files
from tests.deid.writing import dcmwritten, written_after_preamble


_SMALL = 200_000


def _synthetic_bytes(instance: int = 3) -> bytes:
    return dcmwritten(synthetic_ct(random.Random(1), patient=7, study=1, instance=instance))


def test_unchanged_files_are_written_asdcmwritten_writes_them() -> None:
    """Every pydicom test file, read and written unchanged, gives dcmwrite's bytes (or both refuse it)."""
    compared = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in _loadable_pydicom_files():
            try:
                expected = dcmwritten(dcmread(path))
            except Exception:  # dcmwrite refuses it (no file meta, bad VR...): no reference to compare
                continue
            assert write_file(dcmread(path)) == expected, path.name
            compared += 1
    assert compared >= 100


def test_deidentified_files_are_written_asdcmwritten_writes_them(engine: Deidentifier) -> None:
    """De-identifying with the fast writer gives, byte for byte, what it gives with dcmwrite."""
    compared = 0
    small = [p for p in _loadable_pydicom_files() if p.stat().st_size <= _SMALL]  # large ones: decoding time
    files = [p.read_bytes() for p in small] + [_synthetic_bytes(i) for i in range(3)]
    for data in files:
        try:
            expected = deidentify_bytes(data, engine, PixelOptions(), writer=dcmwritten).data
        except MalformedInput:
            continue
        assert deidentify_bytes(data, engine, PixelOptions()).data == expected
        compared += 1
    assert compared >= 80


def test_kept_elements_keep_their_bytes(engine: Deidentifier) -> None:
    """A kept element's value bytes, unusual padding included, are in the output exactly as in the input."""
    ds = synthetic_ct(random.Random(1), patient=7, study=1, instance=3)
    ds["Modality"] = DataElement(0x00080060, "CS", "CT")
    data = bytearray(dcmwritten(ds))
    kept = {0x00180050: b"1.25", 0x00080070: b"SYNTHETIC ", 0x00280004: b"MONOCHROME2 "}
    for value in kept.values():
        assert data.count(value) >= 1
    data = data.replace(b"SYNTHETIC ", b"SYNTHETIC\x00")  # trailing NUL: conversion would drop it
    out = dcmread(BytesIO(deidentify_bytes(bytes(data), engine, PixelOptions()).data))
    assert out.get_item(0x00080070).value == b"SYNTHETIC\x00"
    assert out.get_item(0x00180050).value == b"1.25"
    assert out.get_item(0x00280004).value == b"MONOCHROME2 "


def test_a_file_read_as_implicit_vr_under_an_explicit_syntax_is_written_explicit(engine: Deidentifier) -> None:
    """Elements pydicom read as implicit VR get their dictionary VR in the explicit output (dcmwrite fails)."""
    path = next(p for p in _loadable_pydicom_files() if p.name == "SC_rgb_jpeg.dcm")
    with pytest.raises(TypeError):
        dcmwritten(dcmread(path))
    out = dcmread(BytesIO(write_file(dcmread(path))))
    assert out.get_item(0x00080008).VR == "CS"


_UID = st.from_regex(r"\A[1-9][0-9]{0,3}(\.[0-9]{1,6}){1,6}\Z")


@settings(max_examples=40, deadline=None)
@given(uids=st.lists(_UID, min_size=1, max_size=3), pad=st.sampled_from(["", "\x00", " "]))
def test_uids_mapped_from_raw_bytes_equal_the_converted_path(uids: list[str], pad: str) -> None:
    """A raw UI mapped from its bytes is written as the converted element mapped value by value."""
    engine = Deidentifier(DeidKey(bytes(range(32))), DeidOptions())
    text = "\\".join(uids) + pad
    raw_bytes = text.encode() + (b"\x00" if len(text) % 2 else b"")
    fast, slow = Dataset(), Dataset()
    for ds in (fast, slow):
        ds[0x00081155] = RawDataElement(Tag(0x00081155), "UI", len(raw_bytes), raw_bytes, 0, False, True)
    new = mapped(fast.get_item(0x00081155), "UI", engine.uid)
    assert new is not None
    fast[0x00081155] = new
    elem = slow[0x00081155]
    values = list(elem.value) if elem.VM > 1 else [elem.value]
    elem.value = [engine.uid(str(v)) for v in values] if elem.VM > 1 else engine.uid(str(values[0]))
    for ds in (fast, slow):
        ds.set_original_encoding(False, True, "iso8859")
    assert written_after_preamble(fast) == written_after_preamble(slow)


@settings(max_examples=40, deadline=None)
@given(vr=st.sampled_from(["LO", "SH", "CS", "PN", "DA", "AS", "UI", "US"]),
       value=st.one_of(st.none(), st.text(alphabet="ABCZ019 ^.-", max_size=12)))
def test_replacements_are_encoded_as_pydicom_encodes_them(vr: str, value: str | None) -> None:
    """A replacement stored pre-encoded writes the same bytes as the DataElement pydicom would write."""
    fast, slow = Dataset(), Dataset()
    for ds in (fast, slow):
        ds[0x00100021] = RawDataElement(Tag(0x00100021), vr, 4, b"ORIG", 0, False, True)
        ds.set_original_encoding(False, True, "iso8859")
    fast[0x00100021] = replaced(fast, 0x00100021, vr, value if vr != "US" else None)
    slow[0x00100021] = DataElement(0x00100021, vr, value if vr != "US" else None)
    assert written_after_preamble(fast) == written_after_preamble(slow)
