"""The compiled region library (shared tests, opening-test guards, absent-tag byte check) equals plain evaluation."""

from __future__ import annotations

import io
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

from qms.deid.pixels.conditions import Test
from qms.deid.pixels.header import Header
from qms.deid.pixels.library import RegionLibrary, default_library
from qms.synthetic_dicom import synthetic_meta

_LIBRARY = default_library()


def _arguments() -> dict[str, list[str]]:
    """Per keyword, the arguments the shipped library compares it with (so random headers can match)."""
    found: dict[str, list[str]] = {}

    def walk(node: object) -> None:
        if isinstance(node, Test) and node.argument is not None and not node.element.startswith("["):
            found.setdefault(node.element, []).append(node.argument)
        for child in getattr(node, "operands", ()) or ((node.operand,) if hasattr(node, "operand") else ()):
            walk(child)

    for rule in _LIBRARY.rules:
        walk(rule.condition)
    return found


_ARGS = _arguments()
_STRINGS = ["Manufacturer", "ManufacturerModelName", "SeriesDescription", "Modality", "ImageType",
            "BurnedInAnnotation", "CodeMeaning", "CommentsOnRadiationDose"]


@st.composite
def _headers(draw: st.DrawFn) -> tuple[Dataset, bytes]:
    """A header with library-like values at the top level or in a sequence item, written in a random syntax."""
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = generate_uid()
    item = Dataset()
    for keyword in draw(st.lists(st.sampled_from(_STRINGS), unique=True, max_size=6)):
        value = draw(st.sampled_from(_ARGS.get(keyword, ["X"])) | st.text("ABCDEGIMNOPRSTUXY ", max_size=10))
        value = draw(st.sampled_from(["", "x ", " Y"])).join([value, ""]) if draw(st.booleans()) else value
        target = item if keyword in ("CodeMeaning", "CommentsOnRadiationDose") or draw(st.booleans()) else ds
        setattr(target, keyword, value.strip() or "A")
    for keyword in ("Rows", "Columns"):
        if draw(st.booleans()):
            setattr(ds, keyword, draw(st.sampled_from([512, 600, 768, 1024, 860, 2592, 16])))
    if len(item):
        ds.CTDIPhantomTypeCodeSequence = Sequence([item])
    syntax = draw(st.sampled_from([ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian]))
    ds.file_meta = synthetic_meta(ds.SOPClassUID, ds.SOPInstanceUID, syntax)
    if draw(st.booleans()):
        ds.file_meta.ImplementationVersionName = draw(st.sampled_from(["MINDRAY_2", "OTHER"]))
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.save_as(buffer, enforce_file_format=True)
    data = buffer.getvalue()
    return dcmread(io.BytesIO(data)), data


def _plain(library: RegionLibrary, ds: Dataset) -> list[str]:
    """Every rule evaluated in file order through `Condition.evaluate`, no compilation, no byte check."""
    header = Header(ds, library.tags)
    return [rule.where for rule in library.rules if rule.condition.evaluate(header)]


@pytest.mark.filterwarnings("ignore")
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=_headers())
def test_compiled_library_matches_plain_evaluation(case: tuple[Dataset, bytes]) -> None:
    """On random headers (values nested or not, three transfer syntaxes) the compiled rules equal plain evaluation."""
    parsed, data = case
    plain = _plain(_LIBRARY, parsed)
    again = dcmread(io.BytesIO(data))
    assert [r.where for r in _LIBRARY.matching(again, data)] == plain
    assert [r.where for r in _LIBRARY.matching(dcmread(io.BytesIO(data)))] == plain


_ATOMS = ['Modality.equals("US")', 'Modality.equalsIgnoreCase("ct")', 'Manufacturer.containsIgnoreCase("ge")',
          'Manufacturer.startsWith("SIE")', 'Rows.equals("512")', 'Rows.isGreaterThan("600")',
          "SeriesDescription.isBlank()", "Manufacturer.exists()", 'Modality.matches("C.")', "true.", "false."]


def _condition() -> st.SearchStrategy[str]:
    return st.recursive(
        st.sampled_from(_ATOMS),
        lambda inner: st.one_of(
            inner.map(lambda c: f"!{c}"),
            st.lists(inner, min_size=2, max_size=3).map(lambda cs: "(" + " * ".join(cs) + ")"),
            st.lists(inner, min_size=2, max_size=3).map(lambda cs: "(" + " + ".join(cs) + ")"),
        ),
        max_leaves=6,
    )


@settings(max_examples=80, deadline=None)
@given(conditions=st.lists(_condition(), min_size=1, max_size=8),
       modality=st.sampled_from(["US", "CT", "ct", "MR", ""]), manufacturer=st.sampled_from(["GE X", "SIEMENS", ""]),
       rows=st.sampled_from([None, 512, 768]), description=st.sampled_from(["", "  ", "Dose"]))
def test_random_conditions_compile_to_the_same_results(conditions: list[str], modality: str, manufacturer: str,
                                                       rows: int | None, description: str) -> None:
    """Random libraries of nested and/or/not conditions: compiled rules hold exactly where plain evaluation does."""
    text = "\n".join(f"{{ {c} }}\n(0,0,1,1)" for c in conditions)
    library = RegionLibrary.from_text(text, "random.script")
    ds = Dataset()
    for keyword, value in (("Modality", modality), ("Manufacturer", manufacturer),
                           ("SeriesDescription", description)):
        if value:
            setattr(ds, keyword, value)
    if rows is not None:
        ds.Rows = rows
    assert [r.where for r in library.matching(ds)] == _plain(library, ds)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian])
def test_byte_check_skips_pixel_data_but_finds_items_after_it(syntax: str) -> None:
    """A tag nested in a sequence after Pixel Data is found; the same tag's bytes inside the pixels find nothing."""
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.7", generate_uid()
    ds.Rows = ds.Columns = 4
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation, ds.SamplesPerPixel = 16, 16, 15, 0, 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = (b"\x08\x00\x04\x01" + b"\x00\x08\x01\x04") * 4  # CodeMeaning's tag, both byte orders
    ds["PixelData"].VR = "OW"
    item = Dataset()
    item.CodeMeaning = "IEC Body Dosimetry Phantom"
    ds.DigitalSignaturesSequence = Sequence([item])  # (FFFA,FFFA): after Pixel Data in the file
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = syntax
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    data = buffer.getvalue()
    found = [r.where for r in _LIBRARY.matching(dcmread(io.BytesIO(data)), data)]
    assert found == _plain(_LIBRARY, dcmread(io.BytesIO(data))) and found
    del ds.DigitalSignaturesSequence
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    data = buffer.getvalue()
    assert _LIBRARY.matching(dcmread(io.BytesIO(data)), data) == ()
