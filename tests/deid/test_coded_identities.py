"""Codes that name a person or an institution do not survive a D, and verify looks for them."""

from __future__ import annotations

import shutil
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from qms.deid.dataset import Deidentifier
from qms.deid.keying import DeidKey
from qms.deid.options import DeidOptions
from qms.deid.pipeline import run_batch
from qms.deid.verify import verify

_CODES = {"InstitutionCodeSequence": ("HOSP4711", "99SYNTH", "Synthetic Memorial Hospital"),
          "PersonIdentificationCodeSequence": ("EMP99123", "99SYNTHHR", "Synthetic Staff Number")}


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def _plant(ds: Dataset) -> None:
    operator = Dataset()
    operator.PersonIdentificationCodeSequence = Sequence([_code(*_CODES["PersonIdentificationCodeSequence"])])
    ds.OperatorIdentificationSequence = Sequence([operator])
    ds.InstitutionCodeSequence = Sequence([_code(*_CODES["InstitutionCodeSequence"])])
    ds.SOPClassUID = "1.2.826.0.1.3680043.10.1078.99"  # a private SOP Class: the attribute types are judged from the input


def _texts(ds: Dataset) -> set[str]:
    return {str(e.value) for e in ds.iterall() if e.VR in ("SH", "LO", "UC")}


def test_a_d_on_an_identifying_code_sequence_keeps_the_items_with_dummy_codes(ct: Dataset, key: DeidKey) -> None:
    """Institution and person identification codes are replaced by dummies; the code triplets stay present."""
    _plant(ct)
    Deidentifier(key, DeidOptions()).deidentify(ct)
    planted = {v for triplet in _CODES.values() for v in triplet}
    assert not planted & _texts(ct)
    institution = ct.InstitutionCodeSequence[0]
    assert institution.CodeValue and institution.CodingSchemeDesignator and institution.CodeMeaning


def test_verify_finds_identifying_codes_left_in_an_output(tmp_path: Path, tree: Path, key: DeidKey) -> None:
    """An unchanged copy still holding the codes is reported at the code's tag; the de-identified output is clean."""
    src = tmp_path / "planted"
    shutil.copytree(tree, src)
    for path in src.rglob("*.dcm"):
        ds = dcmread(path)
        _plant(ds)
        ds.save_as(path)
    out = tmp_path / "out"
    run_batch(src, out, key, DeidOptions())
    assert verify(out, src).clean
    copy = tmp_path / "copy"
    shutil.copytree(src, copy)
    tags = {leak.where for leak in verify(copy, src).leaks}
    assert "(0008,0082)[0]>(0008,0100)" in tags and "(0008,0082)[0]>(0008,0104)" in tags
