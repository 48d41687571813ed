"""Identifier styles the second held-out corpus (corpus.py) found surviving `qms deid dicom` and `verify`.

Each case is synthetic (names made of syllables, random digits) and written here by hand, not drawn
from the generator: other countries' dates, phone numbers, ids and addresses, obfuscated e-mails,
ages in other languages, names in other scripts and lower-case names after a cue. Ordinary
descriptor and protocol text beside them must stay as it is.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from qms.deid.header_text import FileHints, HeaderText
from qms.deid.keying import DeidKey
from qms.deid.options import DeidOptions
from qms.deid.text import Deidentifier, PhiType, find_phi
from qms.deid.text.dates import shift
from qms.deid.verify import RESIDUAL_PHI, verify

pytestmark = pytest.mark.verifies("QMS-RC-003")

KEY = DeidKey(b"styles-test-key-0123456789abcdef")

FOUND = [  # (text, the identifier in it, its kind)
    ("prior exam 4. Oktober 2016", "4. Oktober 2016", PhiType.DATE),
    ("vu le 9 février 2011", "9 février 2011", PhiType.DATE),
    ("fecha 12 de marzo de 2015", "12 de marzo de 2015", PhiType.DATE),
    ("seen 17/XI/1987", "17/XI/1987", PhiType.DATE),
    ("week 2018-W33-2 follow-up", "2018-W33-2", PhiType.DATE),
    ("DOB 1957年8月14日", "1957年8月14日", PhiType.DATE),
    ("scan 19NOV21 repeat", "19NOV21", PhiType.DATE),
    ("since Oct 5th '17", "Oct 5th '17", PhiType.DATE),
    ("exam 27.10.43 here", "27.10.43", PhiType.DATE),
    ("call +44 20 7946 0817", "+44 20 7946 0817", PhiType.PHONE),
    ("tel +33 4 71 28 90 15", "+33 4 71 28 90 15", PhiType.PHONE),
    ("ring 0049 (0)711 482 9931", "0049 (0)711 482 9931", PhiType.PHONE),
    ("mobile +55 21 98814-3307", "+55 21 98814-3307", PhiType.PHONE),
    ("home (07) 3391 8842", "(07) 3391 8842", PhiType.PHONE),
    ("office 040 73829104", "040 73829104", PhiType.PHONE),
    ("desk 06-48192037", "06-48192037", PhiType.PHONE),
    ("cell 090-4417-2285", "090-4417-2285", PhiType.PHONE),
    ("ref Z-48213-Q", "Z-48213-Q", PhiType.ID),
    ("file 2017/884310", "2017/884310", PhiType.ID),
    ("CLIN:418820", "CLIN:418820", PhiType.ID),
    ("MRN R47T90312", "R47T90312", PhiType.MRN),
    ("prev. acc. no. T58K20416", "T58K20416", PhiType.ACCESSION),
    ("ref V31P77302", "V31P77302", PhiType.ID),
    ("ACN 4417 9083", "4417 9083", PhiType.ACCESSION),
    ("old US55-4418207", "US55-4418207", PhiType.ID),
    ("chart #00482213", "#00482213", PhiType.ID),
    ("see pid0041877", "pid0041877", PhiType.ID),
    ("lives at Quelmarstraße 12, 40213 Brandtal", "Quelmarstraße 12, 40213 Brandtal", PhiType.ADDRESS),
    ("at 7 ter rue des Vorliers, 69003 Saunac", "7 ter rue des Vorliers, 69003 Saunac", PhiType.ADDRESS),
    ("Calle Trevanda 41, 3º B, 41002 Orzuela", "Calle Trevanda 41, 3º B, 41002 Orzuela", PhiType.ADDRESS),
    ("〒604-8211 Kamiora-shi Tesuka-cho 3-12", "〒604-8211 Kamiora-shi Tesuka-cho 3-12", PhiType.ADDRESS),
    ("Dorpsweg 19, 7421 KL Velderen", "Dorpsweg 19, 7421 KL Velderen", PhiType.ADDRESS),
    ("addr Flat 3, 22 Yarrowby Close, Hollin Cross, DN7 4QH", "Hollin Cross, DN7 4QH", PhiType.ADDRESS),
    ("mail tovrik88 [at] quandel [dot] de", "tovrik88 [at] quandel [dot] de", PhiType.EMAIL),
    ("write m.sarvo(at)kelmet.fr", "m.sarvo(at)kelmet.fr", PhiType.EMAIL),
    ("Pat. 94 J., bettlägerig", "94", PhiType.AGE),
    ("âge 97 ans", "97", PhiType.AGE),
    ("paciente de 93 años", "93", PhiType.AGE),
    ("discussed w/ vornakel (radiology registrar)", "vornakel", PhiType.NAME),
    ("Protocol of Dr zelvani quorbet", "zelvani quorbet", PhiType.NAME),
    ("informed daughter Лемуровна by phone", "Лемуровна", PhiType.NAME),
    ("informed son Ζαχαρίδης by phone", "Ζαχαρίδης", PhiType.NAME),
    ("informed daughter Noor al-Vasheri by phone", "Noor al-Vasheri", PhiType.NAME),
    ("called wife 珂雯岚 today", "珂雯岚", PhiType.NAME),
]

KEPT = ["T2 FLAIR 3D 1.0mm SAG", "CT 120kV 250mAs B30f 5.0/2.5", "matrix 512x512 FOV 350", "SE 2 IM 45",
        "DLP 1234.5 mGy*cm", "ZOOMit 0.9x0.9x3.0", "b=0,500,1000 DWI", "BP 120/80 HR 72", "Slice 0.625 pitch 0.984",
        "Protocol 4.1.2 Rev 03", "W 400 L 40", "3T MPRAGE", "Mars protocol (metal artefact)", "dose 18.7 mGy",
        "Kernel Br40d 3", "Series 1001 Image 0045", "Time 14:32:10", "CTDIvol 12.34 mGy", "1.5T 8ch head coil",
        "YT72CMF459", "3N8GB68874",  # keyed pseudonyms (output names, patient ids) have an id's shape
        "0010 1.dcm", "0013 2.dcm"]  # file names read with `_` as a space: "00" is no dialling prefix


@pytest.mark.parametrize(("text", "value", "kind"), FOUND, ids=[c[1] for c in FOUND])
def test_each_style_is_found(text: str, value: str, kind: PhiType) -> None:
    """The whole identifier is covered by one span of its kind (a date may come as a date, an id as any id)."""
    spans = find_phi(text)
    start = text.index(value)
    covering = [s for s in spans if s.start <= start and s.end >= start + len(value)]
    ids = {PhiType.ID, PhiType.MRN, PhiType.ACCESSION, PhiType.ACCOUNT}
    assert covering and (covering[0].kind is kind or (kind in ids and covering[0].kind in ids)), spans


@pytest.mark.parametrize("text", KEPT)
def test_ordinary_descriptors_are_kept(text: str) -> None:
    assert find_phi(text) == []


@pytest.mark.parametrize(("value", "kept"), [("4. Oktober 2016", "Oktober"), ("9 février 2011", "février"),
                                             ("17/XI/1987", "/"), ("2018-W33-2", "-W"), ("1957年8月14日", "年"),
                                             ("19NOV21", "")])
def test_foreign_dates_are_shifted_in_their_format(value: str, kept: str) -> None:
    """A date in another format moves by the offset and keeps its format (a month's language, roman months)."""
    moved = shift(value, 3)
    assert moved is not None and moved != value and kept in moved and len(moved) >= len(value) - 3


def test_a_name_in_another_script_gets_a_surrogate() -> None:
    """The patient's name written in Cyrillic (a PN ideographic group) and quoted in a comment is replaced."""
    clean = HeaderText(KEY, DeidOptions().date_shift)
    hints = FileHints.of("K-9913", {0x00100010: ["Vorlak^Tesim=Воркаленко", "Vorlak", "Tesim", "Воркаленко"]})
    text, count = clean.clean("Воркаленко - follow-up", "LT", "K-9913", hints)
    assert count == 1 and "Воркаленко" not in text
    assert "珂雯岚" not in Deidentifier(KEY).deidentify("called wife 珂雯岚 today", "K-9913").text


def _dicom(path: Path, name: str, comment: str) -> None:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = "1.2.826.0.1.3680043.8.498.4417"
    ds.SpecificCharacterSet, ds.PatientName, ds.PatientID, ds.ImageComments = "ISO_IR 192", name, "K-9913", comment
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


@pytest.mark.parametrize("part", ["Воркаленко", "O'Varnisk", "Telmar-Quist"])
def test_verify_finds_a_source_name_part_of_any_script_or_with_punctuation(tmp_path: Path, part: str) -> None:
    """A source PN part left in an output's comment is a leak though written in Cyrillic or with ' or -."""
    _dicom(tmp_path / "in" / "a.dcm", f"{part}^Tesim", "plain comment")
    _dicom(tmp_path / "out" / "a.dcm", "XJ2KQ7", f"{part.upper()} - follow-up")
    leaks = verify(tmp_path / "out", tmp_path / "in").leaks
    assert any(f.check == RESIDUAL_PHI and f.where == "(0020,4000)" for f in leaks), leaks
    shutil.rmtree(tmp_path / "out")
